/** Hotspots: a forecast that reaches the warn or critical inlet threshold, and when it will. */

export type HotspotSeverity = 'warn' | 'critical';

export interface Hotspot {
  rack: string;
  severity: HotspotSeverity;
  /** Minutes until the forecast reaches the warn / critical threshold (0: already there); null: not within the horizons. */
  warnInMin: number | null;
  criticalInMin: number | null;
  /** Highest central forecast over the horizons, and the horizon it falls at. */
  peakC: number;
  peakHorizonMin: number;
  currentC: number;
}

/**
 * Minutes until a piecewise-linear path through (0, current) and (horizon_h, predicted_h) first
 * reaches `threshold`; 0 when already at or above it, null when it never does within the horizons.
 * `predicted` is read at [offset + h] for h < horizonsMin.length (a row of a flat forecast array).
 */
export function timeToCrossing(
  currentC: number,
  horizonsMin: readonly number[],
  predicted: ArrayLike<number>,
  offset: number,
  threshold: number,
): number | null {
  if (currentC >= threshold) return 0;
  let t0 = 0;
  let v0 = currentC;
  for (let h = 0; h < horizonsMin.length; h++) {
    const t1 = horizonsMin[h]!;
    const v1 = predicted[offset + h]!;
    if (Number.isNaN(v1)) return null;
    if (v1 >= threshold) return t0 + ((threshold - v0) / (v1 - v0)) * (t1 - t0);
    t0 = t1;
    v0 = v1;
  }
  return null;
}

/** The hotspot for one rack's forecast row, or null when no horizon reaches `warnC`. */
export function detectHotspot(
  rack: string,
  currentC: number,
  horizonsMin: readonly number[],
  predicted: ArrayLike<number>,
  offset: number,
  warnC: number,
  criticalC: number,
): Hotspot | null {
  let peakC = currentC;
  let peakHorizonMin = 0;
  for (let h = 0; h < horizonsMin.length; h++) {
    const v = predicted[offset + h]!;
    if (v > peakC) {
      peakC = v;
      peakHorizonMin = horizonsMin[h]!;
    }
  }
  if (!(peakC >= warnC)) return null;
  const warnInMin = timeToCrossing(currentC, horizonsMin, predicted, offset, warnC);
  const criticalInMin =
    peakC >= criticalC ? timeToCrossing(currentC, horizonsMin, predicted, offset, criticalC) : null;
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  return {
    rack,
    severity: criticalInMin !== null ? 'critical' : 'warn',
    warnInMin: round(warnInMin),
    criticalInMin: round(criticalInMin),
    peakC: Math.round(peakC * 100) / 100,
    peakHorizonMin,
    currentC: Math.round(currentC * 100) / 100,
  };
}
