/**
 * The MQTT adapter for telemetry (STYLE.md §4, §9): connect, subscribe to this site's topics,
 * hand each message to the router and the readings to the sink. Thin on purpose; decoding and
 * validation live in router.ts. Persistent session (clean: false, stable client id) so QoS 1
 * telemetry published while the agent restarts is delivered when it is back.
 */
import mqtt, { type IConnackPacket, type ISubscriptionMap, type MqttClient } from 'mqtt';
import type { BrokerConfig, SiteConfig } from '../config/schema.ts';
import { buildSiteIndex, type SiteIndex } from '../config/siteIndex.ts';
import type { Logger } from '../log.ts';
import { deadLetterBody } from './deadLetter.ts';
import { batchSocketWrites, brokerUrl, telemetryClientOptions } from './mqttClient.ts';
import type { Reading, RejectReason } from './reading.ts';
import { type RejectEntry, RejectLog } from './rejects.ts';
import { type ImplausibleReading, type RouteReject, TelemetryRouter } from './router.ts';

// The dead-letter format moved to deadLetter.ts; kept importable from here for existing callers.
export { DEAD_LETTER_PAYLOAD_BYTES, type DeadLetter, deadLetterBody } from './deadLetter.ts';

export interface TelemetrySubscriberOptions {
  site: SiteConfig;
  /** Used to build the router when none is given. */
  index?: SiteIndex;
  /** Defaults to site.broker. */
  broker?: BrokerConfig;
  /** Broker URL; defaults to broker.url, or mqtt://host:port for the embedded broker. */
  url?: string;
  /** Defaults to a router built from site and index. */
  router?: TelemetryRouter;
  /** Takes each message's readings synchronously (the write buffer); the message is acked after it returns. */
  sink: (readings: Reading[]) => void;
  /**
   * Takes the readings of a message refused as out of range (never stored), so alerts can say which
   * sensor reports nonsense instead of it only going stale. Called on the reject path only.
   */
  implausibleSink?: (readings: ImplausibleReading[]) => void;
  /**
   * Flow control from the sink: while saturated(), the next message is neither acked nor read until
   * whenRelieved() settles, so QoS 1 messages wait on the broker instead of being dropped here.
   */
  backpressure?: { saturated(): boolean; whenRelieved(): Promise<void> };
  log: Logger;
  /** Defaults to broker.clientId, then `hotaisle-<site>`. Must be stable for the persistent session. */
  clientId?: string;
  /** Where credentials are read from (broker.usernameEnv/passwordEnv, else HOTAISLE_MQTT_USERNAME/PASSWORD). */
  env?: NodeJS.ProcessEnv;
  /** How long start() keeps trying the first connection before it gives up; default 10 s. */
  connectTimeoutMs?: number;
  /** Defaults to a RejectLog on `log` that dead-letters when broker.deadLetterTopic is set. */
  rejectLog?: RejectLog;
  now?: () => number;
}

export interface TelemetrySubscriberStats {
  connected: boolean;
  /** Successful connections after the first. */
  reconnects: number;
  messagesReceived: number;
  readingsAccepted: number;
  rejectsByReason: Record<RejectReason, number>;
  /** Sink calls that threw (their readings are lost; the sink should not throw). */
  sinkErrors: number;
  deadLettersPublished: number;
  /** Dead letters not sent because the broker was unreachable. */
  deadLettersDropped: number;
  /** Times ingestion paused because the write path was saturated. */
  pauses: number;
}

/** start() could not reach the broker; the agent exits on this when a real broker was configured. */
export class BrokerConnectError extends Error {
  override readonly name = 'BrokerConnectError';
  readonly code = 'HOTAISLE_MQTT_CONNECT';
  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot connect to the MQTT broker at ${url}: ${reason}`, options);
  }
}

const STATUS_QOS = 1;
const STOP_TIMEOUT_MS = 3000;

export class TelemetrySubscriber {
  private client: MqttClient | undefined;
  private router: TelemetryRouter;
  private readonly rejects: RejectLog;
  private readonly broker: BrokerConfig;
  private readonly url: string;
  private readonly clientId: string;
  private readonly statusTopic: string;
  private readonly log: Logger;
  private readonly now: () => number;
  private flushTimer: NodeJS.Timeout | undefined;
  private everConnected = false;
  /** Settles when the broker has answered the latest SUBSCRIBE; start() waits on the first one. */
  private subscribed: Promise<void> = Promise.resolve();
  private outageLogged = false;
  private counters = {
    reconnects: 0,
    messagesReceived: 0,
    readingsAccepted: 0,
    sinkErrors: 0,
    deadLettersPublished: 0,
    deadLettersDropped: 0,
    pauses: 0,
  };

  constructor(private readonly opts: TelemetrySubscriberOptions) {
    const siteId = opts.site.site.id;
    this.log = opts.log.child({ module: 'telemetry' });
    this.broker = opts.broker ?? opts.site.broker;
    this.url = opts.url ?? brokerUrl(this.broker);
    this.clientId = opts.clientId ?? this.broker.clientId ?? `hotaisle-${siteId}`;
    this.statusTopic = `hotaisle/${siteId}/status`;
    this.now = opts.now ?? Date.now;
    this.router = opts.router ?? new TelemetryRouter(opts.site, opts.index ?? buildSiteIndex(opts.site));
    this.rejects =
      opts.rejectLog ??
      new RejectLog({
        log: this.log,
        ...(this.broker.deadLetterTopic
          ? { deadLetter: (entry: RejectEntry) => this.publishDeadLetter(entry) }
          : {}),
      });
  }

  /** Connects and subscribes; rejects with BrokerConnectError when the first connection fails. */
  async start(): Promise<void> {
    if (this.client) return;
    const client = mqtt.connect(
      this.url,
      telemetryClientOptions(this.broker, {
        clientId: this.clientId,
        statusTopic: this.statusTopic,
        statusQos: STATUS_QOS,
        maxAgeMs: this.opts.site.ingest.maxAgeMs,
        env: this.opts.env ?? process.env,
      }),
    );
    this.client = client;
    client.on('message', this.onMessage);
    const pressure = this.opts.backpressure;
    if (pressure) {
      // MQTT.js calls handleMessage after 'message' and sends PUBACK and reads the next packet only
      // when it calls back: delaying the callback is the client's own flow-control hook.
      client.handleMessage = (_packet, done) => {
        if (!pressure.saturated()) return done();
        this.counters.pauses++;
        pressure.whenRelieved().then(() => done(), done);
      };
    }
    client.on('connect', (connack) => this.onConnect(client, connack));
    client.on('close', () => this.onClose());
    // Errors after the first connect are transient (MQTT.js reconnects): log the first of an outage.
    client.on('error', (err) => {
      if (this.everConnected && !this.outageLogged)
        this.log.warn({ err: err.message, url: this.url }, 'MQTT error');
    });
    this.flushTimer = setInterval(() => this.rejects.flush(), 60_000);
    this.flushTimer.unref();
    try {
      await this.firstConnect(client);
      // Until SUBACK, a message published to a new session would be dropped by the broker; a caller
      // that publishes right after start() must not lose it.
      await this.subscribed;
    } catch (err) {
      clearInterval(this.flushTimer);
      this.flushTimer = undefined;
      this.client = undefined;
      client.removeAllListeners();
      client.on('error', () => {}); // a late socket error must not become an unhandled 'error' event
      client.end(true);
      throw err;
    }
  }

  /** Publishes "offline", disconnects cleanly (the session stays on the broker). */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    this.rejects.flush(true);
    if (!client) return;
    try {
      if (client.connected) {
        await withTimeout(
          client.publishAsync(this.statusTopic, 'offline', { qos: STATUS_QOS, retain: true }),
          STOP_TIMEOUT_MS,
        );
      }
      await withTimeout(client.endAsync(), STOP_TIMEOUT_MS);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'MQTT disconnect was not clean; closing the socket');
      client.end(true);
    }
    client.removeAllListeners();
    client.on('error', () => {});
  }

  /**
   * Route with a new router from now on (a site reload): the next message already uses it. Filters
   * the new router no longer needs are unsubscribed and new ones subscribed; while disconnected the
   * next connect subscribes from the new router anyway.
   */
  async setRouter(router: TelemetryRouter): Promise<void> {
    const before = new Map(this.router.subscriptions().map((s) => [s.filter, s.qos]));
    const after = new Map(router.subscriptions().map((s) => [s.filter, s.qos]));
    this.router = router;
    const client = this.client;
    if (!client?.connected) return;
    const gone = [...before.keys()].filter((f) => !after.has(f));
    const added: ISubscriptionMap = {};
    for (const [filter, qos] of after) if (before.get(filter) !== qos) added[filter] = { qos };
    try {
      if (gone.length > 0) await client.unsubscribeAsync(gone);
      if (Object.keys(added).length > 0) await client.subscribeAsync(added);
      if (gone.length > 0 || Object.keys(added).length > 0)
        this.log.info(
          { unsubscribed: gone, subscribed: Object.keys(added) },
          'telemetry subscriptions updated',
        );
    } catch (err) {
      // The next reconnect subscribes from the new router; until then some topics may be missed.
      this.log.error({ err: (err as Error).message }, 'MQTT re-subscribe after reload failed');
    }
  }

  isConnected(): boolean {
    return this.client?.connected ?? false;
  }

  stats(): TelemetrySubscriberStats {
    return { connected: this.isConnected(), ...this.counters, rejectsByReason: this.rejects.counts() };
  }

  /** The reject counters and rate-limited log, for the metrics endpoint. */
  rejectLog(): RejectLog {
    return this.rejects;
  }

  private firstConnect(client: MqttClient): Promise<void> {
    const timeoutMs = this.opts.connectTimeoutMs ?? 10_000;
    return new Promise<void>((resolve, reject) => {
      let lastError = 'no answer';
      const finish = (err?: BrokerConnectError) => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', onError);
        if (err) reject(err);
        else resolve();
      };
      const onConnect = () => finish();
      const onError = (err: Error & { code?: unknown }) => {
        lastError = err.message;
        // A CONNACK refusal (bad credentials, banned client id) will not fix itself; socket errors might.
        if (typeof err.code === 'number')
          finish(new BrokerConnectError(this.url, err.message, { cause: err }));
      };
      const timer = setTimeout(
        () =>
          finish(
            new BrokerConnectError(
              this.url,
              `no connection within ${timeoutMs} ms (last error: ${lastError})`,
            ),
          ),
        timeoutMs,
      );
      client.on('connect', onConnect);
      client.on('error', onError);
    });
  }

  private onConnect(client: MqttClient, connack: IConnackPacket): void {
    batchSocketWrites(client.stream);
    if (this.everConnected) {
      this.counters.reconnects++;
      this.log.info({ url: this.url, sessionPresent: connack.sessionPresent }, 'reconnected to MQTT broker');
    } else {
      this.log.info(
        { url: this.url, clientId: this.clientId, sessionPresent: connack.sessionPresent },
        'connected to MQTT broker',
      );
    }
    this.everConnected = true;
    this.outageLogged = false;
    client.publish(this.statusTopic, 'online', { qos: STATUS_QOS, retain: true });
    const subs = this.router.subscriptions();
    const map: ISubscriptionMap = {};
    for (const s of subs) map[s.filter] = { qos: s.qos };
    // Resubscribe even when the broker kept the session: cheap, and it heals a session the broker lost.
    this.subscribed = new Promise<void>((resolve) => {
      client.subscribe(map, (err, granted) => {
        resolve();
        if (err) {
          this.log.error({ err: err.message }, 'MQTT subscribe failed');
          return;
        }
        for (const g of granted ?? []) {
          if (g.qos === 128)
            this.log.error({ filter: g.topic }, 'broker refused the subscription (check its ACL)');
        }
      });
    });
  }

  private onClose(): void {
    if (!this.everConnected || this.outageLogged || this.client === undefined) return;
    this.outageLogged = true;
    this.log.warn({ url: this.url }, 'lost the MQTT broker; reconnecting every second');
  }

  /** Never throws: a failure anywhere becomes a counted reject, never a crash or an unacked message. */
  private readonly onMessage = (topic: string, payload: Buffer): void => {
    this.counters.messagesReceived++;
    try {
      if (topic === this.statusTopic || topic === this.broker.deadLetterTopic) return;
      const { readings, rejects } = this.router.route(topic, payload, this.now());
      if (readings.length > 0) {
        this.counters.readingsAccepted += readings.length;
        try {
          this.opts.sink(readings);
        } catch (err) {
          if (this.counters.sinkErrors++ === 0)
            this.log.error({ err: (err as Error).message }, 'telemetry sink threw');
        }
      }
      if (rejects.length > 0) this.onRejects(topic, payload, rejects);
    } catch (err) {
      try {
        this.rejects.record(
          topic,
          'malformed_payload',
          `routing failed: ${(err as Error)?.message}`,
          payload,
        );
      } catch {
        // The reject log itself failed; nothing sensible is left to do for this message.
      }
    }
  };

  /** The reject path: count and dead-letter each, hand implausible readings to their sink. */
  private onRejects(topic: string, payload: Buffer, rejects: readonly RouteReject[]): void {
    let implausible: ImplausibleReading[] | undefined;
    for (const r of rejects) {
      this.rejects.record(topic, r.reason, r.detail, payload);
      if (r.implausible) {
        implausible ??= [];
        implausible.push(r.implausible);
      }
    }
    const sink = this.opts.implausibleSink;
    if (!implausible || !sink) return;
    try {
      sink(implausible);
    } catch (err) {
      if (this.counters.sinkErrors++ === 0)
        this.log.error({ err: (err as Error).message }, 'telemetry implausible-reading sink threw');
    }
  }

  private publishDeadLetter(entry: RejectEntry): void {
    const client = this.client;
    const topic = this.broker.deadLetterTopic;
    if (!client?.connected || topic === undefined) {
      this.counters.deadLettersDropped++;
      return;
    }
    client.publish(topic, JSON.stringify(deadLetterBody(entry, this.now())), { qos: 0 });
    this.counters.deadLettersPublished++;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
