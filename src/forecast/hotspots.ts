/**
 * Hotspots: a forecast that reaches the warn or critical inlet threshold, and when it will. A rack is
 * flagged on its central forecast, or — while its zone's supply climbs faster than its normal spread —
 * on the supply-rise scenario (riseScenario.ts), which continues that climb undamped.
 */

export type HotspotSeverity = 'warn' | 'critical';
/** What reached the threshold: the central forecast, or only the supply-rise scenario. */
export type HotspotBasis = 'forecast' | 'supply_rise';

export interface Hotspot {
  rack: string;
  severity: HotspotSeverity;
  /**
   * Minutes until the path that flagged it (the forecast; the scenario for basis supply_rise) reaches
   * the warn / critical threshold (0: already there); null: not within the horizons.
   */
  warnInMin: number | null;
  criticalInMin: number | null;
  /** Highest central forecast over the horizons, and the horizon it falls at. */
  peakC: number;
  peakHorizonMin: number;
  currentC: number;
  /** Absent in hotspots from older producers: read as 'forecast'. */
  basis?: HotspotBasis;
  /** Basis supply_rise: the zone supply slope assumed to continue (°C/min) and the scenario's peak. */
  supplySlopeCPerMin?: number;
  scenarioPeakC?: number;
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

/** The supply-rise scenario of one rack: its path (same layout as `predicted`) and the slope it assumes. */
export interface RiseScenarioRow {
  path: ArrayLike<number>;
  slopeCPerMin: number;
}

/**
 * The hotspot for one rack's forecast row, or null when neither the forecast nor (given) the
 * supply-rise scenario reaches `warnC`. Times to crossing come from the path that flagged it: the
 * forecast when it reaches warn, else the scenario.
 */
export function detectHotspot(
  rack: string,
  currentC: number,
  horizonsMin: readonly number[],
  predicted: ArrayLike<number>,
  offset: number,
  warnC: number,
  criticalC: number,
  scenario?: RiseScenarioRow,
): Hotspot | null {
  const peakOf = (path: ArrayLike<number>) => {
    let peakC = currentC;
    let peakHorizonMin = 0;
    for (let h = 0; h < horizonsMin.length; h++) {
      const v = path[offset + h]!;
      if (v > peakC) {
        peakC = v;
        peakHorizonMin = horizonsMin[h]!;
      }
    }
    return { peakC, peakHorizonMin };
  };
  const central = peakOf(predicted);
  const rise = scenario && scenario.slopeCPerMin > 0 ? peakOf(scenario.path) : undefined;
  const basis: HotspotBasis | null =
    central.peakC >= warnC ? 'forecast' : rise && rise.peakC >= warnC ? 'supply_rise' : null;
  if (basis === null) return null;
  const path = basis === 'forecast' ? predicted : scenario!.path;
  const pathPeak = basis === 'forecast' ? central.peakC : rise!.peakC;
  const warnInMin = timeToCrossing(currentC, horizonsMin, path, offset, warnC);
  const criticalInMin =
    pathPeak >= criticalC ? timeToCrossing(currentC, horizonsMin, path, offset, criticalC) : null;
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return {
    rack,
    severity: criticalInMin !== null ? 'critical' : 'warn',
    warnInMin: round(warnInMin),
    criticalInMin: round(criticalInMin),
    peakC: r2(central.peakC),
    peakHorizonMin: central.peakHorizonMin,
    currentC: r2(currentC),
    basis,
    ...(basis === 'supply_rise'
      ? {
          supplySlopeCPerMin: Math.round(scenario!.slopeCPerMin * 1000) / 1000,
          scenarioPeakC: r2(rise!.peakC),
        }
      : {}),
  };
}
