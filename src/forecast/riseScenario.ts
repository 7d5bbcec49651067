/**
 * The supply-rise scenario behind hotspot flagging. The central forecast damps a supply trend within
 * minutes (physics.ts), which is right while a cooling unit holds its setpoint. When a zone's supply
 * climbs faster than the inlets can follow — more than its normal spread (the unclosed supply change
 * beyond the model's deadband) — the unit has lost its grip, and nothing in the data says when the
 * rise will stop. In the simulator's cooling-degradation runs the supply stayed at setpoint while the
 * fans took up the loss, then climbed by up to 8 °C within 10–15 minutes; the first racks crossed warn 13–15
 * minutes after the climb became visible, too soon for a damped trend to flag them 10 minutes ahead.
 * The scenario continues the current 10-minute supply slope undamped to each horizon; a rack is
 * flagged when the forecast or this scenario reaches the threshold, and the hotspot says which.
 * The zone's inlets must confirm the rise — up over the last 2 minutes by at least one minute of the
 * supply slope, half of what inlets fully following it show — so a noisy supply sensor does not
 * raise it (the sensor-faults scenario, σ 1.5 °C: 275 false flags without this check, none with it). A slow drift (a few °C per hour) stays
 * within the band and is left to the damped trend.
 *
 * Pure maths on a feature vector, shared by the forecaster and the backtest so both flag the same way.
 */
import { FEATURE_INDEX, tierHasSupply } from './features.ts';
import type { CompiledModel } from './models.ts';

const SLOPE = FEATURE_INDEX.supply_slope10m;
const UNCLOSED = FEATURE_INDEX.supply_unclosed_c;
const ZONE_INLET_D2 = FEATURE_INDEX.zone_inlet_d2m;

/**
 * Supply slope (°C/min) the scenario continues for features `x` with tier `k`: the 10-minute slope
 * when the tier uses supply, the supply's rise not yet followed by the inlet exceeds its normal band
 * (the model's unclosed deadband), the slope is above noise and the zone's mean inlet rose at least
 * `slope × 1 min` over the last 2 minutes; otherwise 0 (no scenario).
 */
export function risingSupplySlope(
  m: Pick<CompiledModel, 'unclosedDeadband' | 'trendMinSlope'>,
  k: number,
  x: ArrayLike<number>,
): number {
  if (!tierHasSupply(k)) return 0;
  const unclosed = x[UNCLOSED]!;
  const slope = x[SLOPE]!;
  const confirmed = x[ZONE_INLET_D2]! >= slope; // NaN (no zone inlet history): not confirmed
  return unclosed > m.unclosedDeadband && slope >= m.trendMinSlope && confirmed ? slope : 0;
}

/**
 * The scenario path into `out[offset + h]`: the central forecast `predicted[offset + h]` plus the
 * undamped continuation of `slope`. With slope 0 it equals the forecast.
 */
export function riseScenarioPath(
  m: Pick<CompiledModel, 'riseExtra'>,
  slope: number,
  predicted: ArrayLike<number>,
  out: Float64Array,
  offset: number,
  H: number,
): void {
  for (let h = 0; h < H; h++) out[offset + h] = predicted[offset + h]! + slope * m.riseExtra[h]!;
}
