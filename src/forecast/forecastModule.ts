/**
 * Forecasts as an agent capability: loads the promoted model from models/<site>/ at start (persistence
 * when there is none, and readiness says so), feeds the RackForecaster every accepted reading, runs a
 * forecast cycle on a fixed interval, writes one forecast per rack and horizon per minute to the
 * store's `forecast` measurement, retrains on the site's cron (history read from the store, the fit in
 * a worker thread) and hot-swaps a model that passed the gate. Serves /v1/forecasts.
 *
 * The cycle is synchronous and short (a few ms for 10,000 racks); store writes are fire-and-forget
 * with at most one in flight, so neither can hold up ingestion.
 */
import schedule from 'node-schedule';
import type { AgentContext, AgentModule } from '../agent.ts';
import { type ForecastSource, type ForecastStatus, forecastRoutes } from '../api/routes/forecasts.ts';
import type { ReadinessCheck } from '../api/routes/health.ts';
import type { RouteRegistrar } from '../api/server.ts';
import { layoutChanged } from '../config/reloadDiff.ts';
import type { Logger } from '../log.ts';
import { errorMessage } from '../store/errors.ts';
import type { TelemetryStore } from '../store/store.ts';
import type { Reading } from '../telemetry/reading.ts';
import { TrainingAbortedError, trainSiteInBackground } from './backgroundTraining.ts';
import { RackForecaster } from './forecaster.ts';
import { type ForecastSet, forecastPoints } from './forecastSet.ts';
import { historyQueries, lookbackMs } from './history.ts';
import type { ModelFile } from './modelFile.ts';
import { ModelRepository } from './modelStore.ts';
import type { TrainSiteResult } from './pipeline.ts';
import type { RackSensitivity } from './sensitivity.ts';

/** Racks per store write of forecasts (five horizons by default: 5,000 points). */
const WRITE_CHUNK_RACKS = 1000;

export interface ForecastModuleOptions {
  /** Root of the model directories; files live in `<modelsDir>/<site>/`. */
  modelsDir: string;
  /** Overrides of the site file's forecast settings (tests). */
  cycleMs?: number;
  /** Cron for training, or 'off'; default the site's `forecast.trainCron`. */
  trainCron?: string;
  /** Minimum time between two store writes of forecasts; default one minute (the model's slot). */
  writeEveryMs?: number;
  /** Fit in the agent's thread instead of a worker (tests). */
  inlineTraining?: boolean;
  now?: () => number;
}

export interface TrainingOutcome {
  at: string;
  ok: boolean;
  version?: number;
  promoted?: boolean;
  reason: string;
  durationMs: number;
}

export class ForecastModule implements AgentModule, ForecastSource {
  readonly name = 'forecast';
  private ctx: AgentContext | undefined;
  private log: Logger | undefined;
  private repo: ModelRepository | undefined;
  private forecaster: RackForecaster | undefined;
  private set: ForecastSet | undefined;
  private timer: NodeJS.Timeout | undefined;
  private job: schedule.Job | undefined;
  private training: { promise: Promise<TrainingOutcome>; abort: AbortController } | undefined;
  private writing: Promise<void> | undefined;
  private lastWriteTs = Number.NEGATIVE_INFINITY;
  private headroomCache: { ts: number; values: Float64Array } | undefined;
  private hotRacks = new Set<string>();
  private noModelReason: string | null = null;
  private readonly now: () => number;
  /** Counters for readiness and tests. */
  readonly stats = {
    cycles: 0,
    lastCycleMs: 0,
    pointsWritten: 0,
    writesFailed: 0,
    writesSkipped: 0,
    refusedFiles: 0,
  };
  lastTraining: TrainingOutcome | undefined;
  lastWriteError: string | undefined;

  constructor(private readonly opts: ForecastModuleOptions) {
    this.now = opts.now ?? Date.now;
  }

  private get settings() {
    return this.ctx!.site.forecast;
  }

  private get cycleMs(): number {
    return this.opts.cycleMs ?? this.settings.cycleSeconds * 1000;
  }

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.log.child({ module: 'forecast' });
    const site = ctx.site.site.id;
    this.repo = new ModelRepository(this.opts.modelsDir, site);
    this.forecaster = new RackForecaster(ctx.index, { horizonsMin: this.settings.horizonsMin });
    await this.reloadModel();
    await this.warmUp();

    this.cycle();
    this.timer = setInterval(() => this.cycle(), this.cycleMs);
    this.timer.unref();

    const cron = this.opts.trainCron ?? this.settings.trainCron;
    if (cron !== 'off') {
      const tz = ctx.site.site.timezone;
      this.job = schedule.scheduleJob(`hotaisle-train-${site}`, { rule: cron, tz }, () => {
        void this.train();
      });
      if (!this.job)
        throw new Error(`forecast.trainCron "${cron}" is not a cron expression node-schedule accepts`);
      this.log.info({ cron, tz, next: this.job.nextInvocation()?.toISOString() }, 'training scheduled');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.job?.cancel();
    this.job = undefined;
    this.training?.abort.abort();
    await this.training?.promise;
    await this.writing;
  }

  observe(readings: readonly Reading[]): void {
    this.forecaster?.observe(readings, this.now());
  }

  /**
   * A reloaded site: thresholds and settings come from the new context from now on. A changed rack or
   * cooling layout gets a forecaster for the new index with the model in service put back in (a new
   * rack is forecast by its zone's or the site's pooled model until training covers it), and the
   * rolling window primed again from stored history. Timers and horizons keep their running values.
   */
  async reconfigure(ctx: AgentContext): Promise<void> {
    const before = this.ctx;
    this.ctx = ctx;
    if (!before || !this.forecaster || !layoutChanged(before.site, ctx.site)) return;
    const model = this.forecaster.model;
    this.forecaster = new RackForecaster(ctx.index, { horizonsMin: this.settings.horizonsMin });
    this.headroomCache = undefined;
    if (model) this.putInService(model, undefined);
    await this.warmUp();
  }

  /**
   * Load the newest promoted model and put it in service. A refused file is logged with its reason;
   * the model in service (or the one promoted before it) stays. Also for `hotaisle models promote`
   * and `rollback` (the run command calls it on SIGHUP).
   */
  async reloadModel(): Promise<ModelFile | undefined> {
    const repo = this.repo!;
    const log = this.log!;
    const { model, file, refused } = await repo.loadPromoted();
    this.stats.refusedFiles = refused.length;
    for (const r of refused) log.warn({ file: r.file, reason: r.error }, `model file refused: ${r.error}`);
    const current = this.forecaster!.model;
    if (!model) {
      if (!current) {
        this.noModelReason = `no promoted model in ${repo.dir}; forecasts are persistence (current inlet carried forward) until \`hotaisle train\` promotes one`;
        log.warn({ dir: repo.dir }, this.noModelReason);
      }
      return current;
    }
    if (current && current.version === model.version && current.promotedAt === model.promotedAt)
      return current;
    this.putInService(model, file);
    return this.forecaster!.model;
  }

  private putInService(model: ModelFile, file: string | undefined): void {
    const before = this.forecaster!.modelVersion;
    try {
      this.forecaster!.setModel(model);
      this.noModelReason = null;
      this.headroomCache = undefined;
      this.log!.info(
        { version: model.version, file, previous: before },
        `forecast model v${model.version} in service`,
      );
    } catch (err) {
      this.log!.warn({ file, err: errorMessage(err), keeps: before }, `model refused: ${errorMessage(err)}`);
    }
  }

  /**
   * Prime the rolling window with the last minutes of stored history, so forecasts after a restart
   * use every input from the first cycle instead of degrading until ten minutes of readings came in.
   * Best effort: a store that does not answer leaves the window to fill from live readings.
   */
  private async warmUp(): Promise<void> {
    const f = this.forecaster!;
    const { store, site } = this.ctx!;
    const now = this.now();
    const range = { from: now - lookbackMs(f.stepMs) - 3 * f.stepMs, to: now + 1, stepMs: f.stepMs };
    let readings = 0;
    try {
      for (const q of historyQueries(f.layout, range)) {
        for (const s of await store.query(q)) {
          const batch: Reading[] = s.points.map((p) => ({
            kind: q.kind,
            site: site.site.id,
            target: s.target,
            metric: s.metric,
            value: p.value,
            ts: p.ts,
          }));
          f.observe(batch, now);
          readings += batch.length;
        }
      }
      this.log!.info(
        { readings, minutes: Math.round((range.to - range.from) / 60_000) },
        'forecast window primed from stored history',
      );
    } catch (err) {
      this.log!.info(
        { err: errorMessage(err) },
        'forecast window not primed (store did not answer); it fills from live readings',
      );
    }
  }

  /** One forecast cycle: forecast every rack, log hotspot changes, write to the store when due. */
  cycle(now: number = this.now()): ForecastSet {
    const set = this.forecaster!.forecast(now);
    this.set = set;
    this.stats.cycles++;
    this.stats.lastCycleMs = set.elapsedMs;
    this.logHotspots(set);
    if (now - this.lastWriteTs >= (this.opts.writeEveryMs ?? 60_000)) this.write(set, now);
    return set;
  }

  private write(set: ForecastSet, now: number): void {
    const store = this.ctx!.store;
    if (!store.writeForecasts) return;
    if (this.writing) {
      this.stats.writesSkipped++;
      return;
    }
    if (!set.predicted.some((v) => !Number.isNaN(v))) return; // no readings yet: nothing to store
    this.lastWriteTs = now;
    this.writing = this.writeChunks(store as Required<Pick<TelemetryStore, 'writeForecasts'>>, set).finally(
      () => {
        this.writing = undefined;
      },
    );
  }

  /**
   * A large site goes out in chunks of racks, one store write each, so building and encoding 30,000
   * points never holds the event loop (and ingestion) for long.
   */
  private async writeChunks(
    store: Required<Pick<TelemetryStore, 'writeForecasts'>>,
    set: ForecastSet,
  ): Promise<void> {
    try {
      for (let from = 0; from < set.rackIds.length; from += WRITE_CHUNK_RACKS) {
        const points = forecastPoints(set, from, from + WRITE_CHUNK_RACKS);
        if (points.length === 0) continue;
        await store.writeForecasts(points);
        this.stats.pointsWritten += points.length;
      }
      if (this.lastWriteError) this.log!.info('forecasts are written to the store again');
      this.lastWriteError = undefined;
    } catch (err) {
      // Derived data: dropped, not spooled. One warning per distinct failure, not one per cycle.
      this.stats.writesFailed++;
      const msg = errorMessage(err);
      if (msg !== this.lastWriteError) this.log!.warn({ err: msg }, 'forecasts not written to the store');
      this.lastWriteError = msg;
    }
  }

  private logHotspots(set: ForecastSet): void {
    const now = new Set<string>();
    for (const h of set.hotspots) {
      now.add(h.rack);
      if (!this.hotRacks.has(h.rack)) {
        this.log!.info(
          {
            rack: h.rack,
            severity: h.severity,
            warnInMin: h.warnInMin,
            peakC: h.peakC,
            peakHorizonMin: h.peakHorizonMin,
            basis: h.basis,
          },
          h.warnInMin === 0
            ? `rack ${h.rack} is above the warn threshold (forecast peak ${h.peakC} °C)`
            : h.basis === 'supply_rise'
              ? `rack ${h.rack} may reach the warn threshold in ${h.warnInMin ?? '?'} min if its zone supply keeps rising (${h.supplySlopeCPerMin} °C/min; forecast peak ${h.peakC} °C)`
              : `rack ${h.rack} forecast to reach the warn threshold in ${h.warnInMin ?? '?'} min (peak ${h.peakC} °C at ${h.peakHorizonMin} min)`,
        );
      }
    }
    for (const r of this.hotRacks)
      if (!now.has(r)) this.log!.info({ rack: r }, `rack ${r} no longer forecast to run hot`);
    this.hotRacks = now;
  }

  /**
   * Train on the last `historyDays` of stored history; a model that passes the gate goes into service
   * at once. One run at a time: a call while one runs returns that run.
   */
  train(): Promise<TrainingOutcome> {
    if (this.training) return this.training.promise;
    const abort = new AbortController();
    const promise = this.runTraining(abort.signal).finally(() => {
      this.training = undefined;
    });
    this.training = { promise, abort };
    return promise;
  }

  private async runTraining(signal: AbortSignal): Promise<TrainingOutcome> {
    const ctx = this.ctx!;
    const log = this.log!;
    const started = performance.now();
    const to = this.now();
    const from = to - this.settings.historyDays * 86_400_000;
    const at = new Date(to).toISOString();
    log.info({ from: new Date(from).toISOString(), to: at }, 'training started');
    let outcome: TrainingOutcome;
    try {
      const result: TrainSiteResult = await trainSiteInBackground(ctx.store, ctx.index, this.repo!, {
        from,
        to,
        horizonsMin: this.settings.horizonsMin,
        now: to,
        signal,
        inline: this.opts.inlineTraining ?? false,
      });
      const durationMs = Math.round(performance.now() - started);
      outcome = {
        at,
        ok: true,
        version: result.saved.model.version,
        promoted: result.promoted,
        reason: result.reason,
        durationMs,
      };
      if (result.promoted) {
        this.putInService(result.saved.model, result.saved.file);
        log.info(
          { version: outcome.version, durationMs },
          `model v${outcome.version} promoted: ${result.reason}`,
        );
      } else {
        log.info(
          { version: outcome.version, durationMs },
          `model v${outcome.version} kept as candidate: ${result.reason}`,
        );
      }
    } catch (err) {
      const durationMs = Math.round(performance.now() - started);
      outcome = { at, ok: false, reason: errorMessage(err), durationMs };
      if (err instanceof TrainingAbortedError) log.info('training interrupted by shutdown');
      else log.warn({ err: outcome.reason }, `training failed: ${outcome.reason}`);
    }
    this.lastTraining = outcome;
    return outcome;
  }

  // ForecastSource, for the API.
  latest(): ForecastSet | undefined {
    return this.set;
  }

  status(): ForecastStatus {
    const f = this.forecaster;
    const version = f?.modelVersion ?? null;
    const site = this.ctx!.site;
    return {
      mode: version === null ? 'persistence' : 'model',
      modelVersion: version,
      reason: version === null ? (this.noModelReason ?? 'no model loaded') : null,
      cycleSeconds: this.cycleMs / 1000,
      warnC: site.thresholds.inletWarnC,
      criticalC: site.thresholds.inletCriticalC,
    };
  }

  sensitivity(rack: string): RackSensitivity | undefined {
    return this.forecaster?.sensitivity(rack);
  }

  headroomKw(rack: string): number | undefined {
    const f = this.forecaster;
    const set = this.set;
    const i = f?.layout.rackIndex.get(rack);
    if (!f || !set || i === undefined) return undefined;
    if (this.headroomCache?.ts !== set.ts) this.headroomCache = { ts: set.ts, values: f.headroom(set) };
    return this.headroomCache.values[i];
  }

  routes(): RouteRegistrar[] {
    return [forecastRoutes(this, this.now)];
  }

  readiness(): ReadinessCheck[] {
    return [
      {
        name: 'forecast',
        check: () => {
          const set = this.set;
          if (!set) return { status: 'down', detail: 'no forecast cycle has run' };
          const age = this.now() - set.ts;
          if (age > 3 * this.cycleMs)
            return { status: 'degraded', detail: `last forecast is ${Math.round(age / 1000)} s old` };
          const s = this.status();
          if (s.mode === 'persistence')
            return { status: 'degraded', detail: s.reason ?? 'persistence forecasts' };
          const notes = [`model v${s.modelVersion}`];
          if (this.stats.refusedFiles > 0)
            notes.push(`${this.stats.refusedFiles} model file(s) refused, see the log`);
          if (this.lastWriteError) notes.push(`forecasts not stored: ${this.lastWriteError}`);
          return { status: 'ok', detail: notes.join('; ') };
        },
      },
    ];
  }
}
