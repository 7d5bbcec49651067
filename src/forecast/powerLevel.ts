/**
 * The power-level forecast and its blend into the fitted one. Minutes ahead, a rack's inlet sits
 * near its steady state: supply plus recirculation, a linear map of the power of the rack, its
 * neighbours, its aisle and its zone. A per-rack least-squares fit of the inlet at t + h on those
 * four powers and the 20-minute mean supply at t uses no inlet reading, so the inlet sensor's noise
 * does not enter it, while the delta model starts from the noisy current reading. Their errors
 * differ, and a blend beats the delta model alone (normal week day 7, 15 min vs the true inlet:
 * 0.051 → 0.048 °C; bench:forecast-quality).
 *
 * The mean supply barely moves in normal operation, so the fit learns little about it: when a unit
 * fails the power level still predicts about the usual inlet. So its pull on the forecast,
 * w · (level − delta), is clipped to a band: a quantile of the spread the two have on the held-back
 * window, chosen there per horizon with the weight. A failing unit moves the forecast through the
 * delta model's physics, and the blend cannot pull it back by more than w · band.
 */
import { FEATURE_INDEX } from './features.ts';
import type { RackModel } from './modelFile.ts';

/** Features of the power-level fit, in the order of `RackModel.powerLevel` rows (then the intercept). */
export const POWER_LEVEL_COLS = [
  FEATURE_INDEX.power_kw,
  FEATURE_INDEX.nbr_power_kw,
  FEATURE_INDEX.aisle_power_kw,
  FEATURE_INDEX.zone_power_kw,
  FEATURE_INDEX.supply_mean20m_c,
] as const;
/** Coefficients per rack and horizon: the columns, then the intercept. */
export const POWER_LEVEL_COEFS = POWER_LEVEL_COLS.length + 1;
const NC = POWER_LEVEL_COEFS;
const INLET = FEATURE_INDEX.inlet_c;

/**
 * Lay rack r's power-level rows into `out` at [(r * H + h) * POWER_LEVEL_COEFS + c]; a rack without
 * them (or with another horizon count) keeps the NaN it was filled with, and so gets no blend.
 */
export function writePowerLevel(
  rows: RackModel['powerLevel'],
  H: number,
  r: number,
  out: Float64Array,
): void {
  if (!rows || rows.length !== H) return;
  for (let h = 0; h < H; h++) for (let c = 0; c < NC; c++) out[(r * H + h) * NC + c] = rows[h]![c]!;
}

/** The power-level forecast's inlet change to horizon h for rack r from features x; NaN without inputs. */
export function powerLevelDelta(
  powerLevel: Float64Array,
  H: number,
  r: number,
  h: number,
  x: Float64Array,
): number {
  const base = (r * H + h) * NC;
  let s = powerLevel[base + NC - 1]!;
  for (let c = 0; c < NC - 1; c++) s += powerLevel[base + c]! * x[POWER_LEVEL_COLS[c]!]!;
  return s - x[INLET]!;
}

/** Pull `delta` (the fitted forecast's inlet changes) towards the power level, in place. */
export function blendPowerLevel(
  powerLevel: Float64Array,
  weights: Float64Array,
  bands: Float64Array,
  r: number,
  x: Float64Array,
  delta: Float64Array,
): void {
  const H = weights.length;
  for (let h = 0; h < H; h++) {
    const w = weights[h]!;
    if (w === 0) continue;
    const level = powerLevelDelta(powerLevel, H, r, h, x);
    if (Number.isNaN(level)) continue;
    const band = bands[h]!;
    delta[h]! += w * Math.min(band, Math.max(-band, level - delta[h]!));
  }
}
