/**
 * Plausible ranges per metric, so a unit mix-up (W sent as kW, °F as °C) or a broken sensor
 * is refused at the edge instead of skewing forecasts. Derived once from the site. Pure.
 */
import type { TargetKind } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';

export interface Range {
  readonly min: number;
  readonly max: number;
}

/** Air and water temperatures anywhere in a data hall, °C. */
const AIR_C: Range = { min: -20, max: 90 };
const PERCENT: Range = { min: 0, max: 100 };
const FIXED: Readonly<Record<string, Range>> = {
  inlet_c: AIR_C,
  outlet_c: AIR_C,
  supply_c: AIR_C,
  return_c: AIR_C,
  outdoor_c: { min: -60, max: 60 },
  humidity_pct: PERCENT,
  fan_pct: PERCENT,
};

/** Headroom over a nameplate cap before a power reading is called absurd rather than high. */
export const POWER_HEADROOM = 1.5;
/** Site power bound when no site cap is configured, kW. */
export const DEFAULT_SITE_MAX_KW = 10_000;

export interface PlausibilityLimits {
  /** The range for a metric of a target; undefined for a metric without a known range. */
  range(kind: TargetKind, target: string, metric: string): Range | undefined;
}

export function buildPlausibility(index: SiteIndex): PlausibilityLimits {
  const rackPower = new Map<string, Range>();
  for (const [id, place] of index.racks)
    rackPower.set(id, { min: 0, max: place.rack.powerCapKw * POWER_HEADROOM });
  const coolingPower = new Map<string, Range>();
  for (const [id, unit] of index.coolingUnits)
    coolingPower.set(id, { min: 0, max: unit.capacityKw * POWER_HEADROOM });
  const sitePower: Range = {
    min: 0,
    max: index.site.powerCapKw ? index.site.powerCapKw * POWER_HEADROOM : DEFAULT_SITE_MAX_KW,
  };
  return {
    range(kind, target, metric) {
      if (metric !== 'power_kw') return FIXED[metric];
      if (kind === 'rack') return rackPower.get(target);
      if (kind === 'cooling') return coolingPower.get(target);
      return sitePower;
    },
  };
}

export function isPlausible(range: Range | undefined, value: number): boolean {
  return range === undefined || (value >= range.min && value <= range.max);
}
