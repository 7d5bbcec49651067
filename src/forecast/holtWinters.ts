/**
 * InfluxDB's own forecast as a baseline: `HOLT_WINTERS(mean(inlet_c), N, 0)` run in the same InfluxDB
 * on the same history, laid out on a PredictionGrid so it is scored exactly like our model and
 * persistence. HOLT_WINTERS fits level and trend (Nelder–Mead) on the GROUP BY time() buckets of the
 * WHERE range and returns N predicted buckets after the last one. One query per refit time covers
 * every rack (GROUP BY "rack"); refitting every slot would be thousands of queries, so forecasts are
 * issued every `refitEveryMs` on a trailing `fitWindowMs`, and only those issue times are scored.
 * Non-seasonal (S = 0): a daily season at 1-minute buckets would need days of points per fit.
 */
import { escape as influxEscape } from 'influx';
import { stringLiteral } from '../store/influxStore.ts';
import { PredictionGrid } from './backtest.ts';
import type { SignalFrame } from './features.ts';
import type { ForecastLayout } from './layout.ts';
import { horizonSlots } from './rows.ts';

interface RawSeries {
  tags?: Record<string, string>;
  columns: string[];
  values: Array<Array<number | null>>;
}
export interface RawResponse {
  results?: Array<{ series?: RawSeries[]; error?: string }>;
  error?: string;
}

export interface HoltWintersOptions {
  database: string;
  retentionPolicy: string;
  /** Issue forecasts at slots [fromSlot, toSlot) of the frame, every refitEveryMs. */
  fromSlot: number;
  toSlot: number;
  /** Default 15 min. */
  refitEveryMs?: number;
  /** Trailing history each fit sees; default 2 h. */
  fitWindowMs?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface HoltWintersResult {
  grid: PredictionGrid;
  queries: number;
  /** Queries InfluxDB answered with an error (their issue times have no forecasts). */
  failed: number;
  firstError?: string;
  /** Issue slots that got at least one forecast. */
  issued: number;
  elapsedMs: number;
}

/** The InfluxQL for one refit: fit on [end − window, end), N buckets predicted from `end`. */
export function holtWintersQuery(
  o: { database: string; retentionPolicy: string; site: string; stepMs: number; n: number },
  fitFrom: number,
  end: number,
): string {
  const src = `${influxEscape.quoted(o.database)}.${influxEscape.quoted(o.retentionPolicy)}.${influxEscape.quoted('rack')}`;
  return (
    `SELECT HOLT_WINTERS(mean(${influxEscape.quoted('inlet_c')}), ${o.n}, 0) FROM ${src} ` +
    `WHERE ${influxEscape.quoted('site')} = ${stringLiteral(o.site)} AND time >= ${Math.floor(fitFrom)}ms AND time < ${Math.floor(end)}ms ` +
    `GROUP BY time(${o.stepMs}ms), ${influxEscape.quoted('rack')}`
  );
}

/**
 * Run HOLT_WINTERS over the frame's window. A forecast issued at slot t sees buckets up to and
 * including t (as our model does) and its k-th predicted bucket is slot t + k.
 */
export async function holtWintersGrid(
  run: (query: string) => Promise<RawResponse>,
  layout: ForecastLayout,
  frame: SignalFrame,
  horizonsMin: readonly number[],
  opts: HoltWintersOptions,
): Promise<HoltWintersResult> {
  const started = performance.now();
  const step = frame.stepMs;
  const grid = PredictionGrid.forFrame(frame, layout, horizonsMin);
  const hSlots = horizonsMin.map((h) => horizonSlots(h, step));
  const n = Math.max(...hSlots);
  const every = Math.max(1, Math.round((opts.refitEveryMs ?? 15 * 60_000) / step));
  const windowMs = opts.fitWindowMs ?? 2 * 3_600_000;
  const q = {
    database: opts.database,
    retentionPolicy: opts.retentionPolicy,
    site: layout.site,
    stepMs: step,
    n,
  };
  const issueSlots: number[] = [];
  for (let t = opts.fromSlot; t < opts.toSlot; t += every) issueSlots.push(t);
  let failed = 0;
  let firstError: string | undefined;
  let issued = 0;
  for (const [i, t] of issueSlots.entries()) {
    if (opts.signal?.aborted) break;
    opts.onProgress?.(i, issueSlots.length);
    const end = frame.t0 + (t + 1) * step;
    let raw: RawResponse;
    try {
      raw = await run(holtWintersQuery(q, end - windowMs, end));
    } catch (err) {
      failed++;
      firstError ??= (err as Error).message;
      continue;
    }
    const error = raw.error ?? raw.results?.[0]?.error;
    if (error) {
      failed++;
      firstError ??= error;
      continue;
    }
    let any = false;
    for (const s of raw.results?.[0]?.series ?? []) {
      const rack = s.tags?.rack;
      const timeCol = s.columns.indexOf('time');
      const valueCol = s.columns.indexOf('holt_winters');
      if (rack === undefined || timeCol < 0 || valueCol < 0) continue;
      for (const row of s.values) {
        const ts = row[timeCol];
        const v = row[valueCol];
        if (typeof ts !== 'number' || typeof v !== 'number') continue;
        const k = Math.round((ts - end) / step) + 1; // the bucket starting at `end` is one step ahead
        hSlots.forEach((hs, h) => {
          if (hs === k && grid.set(rack, horizonsMin[h]!, frame.t0 + t * step, v)) any = true;
        });
      }
    }
    if (any) issued++;
  }
  opts.onProgress?.(issueSlots.length, issueSlots.length);
  return {
    grid,
    queries: issueSlots.length,
    failed,
    ...(firstError !== undefined ? { firstError } : {}),
    issued,
    elapsedMs: performance.now() - started,
  };
}
