import { describe, expect, it } from 'vitest';
import { smallTwoRoomSite } from '../../src/sim/fixtures.ts';
import { parseScenario } from '../../src/sim/scenario.ts';
import { DataCenterSim, type SimOptions } from '../../src/sim/simulator.ts';

const T0 = Date.UTC(2025, 5, 2, 0, 0, 0);
const HOUR = 3_600_000;
const RHO_CP = 1.2 * 1005;
/** Outdoor below the chiller reference and no fan power, so cooling power is exactly IT / CoP. */
const PLAIN: Partial<SimOptions> = {
  outdoor: { meanC: 10, amplitudeC: 0, dayToDayC: 0 },
  cooling: { fanPowerShare: 0 },
};

function loadRacks(sim: DataCenterSim, rackIds: readonly string[], start = T0, durationMs = 48 * HOUR): void {
  for (const id of rackIds) sim.placeJob({ id: `job-${id}`, gpus: 24, rackId: id, start, durationMs });
}

const cop = (t: number) => 0.0068 * t * t + 0.0008 * t + 0.458;
const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);

describe('energy balance at steady state', () => {
  it('cooling removes exactly the IT heat, and each rack warms its air by P / (ρ c_p airflow)', () => {
    const site = smallTwoRoomSite();
    site.rooms[0]!.rows[0]!.racks[0]!.airflowM3s = 2.5; // one rack with a configured airflow
    const sim = new DataCenterSim(site, { seed: 1, startTs: T0, ...PLAIN });
    loadRacks(
      sim,
      sim.layout.rackIds.filter((_, i) => i % 2 === 0),
    );
    sim.advanceTo(T0 + 2 * HOUR);
    const f = sim.frame();
    const it = sum(f.racks.powerKw);
    expect(it).toBeGreaterThan(100);
    expect(sum(f.cooling.heatRemovedKw)).toBeCloseTo(it, 6);

    const racks = site.rooms.flatMap((r) => r.rows.flatMap((row) => row.racks));
    let airHeat = 0;
    f.racks.ids.forEach((id, i) => {
      const rack = racks.find((r) => r.id === id)!;
      const airflow = rack.airflowM3s ?? rack.powerCapKw * 0.07;
      const rise = f.racks.outletC[i]! - f.racks.inletC[i]!;
      expect(rise).toBeCloseTo((f.racks.powerKw[i]! * 1000) / (RHO_CP * airflow), 9);
      airHeat += (RHO_CP * airflow * rise) / 1000;
    });
    expect(airHeat).toBeCloseTo(it, 6);
    // Unit air side: what each unit removes warms its airflow from supply to return.
    f.cooling.ids.forEach((_, u) => {
      expect(f.cooling.returnC[u]!).toBeGreaterThan(f.cooling.supplyC[u]!);
    });

    expect(f.site.coolingKw).toBeCloseTo(it / cop(18), 6);
    const caps = sum(racks.map((r) => r.powerCapKw));
    expect(f.site.powerKw).toBeCloseTo(it + it / cop(18) + 0.04 * it + 0.005 * caps, 6);
  });

  it('a zone short of capacity settles warmer, where the coils again remove all the heat', () => {
    const site = smallTwoRoomSite({ zaUnitKw: 150 });
    const scenario = parseScenario({
      name: 't',
      events: [{ kind: 'cooling-failure', at: '1h', unit: 'cu-a1' }],
    });
    const sim = new DataCenterSim(site, { seed: 1, startTs: T0, scenario, ...PLAIN });
    loadRacks(sim, sim.layout.rackIds);
    sim.advanceTo(T0 + 6 * HOUR);
    const f = sim.frame();
    const za = f.zones.ids.indexOf('za');
    expect(f.zones.loadKw[za]!).toBeGreaterThan(150); // more than the surviving unit's rating
    expect(f.zones.supplyC[za]!).toBeGreaterThan(21);
    expect(f.zones.removedKw[za]!).toBeCloseTo(f.zones.loadKw[za]!, 3);
    expect(sum(f.cooling.heatRemovedKw)).toBeCloseTo(sum(f.racks.powerKw), 3);
  });
});

describe('steady-state inlets', () => {
  it('match the closed form T_sup + D·P, and the fast path matches D entry by entry', () => {
    const sim = new DataCenterSim(smallTwoRoomSite(), { seed: 3, startTs: T0, ...PLAIN });
    loadRacks(sim, ['r11', 'r13', 'r23', 'r35', 's12']);
    sim.advanceTo(T0 + 2 * HOUR);
    const f = sim.frame();
    const closed = sim.steadyStateInlets(f.racks.powerKw);
    f.racks.inletC.forEach((t, i) => {
      expect(t).toBeCloseTo(closed[i]!, 6);
    });

    const L = sim.layout;
    for (let i = 0; i < L.n; i++) {
      let dense = f.zones.supplyC[L.zone[i]!]!;
      for (let j = 0; j < L.n; j++) dense += L.coefficient(i, j) * f.racks.powerKw[j]!;
      expect(closed[i]!).toBeCloseTo(dense, 9);
    }
  });

  it('D follows the layout: neighbours, the shared aisle and row ends recirculate most; other rooms never', () => {
    const L = new DataCenterSim(smallTwoRoomSite(), { seed: 1, startTs: T0 }).layout;
    const at = (id: string) => L.rackIndex.get(id)!;
    const D = (a: string, b: string) => L.coefficient(at(a), at(b));
    expect(D('r13', 'r12')).toBeGreaterThan(D('r13', 'r11')); // ±1 over ±2
    expect(D('r13', 'r11')).toBeGreaterThan(D('r13', 'r31')); // ±2 over another aisle
    expect(D('r13', 'r23')).toBeGreaterThan(D('r13', 'r25')); // opposite rack over a far one on the aisle
    expect(D('r13', 'r25')).toBeGreaterThan(D('r13', 'r31')); // same aisle over another aisle
    expect(D('r13', 's11')).toBe(0); // other room
    expect(D('r13', 'r13')).toBeLessThan(D('r13', 'r12')); // self term is small
    const rowSum = (id: string) => L.rackIds.reduce((s, j) => s + D(id, j), 0);
    expect(rowSum('r11')).toBeGreaterThan(rowSum('r13')); // row end recirculates more

    const contained = new DataCenterSim(smallTwoRoomSite({ containment: 'cold-aisle' }), {
      seed: 1,
      startTs: T0,
    }).layout;
    const ratio = contained.coefficient(at('r13'), at('r12')) / D('r13', 'r12');
    expect(ratio).toBeCloseTo(0.35, 9);
  });

  it('a hot rack warms its neighbours more than distant racks, and nothing in another room', () => {
    const site = smallTwoRoomSite();
    const idle = new DataCenterSim(site, { seed: 1, startTs: T0, ...PLAIN });
    idle.advanceTo(T0 + HOUR);
    const base = idle.frame().racks.inletC;
    const sim = new DataCenterSim(site, { seed: 1, startTs: T0, ...PLAIN });
    loadRacks(sim, ['r13']);
    sim.advanceTo(T0 + HOUR);
    const f = sim.frame();
    const rise = (id: string) =>
      f.racks.inletC[sim.layout.rackIndex.get(id)!]! - base[sim.layout.rackIndex.get(id)!]!;
    expect(rise('r12')).toBeGreaterThan(rise('r11'));
    expect(rise('r11')).toBeGreaterThan(rise('r31'));
    expect(rise('r23')).toBeGreaterThan(rise('r21'));
    expect(rise('r12')).toBeGreaterThan(0.1);
    expect(rise('s13')).toBe(0);
  });

  it('approaches steady state through a first-order lag with the configured time constant', () => {
    const sim = new DataCenterSim(smallTwoRoomSite(), { seed: 1, startTs: T0, tauSec: 120, ...PLAIN });
    const i = sim.layout.rackIndex.get('s13')!;
    const before = sim.frame().racks.inletC[i]!;
    loadRacks(sim, ['s12', 's13', 's14'], T0 + 1000);
    sim.advanceTo(T0 + 1000);
    const target = sim.steadyStateInlets(sim.frame().racks.powerKw)[i]!;
    sim.advanceTo(T0 + 1000 + 120_000);
    const after = sim.frame().racks.inletC[i]!;
    // Zone zc has spare capacity, so supply stays put and the inlet alone lags: 1 − e⁻¹ of the way.
    expect((after - before) / (target - before)).toBeCloseTo(1 - Math.exp(-1), 2);
  });
});
