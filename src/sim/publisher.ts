/**
 * Runs a DataCenterSim against the wall clock and publishes what its sensors report over MQTT, in the
 * site's own topic layouts and payload formats — the agent ingests it like any real source.
 * The thin I/O edge of the simulator: the physics and the encoding stay pure.
 *
 * Time: at speed 1 the run starts now. Faster, it is laid in the past so that no reading is stamped
 * in the future: it starts one scenario-length ago (one day when open-ended; never further back than
 * 90 % of ingest.maxAgeMs, which the agent would refuse), catches up with the wall clock, and from
 * there runs in real time. `value` payloads carry no timestamp, so the agent stamps those on arrival.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { SiteConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { TelemetryEncoder } from './encode.ts';
import type { Scenario } from './scenario.ts';
import { DataCenterSim } from './simulator.ts';

export interface SimPublisherOptions {
  site: SiteConfig;
  brokerUrl: string;
  log: Logger;
  scenario?: Scenario;
  /** Simulated seconds per wall second. */
  speed: number;
  /** Simulated time between sensor reports (ms); real sensors report every few seconds. */
  reportEveryMs?: number;
  seed?: number;
  /** Stop publishing at the scenario's end (whenEnded() resolves); default false: run on past it. */
  stopAtEnd?: boolean;
  /** Messages handed to the client but not yet sent (QoS 0) or acknowledged (QoS 1/2) before the simulation waits (default 20,000). */
  maxOutstanding?: number;
  /** Wall-clock "now", injectable for tests. */
  now?: () => number;
  username?: string;
  password?: string;
  clientId?: string;
}

export interface SimPublisherStats {
  /** Simulated time of the last report published. */
  simulatedTs: number;
  startTs: number;
  /** Scenario end, when it has one. */
  endTs: number | undefined;
  messagesPublished: number;
  /** Messages not yet sent or acknowledged. */
  outstanding: number;
  publishErrors: number;
  /** How far the simulation trails the wall clock × speed (ms of simulated time): the broker or this process cannot keep up. */
  lagMs: number;
  /** Scenario events applied so far, in order. */
  events: string[];
  ended: boolean;
}

/** Wall-clock tick; each tick advances the simulation by speed × tick. */
const TICK_MS = 250;
/** Wall time one tick may spend publishing, so timers and signals stay responsive at high speeds. */
const TICK_BUDGET_MS = 150;
/** Default look-back when the scenario is open-ended and speed > 1. */
const DEFAULT_SPAN_MS = 86_400_000;

export class SimPublisher {
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sim: DataCenterSim | undefined;
  private readonly encoder: TelemetryEncoder;
  private nextReportTs = 0;
  private lastReportTs = 0;
  private wallStart = 0;
  private simStart = 0;
  private published = 0;
  private outstanding = 0;
  private errors = 0;
  private ended = false;
  private endWaiters: Array<() => void> = [];
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: SimPublisherOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log.child({ module: 'sim' });
    // Spread racks over every rack mapping so each payload format flows through the agent.
    this.encoder = new TelemetryEncoder(opts.site, { rackMappings: 'spread' });
  }

  async start(): Promise<void> {
    const { site, scenario, speed } = this.opts;
    if (!(speed > 0)) throw new Error(`speed must be above 0, got ${speed}`);
    const wallNow = this.now();
    const span = Math.min(scenario?.duration ?? DEFAULT_SPAN_MS, Math.floor(site.ingest.maxAgeMs * 0.9));
    this.simStart = speed > 1 ? wallNow - span : wallNow;
    this.wallStart = wallNow;
    this.sim = new DataCenterSim(site, {
      seed: this.opts.seed ?? scenario?.seed ?? 1,
      startTs: this.simStart,
      ...(scenario ? { scenario } : {}),
    });
    this.nextReportTs = this.simStart;
    this.lastReportTs = this.simStart;
    const client = mqtt.connect(this.opts.brokerUrl, {
      clientId: this.opts.clientId ?? `hotaisle-sim-${site.site.id}-${process.pid}`,
      clean: true,
      reconnectPeriod: 1000,
      ...(this.opts.username ? { username: this.opts.username } : {}),
      ...(this.opts.password ? { password: this.opts.password } : {}),
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'simulator MQTT error'));
    try {
      await new Promise<void>((resolve, reject) => {
        const timeout = setTimeout(
          () => reject(new Error(`simulator cannot reach the broker at ${this.opts.brokerUrl}`)),
          10_000,
        );
        client.once('connect', () => {
          clearTimeout(timeout);
          resolve();
        });
      });
    } catch (err) {
      client.end(true);
      throw err;
    }
    this.client = client;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.log.info(
      { scenario: scenario?.name ?? 'none', speed, racks: this.sim.index.rackIds.length },
      'simulator publishing',
    );
  }

  /** Where the wall clock says the simulation should be now. */
  private targetTs(): number {
    let target = this.simStart + (this.now() - this.wallStart) * this.opts.speed;
    if (this.opts.speed > 1) target = Math.min(target, Math.max(this.now(), this.simStart));
    const end = this.sim?.endTs;
    if (this.opts.stopAtEnd && end !== undefined) target = Math.min(target, end);
    return target;
  }

  /** Advance to where the wall clock says the simulation should be, publishing a report every reportEveryMs. */
  private tick(): void {
    const sim = this.sim;
    const client = this.client;
    if (!sim || !client || this.ended) return;
    const every = this.opts.reportEveryMs ?? 5000;
    const maxOutstanding = this.opts.maxOutstanding ?? 20_000;
    const target = this.targetTs();
    const t0 = performance.now();
    // Behind the broker, the simulation waits rather than piling messages up in memory.
    while (
      this.nextReportTs <= target &&
      this.outstanding < maxOutstanding &&
      performance.now() - t0 < TICK_BUDGET_MS
    ) {
      sim.advanceTo(this.nextReportTs);
      for (const msg of this.encoder.encode(sim.readings())) {
        this.outstanding++;
        client.publish(msg.topic, msg.payload, { qos: msg.qos }, (err) => {
          this.outstanding--;
          if (err) this.errors++;
        });
        this.published++;
      }
      this.lastReportTs = this.nextReportTs;
      this.nextReportTs += every;
    }
    const end = sim.endTs;
    if (this.opts.stopAtEnd && end !== undefined && this.nextReportTs > end) this.finish();
  }

  private finish(): void {
    this.ended = true;
    clearInterval(this.timer);
    this.timer = undefined;
    const waiters = this.endWaiters;
    this.endWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once the scenario's end has been published (stopAtEnd), or after stop(). */
  whenEnded(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  stats(): SimPublisherStats {
    const target = this.sim ? this.targetTs() : 0;
    return {
      simulatedTs: this.lastReportTs,
      startTs: this.simStart,
      endTs: this.sim?.endTs,
      messagesPublished: this.published,
      outstanding: this.outstanding,
      publishErrors: this.errors,
      lagMs: this.ended ? 0 : Math.max(0, target - this.lastReportTs - (this.opts.reportEveryMs ?? 5000)),
      events: this.sim?.appliedEvents.map((e) => e.label) ?? [],
      ended: this.ended,
    };
  }

  /** The running simulation, for callers that inject events or read its true state. */
  simulation(): DataCenterSim | undefined {
    return this.sim;
  }

  /** Stops the clock, waits (bounded) for messages already handed to the client, and disconnects. */
  async stop(drainTimeoutMs = 5000): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) {
      const deadline = Date.now() + drainTimeoutMs;
      while (this.outstanding > 0 && client.connected && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      await client.endAsync(this.outstanding > 0);
    }
    if (!this.ended) this.finish();
  }
}
