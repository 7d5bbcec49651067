/** The simulator as an agent capability: `npm start` shows a live hall with no hardware attached. */
import type { AgentContext, AgentModule } from '../agent.ts';
import type { Scenario } from './scenario.ts';
import { SimPublisher } from './publisher.ts';

export class SimulatorModule implements AgentModule {
  readonly name = 'simulator';
  private publisher: SimPublisher | undefined;

  constructor(private readonly opts: { speed: number; scenario?: Scenario; seed?: number }) {}

  async start(ctx: AgentContext): Promise<void> {
    this.publisher = new SimPublisher({
      site: ctx.site,
      brokerUrl: ctx.brokerUrl,
      log: ctx.log,
      speed: this.opts.speed,
      ...(this.opts.scenario ? { scenario: this.opts.scenario } : {}),
      ...(this.opts.seed !== undefined ? { seed: this.opts.seed } : {}),
      ...ctx.brokerCredentials,
    });
    await this.publisher.start();
  }

  async stop(): Promise<void> {
    await this.publisher?.stop();
    this.publisher = undefined;
  }
}
