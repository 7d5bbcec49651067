/**
 * The physical backbone under the fitted model. A fit only knows the regimes it was trained on, and
 * normal operation holds supply air at its setpoint: from such data it cannot learn what a failing
 * cooling unit does (the supply-gap coefficient comes out small, attenuated by sensor noise). The
 * physics is known: the inlet approaches supply + recirculation through a first-order lag τ, so over
 * h minutes it closes the share 1 − e^(−h/τ) of the gap g = supply − inlet + offset (offset: the
 * rack's usual inlet rise over supply). The gap is split at a deadband δ (its normal spread): the
 * fit learns from the part inside it, physics predicts from the part beyond it.
 *
 * While supply keeps rising at s °C/min the inlet also rises s·h, of which the gap term already
 * predicts the catch-up s·τ(1 − e^(−h/τ)); the rest, s·(h − τ(1 − e^(−h/τ))), is added with the
 * horizon damped (φ per minute, trends do not run for ever), for slopes clearly above noise.
 */
export interface PhysicsParams {
  /** Inlet time constant, minutes (the features are built with PHYSICS_TAU_MIN). */
  tauMin: number;
  /** Half-width of the normal band of the level gap supply − inlet + offset, °C (from training data). */
  gapDeadbandC: number;
  /** Half-width of the normal band of the unclosed supply change, °C (from training data). */
  unclosedDeadbandC: number;
  /** Per-minute persistence of a supply trend; h minutes of trend count as φ(1 − φ^h)/(1 − φ). */
  dampingPerMin: number;
  /** Supply slopes below this (°C/min, absolute) are treated as noise. */
  minSlopeCPerMin: number;
}

/** A few minutes, as DESIGN.md's physics says; fixed because the `supply_unclosed_c` feature is built with it. */
export const PHYSICS_TAU_MIN = 3;

export const DEFAULT_PHYSICS: PhysicsParams = {
  tauMin: PHYSICS_TAU_MIN,
  gapDeadbandC: 0.5,
  unclosedDeadbandC: 0.5,
  dampingPerMin: 0.9,
  minSlopeCPerMin: 0.02,
};
/** The deadband never goes below this, whatever the training data's spread. */
export const MIN_DEADBAND_C = 0.3;

/** Per horizon: share of the unclosed supply change (beyond its deadband) taken up within the horizon. */
export function gapFactors(horizonsMin: readonly number[], p: PhysicsParams): Float64Array {
  return Float64Array.from(horizonsMin, (h) => 1 - Math.exp(-h / p.tauMin));
}

/** Per horizon: °C of inlet change per °C/min of supply slope. */
export function trendFactors(horizonsMin: readonly number[], p: PhysicsParams): Float64Array {
  const phi = p.dampingPerMin;
  const tau = p.tauMin;
  return Float64Array.from(horizonsMin, (h) => {
    const damped = phi >= 1 ? h : (phi * (1 - phi ** h)) / (1 - phi);
    return Math.max(0, damped - tau * (1 - Math.exp(-h / tau)));
  });
}

/**
 * Per horizon: °C of inlet rise beyond `trendFactors` per °C/min of supply slope when the rise does
 * not damp out: s·(h − τ(1 − e^(−h/τ))) in all, less the damped part the forecast already holds. The
 * damped trend is the central estimate; the undamped one is the supply-rise scenario hotspots are
 * also checked against (riseScenario.ts), since how long a failing unit's rise lasts is not in the data.
 */
export function undampedTrendExtra(horizonsMin: readonly number[], p: PhysicsParams): Float64Array {
  const damped = trendFactors(horizonsMin, p);
  return Float64Array.from(horizonsMin, (h, i) =>
    Math.max(0, h - p.tauMin * (1 - Math.exp(-h / p.tauMin)) - damped[i]!),
  );
}
