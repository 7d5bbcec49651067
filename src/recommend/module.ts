/**
 * RecommendModule: keeps the placement state from readings and serves the recommendation API.
 * Wire it in with `modules.push(new RecommendModule())`; a forecast module can hand it a
 * forecast-backed thermal model through `thermal`.
 */
import type { AgentContext, AgentModule } from '../agent.ts';
import type { ReadinessCheck } from '../api/routes/health.ts';
import type { RouteRegistrar } from '../api/server.ts';
import { deepEqual } from '../config/reloadDiff.ts';
import type { SiteConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { Reading } from '../telemetry/reading.ts';
import { type PushStats, RecommendPublisher } from './publisher.ts';
import { recommendRoutes } from './routes.ts';
import { RecommendService } from './service.ts';
import type { ForecastSource, ThermalModel } from './thermal.ts';

export interface RecommendModuleOptions {
  /** Forecast-backed thermal model, when one runs; otherwise a layout estimate from readings. */
  thermal?: () => ThermalModel | undefined;
  /** Or the forecaster's latest set and sensitivities (see ForecastSource); the layout fills gaps. */
  forecast?: () => ForecastSource | undefined;
  now?: () => number;
  /** Base delay between webhook push retries (tests shorten it); default 500 ms. */
  pushRetryBaseMs?: number;
}

export class RecommendModule implements AgentModule {
  readonly name = 'recommend';
  private service: RecommendService | undefined;
  private log: Logger | undefined;
  private site: SiteConfig | undefined;
  private publisher: RecommendPublisher | undefined;

  constructor(private readonly opts: RecommendModuleOptions = {}) {}

  async start(ctx: AgentContext): Promise<void> {
    this.log = ctx.log.child({ module: 'recommend' });
    this.site = ctx.site;
    this.service = this.createService(ctx);
    const problem = this.service.plan.load();
    if (problem) this.log.warn({ problem }, 'batch plan not loaded; starting empty');
    this.log.info({ reservations: this.service.plan.list().length }, 'recommendations ready');
    this.startPush(ctx);
  }

  /** MQTT/webhook push when the site file asks for it (recommend.push). */
  private startPush(ctx: AgentContext): void {
    const settings = ctx.site.recommend?.push;
    if (!settings) return;
    this.publisher = new RecommendPublisher({
      site: ctx.site.site.id,
      settings,
      service: () => this.service,
      log: this.log ?? ctx.log,
      brokerUrl: ctx.brokerUrl,
      brokerCredentials: ctx.brokerCredentials,
      ...(this.opts.now ? { now: this.opts.now } : {}),
      ...(this.opts.pushRetryBaseMs !== undefined ? { retryBaseMs: this.opts.pushRetryBaseMs } : {}),
    });
    this.publisher.start();
  }

  /** Delivery counters of the push (undefined when it is off). */
  pushStats(): PushStats | undefined {
    return this.publisher?.stats();
  }

  /**
   * A reloaded site that changes what placement reads (layout, feeds, caps, thresholds, tariff) gets
   * a new service; the batch plan is read back from its file. Placements accepted through the API
   * carry over while their nodes still exist with the GPUs they hold (their kW stay committed, so
   * headroom is not overstated after a reload); the others are dropped and logged. Rack power and
   * inlet refill from the next readings.
   */
  reconfigure(ctx: AgentContext): void {
    const before = this.site;
    this.site = ctx.site;
    if (!deepEqual(before?.recommend?.push, ctx.site.recommend?.push)) {
      const old = this.publisher;
      this.publisher = undefined;
      void (old?.stop() ?? Promise.resolve())
        .then(() => this.startPush(ctx))
        .catch((err: Error) => this.log?.error({ err: err.message }, 'recommend push not restarted'));
    }
    if (!this.service || !before || deepEqual(placementInputs(before), placementInputs(ctx.site))) return;
    const accepted = this.service.state.placementList();
    this.service = this.createService(ctx);
    const problem = this.service.plan.load();
    if (problem) this.log?.warn({ problem }, 'batch plan not reloaded; starting empty');
    const dropped: string[] = [];
    for (const placement of accepted) {
      try {
        this.service.state.accept(placement);
      } catch (err) {
        dropped.push(`${placement.id}: ${(err as Error).message}`);
      }
    }
    if (dropped.length > 0)
      this.log?.warn({ dropped }, 'placements whose nodes the reloaded site no longer has were dropped');
    this.log?.info(
      {
        reservations: this.service.plan.list().length,
        keptPlacements: accepted.length - dropped.length,
        droppedPlacements: dropped.length,
      },
      'recommendations reconfigured for the reloaded site',
    );
  }

  private createService(ctx: AgentContext): RecommendService {
    return new RecommendService({
      index: ctx.index,
      dataDir: ctx.site.storage.dataDir,
      ...(this.opts.thermal ? { thermal: this.opts.thermal } : {}),
      ...(this.opts.forecast ? { forecast: this.opts.forecast } : {}),
      ...(this.opts.now ? { now: this.opts.now } : {}),
    });
  }

  async stop(): Promise<void> {
    // The plan is saved on every change; only the push has something to close.
    await this.publisher?.stop();
    this.publisher = undefined;
  }

  observe(readings: readonly Reading[]): void {
    this.service?.state.observe(readings);
  }

  routes(): RouteRegistrar[] {
    const first = this.service;
    if (!first) throw new Error('RecommendModule.routes() called before start()');
    // Routes are registered once; they must reach whichever service a reload put in place.
    const service = new Proxy(first, {
      get: (_target, prop) => {
        const current = this.service ?? first;
        const value: unknown = Reflect.get(current, prop, current);
        return typeof value === 'function' ? value.bind(current) : value;
      },
    });
    // Tokens and roles are the API server's (api/auth.ts), which also reads HOTAISLE_RECOMMEND_TOKEN.
    return [recommendRoutes({ service })];
  }

  readiness(): ReadinessCheck[] {
    return [
      {
        name: 'recommend',
        check: () =>
          this.service?.thermal().source === 'forecast'
            ? { status: 'ok' }
            : {
                status: 'ok',
                detail: 'thermal estimates from layout and latest readings (no forecaster attached)',
              },
      },
    ];
  }

  /** The service, for tests and other modules (e.g. publishing rankings). */
  get recommendations(): RecommendService | undefined {
    return this.service;
  }
}

/** What the recommendation service reads from the site; other sections do not need a new one. */
function placementInputs(site: SiteConfig): unknown {
  return {
    site: site.site,
    powerCapKw: site.powerCapKw,
    rooms: site.rooms,
    coolingUnits: site.coolingUnits,
    powerFeeds: site.powerFeeds,
    thresholds: site.thresholds,
    overrides: site.alerts.overrides,
    tariff: site.tariff,
  };
}
