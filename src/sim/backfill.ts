/**
 * History straight into a store, fast (for training and backtests): the simulator runs from `fromTs`
 * to `toTs` with large physics steps (the inlet lag is exact for any step) and its sensor readings are
 * taken every `everyMs` and written in big batches, a few writes in flight while the next batch is
 * simulated. Zero loss: a batch is written, or retried with backoff, or the run stops and says how far
 * it got; nothing is dropped quietly. Abortable (Ctrl-C): what was produced is still written.
 */
import type { SiteConfig } from '../config/schema.ts';
import { errorMessage, isRetryable } from '../store/errors.ts';
import type { TelemetryStore } from '../store/store.ts';
import { backoffDelay } from '../store/writeBuffer.ts';
import type { Reading } from '../telemetry/reading.ts';
import type { Scenario } from './scenario.ts';
import { DataCenterSim } from './simulator.ts';

export interface BackfillOptions {
  site: SiteConfig;
  /** A started store; the caller stops it. */
  store: TelemetryStore;
  scenario?: Scenario;
  seed?: number;
  /** First reading's time and the last one's bound (inclusive), ms since epoch. */
  fromTs: number;
  toTs: number;
  /** Physics step, ms (default 10 s). */
  stepMs?: number;
  /** Time between sensor readings, ms (default 60 s). */
  everyMs?: number;
  /** Readings per store write (default 20,000). */
  batchSize?: number;
  /** Writes in flight while the simulation goes on (default 2). */
  maxInFlight?: number;
  /** Attempts per batch before the run stops (default 6, backoff 500 ms doubling to 10 s). */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  signal?: AbortSignal;
  onProgress?: (p: BackfillProgress) => void;
  /** Wall time between onProgress calls (default 250 ms); a last call comes at the end. */
  progressEveryMs?: number;
}

export interface BackfillProgress {
  fromTs: number;
  toTs: number;
  /** Simulated time reached. */
  simTs: number;
  readingsProduced: number;
  readingsWritten: number;
  wallMs: number;
}

export interface BackfillResult extends BackfillProgress {
  /** Sensor snapshots taken (one per everyMs). */
  snapshots: number;
  /** Every reading up to toTs was produced and written. */
  complete: boolean;
  interrupted: boolean;
  /** Why writing stopped, when it did. */
  error?: string;
  /** Time of the newest reading known to be written (readings are written in time order, batches may finish out of order). */
  writtenThroughTs: number;
}

/** CPU time the simulation may take before letting timers, I/O and signals run. */
const YIELD_EVERY_MS = 50;

export async function backfill(opts: BackfillOptions): Promise<BackfillResult> {
  const everyMs = opts.everyMs ?? 60_000;
  const stepMs = opts.stepMs ?? 10_000;
  if (!(everyMs > 0) || !(stepMs > 0)) throw new Error('backfill: everyMs and stepMs must be above 0');
  if (!(opts.toTs >= opts.fromTs)) throw new Error('backfill: toTs must not be before fromTs');
  const batchSize = opts.batchSize ?? 20_000;
  const maxInFlight = opts.maxInFlight ?? 2;
  const attempts = opts.retry?.attempts ?? 6;
  const baseDelayMs = opts.retry?.baseDelayMs ?? 500;
  const maxDelayMs = opts.retry?.maxDelayMs ?? 10_000;
  const progressEveryMs = opts.progressEveryMs ?? 250;
  const { store, signal } = opts;

  const sim = new DataCenterSim(opts.site, {
    seed: opts.seed ?? opts.scenario?.seed ?? 1,
    startTs: opts.fromTs,
    stepMs,
    ...(opts.scenario ? { scenario: opts.scenario } : {}),
  });

  const t0 = performance.now();
  let produced = 0;
  let written = 0;
  let snapshots = 0;
  let simTs = opts.fromTs;
  let error: string | undefined;
  /** Batches in production order; a batch's last timestamp once written, undefined while pending. */
  const batchEnds: Array<{ ts: number; done: boolean }> = [];
  let writtenThroughTs = Number.NaN;
  const inFlight = new Set<Promise<void>>();

  const progress = (): BackfillProgress => ({
    fromTs: opts.fromTs,
    toTs: opts.toTs,
    simTs,
    readingsProduced: produced,
    readingsWritten: written,
    wallMs: performance.now() - t0,
  });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });

  const writeBatch = async (batch: Reading[], slot: { ts: number; done: boolean }): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await store.write(batch);
        written += batch.length;
        slot.done = true;
        // Advance the written-through mark over the prefix of finished batches.
        while (batchEnds.length > 0 && batchEnds[0]!.done) writtenThroughTs = batchEnds.shift()!.ts;
        return;
      } catch (err) {
        const last = attempt + 1 >= attempts || !isRetryable(err) || signal?.aborted === true;
        if (last) {
          error ??= `${store.name} did not take a batch of ${batch.length} readings: ${errorMessage(err)}`;
          return;
        }
        await sleep(backoffDelay(attempt, baseDelayMs, maxDelayMs));
      }
    }
  };

  const submit = async (batch: Reading[]): Promise<void> => {
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    if (error !== undefined) return;
    const slot = { ts: batch[batch.length - 1]!.ts, done: false };
    batchEnds.push(slot);
    const p: Promise<void> = writeBatch(batch, slot).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  let batch: Reading[] = [];
  let lastYield = performance.now();
  let lastProgress = Number.NEGATIVE_INFINITY;
  for (let ts = opts.fromTs; ts <= opts.toTs; ts += everyMs) {
    if (signal?.aborted || error !== undefined) break;
    sim.advanceTo(ts);
    const readings = sim.readings();
    for (const r of readings) batch.push(r);
    produced += readings.length;
    snapshots++;
    simTs = ts;
    if (batch.length >= batchSize) {
      const full = batch;
      batch = [];
      await submit(full);
    }
    const now = performance.now();
    if (now - lastYield >= YIELD_EVERY_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    if (opts.onProgress && now - lastProgress >= progressEveryMs) {
      lastProgress = now;
      opts.onProgress(progress());
    }
  }
  // Interrupted or not, what was produced is written.
  if (batch.length > 0 && error === undefined) await submit(batch);
  while (inFlight.size > 0) await Promise.race(inFlight);

  const final = progress();
  opts.onProgress?.(final);
  const complete = error === undefined && simTs + everyMs > opts.toTs && written === produced;
  return {
    ...final,
    snapshots,
    complete,
    interrupted: signal?.aborted === true && !complete,
    ...(error !== undefined ? { error } : {}),
    writtenThroughTs,
  };
}
