/**
 * The training worker's body: rebuild the layout from the site, fit, and post the result back.
 * Pure CPU: the main thread queried the history and saves the file, so ingestion and the forecast
 * cycle keep running while a site's week of history is fitted.
 */
import { parentPort } from 'node:worker_threads';
import type { SiteConfig } from '../config/schema.ts';
import { buildSiteIndex } from '../config/siteIndex.ts';
import type { SignalFrame } from './features.ts';
import { buildForecastLayout } from './layout.ts';
import type { ModelFile } from './modelFile.ts';
import { TrainingError, type TrainOptions, type TrainResult, trainForecastModel } from './training.ts';

export interface TrainRequest {
  site: SiteConfig;
  frame: SignalFrame;
  opts: TrainOptions;
  previous?: ModelFile;
}

export type TrainReply =
  | { ok: true; result: TrainResult }
  | { ok: false; message: string; trainingData: boolean };

parentPort?.once('message', (req: TrainRequest) => {
  let reply: TrainReply;
  try {
    const layout = buildForecastLayout(buildSiteIndex(req.site));
    reply = { ok: true, result: trainForecastModel(layout, req.frame, req.opts, req.previous) };
  } catch (err) {
    reply = { ok: false, message: (err as Error).message, trainingData: err instanceof TrainingError };
  }
  parentPort?.postMessage(reply);
});
