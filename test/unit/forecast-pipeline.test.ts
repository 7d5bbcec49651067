import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hotspotEvents, PredictionGrid, scoreGrid } from '../../src/forecast/backtest.ts';
import { createFrame } from '../../src/forecast/features.ts';
import { buildForecastLayout } from '../../src/forecast/layout.ts';
import { ModelRepository } from '../../src/forecast/modelStore.ts';
import { backtestSite, trainSite } from '../../src/forecast/pipeline.ts';
import { syntheticFrame } from '../../src/forecast/synthetic.ts';
import type { HistoryQuery, HistorySeries } from '../../src/store/store.ts';
import { oneRowSite } from '../helpers/sites.ts';

const index = oneRowSite('Pipeline test', 5);
const layout = buildForecastLayout(index);
const MIN = 60_000;
const frame = syntheticFrame(layout, {
  slots: 1440,
  seed: 12,
  supplyRamp: { zone: 0, fromSlot: 1300, cPerHour: 6 },
});

/** The synthetic history as a store would return it: one series per target and metric, per-minute means. */
const series = {
  rack: layout.rackIds.flatMap((id, i) => [
    { target: id, metric: 'inlet_c', signal: frame.inlet, row: i },
    { target: id, metric: 'power_kw', signal: frame.power, row: i },
  ]),
  cooling: [{ target: 'cu', metric: 'supply_c', signal: frame.supply, row: 0 }],
  site: [{ target: 'dc', metric: 'outdoor_c', signal: frame.outdoor, row: 0 }],
};
const queries: HistoryQuery[] = [];
const store = {
  async query(q: HistoryQuery): Promise<HistorySeries[]> {
    queries.push(q);
    return series[q.kind]
      .filter((s) => (!q.targets || q.targets.includes(s.target)) && q.metrics.includes(s.metric))
      .map((s) => ({
        target: s.target,
        metric: s.metric,
        points: Array.from({ length: frame.stride }, (_, t) => ({
          ts: frame.t0 + t * MIN,
          value: s.signal[s.row * frame.stride + t]!,
        })).filter((p) => p.ts >= q.from && p.ts < q.to),
      }));
  },
};

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('train and backtest from a store', () => {
  it('trains, saves v1 promoted, then keeps an equal retrain as candidate v2', async () => {
    const root = await mkdtemp(join(tmpdir(), 'hotaisle-pipeline-'));
    dirs.push(root);
    const repo = new ModelRepository(root, 'dc');
    // Three horizons: 20 h of history is too short to hold back a day behind a 60-minute purge.
    const window = {
      from: frame.t0,
      to: frame.t0 + 1200 * MIN,
      holdoutMs: 4 * 3_600_000,
      minRackRows: 200,
      horizonsMin: [5, 15, 30],
    };
    const first = await trainSite(store, index, repo, window);
    expect(first.saved.model.version).toBe(1);
    expect(first.promoted).toBe(true);
    expect(first.previous).toBeUndefined();
    expect(queries.every((q) => q.windowMs === MIN && q.site === 'dc')).toBe(true);

    const second = await trainSite(store, index, repo, window);
    expect(second.saved.model.version).toBe(2);
    expect(second.previous?.version).toBe(1);
    expect(second.promoted).toBe(false);
    expect((await repo.loadPromoted()).model?.version).toBe(1);

    const {
      report,
      frame: scored,
      layout: l,
    } = await backtestSite(store, index, first.saved.model, {
      from: frame.t0 + 1200 * MIN,
      to: frame.t0 + 1400 * MIN,
    });
    expect(report.thresholdC).toBe(27);
    const h15 = report.horizons[1]!;
    expect(h15.model!.errors.n).toBeGreaterThan(0);
    expect(h15.model!.errors.mae).toBeLessThan(h15.persistence.errors.mae);

    // Another predictor (e.g. InfluxDB HOLT_WINTERS output) goes through the same scoring.
    const other = PredictionGrid.forFrame(scored, l, [15]);
    for (let t = 0; t < scored.stride; t++) {
      for (const [r, id] of l.rackIds.entries())
        other.set(id, 15, scored.t0 + t * MIN, scored.inlet[r * scored.stride + t]! + 0.5);
    }
    const score = scoreGrid(other, scored, { thresholdC: 27 });
    expect(score.horizons[0]!.errors.mae).toBeGreaterThan(0.3);
  });

  it('lists the breaches and false flags it scored, with leads and horizons', () => {
    // Rack 0 crosses 27 °C at slot 60 (below it before); rack 1 never does.
    const f = createFrame(layout, 80, frame.t0, MIN);
    for (let t = 0; t < 80; t++) {
      f.inlet[t] = t < 60 ? 25 : 28;
      f.inlet[80 + t] = 22;
    }
    const grid = PredictionGrid.forFrame(f, layout, [5, 15]);
    const at = (t: number) => f.t0 + t * MIN;
    grid.set(0, 15, at(48), 27.5); // true: 12 min before the crossing
    grid.set(0, 5, at(10), 27.5); // false: nothing crosses by slot 10 + 5 + 5
    grid.set(1, 15, at(20), 27.1); // false: rack 1 never crosses
    const opts = { thresholdC: 27, fromSlot: 0, toSlot: 70 };
    const combined = scoreGrid(grid, f, opts).combined;
    const events = hotspotEvents(grid, f, opts);
    expect(combined).toMatchObject({
      breaches: 1,
      breachesPredicted: 1,
      flags: 3,
      falseFlags: 2,
      minLeadMin: 12,
    });
    expect(events.breaches).toEqual([{ rack: layout.rackIds[0], ts: at(60), leadMin: 12 }]);
    expect(events.falseFlags).toEqual([
      { rack: layout.rackIds[0], ts: at(10), reachMin: 5 },
      { rack: layout.rackIds[1], ts: at(20), reachMin: 15 },
    ]);
  });
});
