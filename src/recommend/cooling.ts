/**
 * Cooling-zone margin from cooling-unit telemetry. Pure.
 *
 * A zone's inlets follow its supply air, and the supply only holds its setpoint while the zone's
 * IT heat fits what its units can remove; past that every rack in the zone warms together, far
 * more than any one rack's recirculation. So placement needs each zone's cooling margin: the heat
 * its units can still take. The configured capacity says what the units are rated for; what they
 * give today is read off their telemetry:
 * - a unit's heat removal is airflow × ΔT (return − supply); units of one zone are sized for the
 *   same design ΔT, so at the same fan speed a healthy unit shows the zone's ΔT and a unit with a
 *   fouled or failing coil a smaller one. Its health is its ΔT·fan against the best sibling's.
 * - a supply running above setpoint means the zone is already at capacity, whatever the ratings say.
 */
import type { SiteIndex } from '../config/siteIndex.ts';
import type { ClusterState } from './state.ts';

/** Supply this far above setpoint means the zone's units are at capacity (beyond sensor noise). */
export const SATURATED_EXCESS_C = 0.5;
/** Below this ΔT·fan (K·%) a zone's units are too idle for the ΔT comparison to mean anything. */
const MIN_DUTY = 30;

export interface ZoneCooling {
  zone: string;
  /** Rated capacity of units not reported failed, kW. */
  ratedKw: number;
  /** What the units can remove now, from their ΔT (equal to rated without telemetry), kW. */
  effectiveKw: number;
  /** Rated capacity left with the zone's largest unit lost (N-1), kW. */
  n1Kw: number;
  /** IT heat the zone must lose now: its racks' power, kW. */
  loadKw: number;
  /** Mean supply minus mean setpoint of its working units, K; undefined without readings. */
  supplyExcessC: number | undefined;
  /** Heat the zone can still take before its supply leaves setpoint, kW (negative: over). */
  marginKw: number;
  /** Units judged weak (health below 60%), for reasons. */
  weakUnits: Array<{ unit: string; health: number }>;
}

/** Per-zone cooling margin from the state's rack loads and cooling-unit readings. */
export function zoneCooling(index: SiteIndex, state: ClusterState): Map<string, ZoneCooling> {
  const load = new Map<string, number>();
  for (const [rack, place] of index.racks)
    load.set(place.zone, (load.get(place.zone) ?? 0) + state.rackKw(rack));
  const byZone = new Map<string, Array<{ id: string; capacityKw: number; setpointC: number }>>();
  for (const u of index.coolingUnits.values()) {
    const list = byZone.get(u.zone) ?? [];
    list.push({ id: u.id, capacityKw: u.capacityKw, setpointC: u.supplySetpointC });
    byZone.set(u.zone, list);
  }
  const out = new Map<string, ZoneCooling>();
  for (const [zone, units] of byZone) {
    const loadKw = load.get(zone) ?? 0;
    const seen = units.map((u) => ({ ...u, obs: state.coolingUnit(u.id) }));
    // Duty = ΔT × fan: proportional to heat removed per unit of rated airflow.
    const duty = seen.map((u) =>
      u.obs ? Math.max(0, u.obs.returnC - u.obs.supplyC) * Math.max(0, u.obs.fanPct) : undefined,
    );
    const best = Math.max(0, ...duty.map((d) => d ?? 0));
    let ratedKw = 0;
    let effectiveKw = 0;
    let excessSum = 0;
    let excessN = 0;
    const weakUnits: ZoneCooling['weakUnits'] = [];
    seen.forEach((u, k) => {
      const failed = u.obs !== undefined && u.obs.fanPct <= 0;
      if (failed) {
        weakUnits.push({ unit: u.id, health: 0 });
        return;
      }
      ratedKw += u.capacityKw;
      const d = duty[k];
      const health = d !== undefined && best >= MIN_DUTY && units.length > 1 ? Math.min(1, d / best) : 1;
      if (health < 0.6) weakUnits.push({ unit: u.id, health });
      effectiveKw += u.capacityKw * health;
      // Supply alone shows a zone running warm, for sites that map no return or fan readings.
      const supplyC = u.obs?.supplyC ?? state.coolingSupplyC(u.id);
      if (supplyC !== undefined) {
        excessSum += supplyC - u.setpointC;
        excessN++;
      }
    });
    const supplyExcessC = excessN > 0 ? excessSum / excessN : undefined;
    const caps = units.map((u) => u.capacityKw);
    const n1Kw = caps.reduce((a, b) => a + b, 0) - Math.max(...caps);
    // Already past setpoint: the zone is at capacity however much the ratings promise.
    if (supplyExcessC !== undefined && supplyExcessC > SATURATED_EXCESS_C)
      effectiveKw = Math.min(effectiveKw, loadKw);
    out.set(zone, {
      zone,
      ratedKw,
      effectiveKw,
      n1Kw,
      loadKw,
      supplyExcessC,
      marginKw: effectiveKw - loadKw,
      weakUnits,
    });
  }
  return out;
}

/**
 * Whether adding `addKw` takes the zone past what its units remove. Refused only when telemetry
 * confirms the shortage (the supply already runs warm, or a unit shows a failing coil): ratings
 * alone are often conservative.
 */
export function zoneShortOfCooling(zone: ZoneCooling, addKw: number): boolean {
  if (zone.marginKw - addKw >= 0) return false;
  return (
    (zone.supplyExcessC !== undefined && zone.supplyExcessC > SATURATED_EXCESS_C) || zone.weakUnits.length > 0
  );
}
