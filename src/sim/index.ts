/** The simulator's public API, for the `simulate` command, benchmarks and tests. */
export { DataCenterSim, type AppliedEvent, type SimFrame, type SimOptions } from './simulator.ts';
export {
  coolestInletFit,
  firstFit,
  randomFit,
  type JobSpec,
  type JobState,
  type JobStatus,
  type PlacementPolicy,
  type PlacementView,
} from './jobs.ts';
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
export { RackLayout, DEFAULT_RECIRCULATION, type RecirculationParams } from './layout.ts';
export { DEFAULT_COOLING, type CoolingParams } from './cooling.ts';
export { coefficientOfPerformance, airRiseKPerKw, airHeatKw, defaultAirflowM3s, AIR_HEAT_CAPACITY } from './physics.ts';
