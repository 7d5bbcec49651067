/**
 * The dashboard as an agent capability: keeps the newest reading per rack and cooling unit, serves
 * the page at `/` with its data routes, and pushes a compact snapshot to open pages every ~2 s and
 * as soon as an alert changes. Forecasts, alerts and the batch plan come from the other modules
 * through narrow read-only sources, so the dashboard works (with less on it) without any of them.
 */
import type { AgentContext, AgentModule } from '../agent.ts';
import type { RouteRegistrar } from '../api/server.ts';
import type { ForecastSet } from '../forecast/forecastSet.ts';
import type { Logger } from '../log.ts';
import { summarizeReservation } from '../recommend/schemas.ts';
import type { Reading } from '../telemetry/reading.ts';
import { COOLING_METRICS, LatestValues, RACK_METRICS } from './latest.ts';
import { buildDashboardLayout, type DashboardLayout } from './layout.ts';
import { type DashboardPlan, dashboardRoutes, type RackHistory } from './routes.ts';
import { alertSummary, buildSnapshot, type DashboardAlert, type DashboardSnapshot } from './snapshot.ts';
import { SseHub } from './sse.ts';
import { PUBLIC_DIR, staticRoutes } from './static.ts';

/** The ForecastModule fits. */
export interface DashboardForecastSource {
  latest(): ForecastSet | undefined;
}

/** The AlertsModule fits (method parameters are checked bivariantly, so AlertRecord is accepted). */
export interface DashboardAlertSource {
  alerts(): readonly DashboardAlert[];
  silencedBy(a: DashboardAlert): string[];
}

/** An accepted batch window, as the recommendations' reservation plan keeps it. */
export interface PlannedBatch {
  id: string;
  powerKw: number;
  acceptedAt: number;
  segments: ReadonlyArray<{ startTs: number; endTs: number }>;
}

export interface DashboardModuleOptions {
  forecast?: DashboardForecastSource;
  alerts?: DashboardAlertSource;
  plan?: () => readonly PlannedBatch[];
  /** Time between pushed snapshots; default 2 s. */
  snapshotEveryMs?: number;
  /** How often alert changes are looked for (pushed at once when found); default 500 ms. */
  alertCheckEveryMs?: number;
  /** Directory with index.html and its assets; default src/dashboard/public. */
  publicDir?: string;
  now?: () => number;
}

/** Stored history the panel asks for is averaged into about this many points. */
const HISTORY_POINTS = 240;
/** Readings of the last minutes prime the map after a restart. */
const PRIME_MS = 10 * 60_000;
const HEARTBEAT_MS = 15_000;

export class DashboardModule implements AgentModule {
  readonly name = 'dashboard';
  private ctx: AgentContext | undefined;
  private log: Logger | undefined;
  private layoutCache: DashboardLayout | undefined;
  private latest = new LatestValues();
  private readonly hub = new SseHub();
  private timer: NodeJS.Timeout | undefined;
  private lastPushTs = Number.NEGATIVE_INFINITY;
  private lastHeartbeatTs = 0;
  private alertRevision = '';
  private readonly now: () => number;

  constructor(private readonly opts: DashboardModuleOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.log.child({ module: 'dashboard' });
    this.layoutCache = buildDashboardLayout(ctx.site, ctx.index);
    await this.prime();
    const every = this.opts.alertCheckEveryMs ?? 500;
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  /** New site config applied live (racks added or removed, thresholds changed): redraw from it. */
  reconfigure(ctx: AgentContext): void {
    this.ctx = ctx;
    this.layoutCache = buildDashboardLayout(ctx.site, ctx.index);
    this.push();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.hub.closeAll();
  }

  observe(readings: readonly Reading[]): void {
    this.latest.observe(readings);
  }

  /** Number of open event streams (for tests and metrics). */
  get streams(): number {
    return this.hub.size;
  }

  layout(): DashboardLayout {
    if (!this.layoutCache) throw new Error('DashboardModule used before start()');
    return this.layoutCache;
  }

  snapshot(): DashboardSnapshot {
    const source = this.opts.alerts;
    return buildSnapshot({
      layout: this.layout(),
      latest: this.latest,
      forecast: this.opts.forecast?.latest(),
      alerts: source?.alerts() ?? [],
      silenced: (a) => (source ? source.silencedBy(a).length > 0 : false),
      now: this.now(),
    });
  }

  async history(rack: string, minutes: number): Promise<RackHistory | undefined> {
    const ctx = this.ctx!;
    if (!ctx.index.racks.has(rack)) return undefined;
    const to = this.now() + 1;
    const from = to - minutes * 60_000;
    const windowMs = Math.max(5000, Math.round((to - from) / HISTORY_POINTS / 1000) * 1000);
    const found = await ctx.store.query({
      kind: 'rack',
      site: ctx.site.site.id,
      targets: [rack],
      metrics: [...RACK_METRICS],
      from,
      to,
      windowMs,
    });
    const series: RackHistory['series'] = {};
    for (const m of RACK_METRICS) series[m] = [];
    for (const s of found)
      series[s.metric] = s.points.map((p): [number, number] => [p.ts, Math.round(p.value * 100) / 100]);
    return {
      rack,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      windowSeconds: windowMs / 1000,
      series,
    };
  }

  plan(): DashboardPlan {
    return { reservations: (this.opts.plan?.() ?? []).map(summarizeReservation) };
  }

  routes(): RouteRegistrar[] {
    return [
      staticRoutes(this.opts.publicDir ?? PUBLIC_DIR),
      dashboardRoutes({
        layout: () => this.layout(),
        snapshot: () => this.snapshot(),
        history: (rack, minutes) => this.history(rack, minutes),
        plan: () => this.plan(),
        hub: this.hub,
      }),
    ];
  }

  /** Push on schedule, or at once when an alert changed; heartbeat idle streams. */
  private tick(): void {
    if (this.hub.size === 0) return;
    const now = performance.now(); // pacing uses the real clock; `now` (maybe injected) stamps data
    const source = this.opts.alerts;
    let alertsChanged = false;
    if (source) {
      const rev = alertSummary(source.alerts(), (a) => source.silencedBy(a).length > 0).revision;
      alertsChanged = rev !== this.alertRevision;
      this.alertRevision = rev;
    }
    if (alertsChanged || now - this.lastPushTs >= (this.opts.snapshotEveryMs ?? 2000)) this.push();
    else if (now - this.lastHeartbeatTs >= HEARTBEAT_MS) {
      this.lastHeartbeatTs = now;
      this.hub.heartbeat();
    }
  }

  private push(): void {
    if (this.hub.size === 0 || !this.layoutCache) return;
    try {
      this.lastPushTs = performance.now();
      this.hub.broadcast('snapshot', JSON.stringify(this.snapshot()));
    } catch (err) {
      this.log?.error({ err }, 'dashboard snapshot failed');
    }
  }

  /** Best effort: the store's last minutes, so a restarted agent shows values before the next reading. */
  private async prime(): Promise<void> {
    const { store, site } = this.ctx!;
    const to = this.now() + 1;
    const from = to - PRIME_MS;
    try {
      for (const [kind, metrics] of [
        ['rack', RACK_METRICS],
        ['cooling', COOLING_METRICS],
      ] as const) {
        const found = await store.query({ kind, site: site.site.id, metrics: [...metrics], from, to });
        const last = found.flatMap((s) => {
          const p = s.points.at(-1);
          return p ? [{ kind, site: site.site.id, target: s.target, metric: s.metric, ...p }] : [];
        });
        this.latest.observe(last);
      }
    } catch (err) {
      this.log?.info({ err: (err as Error).message }, 'dashboard not primed from the store');
    }
  }
}
