import { describe, expect, it } from 'vitest';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { zoneCooling, zoneShortOfCooling } from '../../src/recommend/cooling.ts';
import { rankPlacements } from '../../src/recommend/placement.ts';
import { PlacementJobSchema } from '../../src/recommend/schemas.ts';
import { ClusterState } from '../../src/recommend/state.ts';
import { LayoutThermalModel } from '../../src/recommend/thermal.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { rackReadings, recommendSite, uniform } from './recommend-fixture.ts';

/** The fixture with two 100 kW units per zone (setpoint 18 °C), so units can be compared. */
function twoUnitIndex() {
  const site = recommendSite();
  return buildSiteIndex({
    ...site,
    coolingUnits: ['z1', 'z2'].flatMap((zone) =>
      [1, 2].map((k) => ({ id: `${zone}-u${k}`, room: 'r1', zone, capacityKw: 100, supplySetpointC: 18 })),
    ),
  });
}

function unitReadings(unit: string, supplyC: number, returnC: number, fanPct: number): Reading[] {
  const r = (metric: string, value: number): Reading => ({
    kind: 'cooling',
    site: 'rt',
    target: unit,
    metric,
    value,
    ts: 0,
  });
  return [r('supply_c', supplyC), r('return_c', returnC), r('fan_pct', fanPct)];
}

function setup(units: Reading[], rackKw = 10) {
  const index = twoUnitIndex();
  const state = new ClusterState(index);
  state.observe(rackReadings(uniform(rackKw, 22)));
  state.observe(units);
  const thermal = new LayoutThermalModel(index, (r) => state.inletC(r));
  return { index, state, ctx: { index, state, thermal } };
}

const healthy = (zone: string, supplyC = 18) => [
  ...unitReadings(`${zone}-u1`, supplyC, supplyC + 10, 60),
  ...unitReadings(`${zone}-u2`, supplyC, supplyC + 10, 60),
];

describe('zone cooling margin', () => {
  it('uses the ratings when units report nothing', () => {
    const { index, state } = setup([]);
    const z1 = zoneCooling(index, state).get('z1')!;
    expect(z1.ratedKw).toBe(200);
    expect(z1.effectiveKw).toBe(200);
    expect(z1.loadKw).toBe(40);
    expect(z1.marginKw).toBe(160);
    expect(z1.n1Kw).toBe(100);
    expect(z1.supplyExcessC).toBeUndefined();
    expect(zoneShortOfCooling(z1, 500)).toBe(false); // ratings alone never refuse
  });

  it('reads a failing coil off its small ΔT against its sibling at the same fan speed', () => {
    const { index, state } = setup([
      ...unitReadings('z1-u1', 18, 28, 80),
      ...unitReadings('z1-u2', 18, 19, 80), // a tenth of the heat at the same airflow
      ...healthy('z2'),
    ]);
    const zones = zoneCooling(index, state);
    const z1 = zones.get('z1')!;
    expect(z1.effectiveKw).toBeCloseTo(110, 6);
    expect(z1.weakUnits).toEqual([{ unit: 'z1-u2', health: 0.1 }]);
    expect(z1.marginKw).toBeCloseTo(70, 6);
    expect(zoneShortOfCooling(z1, 60)).toBe(false);
    expect(zoneShortOfCooling(z1, 80)).toBe(true);
    expect(zones.get('z2')!.effectiveKw).toBe(200);
  });

  it('treats a supply above setpoint as a zone at capacity', () => {
    const { index, state } = setup([...healthy('z1', 21), ...healthy('z2')]);
    const z1 = zoneCooling(index, state).get('z1')!;
    expect(z1.supplyExcessC).toBeCloseTo(3, 6);
    expect(z1.marginKw).toBe(0);
    expect(zoneShortOfCooling(z1, 1)).toBe(true);
  });

  it('sees a warm supply from supply readings alone', () => {
    const supplyOnly = ['z1-u1', 'z1-u2'].map(
      (unit): Reading => ({
        kind: 'cooling',
        site: 'rt',
        target: unit,
        metric: 'supply_c',
        value: 20,
        ts: 0,
      }),
    );
    const { index, state } = setup(supplyOnly);
    const z1 = zoneCooling(index, state).get('z1')!;
    expect(z1.supplyExcessC).toBeCloseTo(2, 6);
    expect(z1.effectiveKw).toBe(40);
    expect(zoneShortOfCooling(z1, 1)).toBe(true);
  });

  it('counts a stopped unit (fan at 0) as lost', () => {
    const { index, state } = setup([
      ...unitReadings('z1-u1', 18, 28, 90),
      ...unitReadings('z1-u2', 25, 25, 0),
    ]);
    const z1 = zoneCooling(index, state).get('z1')!;
    expect(z1.ratedKw).toBe(100);
    expect(z1.effectiveKw).toBe(100);
    expect(z1.weakUnits).toEqual([{ unit: 'z1-u2', health: 0 }]);
  });
});

describe('placement with cooling telemetry', () => {
  const job = PlacementJobSchema.parse({ gpus: 8, durationMin: 60, limit: 8 });

  it('refuses every rack of a zone whose units cannot take the heat, naming the weak unit', () => {
    // u2's coil has failed and the supply already runs 1.5 K warm: z1 takes nothing more.
    const { ctx } = setup([
      ...unitReadings('z1-u1', 19.5, 23.5, 30),
      ...unitReadings('z1-u2', 19.5, 19.9, 30),
      ...healthy('z2'),
    ]);
    const r = rankPlacements(job, ctx);
    expect(r.candidates.length).toBeGreaterThan(0);
    expect(r.candidates.every((c) => c.rack.startsWith('b'))).toBe(true);
    const refused = r.rejected.filter((x) => x.rack.startsWith('a'));
    expect(refused).toHaveLength(4);
    expect(refused[0]!.reason).toMatch(/cooling zone z1 would carry .* kW.*z1-u2 at 10%/);
  });

  it('prefers the zone with more cooling margin when both can take the job', () => {
    const { ctx, state } = setup([...healthy('z1'), ...healthy('z2')]);
    // z1 carries 4 × 40 kW of its 200 kW, z2 4 × 10 kW: same inlets, same feeds' share.
    for (const rack of ['a1', 'a2', 'a3', 'a4']) state.setRack(rack, 25, 22);
    const best = rankPlacements(job, ctx).candidates[0]!;
    expect(best.rack.startsWith('b')).toBe(true);
    expect(best.reasons.join('; ')).toMatch(/cooling zone z2 at \d+% of what its units remove now/);
  });

  it('packs internal work best-fit and spreads realtime work', () => {
    const { ctx, state } = setup([...healthy('z1'), ...healthy('z2')]);
    // a1 has 8 GPUs left (one node busy); every other rack is empty.
    state.setRackFreeGpus('a1', 8);
    const internal = rankPlacements(
      PlacementJobSchema.parse({ gpus: 8, durationMin: 60, tier: 'internal' }),
      ctx,
    );
    const realtime = rankPlacements(
      PlacementJobSchema.parse({ gpus: 8, durationMin: 60, tier: 'realtime' }),
      ctx,
    );
    expect(internal.candidates[0]!.rack).toBe('a1');
    expect(realtime.candidates[0]!.rack).not.toBe('a1');
  });
});
