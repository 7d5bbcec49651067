/**
 * Runs a DataCenterSim against the wall clock and publishes what its sensors report over MQTT, in the
 * site's own topic layouts and payload formats — the agent ingests it like any real source.
 * The thin I/O edge of the simulator: the physics and the encoding stay pure.
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
  /** Wall-clock "now", injectable for tests. */
  now?: () => number;
  username?: string;
  password?: string;
}

export interface SimPublisherStats {
  simulatedTs: number;
  messagesPublished: number;
  publishErrors: number;
  events: string[];
}

/** Wall-clock tick; each tick advances the simulation by speed × tick. */
const TICK_MS = 250;

export class SimPublisher {
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sim: DataCenterSim | undefined;
  private encoder: TelemetryEncoder;
  private nextReportTs = 0;
  private wallStart = 0;
  private simStart = 0;
  private published = 0;
  private errors = 0;
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
    const wallNow = this.now();
    // Faster than real time, the run is laid in the past so that no reading is stamped in the future:
    // it starts one scenario-length ago (or one day) and catches up with the wall clock at its end.
    const span = scenario?.duration ?? 86_400_000;
    this.simStart = speed > 1 ? wallNow - span : wallNow;
    this.wallStart = wallNow;
    this.sim = new DataCenterSim(site, {
      seed: this.opts.seed ?? scenario?.seed ?? 1,
      startTs: this.simStart,
      ...(scenario ? { scenario } : {}),
    });
    this.nextReportTs = this.simStart;
    const client = mqtt.connect(this.opts.brokerUrl, {
      clientId: `hotaisle-sim-${site.site.id}-${process.pid}`,
      clean: true,
      reconnectPeriod: 1000,
      ...(this.opts.username ? { username: this.opts.username } : {}),
      ...(this.opts.password ? { password: this.opts.password } : {}),
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'simulator MQTT error'));
    await new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error(`simulator cannot reach the broker at ${this.opts.brokerUrl}`)), 10_000);
      client.once('connect', () => {
        clearTimeout(timeout);
        resolve();
      });
    });
    this.client = client;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.log.info({ scenario: scenario?.name ?? 'default', speed, racks: this.sim.index.rackIds.length }, 'simulator publishing');
  }

  /** Advance to where the wall clock says the simulation should be, publishing a report every reportEveryMs. */
  private tick(): void {
    const sim = this.sim;
    const client = this.client;
    if (!sim || !client) return;
    const every = this.opts.reportEveryMs ?? 5000;
    let target = this.simStart + (this.now() - this.wallStart) * this.opts.speed;
    if (this.opts.speed > 1) target = Math.min(target, this.now());
    while (this.nextReportTs <= target) {
      sim.advanceTo(this.nextReportTs);
      for (const msg of this.encoder.encode(sim.readings())) {
        client.publish(msg.topic, msg.payload, { qos: msg.qos }, (err) => {
          if (err) this.errors++;
        });
        this.published++;
      }
      this.nextReportTs += every;
    }
  }

  stats(): SimPublisherStats {
    return {
      simulatedTs: this.sim?.now ?? 0,
      messagesPublished: this.published,
      publishErrors: this.errors,
      events: [],
    };
  }

  /** The running simulation, for callers that inject events or read its true state. */
  simulation(): DataCenterSim | undefined {
    return this.sim;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    await client?.endAsync();
  }
}
