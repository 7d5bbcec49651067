/**
 * The latest readings per target and metric, with the little history the rules need: when the value
 * last moved (stuck sensors), the previous reading (jumps) and a sparse trail for rates of change.
 * In memory only; after a restart it fills again within minutes.
 */
import type { TargetKind } from '../config/schema.ts';
import type { Reading } from '../telemetry/reading.ts';

/** Below this a temperature "did not move" (sensor resolution is usually 0.1 °C or finer). */
const STILL_EPSILON = 0.01;
/** One trail sample per this many ms is enough for rates over minutes. */
const TRAIL_STEP_MS = 30_000;
/** Consecutive readings further apart than this are a gap, not a jump. */
export const JUMP_MAX_GAP_MS = 5 * 60_000;

export interface SeriesState {
  value: number;
  ts: number;
  /** Time of the first reading with the current (unmoving) value. */
  stillSince: number;
  /** Sparse history, oldest first, covering at least the longest window asked for. */
  trail: Array<{ ts: number; value: number }>;
  /** The latest implausible step between consecutive readings, kept so it stays visible for a while. */
  lastJump: { ts: number; delta: number; gapMs: number } | undefined;
}

export interface ReadingView {
  get(kind: TargetKind, target: string, metric: string): SeriesState | undefined;
  /** Every series of a kind and metric, keyed by target. */
  all(kind: TargetKind, metric: string): ReadonlyMap<string, SeriesState>;
  /** °C (or unit) per hour over about `windowMs`; undefined without enough history. */
  ratePerHour(kind: TargetKind, target: string, metric: string, windowMs: number): number | undefined;
}

export class ReadingState implements ReadingView {
  /** kind → metric → target: nested maps, so the hot path builds no key strings. */
  private readonly series = new Map<TargetKind, Map<string, Map<string, SeriesState>>>();

  private byTarget(kind: TargetKind, metric: string, create: boolean): Map<string, SeriesState> | undefined {
    let byMetric = this.series.get(kind);
    if (!byMetric) {
      if (!create) return undefined;
      byMetric = new Map();
      this.series.set(kind, byMetric);
    }
    let byTarget = byMetric.get(metric);
    if (!byTarget && create) {
      byTarget = new Map();
      byMetric.set(metric, byTarget);
    }
    return byTarget;
  }

  /** trailMs: history kept for rates; jumpAbove: a step between consecutive readings above this is recorded as a jump. */
  constructor(
    private readonly trailMs: number,
    private readonly jumpAbove = Number.POSITIVE_INFINITY,
  ) {}

  add(readings: readonly Reading[]): void {
    for (const r of readings) {
      if (!Number.isFinite(r.value)) continue;
      const byTarget = this.byTarget(r.kind, r.metric, true)!;
      const s = byTarget.get(r.target);
      if (!s) {
        byTarget.set(r.target, {
          value: r.value,
          ts: r.ts,
          stillSince: r.ts,
          trail: [{ ts: r.ts, value: r.value }],
          lastJump: undefined,
        });
        continue;
      }
      // Late readings (replays, QoS 1 redelivery) never move the state backwards.
      if (r.ts <= s.ts) continue;
      const delta = r.value - s.value;
      if (Math.abs(delta) > STILL_EPSILON) s.stillSince = r.ts;
      if (Math.abs(delta) > this.jumpAbove && r.ts - s.ts <= JUMP_MAX_GAP_MS)
        s.lastJump = { ts: r.ts, delta, gapMs: r.ts - s.ts };
      s.value = r.value;
      s.ts = r.ts;
      const last = s.trail[s.trail.length - 1];
      if (!last || r.ts - last.ts >= TRAIL_STEP_MS) s.trail.push({ ts: r.ts, value: r.value });
      while (s.trail.length > 2 && s.trail[1]!.ts <= r.ts - this.trailMs) s.trail.shift();
    }
  }

  get(kind: TargetKind, target: string, metric: string): SeriesState | undefined {
    return this.byTarget(kind, metric, false)?.get(target);
  }

  all(kind: TargetKind, metric: string): ReadonlyMap<string, SeriesState> {
    return this.byTarget(kind, metric, false) ?? new Map();
  }

  ratePerHour(kind: TargetKind, target: string, metric: string, windowMs: number): number | undefined {
    const s = this.get(kind, target, metric);
    if (!s) return undefined;
    // The oldest trail sample still inside the window; need at least half a window of history.
    const from = s.trail.find((p) => p.ts >= s.ts - windowMs);
    if (!from || s.ts - from.ts < windowMs / 2) return undefined;
    return ((s.value - from.value) / (s.ts - from.ts)) * 3_600_000;
  }
}
