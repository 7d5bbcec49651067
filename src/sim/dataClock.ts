/**
 * "Now" from the data instead of the wall clock: the newest reading the agent accepted. A simulator
 * running faster (or slower) than real time stamps its readings in simulated time, so modules that
 * judge staleness, hold times and rates (alerts, forecasts) must run on this clock, or every sensor
 * looks stale while the simulation catches up with the wall clock.
 */
import type { AgentModule } from '../agent.ts';
import type { Reading } from '../telemetry/reading.ts';

export interface DataClockOptions {
  /**
   * Readings stamped after this are not counted. `value` payloads carry no timestamp, so the agent
   * stamps them on arrival in wall time, ahead of a simulation still catching up; capped by the
   * simulation's own time they cannot drag the clock forward. Undefined: no cap.
   */
  notAfter?: () => number | undefined;
  /** "Now" until the first reading arrives; default the wall clock. */
  before?: () => number;
}

/** An agent module only for observe(): modules take its `now` as their clock. */
export class DataClock implements AgentModule {
  readonly name = 'data-clock';
  private newest: number | undefined;

  constructor(private readonly opts: DataClockOptions = {}) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** On the ingest hot path: no allocation, one comparison per reading. */
  observe(readings: readonly Reading[]): void {
    const limit = this.opts.notAfter?.() ?? Number.POSITIVE_INFINITY;
    let newest = this.newest ?? Number.NEGATIVE_INFINITY;
    for (const r of readings) if (r.ts > newest && r.ts <= limit) newest = r.ts;
    if (newest > Number.NEGATIVE_INFINITY) this.newest = newest;
  }

  /** Bound, so it can be handed over as a `now` option. */
  readonly now = (): number => this.newest ?? (this.opts.before ?? Date.now)();
}
