/**
 * Stored history → a `SignalFrame` on a fixed step: points are averaged per slot, short gaps are
 * carried forward (as the forecaster does with a stale-but-recent reading), and zone/aisle aggregates
 * are derived. `queryHistory` pulls it from any TelemetryStore in rack batches so memory stays bounded.
 */
import type { HistoryQuery, HistorySeries, TelemetryStore } from '../store/store.ts';
import type { Reading } from '../telemetry/reading.ts';
import { createFrame, deriveAggregates, lagSlots, type SignalFrame } from './features.ts';
import type { ForecastLayout } from './layout.ts';

export interface HistoryRange {
  /** First slot start, ms (inclusive). */
  from: number;
  /** End, ms (exclusive). */
  to: number;
  stepMs: number;
  /** Gaps up to this many slots are filled with the last value; longer gaps stay missing. */
  maxFillSlots?: number;
}

export const DEFAULT_STEP_MS = 60_000;
export const DEFAULT_MAX_FILL_SLOTS = 3;

/** Which store metric feeds which frame signal. */
export const HISTORY_METRICS = {
  rack: ['inlet_c', 'power_kw'],
  cooling: ['supply_c', 'fan_pct'],
  site: ['power_kw', 'outdoor_c'],
} as const;

export function slotCount(range: HistoryRange): number {
  return Math.max(0, Math.ceil((range.to - range.from) / range.stepMs));
}

/** An empty frame covering `range`; fill it with `addSeries`, then `finishFrame`. */
export function emptyHistoryFrame(layout: ForecastLayout, range: HistoryRange): SignalFrame {
  return createFrame(layout, slotCount(range), range.from, range.stepMs);
}

/** Average one series' points into its slots of `dest` (entity row `row`). */
function binInto(dest: Float32Array, row: number, frame: SignalFrame, points: HistorySeries['points']): void {
  const L = frame.stride;
  const base = row * L;
  let slot = -1;
  let sum = 0;
  let cnt = 0;
  const flush = () => {
    if (cnt > 0 && slot >= 0 && slot < L) dest[base + slot] = sum / cnt;
  };
  for (const p of points) {
    if (!Number.isFinite(p.value)) continue;
    const s = Math.floor((p.ts - frame.t0) / frame.stepMs);
    if (s !== slot) {
      flush();
      slot = s;
      sum = 0;
      cnt = 0;
    }
    sum += p.value;
    cnt++;
  }
  flush();
}

/** Put store series into the frame. Unknown targets and metrics are ignored (counted in the result). */
export function addSeries(
  frame: SignalFrame,
  layout: ForecastLayout,
  kind: 'rack' | 'cooling' | 'site',
  series: readonly HistorySeries[],
): { used: number; ignored: number } {
  let used = 0;
  let ignored = 0;
  if (kind === 'cooling') {
    // Several units may cool one zone: the zone's supply is the mean over its units.
    const L = frame.stride;
    const byZone = new Map<string, { sum: Float64Array; cnt: Float64Array; zone: number }>();
    for (const s of series) {
      const z = layout.unitZone.get(s.target);
      const metric = s.metric === 'supply_c' ? 'supply' : s.metric === 'fan_pct' ? 'fan' : undefined;
      if (z === undefined || metric === undefined) {
        ignored++;
        continue;
      }
      const key = `${z}:${metric}`;
      let acc = byZone.get(key);
      if (!acc) {
        acc = { sum: new Float64Array(L), cnt: new Float64Array(L), zone: z };
        byZone.set(key, acc);
      }
      const tmp = new Float32Array(L).fill(Number.NaN);
      binInto(tmp, 0, frame, s.points);
      for (let t = 0; t < L; t++) {
        const v = tmp[t]!;
        if (!Number.isNaN(v)) {
          acc.sum[t]! += v;
          acc.cnt[t]!++;
        }
      }
      used++;
    }
    for (const [key, acc] of byZone) {
      const dest = key.endsWith(':supply') ? frame.supply : frame.fan;
      for (let t = 0; t < L; t++) {
        if (acc.cnt[t]! > 0) dest[acc.zone * L + t] = acc.sum[t]! / acc.cnt[t]!;
      }
    }
    return { used, ignored };
  }
  for (const s of series) {
    if (kind === 'rack') {
      const i = layout.rackIndex.get(s.target);
      const dest = s.metric === 'inlet_c' ? frame.inlet : s.metric === 'power_kw' ? frame.power : undefined;
      if (i === undefined || dest === undefined) {
        ignored++;
        continue;
      }
      binInto(dest, i, frame, s.points);
    } else {
      const dest =
        s.metric === 'power_kw' ? frame.siteLoad : s.metric === 'outdoor_c' ? frame.outdoor : undefined;
      if (dest === undefined) {
        ignored++;
        continue;
      }
      binInto(dest, 0, frame, s.points);
    }
    used++;
  }
  return { used, ignored };
}

function fillForward(a: Float32Array, stride: number, maxFill: number): void {
  for (let base = 0; base < a.length; base += stride) {
    let last = Number.NaN;
    let age = 0;
    for (let t = 0; t < stride; t++) {
      const v = a[base + t]!;
      if (!Number.isNaN(v)) {
        last = v;
        age = 0;
      } else if (!Number.isNaN(last) && ++age <= maxFill) {
        a[base + t] = last;
      }
    }
  }
}

/** Carry short gaps forward and derive the zone/aisle aggregates; call once after all `addSeries`. */
export function finishFrame(
  frame: SignalFrame,
  layout: ForecastLayout,
  maxFillSlots = DEFAULT_MAX_FILL_SLOTS,
): void {
  const L = frame.stride;
  for (const a of [frame.inlet, frame.power, frame.supply, frame.fan, frame.siteLoad, frame.outdoor]) {
    fillForward(a, L, maxFillSlots);
  }
  deriveAggregates(frame, layout);
}

/**
 * Builds a frame from readings as they stream by (a replay, a simulator run): each slot gets the
 * mean of its readings. Readings of other sites, unknown targets and unused metrics are skipped.
 */
export class FrameAccumulator {
  private readonly frame: SignalFrame;
  private readonly sums = new Map<Float32Array, { sum: Float64Array; cnt: Float64Array }>();

  constructor(
    private readonly layout: ForecastLayout,
    private readonly range: HistoryRange,
  ) {
    this.frame = emptyHistoryFrame(layout, range);
  }

  private acc(dest: Float32Array) {
    let a = this.sums.get(dest);
    if (!a) {
      a = { sum: new Float64Array(dest.length), cnt: new Float64Array(dest.length) };
      this.sums.set(dest, a);
    }
    return a;
  }

  add(readings: readonly Reading[]): void {
    const { frame, layout } = this;
    const L = frame.stride;
    for (const r of readings) {
      if (r.site !== layout.site || !Number.isFinite(r.value)) continue;
      const slot = Math.floor((r.ts - frame.t0) / frame.stepMs);
      if (slot < 0 || slot >= L) continue;
      let dest: Float32Array | undefined;
      let row: number | undefined;
      if (r.kind === 'rack') {
        row = layout.rackIndex.get(r.target);
        dest = r.metric === 'inlet_c' ? frame.inlet : r.metric === 'power_kw' ? frame.power : undefined;
      } else if (r.kind === 'cooling') {
        row = layout.unitZone.get(r.target);
        dest = r.metric === 'supply_c' ? frame.supply : r.metric === 'fan_pct' ? frame.fan : undefined;
      } else {
        row = 0;
        dest =
          r.metric === 'power_kw' ? frame.siteLoad : r.metric === 'outdoor_c' ? frame.outdoor : undefined;
      }
      if (dest === undefined || row === undefined) continue;
      const a = this.acc(dest);
      a.sum[row * L + slot]! += r.value;
      a.cnt[row * L + slot]!++;
    }
  }

  /** The finished frame (gaps carried forward, aggregates derived). Call once. */
  finish(): SignalFrame {
    for (const [dest, a] of this.sums) {
      for (let i = 0; i < dest.length; i++) if (a.cnt[i]! > 0) dest[i] = a.sum[i]! / a.cnt[i]!;
    }
    finishFrame(this.frame, this.layout, this.range.maxFillSlots);
    return this.frame;
  }
}

/** Build a frame from already-fetched series in one call. */
export function alignHistory(
  layout: ForecastLayout,
  input: {
    rack?: readonly HistorySeries[];
    cooling?: readonly HistorySeries[];
    site?: readonly HistorySeries[];
  },
  range: HistoryRange,
): SignalFrame {
  const frame = emptyHistoryFrame(layout, range);
  addSeries(frame, layout, 'rack', input.rack ?? []);
  addSeries(frame, layout, 'cooling', input.cooling ?? []);
  addSeries(frame, layout, 'site', input.site ?? []);
  finishFrame(frame, layout, range.maxFillSlots);
  return frame;
}

/** The store queries that feed a frame (per-slot means); rack queries are split into batches of targets. */
export function historyQueries(layout: ForecastLayout, range: HistoryRange, rackBatch = 200): HistoryQuery[] {
  const base = { site: layout.site, from: range.from, to: range.to, windowMs: range.stepMs };
  const queries: HistoryQuery[] = [];
  for (let k = 0; k < layout.n; k += rackBatch) {
    queries.push({
      ...base,
      kind: 'rack',
      targets: layout.rackIds.slice(k, k + rackBatch),
      metrics: [...HISTORY_METRICS.rack],
    });
  }
  queries.push({ ...base, kind: 'cooling', metrics: [...HISTORY_METRICS.cooling] });
  queries.push({ ...base, kind: 'site', metrics: [...HISTORY_METRICS.site] });
  return queries;
}

/**
 * Read a frame from a store, a batch of racks at a time (bounded memory for long windows).
 * `range.from` should start `lagSlots(step).lookback` slots before the first slot you want to score.
 */
export async function queryHistory(
  store: Pick<TelemetryStore, 'query'>,
  layout: ForecastLayout,
  range: HistoryRange,
): Promise<SignalFrame> {
  const frame = emptyHistoryFrame(layout, range);
  for (const q of historyQueries(layout, range)) {
    addSeries(frame, layout, q.kind, await store.query(q));
  }
  finishFrame(frame, layout, range.maxFillSlots);
  return frame;
}

/** Slots of lead-in history the features need before the first forecastable slot. */
export function lookbackMs(stepMs: number): number {
  return lagSlots(stepMs).lookback * stepMs;
}
