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

export { type CoolingParams, DEFAULT_COOLING } from './cooling.ts';
export {
  type EncodedMessage,
  type EncoderOptions,
  frameToReadings,
  LINE_MEASUREMENT,
  TelemetryEncoder,
  timestampDigits,
} from './encode.ts';
export { type SmallSiteOptions, smallTwoRoomSite } from './fixtures.ts';
export { generateHall, type HallOptions, STANDARD_TELEMETRY } from './hall.ts';
export type { JobParams, JobSpec, JobState, JobStatus } from './jobs.ts';
export { DEFAULT_RECIRCULATION, RackLayout, type RecirculationParams } from './layout.ts';
export type { SimMetrics } from './metrics.ts';
export {
  AIR_HEAT_CAPACITY,
  airHeatKw,
  airRiseKPerKw,
  coefficientOfPerformance,
  defaultAirflowM3s,
} from './physics.ts';
export {
  coolestInletFit,
  firstFit,
  type PlacementPolicy,
  type PlacementView,
  randomFit,
} from './placement.ts';
export {
  loadScenarioFile,
  parseDuration,
  parseScenario,
  parseScenarioYaml,
  type Scenario,
  ScenarioError,
  type ScenarioEvent,
  type ScenarioInput,
  ScenarioSchema,
} from './scenario.ts';
export { type AppliedEvent, DataCenterSim, type SimFrame, type SimOptions } from './simulator.ts';
export { type BatchWindow, DEFAULT_WORKLOAD, WorkloadGenerator, type WorkloadOptions } from './workload.ts';
