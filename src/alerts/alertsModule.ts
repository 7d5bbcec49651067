/**
 * Alerts as an agent capability: observes readings, evaluates the rules every few seconds against
 * them and the latest forecast hotspots, routes notifications, keeps Alertmanager up to date, serves
 * the alerts API and persists its state to `<dataDir>/alerts/state.json`.
 */
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { AgentContext, AgentModule } from '../agent.ts';
import { registerAlertMetrics } from '../api/metrics.ts';
import type { ReadinessCheck } from '../api/routes/health.ts';
import type { RouteRegistrar } from '../api/server.ts';
import type { Hotspot } from '../forecast/hotspots.ts';
import type { Logger } from '../log.ts';
import type { AlertEventQuery, AlertEventRecord } from '../store/store.ts';
import type { Reading } from '../telemetry/reading.ts';
import type { ImplausibleReading } from '../telemetry/router.ts';
import { type AlertsService, alertRoutes } from './alertRoutes.ts';
import { AlertDelivery, checkRoutes } from './delivery.ts';
import { AlertEngine } from './engine.ts';
import { AlertHistoryRecorder } from './historyRecorder.ts';
import type { AlertRecord } from './lifecycle.ts';
import { type AlertPayload, alertPayload } from './payloads.ts';
import { alertStatePath, loadAlertState, saveAlertState } from './persistence.ts';
import type { ReceiverStats } from './receivers.ts';
import type { DispatchStats } from './routing.ts';
import type { Silence } from './silences.ts';
import type { Condition, RuleName, Severity } from './types.ts';

/** Where forecast hotspots come from; the ForecastModule fits as is (its latest() returns a ForecastSet). */
export interface HotspotSource {
  latest(): { ts: number; hotspots: readonly Hotspot[] } | undefined;
}

export interface AlertsModuleOptions {
  hotspots?: HotspotSource;
  /** Clock, ms since epoch; injected by tests. */
  now?: () => number;
  /** Directory holding alerts/state.json; default the site's storage.dataDir. */
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides the site's alerts.evaluateSeconds (tests). */
  evaluateMs?: number;
  /** Base delay of HTTP retries (tests shorten it). */
  retryBaseMs?: number;
  /** Base of the generatorURL links in notifications; default the agent's API address. */
  generatorBaseUrl?: string;
}

export interface AlertsModuleStats {
  evaluations: number;
  lastEvaluationMs: number;
  dispatch: DispatchStats;
  receivers: Record<string, ReceiverStats>;
  /** Alert events written to the store as history, and writes that failed. */
  history: { written: number; errors: number };
}

/** An alert the agent raises about itself (not from readings), e.g. a refused site reload. */
export interface OperatorAlert {
  rule: Extract<RuleName, 'ConfigReloadRejected'>;
  severity: Severity;
  summary: string;
  description: string;
  annotations?: Record<string, string>;
}

/** Forecasts older than this are not used (the forecast module stopped or stalls). */
const MAX_FORECAST_AGE_MS = 5 * 60_000;

export class AlertsModule implements AgentModule, AlertsService {
  readonly name = 'alerts';
  private ctx: AgentContext | undefined;
  private log: Logger | undefined;
  private engine: AlertEngine | undefined;
  private delivery: AlertDelivery | undefined;
  private readonly history = new AlertHistoryRecorder(() => this.log);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private busy = false;
  private saving: Promise<void> = Promise.resolve();
  private savedRevision = -1;
  private statePath = '';
  private startedAt = 0;
  private evaluations = 0;
  private lastEvaluationMs = 0;
  private evaluationMsTotal = 0;
  /** Raised operator alerts by rule; each holds as a condition until resolved. */
  private readonly operatorAlerts = new Map<RuleName, OperatorAlert>();

  constructor(private readonly opts: AlertsModuleOptions = {}) {}

  now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  async start(ctx: AgentContext): Promise<void> {
    const settings = ctx.site.alerts;
    checkRoutes(settings);
    this.ctx = ctx;
    const log = ctx.log.child({ module: 'alerts' });
    this.log = log;
    this.statePath = alertStatePath(this.opts.dataDir ?? ctx.site.storage.dataDir);
    const loaded = await loadAlertState(this.statePath);
    if (loaded.problem) log.error({ problem: loaded.problem }, 'alert state unreadable; starting empty');
    this.engine = new AlertEngine(ctx.index, loaded.state);
    this.savedRevision = this.engine.lifecycle.revision;

    const deps = {
      site: ctx.site.site.id,
      env: this.opts.env ?? process.env,
      now: () => this.now(),
      wallNow: Date.now,
      ...(this.opts.retryBaseMs !== undefined ? { retryBaseMs: this.opts.retryBaseMs } : {}),
    };
    this.delivery = new AlertDelivery(deps, log);
    await this.delivery.open(ctx);

    this.startedAt = this.now();
    const every = this.opts.evaluateMs ?? settings.evaluateSeconds * 1000;
    // A slow receiver (retries, timeouts) may hold an evaluation past the period: skip, never queue up.
    this.timer = setInterval(() => {
      if (!this.busy) void this.evaluateNow();
    }, every);
    this.timer.unref();
    log.info(
      {
        alerts: this.engine.lifecycle.alerts().length,
        receivers: this.delivery.receiverNames(),
        state: this.statePath,
      },
      'alerts started',
    );
  }

  observe(readings: readonly Reading[]): void {
    this.engine?.observe(readings);
  }

  implausible(readings: readonly ImplausibleReading[]): void {
    this.engine?.observeImplausible(readings);
  }

  /** One evaluation; runs after the previous one finished (the timer uses it, tests call it). */
  evaluateNow(): Promise<void> {
    this.busy = true;
    this.running = this.running
      .then(() => this.evaluate())
      .catch((err) => this.log?.error({ err }, 'alert evaluation failed'))
      .finally(() => {
        this.busy = false;
      });
    return this.running;
  }
  private async evaluate(): Promise<void> {
    const engine = this.engine;
    const ctx = this.ctx;
    const delivery = this.delivery;
    if (!engine || !ctx || !delivery) return;
    const started = Date.now();
    const now = this.now();
    const forecast = this.opts.hotspots?.latest();
    const hotspots = forecast && now - forecast.ts <= MAX_FORECAST_AGE_MS ? forecast.hotspots : [];
    // Right after start the readings are still empty: absent conditions must not resolve old alerts.
    const warmupMs = ctx.site.alerts.readingIntervalSeconds * 3000;
    const site = ctx.site.site.id;
    const extra: Condition[] = [...this.operatorAlerts.values()].map((a) => ({
      ...a,
      labels: { site },
      value: 1,
      // Fires at once and clears as soon as it is resolved: the agent knows, no sensor noise to ride out.
      forMs: 0,
      resolveMs: 0,
    }));
    const { notifications } = engine.evaluate(now, hotspots, {
      resolveAllowed: now - this.startedAt >= warmupMs,
      extra,
    });
    const sent = new Set<string>();
    const payloads = notifications.map((n) => {
      sent.add(n.alert.fingerprint);
      return alertPayload(n.alert, n.reason, this.generatorUrl(n.alert.fingerprint));
    });
    const lost = await delivery.dispatch(payloads);
    for (const n of notifications) if (lost.has(n.alert.fingerprint)) engine.lifecycle.undelivered(n);
    this.history.record(ctx.store, site, notifications, now);
    await delivery.resyncAlertmanager(now, () => this.alertmanagerView(engine, now, sent));
    this.persist();
    this.evaluations++;
    this.lastEvaluationMs = Date.now() - started;
    this.evaluationMsTotal += this.lastEvaluationMs;
  }

  /**
   * What Alertmanager should know about at a re-send: alerts notified as firing, or resolved (it wants
   * those re-sent for a while), except ones just sent, silenced ones and members of a group.
   */
  private alertmanagerView(engine: AlertEngine, now: number, justSent: ReadonlySet<string>): AlertPayload[] {
    const life = engine.lifecycle;
    return life
      .alerts()
      .filter(
        (a) =>
          !justSent.has(a.fingerprint) &&
          a.notifiedState !== undefined &&
          (a.state === 'firing' || a.notifiedState === 'resolved'),
      )
      .filter((a) => life.silencedBy(a, now).length === 0 && !life.groupParent(a))
      .map((a) => alertPayload(a, 'sync', this.generatorUrl(a.fingerprint)));
  }

  private generatorUrl(fingerprint: string): string {
    const api = this.ctx!.site.api;
    const base =
      this.opts.generatorBaseUrl ??
      `http://${api.host.includes(':') ? `[${api.host}]` : api.host}:${api.port}`;
    return `${base}/v1/alerts?fingerprint=${fingerprint}`;
  }

  /** Save when something changed; saves run one after another, failures are logged. */
  private persist(): Promise<void> {
    const engine = this.engine;
    if (!engine || engine.lifecycle.revision === this.savedRevision) return this.saving;
    const revision = engine.lifecycle.revision;
    const snapshot = engine.lifecycle.snapshot();
    this.saving = this.saving
      .then(() => saveAlertState(this.statePath, snapshot))
      .then(() => {
        this.savedRevision = Math.max(this.savedRevision, revision);
      })
      .catch((err) =>
        this.log?.error({ err: (err as Error).message, path: this.statePath }, 'saving alert state failed'),
      );
    return this.saving;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.persist();
    await this.delivery?.close();
    this.engine = undefined;
  }

  /**
   * Raise (or update) an alert about the agent itself; it fires at the next evaluation, which starts
   * now, and goes through the site's routes like any other. Held until resolveOperatorAlert().
   */
  raiseOperatorAlert(alert: OperatorAlert): Promise<void> {
    this.operatorAlerts.set(alert.rule, alert);
    return this.evaluateNow();
  }

  /** The condition is gone: the alert resolves at the evaluation this starts (a resolved notice goes out). */
  resolveOperatorAlert(rule: OperatorAlert['rule']): Promise<void> {
    if (!this.operatorAlerts.delete(rule)) return this.running;
    return this.evaluateNow();
  }

  /**
   * A reloaded site: rules see the new index and settings (thresholds, overrides, racks), routes and
   * receivers are rebuilt; alert state and the readings seen so far carry over. Runs between two
   * evaluations. evaluateSeconds keeps its running value (config/reloadDiff.ts).
   */
  async reconfigure(ctx: AgentContext): Promise<void> {
    const turn = this.running.then(() => this.applySite(ctx));
    this.running = turn.catch(() => undefined);
    await turn;
  }

  private async applySite(ctx: AgentContext): Promise<void> {
    const old = this.engine;
    const before = this.ctx?.site.alerts;
    const delivery = this.delivery;
    if (!old || !before || !delivery) return;
    const settings = ctx.site.alerts;
    checkRoutes(settings);
    const sameTrail =
      before.rateWindowMinutes === settings.rateWindowMinutes && before.jumpC === settings.jumpC;
    this.engine = new AlertEngine(
      ctx.index,
      old.lifecycle.snapshot(),
      sameTrail ? old.readings : undefined,
      old.implausible,
    );
    this.savedRevision = -1;
    this.ctx = ctx;
    await delivery.reconfigure(ctx, before);
    (this.log ?? ctx.log).info(
      { receivers: delivery.receiverNames(), routes: settings.routes.length },
      'alerts reconfigured',
    );
  }

  // --- AlertsService (the API) ---

  alerts(): readonly AlertRecord[] {
    return this.engine?.lifecycle.alerts() ?? [];
  }

  get(fingerprint: string): AlertRecord | undefined {
    return this.engine?.lifecycle.get(fingerprint);
  }

  silencedBy(a: AlertRecord): string[] {
    return this.engine?.lifecycle.silencedBy(a, this.now()) ?? [];
  }

  acknowledge(fingerprint: string, by: string, comment: string): AlertRecord | undefined {
    const a = this.engine?.lifecycle.acknowledge(fingerprint, by, comment, this.now());
    void this.persist();
    return a;
  }

  silences(): readonly Silence[] {
    return this.engine?.lifecycle.silences() ?? [];
  }

  addSilence(s: Omit<Silence, 'id'>): Silence {
    const silence: Silence = { id: randomUUID(), ...s };
    this.engine?.lifecycle.addSilence(silence);
    void this.persist();
    return silence;
  }

  expireSilence(id: string): boolean {
    const ok = this.engine?.lifecycle.expireSilence(id, this.now()) ?? false;
    void this.persist();
    return ok;
  }

  /** The store's alert events for this site; undefined when the store keeps no history. */
  alertHistory(q: Omit<AlertEventQuery, 'site'>): Promise<AlertEventRecord[]> | undefined {
    const ctx = this.ctx;
    if (!ctx?.store.queryAlertEvents) return undefined;
    return ctx.store.queryAlertEvents({ ...q, site: ctx.site.site.id });
  }

  routes(): RouteRegistrar[] {
    return [alertRoutes(this)];
  }

  /** Alert metrics on the agent's /metrics (api/metrics.ts), read at scrape time. */
  metrics(registry: Registry): void {
    registerAlertMetrics(registry, () => {
      const life = this.engine?.lifecycle;
      const now = this.now();
      const dispatch = this.dispatchStats();
      return {
        active: (life?.alerts() ?? [])
          .filter((a) => a.state !== 'resolved')
          .map((a) => ({
            state: a.state === 'firing' ? ('firing' as const) : ('pending' as const),
            severity: a.severity,
            rule: a.rule,
            silenced: life!.silencedBy(a, now).length > 0,
          })),
        receivers: this.delivery?.receiverStats() ?? {},
        fellBack: dispatch.fellBack,
        lost: dispatch.lost,
        evaluations: this.evaluations,
        evaluationSecondsTotal: this.evaluationMsTotal / 1000,
        lastEvaluationSeconds: this.lastEvaluationMs / 1000,
      };
    });
  }

  readiness(): ReadinessCheck[] {
    return [
      {
        name: 'alerts',
        check: () => this.delivery?.health() ?? { status: 'ok' },
      },
    ];
  }

  stats(): AlertsModuleStats {
    return {
      evaluations: this.evaluations,
      lastEvaluationMs: this.lastEvaluationMs,
      dispatch: this.dispatchStats(),
      receivers: this.delivery?.receiverStats() ?? {},
      history: this.history.stats(),
    };
  }

  private dispatchStats(): DispatchStats {
    return this.delivery?.dispatchStats() ?? { delivered: 0, fellBack: 0, lost: 0 };
  }
}
