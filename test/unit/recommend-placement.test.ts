import { describe, expect, it } from 'vitest';
import type { SiteIndex } from '../../src/config/siteIndex.ts';
import { prng } from '../../src/forecast/synthetic.ts';
import { feedLoads, judgeNodes, rankPlacements } from '../../src/recommend/placement.ts';
import { type PlacementJob, PlacementJobSchema } from '../../src/recommend/schemas.ts';
import { ClusterState } from '../../src/recommend/state.ts';
import { forecastThermalModel, LayoutThermalModel, type ThermalModel } from '../../src/recommend/thermal.ts';
import { type FixtureOptions, rackReadings, recommendIndex, uniform } from './recommend-fixture.ts';

function setup(values: Record<string, { kw?: number; inletC?: number }>, opts: FixtureOptions = {}) {
  const index = recommendIndex(opts);
  const state = new ClusterState(index);
  state.observe(rackReadings(values));
  const thermal = new LayoutThermalModel(index, (r) => state.inletC(r));
  return { index, state, thermal, ctx: { index, state, thermal } };
}
const job = (j: Record<string, unknown>): PlacementJob => PlacementJobSchema.parse({ durationMin: 60, ...j });

function assertWithinLimits(
  index: SiteIndex,
  state: ClusterState,
  racks: string[],
  addedByRack: Map<string, number>,
) {
  const feeds = feedLoads(index, state);
  const feedAdd = new Map<string, number>();
  let siteAdd = 0;
  for (const rack of racks) {
    const place = index.racks.get(rack)!;
    const add = addedByRack.get(rack) ?? 0;
    expect(state.rackKw(rack) + add).toBeLessThanOrEqual(place.rack.powerCapKw + 1e-9);
    for (const f of [place.rack.feeds.a, place.rack.feeds.b])
      if (f) feedAdd.set(f, (feedAdd.get(f) ?? 0) + add);
    siteAdd += add;
  }
  for (const [f, add] of feedAdd) {
    const cap = index.site.powerFeeds.find((p) => p.id === f)!.capacityKw;
    expect((feeds.get(f) ?? 0) + add).toBeLessThanOrEqual(cap + 1e-9);
  }
  if (index.site.powerCapKw !== undefined)
    expect(state.siteItKw() + siteAdd).toBeLessThanOrEqual(index.site.powerCapKw + 1e-9);
}

describe('placement ranking', () => {
  it('ranks racks with reasons in words and fits the GPUs on one node when it can', () => {
    const { ctx } = setup(uniform(5, 22));
    const r = rankPlacements(job({ gpus: 4 }), ctx);
    expect(r.candidates.length).toBe(5);
    const best = r.candidates[0]!;
    expect(best.nodes).toHaveLength(1);
    expect(best.nodes[0]!.gpus).toBe(4);
    // 4 GPUs at 1 kW + half the node's 1 kW base.
    expect(best.addedKw).toBeCloseTo(4.5, 6);
    expect(best.reasons.join('; ')).toMatch(/inlet forecast 22\.0 → 22\.0 °C/);
    expect(best.reasons.join('; ')).toMatch(/feed [AB] \(f[A-D]\) at \d+% of cap/);
    expect(best.predictedPeakInletC).not.toBeNull();
    for (let i = 1; i < r.candidates.length; i++)
      expect(r.candidates[i]!.score).toBeLessThanOrEqual(r.candidates[i - 1]!.score);
  });

  it('never crosses a rack, feed (A/B) or site cap over random states and jobs', () => {
    const rand = prng(7);
    let placed = 0;
    for (let trial = 0; trial < 300; trial++) {
      const values: Record<string, { kw: number; inletC: number }> = {};
      for (const row of ['a', 'b'])
        for (const k of [1, 2, 3, 4]) values[`${row}${k}`] = { kw: rand() * 29, inletC: 19 + rand() * 7 };
      const { index, state, ctx } = setup(values, { siteCapKw: 150 + rand() * 60, feedKw: 60 + rand() * 60 });
      const spread = rand() < 0.3 ? (['rack', 'row', 'feed'] as const)[Math.floor(rand() * 3)] : undefined;
      const j = job({
        gpus: 1 + Math.floor(rand() * 16),
        tier: (['realtime', 'internal', 'batch'] as const)[Math.floor(rand() * 3)],
        ...(spread ? { spread } : {}),
      });
      for (const c of rankPlacements(j, ctx).candidates) {
        placed++;
        const added = new Map<string, number>();
        // Added kW per rack from the node shares: GPUs × 1 kW + base share.
        for (const n of c.nodes) added.set(n.rack, (added.get(n.rack) ?? 0) + n.gpus * 1 + n.gpus / 8);
        expect([...added.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(c.addedKw, 3);
        assertWithinLimits(index, state, c.racks, added);
        expect(c.nodes.reduce((s, n) => s + n.gpus, 0)).toBe(j.gpus);
        expect(c.powerHeadroomKw).toBeGreaterThanOrEqual(-1e-9);
      }
    }
    expect(placed).toBeGreaterThan(100);
  });

  it('respects A/B redundancy: a feed pair must carry its racks on one feed', () => {
    // Row a draws 96 kW on fA/fB (100 kW breakers): 4.5 kW more fits every rack cap but not one feed alone.
    const { ctx } = setup({
      a1: { kw: 24, inletC: 22 },
      a2: { kw: 24, inletC: 22 },
      a3: { kw: 24, inletC: 22 },
      a4: { kw: 24, inletC: 22 },
      b1: { kw: 5, inletC: 22 },
    });
    const r = rankPlacements(job({ gpus: 4, limit: 10 }), ctx);
    expect(r.candidates.length).toBeGreaterThan(0);
    expect(r.candidates.every((c) => c.rack.startsWith('b'))).toBe(true);
    const refusedA = r.rejected.filter((x) => x.rack.startsWith('a'));
    expect(refusedA).toHaveLength(4);
    expect(refusedA.every((x) => /feed fA would carry/.test(x.reason))).toBe(true);
  });

  it('respects the rack cap and the site cap', () => {
    const rack = setup({ ...uniform(2, 22), b2: { kw: 25, inletC: 22 } });
    const r1 = rankPlacements(job({ gpus: 8, limit: 10 }), rack.ctx);
    expect(r1.candidates.map((c) => c.rack)).not.toContain('b2');
    expect(r1.rejected.find((x) => x.rack === 'b2')?.reason).toMatch(/rack cap/);

    const site = setup(uniform(20, 22), { siteCapKw: 165 });
    const r2 = rankPlacements(job({ gpus: 8 }), site.ctx);
    expect(r2.candidates).toHaveLength(0);
    expect(r2.rejected.every((x) => /site cap/.test(x.reason))).toBe(true);
  });

  it('excludes racks with an active hotspot and placements that push a rack or a neighbour to warn', () => {
    const { ctx } = setup({ ...uniform(5, 22), a1: { kw: 5, inletC: 28 }, b3: { kw: 5, inletC: 26.9 } });
    const r = rankPlacements(job({ gpus: 16, limit: 10 }), ctx);
    const racks = r.candidates.map((c) => c.rack);
    expect(racks).not.toContain('a1');
    expect(r.rejected.find((x) => x.rack === 'a1')?.reason).toMatch(/hotspot/);
    expect(racks).not.toContain('b3');
    // b2 and b4 sit next to b3: 18 kW × 0.025 °C/kW lifts b3 from 26.9 to 27.35 °C.
    expect(r.rejected.find((x) => x.rack === 'b2')?.reason).toMatch(/neighbour b3/);
    expect(racks).toContain('a3');
  });

  it('excludes predicted hotspots from a forecast-backed model', () => {
    const { index, state, thermal } = setup(uniform(5, 22));
    const rackIds = index.rackIds;
    const forecast = forecastThermalModel(
      {
        latest: () => ({
          rackIds,
          horizonsMin: [15],
          current: rackIds.map(() => 22),
          predicted: rackIds.map((r) => (r === 'a2' ? 27.5 : 22.5)),
          hotspots: [{ rack: 'a2', severity: 'warn' as const }],
        }),
        sensitivity: () => undefined,
      },
      thermal,
    );
    const r = rankPlacements(job({ gpus: 8, limit: 10 }), { index, state, thermal: forecast });
    expect(r.candidates.map((c) => c.rack)).not.toContain('a2');
    expect(r.candidates[0]!.reasons[0]).toMatch(/inlet forecast 22\.5 →/);
  });

  it('consolidates batch work and spreads realtime work', () => {
    const { state, ctx } = setup({ ...uniform(2, 22), a1: { kw: 11, inletC: 22 } });
    state.accept({
      id: 'busy',
      untilTs: Number.MAX_SAFE_INTEGER,
      allocations: [{ node: 'a1-n1', rack: 'a1', gpus: 8, kw: 9 }],
    });
    expect(rankPlacements(job({ gpus: 8, tier: 'batch' }), ctx).candidates[0]!.rack).toBe('a1');
    expect(rankPlacements(job({ gpus: 8, tier: 'realtime' }), ctx).candidates[0]!.rack).not.toBe('a1');
  });

  it('spreads replicas across failure domains', () => {
    const { index, ctx } = setup(uniform(5, 22));
    const rows = rankPlacements(job({ gpus: 16, spread: 'row', replicas: 2 }), ctx);
    expect(rows.candidates.length).toBeGreaterThan(0);
    for (const c of rows.candidates) {
      expect(new Set(c.racks.map((r) => index.racks.get(r)!.row)).size).toBe(2);
      expect(c.nodes.reduce((s, n) => s + n.gpus, 0)).toBe(16);
    }
    const racks = rankPlacements(job({ nodes: 3, spread: 'rack' }), ctx);
    for (const c of racks.candidates) expect(new Set(c.racks).size).toBe(3);
    const feeds = rankPlacements(job({ gpus: 6, spread: 'feed', replicas: 3 }), ctx);
    // Only two disjoint feed pairs exist: three replicas cannot each have their own.
    expect(feeds.candidates).toHaveLength(0);
  });

  it('honours zones, labels and racks to avoid', () => {
    const { ctx } = setup(uniform(5, 22));
    const zoned = rankPlacements(job({ gpus: 4, limit: 20, constraints: { zones: ['z2'] } }), ctx);
    expect(zoned.candidates.every((c) => c.rack.startsWith('b'))).toBe(true);
    const labelled = rankPlacements(
      job({ gpus: 4, limit: 20, constraints: { labels: { gpu: 'h100' }, avoidRacks: ['a2'] } }),
      ctx,
    );
    expect(labelled.candidates.map((c) => c.rack).sort()).toEqual(['a1', 'a3', 'a4']);
  });

  it('accepted placements hold GPUs and power until they end', () => {
    const { state, ctx } = setup(uniform(0, 22));
    state.accept({
      id: 'j1',
      untilTs: 1000,
      allocations: [
        { node: 'a1-n1', rack: 'a1', gpus: 8, kw: 9 },
        { node: 'a1-n2', rack: 'a1', gpus: 8, kw: 9 },
      ],
    });
    expect(state.rackKw('a1')).toBe(18);
    const r = rankPlacements(job({ gpus: 4, limit: 20 }), ctx);
    expect(r.rejected.find((x) => x.rack === 'a1')?.reason).toBe('not enough free GPUs');
    state.expire(1000);
    expect(state.freeGpus('a1-n1')).toBe(8);
    expect(rankPlacements(job({ gpus: 4, limit: 20 }), ctx).candidates.map((c) => c.rack)).toContain('a1');
  });

  it('judges single nodes for a scheduler that keeps its own GPU books', () => {
    const { ctx } = setup({ ...uniform(5, 22), a1: { kw: 5, inletC: 28 }, b1: { kw: 29, inletC: 22 } });
    const v = judgeNodes(job({ gpus: 2 }), ctx, ['a1-n1', 'b1-n1', 'a3-n2', 'not-ours']);
    expect(v.get('a1-n1')).toMatchObject({ ok: false });
    expect(v.get('b1-n1')).toMatchObject({ ok: false });
    expect(v.get('a3-n2')).toMatchObject({ ok: true });
    expect(v.has('not-ours')).toBe(false);
  });

  it('answers in well under a millisecond per request on a small site', () => {
    const { ctx } = setup(uniform(5, 22));
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) rankPlacements(job({ gpus: 1 + (i % 16) }), ctx);
    expect((performance.now() - t0) / 200).toBeLessThan(5);
  });
});

describe('forecast source', () => {
  it('the service wraps a forecast source and falls back to the layout when it has nothing', async () => {
    const { RecommendService } = await import('../../src/recommend/service.ts');
    const index = recommendIndex();
    let available = false;
    const source = {
      latest: () => ({ rackIds: ['a1'], horizonsMin: [15], current: [22], predicted: [23], hotspots: [] }),
      sensitivity: (r: string) =>
        r === 'a1' ? { ownCPerKw: 0.02, neighbours: [{ rack: 'a2', cPerKw: 0.05 }] } : undefined,
    };
    const svc = new RecommendService({ index, forecast: () => (available ? source : undefined) });
    expect(svc.thermal().source).toBe('layout');
    available = true;
    const m = svc.thermal();
    expect(m.source).toBe('forecast');
    expect(m.predictedPeakC('a1')).toBe(23);
    expect(m.sensitivity('a1').selfCPerKw).toBe(0.02);
    expect(m.sensitivity('a3').selfCPerKw).toBe(svc.layout.sensitivity('a3').selfCPerKw);
    expect(svc.thermal()).toBe(m);
  });
});

describe('thermal fallback', () => {
  it('uses row neighbours for sensitivity and readings for hotspots', () => {
    const index = recommendIndex();
    const state = new ClusterState(index);
    const m: ThermalModel = new LayoutThermalModel(index, (r) => state.inletC(r));
    expect(
      m
        .sensitivity('a2')
        .neighbours.map((n) => n.rack)
        .sort(),
    ).toEqual(['a1', 'a3', 'a4']);
    state.observe(rackReadings({ a2: { inletC: 33 } }));
    expect(m.hotspot('a2')).toBe('critical');
    expect(m.hotspot('a3')).toBeUndefined();
  });
});
