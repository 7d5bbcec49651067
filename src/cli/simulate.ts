/**
 * `hotaisle simulate`: the thermal simulator as a data source.
 *
 * Live:     hotaisle simulate [--site FILE] [--scenario FILE] [--speed N] [--broker URL] [--seed N] [--report-every 5s]
 *           publishes telemetry over MQTT in the site's own topic layouts and payload formats until the
 *           scenario ends (forever when it has none) or Ctrl-C; a status line every few seconds on stderr.
 * Backfill: hotaisle simulate --backfill 14d [--site FILE] [--scenario FILE] [--every 60s] [--step 10s] [--influx URL] [--data-dir DIR]
 *           writes history from now − 14d to now straight into the site's store, with a progress bar.
 */
import { parseArgs } from 'node:util';
import { applyOverrides, overridesFromEnv, type RuntimeOverrides } from '../config/overrides.ts';
import type { SiteConfig } from '../config/schema.ts';
import { buildSiteIndex } from '../config/siteIndex.ts';
import { createLogger, type Logger } from '../log.ts';
import { type BackfillResult, backfill } from '../sim/backfill.ts';
import { SimPublisher } from '../sim/publisher.ts';
import { loadScenarioFile, parseDuration, type Scenario } from '../sim/scenario.ts';
import { DEFAULT_SCENARIO_FILE } from '../sim/simulatorModule.ts';
import { createStore } from '../store/createStore.ts';
import { EMBEDDED_RETENTION_DAYS } from '../store/embeddedStore.ts';
import { brokerUrl, mqttCredentials } from '../telemetry/mqttClient.ts';
import {
  formatBackfillProgress,
  formatCount,
  formatDuration,
  formatRate,
  formatSimTime,
  ProgressLine,
} from './progress.ts';
import { DEFAULT_SITE, loadSiteOrExplain } from './run.ts';

/** Wall time between status lines of a live run. */
const STATUS_EVERY_MS = 5000;
const DAY_MS = 86_400_000;

const OPTIONS = {
  site: { type: 'string', default: DEFAULT_SITE },
  scenario: { type: 'string', default: DEFAULT_SCENARIO_FILE },
  seed: { type: 'string' },
  speed: { type: 'string' },
  broker: { type: 'string' },
  'report-every': { type: 'string' },
  backfill: { type: 'string' },
  every: { type: 'string' },
  step: { type: 'string' },
  influx: { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string', default: 'warn' },
} as const;

const LIVE_ONLY = ['speed', 'broker', 'report-every'] as const;
const BACKFILL_ONLY = ['every', 'step', 'influx', 'data-dir'] as const;

/** A duration flag in ms; the error names the accepted forms. */
export function parseDurationFlag(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new Error(
      `${flag} expects a duration such as 500ms, 90s, 45m, 2h30m or 14d (units ms, s, m, h, d), not "${text}"`,
    );
  }
  return ms;
}

function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`--seed expects an integer, not "${text}"`);
  return n;
}

/** A wildcard listen address is not one to connect to. */
function connectHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
}

export async function runSimulateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  const backfillMode = values.backfill !== undefined;
  const misplaced = (backfillMode ? LIVE_ONLY : BACKFILL_ONLY).filter((f) => values[f] !== undefined);
  if (misplaced.length > 0) {
    const list = misplaced.map((f) => `--${f}`).join(', ');
    const verb = misplaced.length > 1 ? 'apply' : 'applies';
    throw new Error(
      backfillMode
        ? `${list} ${verb} to live publishing, not to --backfill`
        : `${list} ${verb} only with --backfill DURATION`,
    );
  }
  const seed = parseSeed(values.seed);
  const scenario = loadScenarioFile(values.scenario);
  const log = createLogger({ level: values['log-level'] });
  const env = process.env;

  if (backfillMode) {
    const spanMs = parseDurationFlag(values.backfill!, '--backfill');
    const everyMs = parseDurationFlag(values.every ?? '60s', '--every');
    const stepMs = parseDurationFlag(values.step ?? '10s', '--step');
    const flags: RuntimeOverrides = {
      ...(values.influx ? { influxUrl: values.influx } : {}),
      ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    };
    const site = applyOverrides(applyOverrides(loadSiteOrExplain(values.site), overridesFromEnv(env)), flags);
    return runBackfill({
      site,
      scenario,
      spanMs,
      everyMs,
      stepMs,
      log,
      env,
      ...(seed !== undefined ? { seed } : {}),
    });
  }

  const speed = Number(values.speed ?? '1');
  if (!(speed > 0) || !Number.isFinite(speed))
    throw new Error(
      `--speed expects a positive number (1 = real time, 60 = an hour a minute), not "${values.speed}"`,
    );
  const reportEveryMs = parseDurationFlag(values['report-every'] ?? '5s', '--report-every');
  const site = applyOverrides(
    applyOverrides(loadSiteOrExplain(values.site), overridesFromEnv(env)),
    values.broker ? { brokerUrl: values.broker } : {},
  );
  return runLive({ site, scenario, speed, reportEveryMs, log, env, ...(seed !== undefined ? { seed } : {}) });
}

interface LiveOptions {
  site: SiteConfig;
  scenario: Scenario;
  speed: number;
  reportEveryMs: number;
  seed?: number;
  log: Logger;
  env: NodeJS.ProcessEnv;
}

async function runLive(o: LiveOptions): Promise<number> {
  const b = o.site.broker;
  const brokerAt = brokerUrl(b);
  const publisher = new SimPublisher({
    site: o.site,
    brokerUrl: brokerAt,
    log: o.log,
    scenario: o.scenario,
    speed: o.speed,
    reportEveryMs: o.reportEveryMs,
    stopAtEnd: true,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...mqttCredentials(o.env, b),
  });
  try {
    await publisher.start();
  } catch (err) {
    const hint =
      b.kind === 'embedded'
        ? ' (the site uses the embedded broker: start the agent first, e.g. `hotaisle run --no-sim`, or pass --broker URL)'
        : '';
    throw new Error(`${(err as Error).message}${hint}`);
  }
  const wallStart = Date.now();
  const out = process.stderr;
  const status = () => {
    const s = publisher.stats();
    const elapsed = formatDuration(s.simulatedTs - s.startTs);
    const of = s.endTs !== undefined ? `/${formatDuration(s.endTs - s.startTs)}` : '';
    const last = s.events.at(-1);
    const parts = [
      `sim ${formatSimTime(s.simulatedTs)}`,
      `+${elapsed}${of}`,
      `${o.speed}x`,
      `${formatCount(s.messagesPublished)} messages`,
      `${s.events.length} events${last ? ` (last: ${last})` : ''}`,
    ];
    if (s.lagMs > 60_000)
      parts.push(`behind the clock by ${formatDuration(s.lagMs)} (publishing cannot keep up)`);
    if (s.publishErrors > 0) parts.push(`${formatCount(s.publishErrors)} publish errors`);
    return parts.join('  ');
  };
  out.write(
    `simulate: site ${o.site.site.id}, scenario ${o.scenario.name}, ${o.speed}x, publishing to ${brokerAt} every ${formatDuration(o.reportEveryMs)} simulated; Ctrl-C stops\n`,
  );
  const timer = setInterval(() => out.write(`${status()}\n`), STATUS_EVERY_MS);
  const signal = new Promise<'interrupted'>((resolve) => {
    process.once('SIGINT', () => resolve('interrupted'));
    process.once('SIGTERM', () => resolve('interrupted'));
  });
  const why = await Promise.race([publisher.whenEnded().then(() => 'ended' as const), signal]);
  clearInterval(timer);
  await publisher.stop();
  const s = publisher.stats();
  out.write(`${status()}\n`);
  process.stdout.write(
    `simulate: ${why === 'ended' ? 'scenario ended' : 'stopped'} after ${formatDuration(s.simulatedTs - s.startTs)} simulated in ${formatDuration(Date.now() - wallStart)}; ` +
      `${formatCount(s.messagesPublished)} messages published, ${s.events.length} events applied, ${formatCount(s.publishErrors)} publish errors\n`,
  );
  return s.publishErrors > 0 ? 1 : 0;
}

interface BackfillRunOptions {
  site: SiteConfig;
  scenario: Scenario;
  spanMs: number;
  everyMs: number;
  stepMs: number;
  seed?: number;
  log: Logger;
  env: NodeJS.ProcessEnv;
}

/** Whether the site's agent answers on its API port: it would hold the embedded store open. */
async function agentAnswers(site: SiteConfig): Promise<string | undefined> {
  if (site.api.port === 0) return undefined;
  const url = `http://${connectHost(site.api.host)}:${site.api.port}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(500) });
    return res.ok ? url : undefined;
  } catch {
    return undefined;
  }
}

function storeDescription(site: SiteConfig): string {
  const s = site.storage;
  return s.kind === 'influx'
    ? `InfluxDB ${s.influx.protocol}://${s.influx.host}:${s.influx.port}/${s.influx.database}`
    : `embedded store in ${s.dataDir}`;
}

async function runBackfill(o: BackfillRunOptions): Promise<number> {
  const { site } = o;
  const err = process.stderr;
  if (site.storage.kind === 'embedded') {
    const running = await agentAnswers(site);
    if (running) {
      throw new Error(
        `an agent answers at ${running} and holds the embedded store in ${site.storage.dataDir}; stop it first (it loads the backfilled history when it starts), or pass --data-dir DIR or --influx URL`,
      );
    }
    if (o.spanMs > EMBEDDED_RETENTION_DAYS * DAY_MS) {
      err.write(
        `simulate: note: the embedded store keeps ${EMBEDDED_RETENTION_DAYS} days; older readings expire as soon as it loads them\n`,
      );
    }
  } else if (o.spanMs > site.storage.influx.retentionDays * DAY_MS) {
    err.write(
      `simulate: note: the InfluxDB retention policy keeps ${site.storage.influx.retentionDays} days; older readings will expire\n`,
    );
  }

  const store = createStore(site, buildSiteIndex(site), o.log.child({ module: 'store' }), o.env);
  try {
    await store.start();
  } catch (e) {
    throw new Error(`cannot prepare the ${storeDescription(site)}: ${(e as Error).message}`);
  }

  const toTs = Math.floor(Date.now() / o.everyMs) * o.everyMs;
  const fromTs = toTs - o.spanMs;
  err.write(
    `simulate: backfilling ${formatDuration(o.spanMs)} of site ${site.site.id} (scenario ${o.scenario.name}, readings every ${formatDuration(o.everyMs)}, ${formatDuration(o.stepMs)} steps) into the ${storeDescription(site)}; Ctrl-C stops and keeps what was produced\n`,
  );
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) process.exit(130); // a second Ctrl-C: the user means it
    err.write('\nsimulate: stopping; writing what was produced (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const line = new ProgressLine(err);
  let result: BackfillResult;
  try {
    result = await backfill({
      site,
      store,
      scenario: o.scenario,
      fromTs,
      toTs,
      everyMs: o.everyMs,
      stepMs: o.stepMs,
      batchSize: Math.max(site.storage.batchSize, 20_000),
      signal: abort.signal,
      onProgress: (p) => line.update(formatBackfillProgress(p)),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.stop();
  }
  line.done(formatBackfillProgress(result));

  const wallS = result.wallMs / 1000;
  const summary = `${formatCount(result.readingsWritten)} readings written in ${wallS.toFixed(1)} s (${formatRate(result.readingsWritten / wallS)} readings/s)`;
  if (result.complete) {
    process.stdout.write(
      `simulate: backfill done: ${summary}, ${formatSimTime(fromTs)} to ${formatSimTime(toTs)}, into the ${storeDescription(site)}\n`,
    );
    return 0;
  }
  const reached = Number.isFinite(result.writtenThroughTs)
    ? `history is complete from ${formatSimTime(fromTs)} to ${formatSimTime(result.writtenThroughTs)} (day ${((result.writtenThroughTs - fromTs) / DAY_MS).toFixed(1)} of ${formatDuration(o.spanMs)})`
    : 'nothing was written';
  const lost = result.readingsProduced - result.readingsWritten;
  process.stdout.write(
    `simulate: backfill ${result.error ? 'failed' : 'interrupted'}: ${summary}; ${reached}${lost > 0 ? `; ${formatCount(lost)} readings produced were not written` : ''}\n`,
  );
  if (result.error) {
    err.write(`simulate: ${result.error}\n`);
    return 1;
  }
  return 130;
}
