/**
 * Simulator replays for bench:forecast-quality: the cooling-failure scenario run live through the
 * forecaster, and the normal-week held-back day scored against the simulator's true inlet.
 */
import type { SiteConfig } from '../src/config/schema.ts';
import { buildSiteIndex } from '../src/config/siteIndex.ts';
import { modelGrid, PredictionGrid, persistenceGrid, scoreGrid } from '../src/forecast/backtest.ts';
import { lagSlots, type SignalFrame } from '../src/forecast/features.ts';
import { RackForecaster } from '../src/forecast/forecaster.ts';
import type { ForecastLayout } from '../src/forecast/layout.ts';
import type { ModelFile } from '../src/forecast/modelFile.ts';
import { DataCenterSim, type Scenario } from '../src/sim/index.ts';

const MIN = 60_000;

/**
 * Run the scenario through the simulator and the forecaster: readings every 15 s are observed, a
 * forecast cycle runs every 30 s. For each rack whose inlet reading crosses warn within 90 minutes of
 * the unit failing (having been below it for the 10 minutes before), the first cycle after the
 * failure that lists it as a hotspot while it is still below warn.
 */
export function replayFailure(site: SiteConfig, model: ModelFile, scenario: Scenario, seed: number) {
  const index = buildSiteIndex(site);
  const warn = site.thresholds.inletWarnC;
  const start = Date.parse(scenario.start!);
  const end = start + scenario.duration!;
  const sim = new DataCenterSim(site, { seed, startTs: start, scenario, stepMs: 5000 });
  const forecaster = new RackForecaster(index, {}, model);
  /** Last inlet reading at or above warn before the failure, per rack. */
  const lastHot = new Map<string, number>();
  const crossing = new Map<string, number>();
  const flagged = new Map<string, number>();
  let failTs: number | undefined;
  for (let ts = start; ts <= end; ts += 15_000) {
    sim.advanceTo(ts);
    failTs ??= sim.appliedEvents.find((e) => /failed/.test(e.label))?.ts;
    const readings = sim.readings();
    forecaster.observe(readings, ts);
    for (const r of readings) {
      if (r.kind !== 'rack' || r.metric !== 'inlet_c') continue;
      if (r.value < warn) continue;
      if (failTs === undefined || ts < failTs) {
        lastHot.set(r.target, ts);
        continue;
      }
      // A rack above warn in the 10 minutes before the failure is not crossing because of it.
      const wasHot = (lastHot.get(r.target) ?? Number.NEGATIVE_INFINITY) >= failTs - 10 * MIN;
      if (!crossing.has(r.target) && !wasHot && ts < failTs + 90 * MIN) crossing.set(r.target, ts);
    }
    if (failTs !== undefined && ts >= failTs && (ts - start) % 30_000 === 0) {
      for (const h of forecaster.forecast(ts).hotspots) {
        if (!flagged.has(h.rack) && h.currentC < warn) flagged.set(h.rack, ts);
      }
    }
    if (failTs !== undefined && ts > failTs + 90 * MIN) break;
  }
  if (failTs === undefined) throw new Error('cooling-failure: no unit failed in the scenario');
  const lat: number[] = [];
  let flaggedBefore = 0;
  let minMargin = Number.POSITIVE_INFINITY;
  for (const [rack, crossTs] of crossing) {
    const f = flagged.get(rack);
    if (f === undefined || f >= crossTs) continue;
    flaggedBefore++;
    lat.push((f - failTs) / 1000);
    minMargin = Math.min(minMargin, (crossTs - f) / 1000);
  }
  lat.sort((a, b) => a - b);
  return {
    crossed: crossing.size,
    flaggedBefore,
    worstFlagSec: lat.length ? lat[lat.length - 1]! : null,
    medianFlagSec: lat.length ? lat[Math.floor(lat.length / 2)]! : null,
    minMarginSec: Number.isFinite(minMargin) ? minMargin : null,
  };
}

/**
 * The forecasts of the held-back day scored against the simulator's true (noise-free) inlet, beside
 * persistence, and the noise floor: the true inlet as the forecast, scored against the measured
 * (noisy, per-minute) inlet the headline figures use — what no forecast can beat there. Same seed
 * and physics step as the backfill, so the true state is the one behind the stored readings.
 */
export function scoreAgainstTruth(
  site: SiteConfig,
  scenario: Scenario,
  seed: number,
  layout: ForecastLayout,
  frame: SignalFrame,
  model: ModelFile,
  from: number,
  to: number,
) {
  const start = Date.parse(scenario.start!);
  const sim = new DataCenterSim(site, { seed, startTs: start, scenario, stepMs: 10_000 });
  const L = frame.stride;
  const truth = new Float32Array(layout.n * L).fill(Number.NaN);
  const rows = sim.layout.rackIds.map((id) => layout.rackIndex.get(id)!);
  for (let t = 0; t < L; t++) {
    const ts = frame.t0 + t * MIN;
    if (ts < start) continue;
    sim.advanceTo(ts);
    const inlet = sim.frame().racks.inletC;
    rows.forEach((r, i) => {
      truth[r * L + t] = inlet[i]!;
    });
  }
  const horizonsMin = model.horizonsMin;
  const oracle = PredictionGrid.forFrame(frame, layout, horizonsMin);
  const H = horizonsMin.length;
  for (let r = 0; r < layout.n; r++) {
    for (let h = 0; h < H; h++) {
      const hs = oracle.hSlots[h]!;
      for (let t = 0; t + hs < L; t++) oracle.values[(r * H + h) * L + t] = truth[r * L + t + hs]!;
    }
  }
  const fromSlot = Math.max(lagSlots(MIN).lookback, Math.floor((from - frame.t0) / MIN));
  const toSlot = Math.floor((to - frame.t0) / MIN);
  const opts = { thresholdC: site.thresholds.inletWarnC, fromSlot, toSlot };
  // Forecasts are made from the measured frame, as always; only what they are scored against changes.
  const trueFrame: SignalFrame = { ...frame, inlet: truth };
  const floor = scoreGrid(oracle, frame, opts).horizons;
  const mod = scoreGrid(modelGrid(model, layout, frame, fromSlot, toSlot), trueFrame, opts).horizons;
  const pers = scoreGrid(persistenceGrid(frame, layout, horizonsMin), trueFrame, opts).horizons;
  return horizonsMin.map((horizonMin, h) => ({
    horizonMin,
    floorMae: floor[h]!.errors.mae,
    modelMae: mod[h]!.errors.mae,
    persistenceMae: pers[h]!.errors.mae,
  }));
}
