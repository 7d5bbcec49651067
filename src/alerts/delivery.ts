/**
 * Where alerts go, built from the site's alerts settings: the receivers, the routes over them, the
 * MQTT connection the MQTT receivers publish on, and the periodic re-send to Alertmanager. Rebuilt in
 * place on a site reload; counts what it delivered for stats, metrics and readiness.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { AgentContext } from '../agent.ts';
import type { ReadinessCheck } from '../api/routes/health.ts';
import type { AlertSettings } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { AlertPayload } from './payloads.ts';
import {
  AlertmanagerReceiver,
  type AlertReceiver,
  createReceiver,
  type ReceiverDeps,
  type ReceiverStats,
} from './receivers.ts';
import { AlertDispatcher, type DispatchStats, routesFor, unknownReceivers } from './routing.ts';

/** What receivers need besides the MQTT connection and the re-send period, which delivery supplies. */
export type DeliveryDeps = Omit<ReceiverDeps, 'mqtt' | 'alertmanagerResendMs'>;

const MQTT_CONNECT_WAIT_MS = 5000;

/** Refuses routes that name a receiver the settings do not define (at start and on reload). */
export function checkRoutes(settings: AlertSettings): void {
  const missing = unknownReceivers(settings.routes, settings.receivers);
  if (missing.length > 0) {
    throw new Error(
      `alerts.routes name receiver(s) ${missing.join(', ')} that alerts.receivers does not define`,
    );
  }
}

export class AlertDelivery {
  private receivers = new Map<string, AlertReceiver>();
  private dispatcher: AlertDispatcher | undefined;
  private client: MqttClient | undefined;
  private lastResync = Number.NEGATIVE_INFINITY;
  private resendMs = 0;
  private routes: AlertSettings['routes'] = [];

  constructor(
    private readonly deps: DeliveryDeps,
    private readonly log: Logger,
  ) {}

  /** Builds receivers and routes from the site, then waits (bounded) for MQTT if a receiver needs it. */
  async open(ctx: AgentContext): Promise<void> {
    const settings = ctx.site.alerts;
    this.receivers = this.buildReceivers(settings);
    this.useRoutes(ctx, settings);
    if (settings.receivers.some((r) => r.kind === 'mqtt')) await this.connectMqtt(ctx);
  }

  /**
   * A reloaded site: receivers are rebuilt only when their config changed (so their counters carry
   * over otherwise), the MQTT connection follows whether one is still wanted; routes always rebuilt.
   */
  async reconfigure(ctx: AgentContext, before: AlertSettings): Promise<void> {
    const settings = ctx.site.alerts;
    if (JSON.stringify(before.receivers) !== JSON.stringify(settings.receivers)) {
      this.receivers = this.buildReceivers(settings);
      const wantsMqtt = settings.receivers.some((r) => r.kind === 'mqtt');
      if (wantsMqtt && !this.client) await this.connectMqtt(ctx);
      if (!wantsMqtt && this.client) await this.disconnectMqtt();
    }
    this.useRoutes(ctx, settings);
  }

  private buildReceivers(settings: AlertSettings): Map<string, AlertReceiver> {
    const deps: ReceiverDeps = {
      ...this.deps,
      mqtt: () => this.client,
      alertmanagerResendMs: settings.alertmanagerResendSeconds * 1000,
    };
    return new Map(settings.receivers.map((cfg) => [cfg.name, createReceiver(cfg, deps)]));
  }

  private useRoutes(ctx: AgentContext, settings: AlertSettings): void {
    this.routes = settings.routes;
    this.resendMs = settings.alertmanagerResendSeconds * 1000;
    this.dispatcher = new AlertDispatcher(ctx.site.site.id, settings.routes, this.receivers, this.log);
  }

  private async connectMqtt(ctx: AgentContext): Promise<void> {
    const client = mqtt.connect(ctx.brokerUrl, {
      clientId: `hotaisle-alerts-${ctx.site.site.id}-${randomUUID().slice(0, 8)}`,
      reconnectPeriod: 1000,
      connectTimeout: MQTT_CONNECT_WAIT_MS,
      ...(ctx.brokerCredentials.username ? { username: ctx.brokerCredentials.username } : {}),
      ...(ctx.brokerCredentials.password ? { password: ctx.brokerCredentials.password } : {}),
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'alerts MQTT error'));
    this.client = client;
    // Not fatal: until it connects, MQTT deliveries fail over to a route's fallback.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, MQTT_CONNECT_WAIT_MS);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async disconnectMqtt(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.endAsync();
  }

  /** Sends along the routes; resolves to the fingerprints no receiver took. */
  dispatch(payloads: readonly AlertPayload[]): Promise<ReadonlySet<string>> {
    if (!this.dispatcher) return Promise.resolve(new Set());
    return this.dispatcher.dispatch(payloads);
  }

  /**
   * Alertmanager forgets an alert not re-sent within its resolve timeout, and wants resolved ones
   * re-sent for a while: every resend period it gets all it should know about (`current`, read only
   * when due and an Alertmanager receiver exists), each one what its routes send it.
   */
  async resyncAlertmanager(now: number, current: () => AlertPayload[]): Promise<void> {
    if (now - this.lastResync < this.resendMs) return;
    this.lastResync = now;
    const managers = [...this.receivers.values()].filter(
      (r): r is AlertmanagerReceiver => r instanceof AlertmanagerReceiver,
    );
    if (managers.length === 0) return;
    const payloads = current();
    for (const am of managers) {
      const mine = payloads.filter((p) => routesFor(this.routes, p).some((r) => r.receiver === am.name));
      try {
        await am.post(mine);
      } catch (err) {
        this.log.warn({ receiver: am.name, err: (err as Error).message }, 'Alertmanager re-send failed');
      }
    }
  }

  receiverNames(): string[] {
    return [...this.receivers.keys()];
  }

  receiverStats(): Record<string, ReceiverStats> {
    return Object.fromEntries([...this.receivers].map(([name, r]) => [name, r.stats()]));
  }

  dispatchStats(): DispatchStats {
    return this.dispatcher?.stats() ?? { delivered: 0, fellBack: 0, lost: 0 };
  }

  /** Degraded while a receiver's latest attempt failed. */
  health(): ReturnType<ReadinessCheck['check']> {
    const failing = [...this.receivers.values()].filter((r) => {
      const s = r.stats();
      return s.lastFailedAt !== undefined && (s.lastSentAt === undefined || s.lastFailedAt > s.lastSentAt);
    });
    return failing.length === 0
      ? { status: 'ok' }
      : {
          status: 'degraded',
          detail: `alert receiver(s) failing: ${failing.map((r) => `${r.name} (${r.stats().lastError ?? 'error'})`).join(', ')}`,
        };
  }

  /** Ends the MQTT connection and drops the receivers; the dispatch counters stay readable. */
  async close(): Promise<void> {
    await this.disconnectMqtt();
    this.receivers = new Map();
  }
}
