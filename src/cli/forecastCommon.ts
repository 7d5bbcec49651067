/**
 * What `hotaisle train`, `backtest` and `models` share: the site (with environment and flag
 * overrides), the store its history lives in (read only when embedded, so a running agent's files
 * are never appended to), the models directory, time-window flags, Ctrl-C, and table printing.
 */
import { pino } from 'pino';
import { applyOverrides, overridesFromEnv, type RuntimeOverrides } from '../config/overrides.ts';
import type { SiteConfig } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import type { Logger } from '../log.ts';
import { EmbeddedStore } from '../store/embeddedStore.ts';
import { InfluxStore } from '../store/influxStore.ts';
import type { TelemetryStore } from '../store/store.ts';
import { DEFAULT_SITE, loadSiteOrExplain } from './run.ts';

export const SITE_OPTIONS = {
  site: { type: 'string', default: DEFAULT_SITE },
  'models-dir': { type: 'string' },
  'log-level': { type: 'string', default: 'warn' },
} as const;

export const STORE_OPTIONS = {
  influx: { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

export interface SiteFlags {
  site: string;
  'models-dir'?: string | undefined;
  influx?: string | undefined;
  'data-dir'?: string | undefined;
}

/** The site file with HOTAISLE_* environment overrides, then --influx / --data-dir. */
export function loadSiteWithFlags(values: SiteFlags): SiteConfig {
  const flags: RuntimeOverrides = {
    ...(values.influx ? { influxUrl: values.influx } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  };
  return applyOverrides(applyOverrides(loadSiteOrExplain(values.site), overridesFromEnv(process.env)), flags);
}

export function modelsRoot(values: SiteFlags, site: SiteConfig): string {
  return values['models-dir'] ?? site.forecast.modelsDir ?? 'models';
}

/** Logs go to stderr: stdout carries the report. */
export function cliLogger(level: string): Logger {
  return pino({ level: process.env.HOTAISLE_LOG_LEVEL ?? level }, pino.destination(2));
}

/** The store holding the site's history, started. Embedded: read only. */
export async function openHistoryStore(
  site: SiteConfig,
  index: SiteIndex,
  log: Logger,
): Promise<TelemetryStore> {
  const ctx = { index: index.site === site ? index : { ...index, site }, log };
  const store: TelemetryStore =
    site.storage.kind === 'influx' ? new InfluxStore(ctx) : new EmbeddedStore({ ...ctx, readOnly: true });
  await store.start();
  return store;
}

export function describeStore(site: SiteConfig): string {
  const s = site.storage;
  return s.kind === 'influx'
    ? `InfluxDB ${s.influx.protocol}://${s.influx.host}:${s.influx.port}/${s.influx.database}`
    : `embedded store in ${s.dataDir}`;
}

/** An ISO 8601 flag as ms. */
export function parseTimeFlag(text: string, flag: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new Error(`${flag} expects an ISO 8601 time such as 2025-06-02T00:00:00Z, not "${text}"`);
  return ms;
}

/**
 * Ctrl-C aborts the signal (the command stops between steps and says so); a second Ctrl-C exits at
 * once. `dispose()` restores the default handling.
 */
export function interruptOnCtrlC(what: string): { signal: AbortSignal; dispose: () => void } {
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write(`\n${what}: interrupting (Ctrl-C again to exit at once)\n`);
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: abort.signal, dispose: () => process.off('SIGINT', onSigint) };
}

/** Plain text table: columns padded to their widest cell, numbers right-aligned. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const numeric = header.map(
    (_, c) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+%?$|^–$/.test(r[c] ?? '')),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A number with `digits` decimals, or '–' when missing. */
export function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}
