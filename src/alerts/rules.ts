/** All rules in one pass over the current state. Pure: same context in, same conditions out. */
import { feedRules, rackPowerHigh, sitePowerHigh } from './powerRules.ts';
import type { RuleContext } from './ruleContext.ts';
import { sensorImplausible, sensorOutOfRange, sensorStale, sensorStuck } from './sensorRules.ts';
import {
  coolingSupplyDrift,
  coolingZoneWarming,
  inletBreach,
  inletRiseRate,
  predictedHotspot,
} from './thermalRules.ts';
import type { Condition } from './types.ts';

export function evaluateRules(ctx: RuleContext): Condition[] {
  const rack = [...inletBreach(ctx), ...inletRiseRate(ctx), ...predictedHotspot(ctx)];
  const units = coolingSupplyDrift(ctx);
  // Marks the rack conditions it groups, so it runs after them.
  const zones = coolingZoneWarming(ctx, rack, units);
  return [
    ...rack,
    ...units,
    ...zones,
    ...sensorStale(ctx),
    ...sensorStuck(ctx),
    ...sensorImplausible(ctx),
    ...sensorOutOfRange(ctx),
    ...rackPowerHigh(ctx),
    ...feedRules(ctx),
    ...sitePowerHigh(ctx),
  ];
}
