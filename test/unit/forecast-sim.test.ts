/**
 * Forecasts trained on simulated telemetry (the lab site, sensor noise included, readings averaged per
 * minute as the store would) and scored on held-back data and on a cooling failure.
 */
import { describe, expect, it } from 'vitest';
import { loadSiteFile } from '../../src/config/loader.ts';
import type { SiteConfig } from '../../src/config/schema.ts';
import { backtest, modelGrid } from '../../src/forecast/backtest.ts';
import type { SignalFrame } from '../../src/forecast/features.ts';
import { FrameAccumulator } from '../../src/forecast/history.ts';
import { buildForecastLayout, type ForecastLayout } from '../../src/forecast/layout.ts';
import { trainForecastModel } from '../../src/forecast/training.ts';
import { DataCenterSim, loadScenarioFile } from '../../src/sim/index.ts';

const loaded = loadSiteFile('sites/lab.yaml');
if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
const site: SiteConfig = loaded.config;
const MIN = 60_000;

function simulate(
  scenarioName: string,
  hours?: number,
): { layout: ForecastLayout; frame: SignalFrame; sim: DataCenterSim } {
  const scenario = loadScenarioFile(`sites/scenarios/${scenarioName}.yaml`);
  const start = Date.parse(scenario.start!);
  const end = start + (hours ? hours * 3_600_000 : scenario.duration!);
  const sim = new DataCenterSim(site, { seed: 11, startTs: start, scenario, stepMs: 15_000 });
  const layout = buildForecastLayout(sim.index);
  const acc = new FrameAccumulator(layout, { from: start, to: end, stepMs: MIN });
  while (sim.now < end) {
    sim.step();
    acc.add(sim.readings());
  }
  return { layout, frame: acc.finish(), sim };
}

describe('forecasts on simulated telemetry', () => {
  const week = simulate('normal-week', 30);
  const trained = trainForecastModel(week.layout, week.frame, { holdoutMs: 6 * 3_600_000 });

  it('beats persistence on the held-back hours at every horizon, 15 minutes included', () => {
    const h15 = trained.validation.horizons.find((h) => h.horizonMin === 15)!;
    expect(h15.model.n).toBeGreaterThan(1000);
    expect(h15.model.mae).toBeLessThan(h15.persistence.mae);
    expect(trained.promoted).toBe(true);
  });

  it('flags the racks of a failed cooling unit before they cross the warn threshold', () => {
    const failure = simulate('cooling-failure');
    const warn = site.thresholds.inletWarnC;
    const report = backtest(trained.model, failure.layout, failure.frame, { thresholdC: warn });
    const m = report.combined.model!;
    expect(m.breaches).toBeGreaterThan(0);
    expect(m.breachesPredicted).toBe(m.breaches);
    expect(m.precision).toBeGreaterThanOrEqual(0.95);
    for (const h of report.horizons.filter((x) => x.horizonMin <= 15)) {
      expect(h.model!.errors.mae).toBeLessThan(h.persistence.errors.mae);
    }

    // Within a few minutes of the failure, each rack that will cross is flagged, before it crosses.
    const failedAt = failure.sim.appliedEvents.find((e) => /failed/.test(e.label))!.ts;
    const grid = modelGrid(trained.model, failure.layout, failure.frame);
    const L = failure.frame.stride;
    const H = grid.horizonsMin.length;
    const failSlot = Math.floor((failedAt - failure.frame.t0) / MIN);
    for (let r = 0; r < failure.layout.n; r++) {
      const inlet = (t: number) => failure.frame.inlet[r * L + t]!;
      let cross = -1;
      for (let t = failSlot; t < failSlot + 30 && cross < 0; t++) if (inlet(t) >= warn) cross = t;
      if (cross < 0) continue;
      let flagged = -1;
      for (let t = failSlot; t < cross && flagged < 0; t++) {
        for (let h = 0; h < H; h++) if (grid.values[(r * H + h) * L + t]! >= warn) flagged = t;
      }
      expect(flagged).toBeGreaterThanOrEqual(0);
      expect(flagged - failSlot).toBeLessThanOrEqual(3);
    }
  });
});
