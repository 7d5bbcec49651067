/** Walking (features, targets) rows of a history frame: shared by training, validation and backtests. */
import {
  buildFeatures,
  F,
  GROUP,
  imputeMissing,
  type LagSlots,
  lagSlots,
  type SignalFrame,
} from './features.ts';
import type { ForecastLayout } from './layout.ts';

const INLET_NOW = GROUP.inletNow;

export interface RowWalk {
  frame: SignalFrame;
  layout: ForecastLayout;
  lags: LagSlots;
  /** Horizons in slots. */
  hSlots: Int32Array;
  /** Training means for imputation. */
  means: ArrayLike<number>;
  /** Scratch buffers reused for every row. */
  x: Float64Array;
  y: Float64Array;
}

export function rowWalk(
  frame: SignalFrame,
  layout: ForecastLayout,
  horizonsMin: readonly number[],
  means: ArrayLike<number>,
): RowWalk {
  return {
    frame,
    layout,
    lags: lagSlots(frame.stepMs),
    hSlots: Int32Array.from(horizonsMin, (h) => horizonSlots(h, frame.stepMs)),
    means,
    x: new Float64Array(F + 1),
    y: new Float64Array(horizonsMin.length),
  };
}

export function horizonSlots(horizonMin: number, stepMs: number): number {
  return Math.max(1, Math.round((horizonMin * 60_000) / stepMs));
}

/**
 * Features of rack r at slot t into w.x (imputed) and targets (inlet change per horizon) into w.y.
 * Returns the availability mask, or 0 when the row is unusable (no current inlet, or a target missing
 * while `needTargets`).
 */
export function loadRow(w: RowWalk, r: number, t: number, needTargets: boolean): number {
  const mask = buildFeatures(w.frame, w.layout, r, t, w.lags, w.x);
  if ((mask & INLET_NOW) === 0) return 0;
  const base = r * w.frame.stride;
  const now = w.x[0]!;
  for (let h = 0; h < w.hSlots.length; h++) {
    const s = t + w.hSlots[h]!;
    const v = s < w.frame.stride ? w.frame.inlet[base + s]! - now : Number.NaN;
    if (Number.isNaN(v) && needTargets) return 0;
    w.y[h] = v;
  }
  imputeMissing(w.x, mask, w.means);
  return mask;
}
