/** The simulator as an agent capability: `npm start` shows a live hall with no hardware attached. */
import type { AgentContext, AgentModule } from '../agent.ts';
import { SimPublisher } from './publisher.ts';
import type { Scenario } from './scenario.ts';

/** The scenario `hotaisle run --sim` and `hotaisle simulate` use unless told otherwise: without one the sim generates no jobs. */
export const DEFAULT_SCENARIO_FILE = 'sites/scenarios/normal-week.yaml';

export interface SimulatorModuleOptions {
  speed: number;
  scenario?: Scenario;
  seed?: number;
  reportEveryMs?: number;
}

export class SimulatorModule implements AgentModule {
  readonly name = 'simulator';
  private publisher: SimPublisher | undefined;

  constructor(private readonly opts: SimulatorModuleOptions) {}

  async start(ctx: AgentContext): Promise<void> {
    // Runs on past the scenario's end: the live demo keeps going with the scenario's workload.
    this.publisher = new SimPublisher({
      site: ctx.site,
      brokerUrl: ctx.brokerUrl,
      log: ctx.log,
      speed: this.opts.speed,
      ...(this.opts.scenario ? { scenario: this.opts.scenario } : {}),
      ...(this.opts.seed !== undefined ? { seed: this.opts.seed } : {}),
      ...(this.opts.reportEveryMs !== undefined ? { reportEveryMs: this.opts.reportEveryMs } : {}),
      ...ctx.brokerCredentials,
    });
    await this.publisher.start();
  }

  /** Simulated time of the last report published; undefined while not running. Cheap: read per ingested batch. */
  simulatedTs(): number | undefined {
    return this.publisher?.simulation()?.now;
  }

  async stop(): Promise<void> {
    await this.publisher?.stop();
    this.publisher = undefined;
  }
}
