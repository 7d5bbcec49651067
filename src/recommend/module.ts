/**
 * RecommendModule: keeps the placement state from readings and serves the recommendation API.
 * Wire it in with `modules.push(new RecommendModule())`; a forecast module can hand it a
 * forecast-backed thermal model through `thermal`.
 */
import type { AgentContext, AgentModule } from '../agent.ts';
import type { ReadinessCheck } from '../api/routes/health.ts';
import type { RouteRegistrar } from '../api/server.ts';
import type { Logger } from '../log.ts';
import type { Reading } from '../telemetry/reading.ts';
import { recommendRoutes } from './routes.ts';
import { RecommendService } from './service.ts';
import type { ForecastSource, ThermalModel } from './thermal.ts';

export interface RecommendModuleOptions {
  /** Forecast-backed thermal model, when one runs; otherwise a layout estimate from readings. */
  thermal?: () => ThermalModel | undefined;
  /** Or the forecaster's latest set and sensitivities (see ForecastSource); the layout fills gaps. */
  forecast?: () => ForecastSource | undefined;
  now?: () => number;
}

export class RecommendModule implements AgentModule {
  readonly name = 'recommend';
  private service: RecommendService | undefined;
  private log: Logger | undefined;

  constructor(private readonly opts: RecommendModuleOptions = {}) {}

  async start(ctx: AgentContext): Promise<void> {
    this.log = ctx.log.child({ module: 'recommend' });
    this.service = new RecommendService({
      index: ctx.index,
      dataDir: ctx.site.storage.dataDir,
      ...(this.opts.thermal ? { thermal: this.opts.thermal } : {}),
      ...(this.opts.forecast ? { forecast: this.opts.forecast } : {}),
      ...(this.opts.now ? { now: this.opts.now } : {}),
    });
    const problem = this.service.plan.load();
    if (problem) this.log.warn({ problem }, 'batch plan not loaded; starting empty');
    this.log.info({ reservations: this.service.plan.list().length }, 'recommendations ready');
  }

  async stop(): Promise<void> {
    // The plan is saved on every change; nothing to flush.
  }

  observe(readings: readonly Reading[]): void {
    this.service?.state.observe(readings);
  }

  routes(): RouteRegistrar[] {
    const service = this.service;
    if (!service) throw new Error('RecommendModule.routes() called before start()');
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
