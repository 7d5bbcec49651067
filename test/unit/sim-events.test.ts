import { describe, expect, it } from 'vitest';
import { smallTwoRoomSite } from '../../src/sim/fixtures.ts';
import { parseScenario, type ScenarioInput } from '../../src/sim/scenario.ts';
import { DataCenterSim } from '../../src/sim/simulator.ts';

const T0 = Date.UTC(2025, 5, 2, 0, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

function run(events: ScenarioInput['events'], opts: { containment?: 'none' | 'cold-aisle' } = {}) {
  const site = smallTwoRoomSite(opts);
  const scenario = parseScenario({ name: 't', outdoor: { amplitudeC: 0, dayToDayC: 0 }, events });
  const sim = new DataCenterSim(site, { seed: 5, startTs: T0, scenario });
  for (const id of sim.layout.rackIds)
    sim.placeJob({ id: `j-${id}`, gpus: 24, rackId: id, start: T0, durationMs: 24 * HOUR });
  return sim;
}

function inlets(sim: DataCenterSim, prefix: string): number[] {
  const f = sim.frame();
  return f.racks.ids.flatMap((id, i) => (id.startsWith(prefix) ? [f.racks.inletC[i]!] : []));
}

const zoneSupply = (sim: DataCenterSim, zone: string) => {
  const f = sim.frame();
  return f.zones.supplyC[f.zones.ids.indexOf(zone)]!;
};

describe('cooling unit failure', () => {
  it('raises inlets in its zone, leaves another room untouched, and recovers', () => {
    const sim = run([{ kind: 'cooling-failure', at: '1h', unit: 'cu-a1', recoverAfter: '1h' }]);
    sim.advanceTo(T0 + HOUR - MIN);
    const zaBefore = [...inlets(sim, 'r1'), ...inlets(sim, 'r2')];
    const farBefore = inlets(sim, 's1');
    sim.advanceTo(T0 + HOUR + 50 * MIN);
    const zaDuring = [...inlets(sim, 'r1'), ...inlets(sim, 'r2')];
    zaDuring.forEach((t, k) => {
      expect(t - zaBefore[k]!).toBeGreaterThan(3);
    });
    // Only the tail of the start-up settling (≈ e^-20) remains in the other room.
    inlets(sim, 's1').forEach((t, k) => {
      expect(Math.abs(t - farBefore[k]!)).toBeLessThan(1e-6);
    });
    const f = sim.frame();
    const failed = f.cooling.ids.indexOf('cu-a1');
    const partner = f.cooling.ids.indexOf('cu-a2');
    expect(f.cooling.failed[failed]).toBe(1);
    expect(f.cooling.fanPct[failed]).toBe(0);
    expect(f.cooling.powerKw[failed]).toBe(0);
    expect(f.cooling.fanPct[partner]).toBe(100);
    expect(sim.appliedEvents.map((e) => e.label)).toEqual(['cooling unit cu-a1 failed']);

    sim.advanceTo(T0 + 3 * HOUR);
    [...inlets(sim, 'r1'), ...inlets(sim, 'r2')].forEach((t, k) => {
      expect(Math.abs(t - zaBefore[k]!)).toBeLessThan(0.2);
    });
    expect(sim.metrics().rackMinutesAboveWarn).toBeGreaterThan(0);
  });

  it('gradual degradation warms the zone slowly, not in one jump', () => {
    const sim = run([{ kind: 'cooling-degradation', at: '1h', unit: 'cu-a1', over: '40m', toPct: 0 }]);
    const samples: number[] = [];
    for (let m = 0; m <= 70; m += 10) {
      sim.advanceTo(T0 + HOUR + m * MIN);
      samples.push(zoneSupply(sim, 'za'));
    }
    for (let k = 1; k < samples.length; k++)
      expect(samples[k]!).toBeGreaterThanOrEqual(samples[k - 1]! - 1e-9);
    expect(samples[1]! - samples[0]!).toBeLessThan(0.5); // ten minutes in: barely moved
    expect(samples[7]! - samples[0]!).toBeGreaterThan(3); // seventy minutes in: well up
    expect(zoneSupply(sim, 'zc')).toBe(18);
  });

  it('fan degradation makes the fans work harder for the same heat', () => {
    const sim = run([{ kind: 'fan-degradation', at: '30m', unit: 'cu-a1', over: '20m', toPct: 40 }]);
    sim.advanceTo(T0 + 29 * MIN);
    const f0 = sim.frame();
    sim.advanceTo(T0 + 60 * MIN);
    const f1 = sim.frame();
    const u = f1.cooling.ids.indexOf('cu-a1');
    expect(f1.cooling.fanPct[u]!).toBeGreaterThan(f0.cooling.fanPct[u]! + 20);
    // The zone still has the capacity, so its supply holds at setpoint.
    expect(zoneSupply(sim, 'za')).toBeCloseTo(18, 9);
  });
});

describe('other events', () => {
  it('an open containment door raises recirculation in that aisle only, until closed', () => {
    const sim = run([{ kind: 'containment-door-open', at: '1h', aisle: 'ca1', closeAfter: '1h' }], {
      containment: 'cold-aisle',
    });
    sim.advanceTo(T0 + HOUR - MIN);
    const aisle = inlets(sim, 'r1');
    const other = inlets(sim, 'r3');
    sim.advanceTo(T0 + HOUR + 30 * MIN);
    inlets(sim, 'r1').forEach((t, k) => {
      expect(t - aisle[k]!).toBeGreaterThan(0.5);
    });
    inlets(sim, 'r3').forEach((t, k) => {
      expect(Math.abs(t - other[k]!)).toBeLessThan(0.05);
    });
    sim.advanceTo(T0 + 3 * HOUR);
    inlets(sim, 'r1').forEach((t, k) => {
      expect(Math.abs(t - aisle[k]!)).toBeLessThan(0.05);
    });
  });

  it('a load surge drives idle GPUs in scope to the given utilisation for its duration', () => {
    const site = smallTwoRoomSite();
    const scenario = parseScenario({
      name: 't',
      events: [{ kind: 'load-surge', at: '10m', scope: { row: 'r3' }, duration: '20m' }],
    });
    const sim = new DataCenterSim(site, { seed: 1, startTs: T0, scenario });
    const power = (id: string) => sim.frame().racks.powerKw[sim.layout.rackIndex.get(id)!]!;
    const idle = power('r31');
    sim.advanceTo(T0 + 15 * MIN);
    expect(power('r31')).toBeCloseTo(idle + 24 * 0.7 * 0.75, 9); // idle GPUs go from 25 % to 100 % of rating
    expect(power('r21')).toBeCloseTo(idle, 9);
    sim.advanceTo(T0 + 31 * MIN);
    expect(power('r31')).toBeCloseTo(idle, 9);
  });

  it('sensor faults: stuck repeats one value, dropout removes readings, offset biases', () => {
    const site = smallTwoRoomSite();
    const scenario = parseScenario({
      name: 't',
      sensors: { noiseC: 0 },
      events: [
        { kind: 'sensor-fault', at: '10m', fault: 'stuck', id: 'r11', metric: 'inlet_c', duration: '1h' },
        { kind: 'sensor-fault', at: '10m', fault: 'dropout', id: 'r12', metric: 'all', duration: '1h' },
        { kind: 'sensor-fault', at: '10m', fault: 'offset', id: 'r13', offset: 4, duration: '1h' },
      ],
    });
    const sim = new DataCenterSim(site, { seed: 1, startTs: T0, scenario });
    const reading = (target: string, metric: string) =>
      sim.readings().find((r) => r.target === target && r.metric === metric)?.value;
    const truth = (id: string) => sim.frame().racks.inletC[sim.layout.rackIndex.get(id)!]!;
    sim.advanceTo(T0 + 11 * MIN);
    const stuck = reading('r11', 'inlet_c');
    for (const id of ['r11', 'r12', 'r13'])
      sim.placeJob({ id: `j${id}`, gpus: 24, rackId: id, start: sim.now, durationMs: HOUR });
    sim.advanceTo(T0 + 40 * MIN);
    expect(reading('r11', 'inlet_c')).toBe(stuck);
    expect(truth('r11')).toBeGreaterThan(stuck! + 0.3);
    expect(sim.readings().filter((r) => r.target === 'r12')).toEqual([]);
    expect(reading('r13', 'inlet_c')).toBeCloseTo(truth('r13') + 4, 9);
    sim.advanceTo(T0 + 2 * HOUR);
    expect(reading('r11', 'inlet_c')).toBeCloseTo(truth('r11'), 9);
    expect(sim.readings().filter((r) => r.target === 'r12')).toHaveLength(3);
  });

  it('names a missing unit and lists the known ones', () => {
    const scenario = parseScenario({
      name: 't',
      events: [{ kind: 'cooling-failure', at: '1h', unit: 'nope' }],
    });
    expect(() => new DataCenterSim(smallTwoRoomSite(), { seed: 1, startTs: T0, scenario })).toThrow(
      /events\[0\]\.unit: no cooling unit "nope".*known: cu-a1, cu-a2/,
    );
  });
});

describe('determinism', () => {
  const scenario = parseScenario({
    name: 'det',
    workload: { utilization: 0.6 },
    sensors: { dropoutRate: 0.01 },
    events: [
      {
        kind: 'sensor-fault',
        at: '20m',
        fault: 'noise',
        target: 'rack',
        id: 'random',
        count: 3,
        duration: '1h',
      },
    ],
  });
  const trace = (seed: number) => {
    const sim = new DataCenterSim(smallTwoRoomSite(), { seed, startTs: T0, scenario });
    const out: string[] = [];
    for (let k = 0; k < 12; k++) {
      sim.advanceTo(sim.now + 5 * MIN);
      out.push(JSON.stringify(sim.readings()));
    }
    return { out, metrics: sim.metrics() };
  };

  it('the same seed gives an identical trace; another seed a different one', () => {
    const a = trace(11);
    const b = trace(11);
    const c = trace(12);
    expect(b.out).toEqual(a.out);
    expect(b.metrics).toEqual(a.metrics);
    expect(c.out).not.toEqual(a.out);
    expect(c.metrics.itKwh).not.toBe(a.metrics.itKwh);
  });

  it('readings do not depend on how often they are taken', () => {
    const a = new DataCenterSim(smallTwoRoomSite(), { seed: 2, startTs: T0, scenario });
    const b = new DataCenterSim(smallTwoRoomSite(), { seed: 2, startTs: T0, scenario });
    for (let k = 0; k < 30; k++) {
      a.step();
      a.readings();
    }
    b.advanceTo(T0 + 30_000);
    expect(b.readings()).toEqual(a.readings());
  });
});
