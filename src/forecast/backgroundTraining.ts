/**
 * Training a site without stopping the process that runs it: history is read from the store a batch
 * of racks at a time (progress reported), the fit runs in a worker thread (a week of 1,000 racks is
 * tens of seconds of CPU that must not hold up ingestion or the forecast cycle), and the result is
 * saved through the ModelRepository like `trainSite` does. Abortable between steps and during the fit.
 */
import { Worker } from 'node:worker_threads';
import type { SiteIndex } from '../config/siteIndex.ts';
import type { TelemetryStore } from '../store/store.ts';
import { addSeries, DEFAULT_STEP_MS, emptyHistoryFrame, finishFrame, historyQueries } from './history.ts';
import { buildForecastLayout } from './layout.ts';
import type { ModelRepository } from './modelStore.ts';
import type { TrainSiteOptions, TrainSiteResult } from './pipeline.ts';
import { TrainingError, type TrainOptions, type TrainResult, trainForecastModel } from './training.ts';
import type { TrainReply, TrainRequest } from './trainWorker.ts';

export interface TrainingProgress {
  phase: 'query' | 'fit' | 'save';
  /** query: store queries done of total; fit and save: 0 of 1, then 1 of 1. */
  done: number;
  total: number;
}

export interface BackgroundTrainOptions extends TrainSiteOptions {
  signal?: AbortSignal;
  onProgress?: (p: TrainingProgress) => void;
  /** Fit in this thread instead (tests, tiny sites). Default false. */
  inline?: boolean;
}

export class TrainingAbortedError extends Error {
  readonly code = 'FORECAST_TRAINING_ABORTED';
  constructor() {
    super('training interrupted; no model was saved');
  }
}

const WORKER_URL = new URL('./trainWorker.mjs', import.meta.url);

/** Fit in a worker thread; rejects with TrainingError for data problems, TrainingAbortedError on abort. */
export function fitInWorker(req: TrainRequest, signal?: AbortSignal): Promise<TrainResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new TrainingAbortedError());
    const worker = new Worker(WORKER_URL);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = () => finish(() => reject(new TrainingAbortedError()));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (reply: TrainReply) =>
      finish(() =>
        reply.ok
          ? resolve(reply.result)
          : reject(
              reply.trainingData
                ? new TrainingError(reply.message)
                : new Error(`training failed: ${reply.message}`),
            ),
      ),
    );
    worker.once('error', (err) => finish(() => reject(new Error(`training worker failed: ${err.message}`))));
    worker.once('exit', (code) =>
      finish(() => reject(new Error(`training worker exited (code ${code}) without a result`))),
    );
    // The frame is not needed here afterwards: move its arrays instead of copying them (a week of 1,000 racks is ~100 MB).
    const buffers = new Set<ArrayBuffer>();
    for (const v of Object.values(req.frame))
      if (v instanceof Float32Array) buffers.add(v.buffer as ArrayBuffer);
    worker.postMessage(req, [...buffers]);
  });
}

/**
 * Query `[from, to)`, fit against the promoted model, save the next version (promoted when it passed
 * the gate, else a candidate). Same result as `trainSite`, without blocking the event loop.
 */
export async function trainSiteInBackground(
  store: Pick<TelemetryStore, 'query'>,
  index: SiteIndex,
  repo: ModelRepository,
  opts: BackgroundTrainOptions,
): Promise<TrainSiteResult> {
  const { signal, onProgress } = opts;
  const check = () => {
    if (signal?.aborted) throw new TrainingAbortedError();
  };
  const layout = buildForecastLayout(index);
  const stepMs = opts.stepMs ?? DEFAULT_STEP_MS;
  // Whole slots, so the frame's slots line up with the store's per-slot means (epoch-aligned windows).
  const range = {
    from: Math.floor(opts.from / stepMs) * stepMs,
    to: Math.floor(opts.to / stepMs) * stepMs,
    stepMs,
  };
  const frame = emptyHistoryFrame(layout, range);
  const queries = historyQueries(layout, range);
  for (const [i, q] of queries.entries()) {
    check();
    onProgress?.({ phase: 'query', done: i, total: queries.length });
    addSeries(frame, layout, q.kind, await store.query(q));
  }
  finishFrame(frame, layout);
  onProgress?.({ phase: 'query', done: queries.length, total: queries.length });
  check();

  const { model: previous, refused } = await repo.loadPromoted();
  const trainOpts: TrainOptions = {
    ...(opts.horizonsMin ? { horizonsMin: opts.horizonsMin } : {}),
    ...(opts.holdoutMs !== undefined ? { holdoutMs: opts.holdoutMs } : {}),
    ...(opts.lambda !== undefined ? { lambda: opts.lambda } : {}),
    ...(opts.shrinkRows !== undefined ? { shrinkRows: opts.shrinkRows } : {}),
    ...(opts.minRackRows !== undefined ? { minRackRows: opts.minRackRows } : {}),
    ...(opts.minPooledRows !== undefined ? { minPooledRows: opts.minPooledRows } : {}),
    ...(opts.physics ? { physics: opts.physics } : {}),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
  };
  onProgress?.({ phase: 'fit', done: 0, total: 1 });
  const result = opts.inline
    ? trainForecastModel(layout, frame, trainOpts, previous)
    : await fitInWorker(
        { site: index.site, frame, opts: trainOpts, ...(previous ? { previous } : {}) },
        signal,
      );
  onProgress?.({ phase: 'fit', done: 1, total: 1 });
  check();

  onProgress?.({ phase: 'save', done: 0, total: 1 });
  const saved = await repo.save(result.model, opts.now);
  onProgress?.({ phase: 'save', done: 1, total: 1 });
  return { ...result, model: saved.model, saved, ...(previous ? { previous } : {}), refused };
}
