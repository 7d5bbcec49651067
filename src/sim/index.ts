/**
 * The simulator's public API, for the `simulate` command, benchmarks and tests.
 *
 *   const scenario = loadScenarioFile('sites/scenarios/normal-week.yaml');
 *   const sim = new DataCenterSim(site, { seed: 1, startTs: Date.parse(scenario.start!), scenario });
 *   const encoder = new TelemetryEncoder(site, { rackMappings: 'spread' });
 *   while (sim.now < sim.endTs!) {
 *     sim.step();                                       // one stepMs (1 s) of physics
 *     for (const m of encoder.encode(sim.readings())) publish(m.topic, m.payload, m.qos);
 *   }
 *   sim.metrics();                                      // peak inlet, rack-minutes above warn, kWh, cost …
 *
 * Backfill: call `sim.readings()` every N steps and write them to the store directly.
 */
export { DataCenterSim, type AppliedEvent, type SimFrame, type SimOptions } from './simulator.ts';
export type { JobSpec, JobState, JobStatus, JobParams } from './jobs.ts';
export { coolestInletFit, firstFit, randomFit, type PlacementPolicy, type PlacementView } from './placement.ts';
export type { SimMetrics } from './metrics.ts';
export {
  loadScenarioFile,
  parseDuration,
  parseScenario,
  parseScenarioYaml,
  ScenarioError,
  ScenarioSchema,
  type Scenario,
  type ScenarioEvent,
  type ScenarioInput,
} from './scenario.ts';
export { WorkloadGenerator, DEFAULT_WORKLOAD, type WorkloadOptions, type BatchWindow } from './workload.ts';
export { TelemetryEncoder, frameToReadings, timestampDigits, LINE_MEASUREMENT, type EncodedMessage, type EncoderOptions } from './encode.ts';
export { generateHall, STANDARD_TELEMETRY, type HallOptions } from './hall.ts';
export { smallTwoRoomSite, type SmallSiteOptions } from './fixtures.ts';
export { RackLayout, DEFAULT_RECIRCULATION, type RecirculationParams } from './layout.ts';
export { DEFAULT_COOLING, type CoolingParams } from './cooling.ts';
export { coefficientOfPerformance, airRiseKPerKw, airHeatKw, defaultAirflowM3s, AIR_HEAT_CAPACITY } from './physics.ts';
