/**
 * Pushes recommendations to schedulers (issue 5, "Delivery to schedulers"): retained JSON on
 * `<prefix>/placement`, `<prefix>/nodes` and `<prefix>/batch-plan` (prefix default
 * hotaisle/<site>/recommendations), and one POST per configured webhook. Everything goes out at
 * start, again every intervalSeconds, and at once when something a scheduler acts on changed
 * (checked every checkSeconds). A thin adapter: publishing while disconnected and failed webhooks
 * are counted and logged, never thrown; a slow webhook is never posted to twice at once.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { RecommendPushConfig } from '../config/schema.ts';
import { type HttpTarget, httpTarget, postJson } from '../http/postJson.ts';
import type { Logger } from '../log.ts';
import {
  buildPushMessages,
  changeKey,
  type PushMessages,
  type PushTopic,
  type WebhookPush,
} from './pushPayloads.ts';
import type { RecommendService } from './service.ts';

const TOPICS: readonly PushTopic[] = ['placement', 'nodes', 'batch-plan'];

export interface DeliveryStats {
  sent: number;
  failed: number;
  retries: number;
  lastError?: string;
  lastSentAt?: number;
}

export interface PushStats {
  mqtt: DeliveryStats & { connected: boolean; skippedDisconnected: number };
  webhooks: Record<string, DeliveryStats>;
}

export interface PublisherOptions {
  site: string;
  settings: RecommendPushConfig;
  /** The service in place now (a reload may swap it). */
  service: () => RecommendService | undefined;
  log: Logger;
  brokerUrl: string;
  brokerCredentials: { username?: string; password?: string };
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** Base delay between webhook retries, doubled per attempt; default 500 ms. */
  retryBaseMs?: number;
}

interface Webhook {
  name: string;
  target: HttpTarget;
  stats: DeliveryStats;
  busy: boolean;
  /** The newest body that arrived while a POST was running; sent after it. */
  queued: WebhookPush | undefined;
}

export class RecommendPublisher {
  readonly prefix: string;
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly webhooks: Webhook[];
  private readonly mqttStats: DeliveryStats & { skippedDisconnected: number } = {
    sent: 0,
    failed: 0,
    retries: 0,
    skippedDisconnected: 0,
  };
  private readonly lastKey = new Map<PushTopic, string>();
  private lastFullPush = Number.NEGATIVE_INFINITY;
  private started = false;
  private readonly now: () => number;
  private readonly inFlight = new Set<Promise<void>>();

  /** Throws when a webhook's URL or token environment variable is missing (a config error). */
  constructor(private readonly opts: PublisherOptions) {
    this.prefix = opts.settings.topicPrefix ?? `hotaisle/${opts.site}/recommendations`;
    this.now = opts.now ?? Date.now;
    const env = opts.env ?? process.env;
    this.webhooks = opts.settings.webhooks.map((w) => ({
      name: w.name,
      target: httpTarget(`recommend.push webhook ${w.name}`, w, env),
      stats: { sent: 0, failed: 0, retries: 0 },
      busy: false,
      queued: undefined,
    }));
  }

  start(): void {
    const { settings } = this.opts;
    if (settings.mqtt) {
      const client = mqtt.connect(this.opts.brokerUrl, {
        clientId: `hotaisle-recommend-${this.opts.site}-${randomUUID().slice(0, 8)}`,
        reconnectPeriod: 1000,
        ...(this.opts.brokerCredentials.username ? { username: this.opts.brokerCredentials.username } : {}),
        ...(this.opts.brokerCredentials.password ? { password: this.opts.brokerCredentials.password } : {}),
      });
      client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'recommend push: MQTT error'));
      // Retained messages survive on the broker, but one that restarted without persistence has
      // none: every (re)connect publishes the current state.
      client.on('connect', () => {
        const messages = this.messages();
        if (messages) for (const topic of TOPICS) this.publish(topic, messages);
      });
      this.client = client;
    }
    this.started = true;
    this.tick();
    this.timer = setInterval(() => this.tick(), settings.checkSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Let POSTs under way finish (each is bounded by its attempts and timeouts).
    await Promise.allSettled([...this.inFlight]);
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync().catch(() => undefined);
  }

  stats(): PushStats {
    return {
      mqtt: { ...this.mqttStats, connected: this.client?.connected === true },
      webhooks: Object.fromEntries(this.webhooks.map((w) => [w.name, { ...w.stats }])),
    };
  }

  /** One check: push what changed, or everything when the interval is due. Tests call it directly. */
  tick(): void {
    if (!this.started) return;
    const messages = this.messages();
    if (!messages) return;
    const now = this.now();
    const first = this.lastFullPush === Number.NEGATIVE_INFINITY;
    const due = now - this.lastFullPush >= this.opts.settings.intervalSeconds * 1000;
    const changed = TOPICS.filter((t) => changeKey(t, messages) !== this.lastKey.get(t));
    if (!due && changed.length === 0) return;
    if (due) this.lastFullPush = now;
    for (const t of TOPICS) this.lastKey.set(t, changeKey(t, messages));
    for (const t of due ? TOPICS : changed) this.publish(t, messages);
    const body: WebhookPush = {
      schema: 'hotaisle.recommendations/v1',
      site: this.opts.site,
      ts: messages.placement.ts,
      trigger: first ? 'start' : changed.length > 0 ? 'change' : 'interval',
      placement: messages.placement,
      nodes: messages.nodes,
      batchPlan: messages['batch-plan'],
    };
    for (const w of this.webhooks) this.post(w, body);
  }

  private messages(): PushMessages | undefined {
    const service = this.opts.service();
    if (!service) return undefined;
    try {
      return buildPushMessages(service, this.opts.site, this.opts.settings.rankingJob, this.now());
    } catch (err) {
      this.opts.log.error({ err }, 'recommend push: could not build the recommendations');
      return undefined;
    }
  }

  private publish(topic: PushTopic, messages: PushMessages): void {
    const client = this.client;
    if (!client) return;
    if (!client.connected) {
      this.mqttStats.skippedDisconnected++;
      return;
    }
    const name = `${this.prefix}/${topic}`;
    client.publish(name, JSON.stringify(messages[topic]), { qos: 1, retain: true }, (err) => {
      if (err) {
        this.mqttStats.failed++;
        this.mqttStats.lastError = err.message;
        this.opts.log.warn({ topic: name, err: err.message }, 'recommend push: MQTT publish failed');
      } else {
        this.mqttStats.sent++;
        this.mqttStats.lastSentAt = Date.now();
      }
    });
  }

  private post(w: Webhook, body: WebhookPush): void {
    if (w.busy) {
      w.queued = body;
      return;
    }
    w.busy = true;
    const run = postJson(w.target, body, this.opts.retryBaseMs ?? 500, () => w.stats.retries++)
      .then(() => {
        w.stats.sent++;
        w.stats.lastSentAt = Date.now();
      })
      .catch((err: Error) => {
        w.stats.failed++;
        w.stats.lastError = err.message;
        this.opts.log.warn({ webhook: w.name, err: err.message }, 'recommend push: webhook failed');
      })
      .finally(() => {
        this.inFlight.delete(run);
        w.busy = false;
        const next = w.queued;
        w.queued = undefined;
        if (next && this.started) this.post(w, next);
      });
    this.inFlight.add(run);
  }
}
