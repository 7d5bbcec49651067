/**
 * bench:forecast — the forecast capability's speed targets:
 *  - training on 7 days of 1-minute history for 1,000 racks (target < 60 s on one core);
 *  - one forecast cycle for 10,000 racks (target < 200 ms).
 * History comes from the thermal simulator (normal-week scenario on a generated hall), sampled once
 * a minute from its true state; the forecast cycle runs on readings fed through `observe()` as the
 * agent would. Progress goes to stderr; the last stdout line is the JSON result.
 *
 * Usage: npx tsx bench/forecast.ts [-- --trainRacks 1000 --days 7 --racks 10000 --cycles 20]
 */
import { parseArgs } from 'node:util';
import type { SiteConfig } from '../src/config/schema.ts';
import { buildSiteIndex } from '../src/config/siteIndex.ts';
import type { SignalFrame } from '../src/forecast/features.ts';
import { RackForecaster } from '../src/forecast/forecaster.ts';
import { emptyHistoryFrame, finishFrame } from '../src/forecast/history.ts';
import { buildForecastLayout, type ForecastLayout } from '../src/forecast/layout.ts';
import { trainForecastModel } from '../src/forecast/training.ts';
import { DataCenterSim, generateHall, loadScenarioFile } from '../src/sim/index.ts';
import type { Reading } from '../src/telemetry/reading.ts';

const { values } = parseArgs({
  options: {
    trainRacks: { type: 'string', default: '1000' },
    days: { type: 'string', default: '7' },
    racks: { type: 'string', default: '10000' },
    cycles: { type: 'string', default: '20' },
  },
});
const TRAIN_RACKS = Number(values.trainRacks);
const DAYS = Number(values.days);
const RACKS = Number(values.racks);
const CYCLES = Number(values.cycles);
const MIN = 60_000;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Run the simulator for `minutes` and record its state once a minute into a history frame. */
function simulateHistory(
  site: SiteConfig,
  minutes: number,
  seed: number,
): { layout: ForecastLayout; frame: SignalFrame } {
  const scenario = loadScenarioFile('sites/scenarios/normal-week.yaml');
  const start = Date.parse(scenario.start ?? '2025-06-02T00:00:00Z');
  const sim = new DataCenterSim(site, { seed, startTs: start, scenario, stepMs: MIN });
  const layout = buildForecastLayout(buildSiteIndex(site));
  const frame = emptyHistoryFrame(layout, { from: start, to: start + minutes * MIN, stepMs: MIN });
  const L = frame.stride;
  const rackRow = Int32Array.from(sim.layout.rackIds, (id) => layout.rackIndex.get(id)!);
  const zoneRow = Int32Array.from(sim.layout.zoneIds, (id) => layout.zoneIndex.get(id) ?? -1);
  const unitZone = Int32Array.from(sim.frame().cooling.ids, (id) => layout.unitZone.get(id) ?? -1);
  const fanSum = new Float64Array(layout.zoneIds.length);
  const fanCnt = new Float64Array(layout.zoneIds.length);
  for (let t = 0; t < L; t++) {
    sim.step();
    const f = sim.frame();
    for (let i = 0; i < rackRow.length; i++) {
      frame.inlet[rackRow[i]! * L + t] = f.racks.inletC[i]!;
      frame.power[rackRow[i]! * L + t] = f.racks.powerKw[i]!;
    }
    for (let z = 0; z < zoneRow.length; z++) {
      if (zoneRow[z]! >= 0) frame.supply[zoneRow[z]! * L + t] = f.zones.supplyC[z]!;
    }
    fanSum.fill(0);
    fanCnt.fill(0);
    unitZone.forEach((z, u) => {
      if (z < 0) return;
      fanSum[z]! += f.cooling.fanPct[u]!;
      fanCnt[z]!++;
    });
    for (let z = 0; z < fanSum.length; z++)
      if (fanCnt[z]! > 0) frame.fan[z * L + t] = fanSum[z]! / fanCnt[z]!;
    frame.siteLoad[t] = f.site.powerKw;
    frame.outdoor[t] = f.site.outdoorC;
  }
  finishFrame(frame, layout);
  return { layout, frame };
}

/** The frame's last `minutes` as readings, two per minute, as telemetry would deliver them. */
function readingsOf(
  layout: ForecastLayout,
  frame: SignalFrame,
  site: SiteConfig,
  minutes: number,
): Reading[] {
  const out: Reading[] = [];
  const L = frame.stride;
  const siteId = layout.site;
  const units = site.coolingUnits;
  for (let t = L - minutes; t < L; t++) {
    for (const offset of [5_000, 35_000]) {
      const ts = frame.t0 + t * MIN + offset;
      for (let i = 0; i < layout.n; i++) {
        const id = layout.rackIds[i]!;
        out.push({
          kind: 'rack',
          site: siteId,
          target: id,
          metric: 'inlet_c',
          value: frame.inlet[i * L + t]!,
          ts,
        });
        out.push({
          kind: 'rack',
          site: siteId,
          target: id,
          metric: 'power_kw',
          value: frame.power[i * L + t]!,
          ts,
        });
      }
      for (const u of units) {
        const z = layout.zoneIndex.get(u.zone)!;
        out.push({
          kind: 'cooling',
          site: siteId,
          target: u.id,
          metric: 'supply_c',
          value: frame.supply[z * L + t]!,
          ts,
        });
        out.push({
          kind: 'cooling',
          site: siteId,
          target: u.id,
          metric: 'fan_pct',
          value: frame.fan[z * L + t]!,
          ts,
        });
      }
      out.push({
        kind: 'site',
        site: siteId,
        target: siteId,
        metric: 'power_kw',
        value: frame.siteLoad[t]!,
        ts,
      });
      out.push({
        kind: 'site',
        site: siteId,
        target: siteId,
        metric: 'outdoor_c',
        value: frame.outdoor[t]!,
        ts,
      });
    }
  }
  return out;
}

// 1. Training: 7 days of 1-minute history for 1,000 racks.
const trainSite = generateHall({ racks: TRAIN_RACKS, siteId: 'bench-train' });
let t0 = performance.now();
const history = simulateHistory(trainSite, DAYS * 1440, 1);
log(
  `simulated ${DAYS} days for ${history.layout.n} racks in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
t0 = performance.now();
const trained = trainForecastModel(history.layout, history.frame);
const trainSeconds = (performance.now() - t0) / 1000;
log(
  `trained on ${trained.model.counts.trainRows} rows (+${trained.model.counts.holdoutRows} held back) in ${trainSeconds.toFixed(1)} s`,
);
log(`gate: ${trained.reason}`);

// 2. Forecast cycle for 10,000 racks, with a model trained on a shorter window of that hall.
const cycleSite = generateHall({ racks: RACKS, siteId: 'bench-cycle' });
t0 = performance.now();
const recent = simulateHistory(cycleSite, 8 * 60, 2);
const cycleModel = trainForecastModel(recent.layout, recent.frame, {
  holdoutMs: 2 * 3_600_000,
  minRackRows: 200,
}).model;
log(`cycle model for ${recent.layout.n} racks prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const forecaster = new RackForecaster(buildSiteIndex(cycleSite), {}, cycleModel);
const readings = readingsOf(recent.layout, recent.frame, cycleSite, 15);
t0 = performance.now();
forecaster.observe(readings);
log(`observed ${readings.length} readings in ${(performance.now() - t0).toFixed(0)} ms`);
const now = recent.frame.t0 + recent.frame.stride * MIN - 5_000;
const times: number[] = [];
let hotspots = 0;
let degraded = 0;
for (let c = 0; c < CYCLES + 3; c++) {
  const set = forecaster.forecast(now);
  if (c >= 3) times.push(set.elapsedMs);
  hotspots = set.hotspots.length;
  degraded = set.degraded.reduce((n, d) => n + (d === 0 ? 0 : 1), 0);
}
times.sort((a, b) => a - b);
const cycleMs = times[Math.floor(times.length / 2)]!;
log(
  `forecast cycle: median ${cycleMs.toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms; ${hotspots} hotspots, ${degraded} degraded racks`,
);

console.log(
  JSON.stringify({
    racks: recent.layout.n,
    cycleMs: Math.round(cycleMs * 10) / 10,
    trainRacks: history.layout.n,
    trainSeconds: Math.round(trainSeconds * 10) / 10,
  }),
);
