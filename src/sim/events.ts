/**
 * Scenario events → a timeline of actions on the simulator state. Targets named `auto` or
 * `random` are resolved here, once, so the run itself is a plain replay. Gradual changes
 * (degradation) are ramps evaluated every step.
 */

import type { TargetKind } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import type { CoolingPlant } from './cooling.ts';
import type { RackLayout } from './layout.ts';
import { Rng } from './random.ts';
import type { ScenarioEvent } from './scenario.ts';
import { ScenarioError } from './scenario.ts';
import { type SensorModel, SIM_METRICS, sensorKey } from './sensors.ts';

/** The simulator state events may change. */
export interface EventContext {
  readonly now: number;
  readonly cooling: CoolingPlant;
  readonly layout: RackLayout;
  /** Per-aisle recirculation multiplier (containment). */
  readonly aisleMultiplier: Float64Array;
  readonly baseAisleMultiplier: Float64Array;
  /** Per-rack utilisation forced onto idle GPUs by a load surge (0–1). */
  readonly surgeUtilization: Float64Array;
  readonly sensors: SensorModel;
  readonly ramps: RampSet;
  /** The true value a sensor would see right now (to freeze a stuck sensor). */
  trueValue(kind: TargetKind, target: string, metric: string): number;
}

export interface TimedAction {
  ts: number;
  /** Human-readable, e.g. "cooling unit crah-2 failed". */
  label: string;
  apply(ctx: EventContext): void;
}

interface Ramp {
  array: Float64Array;
  index: number;
  fromTs: number;
  toTs: number;
  from: number;
  to: number;
}

/** Linear changes of one array element over time; a new ramp on the same element replaces the old. */
export class RampSet {
  private ramps: Ramp[] = [];

  start(array: Float64Array, index: number, fromTs: number, toTs: number, to: number): void {
    this.cancel(array, index);
    this.ramps.push({ array, index, fromTs, toTs, from: array[index]!, to });
  }

  cancel(array: Float64Array, index: number): void {
    this.ramps = this.ramps.filter((r) => r.array !== array || r.index !== index);
  }

  apply(now: number): void {
    if (this.ramps.length === 0) return;
    for (const r of this.ramps) {
      const f = r.toTs <= r.fromTs ? 1 : Math.min(1, Math.max(0, (now - r.fromTs) / (r.toTs - r.fromTs)));
      r.array[r.index] = r.from + (r.to - r.from) * f;
    }
    this.ramps = this.ramps.filter((r) => r.toTs > now);
  }
}

/** Resolve every event against the site and return the actions sorted by time (stable). */
export function compileEvents(
  events: readonly ScenarioEvent[],
  index: SiteIndex,
  layout: RackLayout,
  startTs: number,
  seed: number,
): TimedAction[] {
  const rng = new Rng(seed, 'events');
  const problems: string[] = [];
  const actions: TimedAction[] = [];
  const unitIds = index.site.coolingUnits.map((u) => u.id);

  const pickUnit = (sel: string, where: string): string | undefined => {
    if (sel === 'auto') return autoUnit(index, layout);
    if (sel === 'random') return unitIds.length > 0 ? rng.pick(unitIds) : undefined;
    if (index.coolingUnits.has(sel)) return sel;
    problems.push(
      `${where}: no cooling unit "${sel}" in site ${index.site.site.id}; known: ${unitIds.join(', ') || 'none'}`,
    );
    return undefined;
  };
  const pickAisle = (sel: string, where: string): number | undefined => {
    if (sel === 'auto') {
      // The first contained aisle (opening a door only matters there), else the first aisle.
      return Math.max(
        0,
        layout.aisles.findIndex((a) => a.baseMultiplier < 1),
      );
    }
    if (sel === 'random') return rng.int(layout.aisles.length);
    const a = layout.findAisle(sel);
    if (a === undefined)
      problems.push(
        `${where}: no cold aisle or row "${sel}"; known aisles: ${layout.aisles.map((x) => x.key).join(', ')}`,
      );
    return a;
  };
  const noUnits = (where: string): void => {
    if (unitIds.length === 0) problems.push(`${where}: the site has no cooling units`);
  };

  events.forEach((ev, i) => {
    const where = `events[${i}]`;
    const ts = startTs + ev.at;
    switch (ev.kind) {
      case 'cooling-failure':
      case 'cooling-recovery': {
        const id = pickUnit(ev.unit, `${where}.unit`);
        if (id === undefined) {
          noUnits(where);
          return;
        }
        const fail = ev.kind === 'cooling-failure';
        actions.push(unitFailure(ts, id, fail));
        if (ev.kind === 'cooling-failure' && ev.recoverAfter !== undefined)
          actions.push(unitFailure(ts + ev.recoverAfter, id, false));
        return;
      }
      case 'cooling-degradation':
      case 'fan-degradation': {
        const id = pickUnit(ev.unit, `${where}.unit`);
        if (id === undefined) {
          noUnits(where);
          return;
        }
        const what = ev.kind === 'cooling-degradation' ? 'coil capacity' : 'fan airflow';
        const arrayOf = (c: EventContext) =>
          ev.kind === 'cooling-degradation' ? c.cooling.health : c.cooling.fanHealth;
        actions.push({
          ts,
          label: `cooling unit ${id}: ${what} falling to ${ev.toPct}% over ${Math.round(ev.over / 60_000)} min`,
          apply: (c) =>
            c.ramps.start(arrayOf(c), c.cooling.unitIndex.get(id)!, c.now, c.now + ev.over, ev.toPct / 100),
        });
        if (ev.recoverAfter !== undefined) {
          actions.push({
            ts: ts + ev.recoverAfter,
            label: `cooling unit ${id}: ${what} restored`,
            apply: (c) => {
              const u = c.cooling.unitIndex.get(id)!;
              c.ramps.cancel(arrayOf(c), u);
              arrayOf(c)[u] = 1;
            },
          });
        }
        return;
      }
      case 'containment-door-open':
      case 'containment-door-close': {
        const a = pickAisle(ev.aisle, `${where}.aisle`);
        if (a === undefined) return;
        const key = layout.aisles[a]!.key;
        const close: TimedAction = {
          ts,
          label: `containment door closed on ${key}`,
          apply: (c) => {
            c.aisleMultiplier[a] = c.baseAisleMultiplier[a]!;
          },
        };
        if (ev.kind === 'containment-door-close') {
          actions.push(close);
          return;
        }
        const open = ev.recirculationPct / 100;
        actions.push({
          ts,
          label: `containment door open on ${key}`,
          apply: (c) => {
            c.aisleMultiplier[a] = Math.max(c.baseAisleMultiplier[a]!, open);
          },
        });
        if (ev.closeAfter !== undefined) actions.push({ ...close, ts: ts + ev.closeAfter });
        return;
      }
      case 'load-surge': {
        const racks = surgeRacks(ev.scope, index, layout, `${where}.scope`, problems);
        const u = ev.utilizationPct / 100;
        const set = (value: number) => (c: EventContext) => {
          for (const r of racks) c.surgeUtilization[r] = value;
        };
        actions.push({
          ts,
          label: `load surge on ${racks.length} racks to ${ev.utilizationPct}%`,
          apply: set(u),
        });
        actions.push({
          ts: ts + ev.duration,
          label: `load surge over on ${racks.length} racks`,
          apply: set(0),
        });
        return;
      }
      case 'sensor-fault': {
        const ids = faultTargets(ev.target, ev.id, ev.count, index, rng, `${where}.id`, problems);
        const all = SIM_METRICS[ev.target];
        const metric = ev.metric ?? { rack: 'inlet_c', cooling: 'supply_c', site: 'power_kw' }[ev.target];
        if (metric !== 'all' && !all.includes(metric)) {
          problems.push(
            `${where}.metric: ${ev.target} sensors report ${all.join(', ')} (or "all"), not "${metric}"`,
          );
          return;
        }
        const metrics = metric === 'all' ? all : [metric];
        actions.push({
          ts,
          label: `sensor fault (${ev.fault}) on ${ev.target} ${ids.join(', ')}: ${metrics.join(', ')}`,
          apply: (c) => {
            for (const id of ids) {
              for (const m of metrics) {
                c.sensors.setFault(sensorKey(ev.target, id, m), {
                  kind: ev.fault,
                  stuckValue: c.trueValue(ev.target, id, m),
                  offset: ev.offset ?? (m.endsWith('_c') ? 3 : 0),
                  sigma: ev.sigma ?? (m.endsWith('_c') ? 1.5 : 5),
                  untilTs: c.now + ev.duration,
                });
              }
            }
          },
        });
        return;
      }
      case 'setpoint-change': {
        const ids =
          ev.unit === 'all' ? unitIds : [pickUnit(ev.unit, `${where}.unit`)].filter((x) => x !== undefined);
        actions.push({
          ts,
          label: `supply setpoint ${ev.setpointC} °C on ${ids.join(', ')}`,
          apply: (c) => {
            for (const id of ids) c.cooling.setpointC[c.cooling.unitIndex.get(id)!] = ev.setpointC;
          },
        });
        return;
      }
    }
  });
  if (problems.length > 0) throw new ScenarioError(problems);
  return actions
    .map((a, i) => ({ a, i }))
    .sort((x, y) => x.a.ts - y.a.ts || x.i - y.i)
    .map((x) => x.a);
}

function unitFailure(ts: number, id: string, fail: boolean): TimedAction {
  return {
    ts,
    label: fail ? `cooling unit ${id} failed` : `cooling unit ${id} back in service`,
    apply: (c) => {
      c.cooling.failed[c.cooling.unitIndex.get(id)!] = fail ? 1 : 0;
    },
  };
}

/**
 * The unit whose failure makes the clearest hotspot without taking a zone's cooling away
 * entirely: in the zone with the most racks among zones with two or more units.
 */
export function autoUnit(index: SiteIndex, layout: RackLayout): string | undefined {
  const units = index.site.coolingUnits;
  if (units.length === 0) return undefined;
  const racksPerZone = new Map<string, number>();
  for (let i = 0; i < layout.n; i++) {
    const z = layout.zoneIds[layout.zone[i]!]!;
    racksPerZone.set(z, (racksPerZone.get(z) ?? 0) + 1);
  }
  const unitsPerZone = new Map<string, number>();
  for (const u of units) unitsPerZone.set(u.zone, (unitsPerZone.get(u.zone) ?? 0) + 1);
  const score = (zone: string) =>
    ((unitsPerZone.get(zone) ?? 0) >= 2 ? 1e9 : 0) + (racksPerZone.get(zone) ?? 0);
  let best = units[0]!;
  for (const u of units) if (score(u.zone) > score(best.zone)) best = u;
  return best.id;
}

function surgeRacks(
  scope: {
    room?: string | undefined;
    zone?: string | undefined;
    row?: string | undefined;
    racks?: string[] | undefined;
  },
  index: SiteIndex,
  layout: RackLayout,
  where: string,
  problems: string[],
): number[] {
  for (const id of scope.racks ?? [])
    if (!index.racks.has(id)) problems.push(`${where}.racks: no rack "${id}"`);
  if (scope.room !== undefined && !layout.roomIds.includes(scope.room))
    problems.push(`${where}.room: no room "${scope.room}"`);
  if (scope.zone !== undefined && !layout.zoneIndex.has(scope.zone))
    problems.push(`${where}.zone: no zone "${scope.zone}"`);
  const out: number[] = [];
  for (let i = 0; i < layout.n; i++) {
    const place = index.racks.get(layout.rackIds[i]!)!;
    if (scope.room !== undefined && place.room !== scope.room) continue;
    if (scope.zone !== undefined && place.zone !== scope.zone) continue;
    if (scope.row !== undefined && place.row !== scope.row) continue;
    if (scope.racks !== undefined && scope.racks.length > 0 && !scope.racks.includes(layout.rackIds[i]!))
      continue;
    out.push(i);
  }
  if (scope.row !== undefined && out.length === 0)
    problems.push(`${where}.row: no racks in row "${scope.row}"`);
  return out;
}

function faultTargets(
  kind: TargetKind,
  sel: string,
  count: number,
  index: SiteIndex,
  rng: Rng,
  where: string,
  problems: string[],
): string[] {
  const pool =
    kind === 'rack'
      ? [...index.rackIds]
      : kind === 'cooling'
        ? index.site.coolingUnits.map((u) => u.id)
        : [index.site.site.id];
  if (pool.length === 0) {
    problems.push(`${where}: the site has no ${kind} targets`);
    return [];
  }
  if (sel === 'auto') return pool.slice(0, count);
  if (sel === 'random') {
    const left = [...pool];
    const out: string[] = [];
    while (out.length < count && left.length > 0) out.push(left.splice(rng.int(left.length), 1)[0]!);
    return out;
  }
  if (!pool.includes(sel)) {
    problems.push(`${where}: no ${kind} "${sel}"`);
    return [];
  }
  return [sel];
}
