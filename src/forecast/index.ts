/** The forecast capability's public API (see models/README.md for the model files). */
export {
  type BacktestReport,
  backtest,
  type GridScore,
  type HotspotScore,
  modelGrid,
  PredictionGrid,
  persistenceGrid,
  type ScoreOptions,
  scoreGrid,
} from './backtest.ts';
export { FEATURES, type SignalFrame, TIERS } from './features.ts';
export { type ForecasterOptions, ModelRefusedError, RackForecaster } from './forecaster.ts';
export {
  DEGRADED,
  type DegradedReason,
  degradedReasons,
  type ForecastPoint,
  type ForecastSet,
  forecastPoints,
  forecastRows,
  type RackForecastRow,
} from './forecastSet.ts';
export {
  alignHistory,
  DEFAULT_STEP_MS,
  FrameAccumulator,
  type HistoryRange,
  historyQueries,
  lookbackMs,
  queryHistory,
} from './history.ts';
export { detectHotspot, type Hotspot, type HotspotSeverity, timeToCrossing } from './hotspots.ts';
export { buildForecastLayout, type ForecastLayout } from './layout.ts';
export {
  type ErrorMetrics,
  MODEL_FORMAT_VERSION,
  type ModelFile,
  type ModelStatus,
  parseModelFile,
} from './modelFile.ts';
export { type ModelEntry, ModelFileError, ModelRepository, type RefusedFile } from './modelStore.ts';
export {
  type BacktestSiteOptions,
  backtestRange,
  backtestSite,
  type TrainSiteOptions,
  type TrainSiteResult,
  trainSite,
} from './pipeline.ts';
export type { RackSensitivity, WhatIfEffect } from './sensitivity.ts';
export {
  DEFAULT_HORIZONS_MIN,
  TrainingError,
  type TrainOptions,
  type TrainResult,
  trainForecastModel,
} from './training.ts';
export type { ValidationResult } from './validation.ts';
