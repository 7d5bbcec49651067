/**
 * The forecast capability's entry points for the CLI and the agent: train from the store and save
 * the result as a new model version; backtest a stored model over a window. Each reads history
 * through the TelemetryStore interface and model files through the ModelRepository; the maths
 * lives in the modules they call.
 */
import type { SiteIndex } from '../config/siteIndex.ts';
import type { TelemetryStore } from '../store/store.ts';
import { type BacktestReport, backtest } from './backtest.ts';
import type { SignalFrame } from './features.ts';
import { DEFAULT_STEP_MS, lookbackMs, queryHistory } from './history.ts';
import { buildForecastLayout, type ForecastLayout } from './layout.ts';
import type { ModelFile } from './modelFile.ts';
import type { ModelRepository, RefusedFile } from './modelStore.ts';
import { DEFAULT_HORIZONS_MIN, type TrainOptions, type TrainResult, trainForecastModel } from './training.ts';

export interface TrainSiteOptions extends TrainOptions {
  /** History window, ms: [from, to). */
  from: number;
  to: number;
  stepMs?: number;
  now?: number;
}

export interface TrainSiteResult extends TrainResult {
  /** The stored model (its version assigned by the repository) and its file. */
  saved: { model: ModelFile; file: string };
  /** The model that was in service and was compared against, if any. */
  previous?: ModelFile;
  /** Model files the repository could not use (reported, never fatal). */
  refused: RefusedFile[];
}

/**
 * Query `[from, to)` from the store, train against the promoted model, and save the result as the
 * next version: promoted if it passed the gate (the previous one is retired), else a candidate.
 */
export async function trainSite(
  store: Pick<TelemetryStore, 'query'>,
  index: SiteIndex,
  repo: ModelRepository,
  opts: TrainSiteOptions,
): Promise<TrainSiteResult> {
  const layout = buildForecastLayout(index);
  const stepMs = opts.stepMs ?? DEFAULT_STEP_MS;
  const frame = await queryHistory(store, layout, { from: opts.from, to: opts.to, stepMs });
  const { model: previous, refused } = await repo.loadPromoted();
  const result = trainForecastModel(layout, frame, opts, previous);
  const saved = await repo.save(result.model, opts.now);
  return { ...result, model: saved.model, saved, ...(previous ? { previous } : {}), refused };
}

export interface BacktestSiteOptions {
  /** Forecasts issued in [from, to) are scored. */
  from: number;
  to: number;
  /** Default: the site's warn threshold. */
  thresholdC?: number;
  /** Score persistence only (no model) at these horizons when `model` is absent. */
  horizonsMin?: readonly number[];
}

/** The window to query for a backtest: the features' look-back before `from`, the longest horizon after `to`. */
export function backtestRange(from: number, to: number, stepMs: number, horizonsMin: readonly number[]) {
  return { from: from - lookbackMs(stepMs), to: to + Math.max(...horizonsMin) * 60_000 + stepMs, stepMs };
}

/** Backtest `model` (or persistence alone) on stored history; also returns the frame for other baselines. */
export async function backtestSite(
  store: Pick<TelemetryStore, 'query'>,
  index: SiteIndex,
  model: ModelFile | undefined,
  opts: BacktestSiteOptions,
): Promise<{ report: BacktestReport; frame: SignalFrame; layout: ForecastLayout }> {
  const layout = buildForecastLayout(index);
  const stepMs = model?.stepMs ?? DEFAULT_STEP_MS;
  const horizonsMin = model?.horizonsMin ?? opts.horizonsMin ?? DEFAULT_HORIZONS_MIN;
  const frame = await queryHistory(store, layout, backtestRange(opts.from, opts.to, stepMs, horizonsMin));
  const report = backtest(model, layout, frame, {
    from: opts.from,
    to: opts.to,
    thresholdC: opts.thresholdC ?? index.site.thresholds.inletWarnC,
    horizonsMin,
  });
  return { report, frame, layout };
}
