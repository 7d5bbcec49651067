/**
 * A first forecast model for the simulated demo (`hotaisle run --sim`, which `npm start` runs). With no
 * promoted model the forecasts are persistence, so a newcomer toggling "+15 min" on the dashboard would
 * see the same map again. So, once, the simulator's own physics writes a few days of history behind
 * "now" into the store (before the forecast module starts, so its window is primed from it), and after
 * the agent is up the forecast module trains on that history through the same promotion gate as the
 * nightly training. Nothing happens when a model is already promoted or the store already holds history.
 */
import type { AgentContext, AgentModule } from '../agent.ts';
import { ModelRepository } from '../forecast/modelStore.ts';
import type { Logger } from '../log.ts';
import { backfill } from './backfill.ts';
import type { Scenario } from './scenario.ts';

export interface DemoModelOptions {
  modelsDir: string;
  scenario?: Scenario;
  /** Days of simulated history written behind now; default 3 (enough for the promotion gate's holdout). */
  days?: number;
  now?: () => number;
}

const DAY_MS = 86_400_000;

export class DemoModelModule implements AgentModule {
  readonly name = 'demo-model';
  private needsTraining = false;
  private readonly abort = new AbortController();
  private log: Logger | undefined;

  constructor(private readonly opts: DemoModelOptions) {}

  /** Whether start() found no model and wrote history for one: the caller then trains once the agent runs. */
  get wantsTraining(): boolean {
    return this.needsTraining;
  }

  async start(ctx: AgentContext): Promise<void> {
    const log = ctx.log.child({ module: this.name });
    this.log = log;
    const { model } = await new ModelRepository(this.opts.modelsDir, ctx.site.site.id).loadPromoted();
    if (model) return;
    const now = (this.opts.now ?? Date.now)();
    const days = this.opts.days ?? 3;
    const fromTs = now - days * DAY_MS;
    // History already there (an earlier demo run whose model was not promoted): train on it as it is.
    const probe = await ctx.store
      .query({
        kind: 'rack',
        site: ctx.site.site.id,
        targets: ctx.index.rackIds.slice(0, 1),
        metrics: ['inlet_c'],
        from: fromTs,
        to: fromTs + DAY_MS,
        windowMs: DAY_MS,
      })
      .catch(() => []);
    this.needsTraining = true;
    if (probe.some((s) => s.points.length > 0)) return;
    log.info(
      { days },
      `no forecast model yet: writing ${days} days of simulated history to train a first one (the demo only)`,
    );
    const result = await backfill({
      site: ctx.site,
      store: ctx.store,
      ...(this.opts.scenario ? { scenario: this.opts.scenario } : {}),
      fromTs,
      toTs: now,
      signal: this.abort.signal,
    });
    log.info(
      { readings: result.readingsWritten, wallMs: Math.round(result.wallMs), complete: result.complete },
      'simulated history written',
    );
    if (!result.complete) this.needsTraining = false;
  }

  async stop(): Promise<void> {
    this.abort.abort();
  }

  /** Train once in the background; `train` is the forecast module's (it promotes only past the gate). */
  trainInBackground(train: () => Promise<{ ok: boolean; promoted?: boolean; reason?: string }>): void {
    if (!this.needsTraining) return;
    this.needsTraining = false;
    this.log?.info('training the first forecast model from the simulated history in the background');
    void train().catch((err: unknown) => this.log?.warn({ err }, 'demo model training failed'));
  }
}
