/**
 * Training preparation passes over the history: per-rack supply offsets and the normal bands of
 * the physics inputs, and the site-wide feature scaling and ranges.
 */
import { F, FEATURE_INDEX, lagSlots, type SignalFrame, unclosedChange } from './features.ts';
import type { ForecastLayout } from './layout.ts';
import { clipGap, type Scaler } from './models.ts';
import { MIN_DEADBAND_C } from './physics.ts';
import { loadRow, rowWalk } from './rows.ts';

export const meanOf = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/**
 * Per rack, minus the mean of supply − inlet over the training slots (so the clipped gap is 0 in the
 * rack's usual state); and the normal bands (99th percentile of magnitude) of that gap and of the
 * unclosed supply change.
 */
export function gapOffsets(
  frame: SignalFrame,
  layout: ForecastLayout,
  from: number,
  to: number,
): { offsets: Float64Array; gapDeadband: number; unclosedDeadband: number } {
  const L = frame.stride;
  const lags = lagSlots(frame.stepMs);
  const offsets = new Float64Array(layout.n);
  for (let r = 0; r < layout.n; r++) {
    const z = layout.zone[r]! * L;
    let sum = 0;
    let n = 0;
    for (let t = from; t < to; t++) {
      const g = frame.supply[z + t]! - frame.inlet[r * L + t]!;
      if (!Number.isNaN(g)) {
        sum += g;
        n++;
      }
    }
    offsets[r] = n > 0 ? -sum / n : 0;
  }
  const stride = Math.max(1, Math.floor(((to - from) * layout.n) / 100_000));
  const gaps: number[] = [];
  const unclosed: number[] = [];
  for (let r = 0; r < layout.n; r++) {
    const z = layout.zone[r]! * L;
    for (let t = from + (r % stride); t < to; t += stride) {
      const g = frame.supply[z + t]! - frame.inlet[r * L + t]! + offsets[r]!;
      if (!Number.isNaN(g)) gaps.push(Math.abs(g));
      const u = unclosedChange(frame.supply, z, t, lags);
      if (!Number.isNaN(u)) unclosed.push(Math.abs(u));
    }
  }
  const q99 = (v: number[]) => {
    v.sort((a, b) => a - b);
    return v.length ? v[Math.floor(0.99 * (v.length - 1))]! : 0;
  };
  return {
    offsets,
    gapDeadband: Math.max(MIN_DEADBAND_C, q99(gaps)),
    unclosedDeadband: Math.max(MIN_DEADBAND_C, q99(unclosed)),
  };
}

/** Means and standard deviations of each feature over a sample of rows (the whole site shares one scale). */
export function fitScaler(
  frame: SignalFrame,
  layout: ForecastLayout,
  offsets: Float64Array,
  deadband: number,
  to: number,
): Scaler {
  const walk = rowWalk(frame, layout, [1], new Float64Array(F).fill(Number.NaN));
  const first = walk.lags.lookback;
  const GAP = FEATURE_INDEX.supply_gap_c;
  const stride = Math.max(1, Math.floor(((to - first) * layout.n) / 200_000));
  const sum = new Float64Array(F);
  const sq = new Float64Array(F);
  const cnt = new Float64Array(F);
  const lo = new Float64Array(F).fill(Number.POSITIVE_INFINITY);
  const hi = new Float64Array(F).fill(Number.NEGATIVE_INFINITY);
  for (let r = 0; r < layout.n; r++) {
    for (let t = first + (r % stride); t < to; t += stride) {
      if (loadRow(walk, r, t, false) === 0) continue;
      if (!Number.isNaN(walk.x[GAP]!)) walk.x[GAP] = clipGap(walk.x[GAP]!, offsets[r]!, deadband);
      for (let j = 0; j < F; j++) {
        const v = walk.x[j]!;
        if (Number.isNaN(v)) continue;
        sum[j]! += v;
        sq[j]! += v * v;
        cnt[j]!++;
        if (v < lo[j]!) lo[j] = v;
        if (v > hi[j]!) hi[j] = v;
      }
    }
  }
  const mean = new Float64Array(F);
  const scale = new Float64Array(F);
  for (let j = 0; j < F; j++) {
    const n = cnt[j]!;
    mean[j] = n > 0 ? sum[j]! / n : 0;
    const v = n > 1 ? sq[j]! / n - mean[j]! ** 2 : 0;
    scale[j] = v > 1e-12 ? Math.sqrt(v) : 1;
    if (n === 0) lo[j] = hi[j] = mean[j]!;
  }
  return { mean, scale, lo, hi };
}
