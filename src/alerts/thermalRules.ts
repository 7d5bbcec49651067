/**
 * Thermal rules: inlet breach, inlet rise rate, predicted hotspot (from forecasts), cooling supply
 * drift and whole-zone warming. When a zone warms as a whole the rack alerts in it are grouped under
 * one cooling alert: the cause is most likely the cooling, not the racks.
 */
import {
  fresh,
  levelWithHysteresis,
  type RuleContext,
  rackLabels,
  round,
  thresholdsFor,
  unitLabels,
} from './ruleContext.ts';
import { type Condition, fingerprintOf, type Severity } from './types.ts';

export function inletBreach(ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  const h = ctx.settings.hysteresisC;
  for (const [rack, s] of ctx.readings.all('rack', 'inlet_c')) {
    if (!fresh(ctx, s) || !ctx.index.racks.has(rack)) continue;
    const t = thresholdsFor(ctx.index.site, ctx.index, rack);
    const labels = rackLabels(ctx, rack);
    const level = levelWithHysteresis(
      s.value,
      t.inletWarnC,
      t.inletCriticalC,
      h,
      ctx.activeSeverity('InletBreach', labels),
    );
    if (!level) continue;
    const limit = level === 'critical' ? t.inletCriticalC : t.inletWarnC;
    out.push({
      rule: 'InletBreach',
      labels,
      severity: level,
      value: s.value,
      summary: `Rack ${rack} inlet ${round(s.value)} °C at or above its ${level === 'critical' ? 'critical' : 'warning'} limit ${limit} °C`,
      description: `Measured inlet temperature of rack ${rack} is ${round(s.value)} °C (warn ${t.inletWarnC} °C, critical ${t.inletCriticalC} °C).`,
      annotations: { threshold_c: String(limit) },
    });
  }
  return out;
}

export function inletRiseRate(ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  const limit = ctx.settings.rateLimitCPerHour;
  const windowMs = ctx.settings.rateWindowMinutes * 60_000;
  for (const [rack, s] of ctx.readings.all('rack', 'inlet_c')) {
    if (!fresh(ctx, s) || !ctx.index.racks.has(rack)) continue;
    const rate = ctx.readings.ratePerHour('rack', rack, 'inlet_c', windowMs);
    if (rate === undefined) continue;
    const labels = rackLabels(ctx, rack);
    // Hysteresis on rates: an active alert clears only below 80 % of the limit.
    const active = ctx.activeSeverity('InletRiseRate', labels) !== undefined;
    if (rate < limit && !(active && rate >= limit * 0.8)) continue;
    out.push({
      rule: 'InletRiseRate',
      labels,
      severity: 'warning',
      value: round(rate, 2),
      summary: `Rack ${rack} inlet rising ${round(rate)} °C/h (limit ${limit} °C/h)`,
      description: `Inlet of rack ${rack} rose at ${round(rate)} °C per hour over the last ${ctx.settings.rateWindowMinutes} min; now ${round(s.value)} °C.`,
    });
  }
  return out;
}

/**
 * A forecast that crosses warn (or critical, for a rack already above warn) ahead of now. A hotspot
 * flagged only by the supply-rise scenario (its zone's supply climbing faster than normal, continued
 * undamped: src/forecast/riseScenario.ts) says so, with the slope it assumes (annotations also carry
 * the scenario's peak, which a steep rise continued for two hours puts far beyond anything physical).
 */
export function predictedHotspot(ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  for (const hs of ctx.hotspots) {
    if (!ctx.index.racks.has(hs.rack)) continue;
    const t = thresholdsFor(ctx.index.site, ctx.index, hs.rack);
    const crossing =
      hs.warnInMin !== null && hs.warnInMin > 0
        ? { inMin: hs.warnInMin, level: 'warning', thresholdC: t.inletWarnC }
        : hs.criticalInMin !== null && hs.criticalInMin > 0
          ? { inMin: hs.criticalInMin, level: 'critical', thresholdC: t.inletCriticalC }
          : undefined;
    if (!crossing) continue; // already there: the breach rule speaks for it
    const at = new Date(ctx.now + crossing.inMin * 60_000).toISOString();
    const rise = hs.basis === 'supply_rise' && hs.supplySlopeCPerMin !== undefined;
    const zone = ctx.index.racks.get(hs.rack)?.zone ?? '?';
    out.push({
      rule: 'PredictedHotspot',
      labels: rackLabels(ctx, hs.rack),
      severity: 'warning',
      value: hs.peakC,
      summary: rise
        ? `Rack ${hs.rack} inlet may reach ${crossing.level} ${crossing.thresholdC} °C in ${round(crossing.inMin)} min if zone ${zone} supply keeps rising (${round(hs.supplySlopeCPerMin! * 60, 1)} °C/h)`
        : `Rack ${hs.rack} inlet forecast to reach ${crossing.level} ${crossing.thresholdC} °C in ${round(crossing.inMin)} min`,
      description: rise
        ? `Supply air of zone ${zone} climbs ${round(hs.supplySlopeCPerMin!, 3)} °C/min, faster than in normal operation. ` +
          `If it keeps rising, inlet of rack ${hs.rack} (now ${hs.currentC} °C) crosses ${crossing.thresholdC} °C at about ${at}; ` +
          `the forecast, which expects the rise to level off, peaks at ${hs.peakC} °C within ${hs.peakHorizonMin} min.`
        : `Forecast: inlet of rack ${hs.rack} goes from ${hs.currentC} °C to ${hs.peakC} °C within ${hs.peakHorizonMin} min, crossing ${crossing.thresholdC} °C at about ${at}.`,
      annotations: {
        expected_crossing_at: at,
        lead_minutes: String(round(crossing.inMin)),
        crossing_level: crossing.level,
        peak_c: String(hs.peakC),
        current_c: String(hs.currentC),
        basis: rise ? 'supply_rise' : 'forecast',
        ...(rise
          ? {
              supply_slope_c_per_min: String(hs.supplySlopeCPerMin),
              scenario_peak_c: String(hs.scenarioPeakC),
            }
          : {}),
      },
      // Forecasts are the early warning: holding them back would eat the lead time.
      forMs: 0,
    });
  }
  return out;
}

export function coolingSupplyDrift(ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  const drift = ctx.settings.supplyDriftC;
  for (const [unitId, unit] of ctx.index.coolingUnits) {
    const s = ctx.readings.get('cooling', unitId, 'supply_c');
    if (!fresh(ctx, s)) continue;
    const labels = unitLabels(ctx, unitId);
    const warn = unit.supplySetpointC + drift;
    const level = levelWithHysteresis(
      s.value,
      warn,
      warn + drift,
      ctx.settings.hysteresisC,
      ctx.activeSeverity('CoolingSupplyDrift', labels),
    );
    if (!level) continue;
    out.push({
      rule: 'CoolingSupplyDrift',
      labels,
      severity: level,
      value: s.value,
      summary: `Cooling unit ${unitId} supply ${round(s.value)} °C is ${round(s.value - unit.supplySetpointC)} °C above its setpoint ${unit.supplySetpointC} °C`,
      description: `Supply air of ${unitId} (zone ${unit.zone}) drifts above setpoint; check the unit (valve, compressor, fans, chilled water).`,
    });
  }
  return out;
}

const GROUPABLE = new Set(['InletBreach', 'InletRiseRate', 'PredictedHotspot']);

/**
 * Zone warming: enough of a zone's racks warm together (above warn, forecast to cross, or rising
 * fast). Emits one cooling alert per zone and marks that zone's rack alerts as grouped under it.
 */
export function coolingZoneWarming(
  ctx: RuleContext,
  rackConditions: Condition[],
  unitConditions: readonly Condition[],
): Condition[] {
  const site = ctx.index.site.site.id;
  const warmingRule = new Map<string, Set<string>>();
  for (const c of rackConditions) {
    const rack = c.labels.rack;
    if (!rack || !GROUPABLE.has(c.rule)) continue;
    const set = warmingRule.get(rack) ?? new Set<string>();
    set.add(c.rule);
    warmingRule.set(rack, set);
  }
  const criticalRacks = new Set(
    rackConditions.filter((c) => c.severity === 'critical' && c.labels.rack).map((c) => c.labels.rack),
  );
  const halfRate = ctx.settings.rateLimitCPerHour / 2;
  const windowMs = ctx.settings.rateWindowMinutes * 60_000;
  const byZone = new Map<string, { room: string; observed: number; warming: string[]; critical: boolean }>();
  for (const [rack, place] of ctx.index.racks) {
    const s = ctx.readings.get('rack', rack, 'inlet_c');
    if (!fresh(ctx, s)) continue;
    const z = byZone.get(place.zone) ?? { room: place.room, observed: 0, warming: [], critical: false };
    z.observed++;
    const rate = ctx.readings.ratePerHour('rack', rack, 'inlet_c', windowMs);
    if (warmingRule.has(rack) || (rate !== undefined && rate >= halfRate)) {
      z.warming.push(rack);
      if (criticalRacks.has(rack)) z.critical = true;
    }
    byZone.set(place.zone, z);
  }
  const out: Condition[] = [];
  for (const [zone, z] of byZone) {
    const labels = { site, room: z.room, zone };
    const active = ctx.activeSeverity('CoolingZoneWarming', labels) !== undefined;
    // Hysteresis: an active zone alert holds with fewer warming racks than it took to raise it.
    const minRacks = active ? Math.max(2, ctx.settings.zoneMinRacks - 1) : ctx.settings.zoneMinRacks;
    const share = active ? ctx.settings.zoneWarmingShare * 0.7 : ctx.settings.zoneWarmingShare;
    if (z.warming.length < minRacks || z.warming.length < share * z.observed) {
      // Still active (clearing, within its resolve hold): keep the zone's rack alerts grouped under it.
      if (active) groupUnder(rackConditions, fingerprintOf('CoolingZoneWarming', labels), zone, ctx);
      continue;
    }
    const drifting = unitConditions.filter((u) => u.labels.zone === zone).map((u) => u.labels.unit);
    const severity: Severity =
      z.critical || unitConditions.some((u) => u.labels.zone === zone && u.severity === 'critical')
        ? 'critical'
        : 'warning';
    const racks = [...z.warming].sort();
    const condition: Condition = {
      rule: 'CoolingZoneWarming',
      labels,
      severity,
      value: z.warming.length,
      summary: `Zone ${zone}: ${racks.length} of ${z.observed} racks warming together — likely a cooling fault, not a rack fault`,
      description:
        `Racks ${racks.join(', ')} in zone ${zone} warm at the same time. ` +
        (drifting.length > 0 ? `Cooling unit(s) ${drifting.join(', ')} supply above setpoint. ` : '') +
        'Check the zone cooling first; the per-rack alerts are grouped under this one.',
      annotations: {
        racks: racks.join(','),
        ...(drifting.length > 0 ? { drifting_units: drifting.join(',') } : {}),
      },
    };
    out.push(condition);
    groupUnder(rackConditions, fingerprintOf(condition.rule, labels), zone, ctx);
  }
  return out;
}

function groupUnder(rackConditions: Condition[], parent: string, zone: string, ctx: RuleContext): void {
  for (const c of rackConditions) {
    if (c.labels.rack && GROUPABLE.has(c.rule) && ctx.index.racks.get(c.labels.rack)?.zone === zone)
      c.groupedUnder = parent;
  }
}
