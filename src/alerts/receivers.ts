/**
 * Thin adapters to the places alerts go: MQTT, a generic webhook, Prometheus Alertmanager (API v2).
 * Each throws when it could not deliver (after its own retries) so the router can try the fallback,
 * and counts what it did for health and metrics.
 */
import type { MqttClient } from 'mqtt';
import type { AlertReceiverConfig } from '../config/schema.ts';
import { type HttpTarget, httpTarget, postJson } from '../http/postJson.ts';
import {
  type AlertmanagerAlert,
  type AlertPayload,
  alertmanagerAlert,
  type GroupPayload,
} from './payloads.ts';

export interface ReceiverStats {
  sent: number;
  failed: number;
  retries: number;
  lastError?: string;
  lastSentAt?: number;
  lastFailedAt?: number;
}

export interface AlertReceiver {
  readonly name: string;
  readonly kind: AlertReceiverConfig['kind'];
  /** Deliver one group; rejects when delivery failed after retries. */
  send(group: GroupPayload): Promise<void>;
  stats(): ReceiverStats;
}

export interface ReceiverDeps {
  site: string;
  env: NodeJS.ProcessEnv;
  /** The agent's MQTT connection; absent when the module runs without a broker. */
  mqtt: () => MqttClient | undefined;
  /** The alert clock (event times); simulated in tests and replays. */
  now: () => number;
  /**
   * Alertmanager's own clock, for the lease (endsAt) on a firing alert: Alertmanager expires it by
   * real time, so it must count from real time even when alerts run on a simulated clock. Default now.
   */
  wallNow?: () => number;
  /** Alertmanager re-send period, ms (sets endsAt of firing alerts). */
  alertmanagerResendMs: number;
  /** Base delay between HTTP retries; doubled per attempt. */
  retryBaseMs?: number;
}

abstract class CountingReceiver {
  protected readonly counters: ReceiverStats = { sent: 0, failed: 0, retries: 0 };
  stats(): ReceiverStats {
    return { ...this.counters };
  }
  protected ok(): void {
    this.counters.sent++;
    this.counters.lastSentAt = Date.now();
  }
  protected fail(err: unknown): never {
    this.counters.failed++;
    this.counters.lastFailedAt = Date.now();
    this.counters.lastError = (err as Error).message;
    throw err;
  }
}

export class MqttAlertReceiver extends CountingReceiver implements AlertReceiver {
  readonly kind = 'mqtt' as const;
  readonly topic: string;

  constructor(
    readonly name: string,
    topic: string | undefined,
    private readonly deps: ReceiverDeps,
  ) {
    super();
    this.topic = topic ?? `hotaisle/${deps.site}/alerts`;
  }

  async send(group: GroupPayload): Promise<void> {
    const client = this.deps.mqtt();
    try {
      if (!client?.connected) throw new Error('MQTT not connected');
      await client.publishAsync(this.topic, JSON.stringify(group), { qos: 1 });
      this.ok();
    } catch (err) {
      this.fail(err);
    }
  }
}

export class WebhookAlertReceiver extends CountingReceiver implements AlertReceiver {
  readonly kind = 'webhook' as const;
  private readonly target: HttpTarget;

  constructor(
    cfg: Extract<AlertReceiverConfig, { kind: 'webhook' }>,
    private readonly deps: ReceiverDeps,
  ) {
    super();
    this.name = cfg.name;
    this.target = httpTarget(`alert receiver ${cfg.name}`, cfg, deps.env);
  }
  readonly name: string;

  async send(group: GroupPayload): Promise<void> {
    try {
      await postJson(this.target, group, this.deps.retryBaseMs ?? 500, () => this.counters.retries++);
      this.ok();
    } catch (err) {
      this.fail(err);
    }
  }
}

export class AlertmanagerReceiver extends CountingReceiver implements AlertReceiver {
  readonly kind = 'alertmanager' as const;
  readonly name: string;
  private readonly target: HttpTarget;
  /** Severity last sent per fingerprint: severity is a label there, so a change is another alert. */
  private readonly sentSeverity = new Map<string, string>();

  constructor(
    cfg: Extract<AlertReceiverConfig, { kind: 'alertmanager' }>,
    private readonly deps: ReceiverDeps,
  ) {
    super();
    this.name = cfg.name;
    this.target = httpTarget(`alert receiver ${cfg.name}`, cfg, deps.env, '/api/v2/alerts');
  }

  async send(group: GroupPayload): Promise<void> {
    await this.post(group.alerts);
  }

  /** Re-send alerts Alertmanager should keep (firing ones, recently resolved ones). */
  async post(alerts: readonly AlertPayload[]): Promise<void> {
    if (alerts.length === 0) return;
    const now = this.deps.now();
    const leaseFrom = this.deps.wallNow?.() ?? now;
    const resendMs = this.deps.alertmanagerResendMs;
    const body: AlertmanagerAlert[] = [];
    for (const a of alerts) {
      const before = this.sentSeverity.get(a.fingerprint);
      if (before !== undefined && before !== a.severity) {
        // End the alert under its old severity label now, or it would linger until its endsAt.
        body.push({
          ...alertmanagerAlert({ ...a, severity: before }, leaseFrom, resendMs),
          endsAt: new Date(now).toISOString(),
        });
      }
      body.push(alertmanagerAlert(a, leaseFrom, resendMs));
    }
    try {
      await postJson(this.target, body, this.deps.retryBaseMs ?? 500, () => this.counters.retries++);
      for (const a of alerts) {
        if (a.status === 'firing') this.sentSeverity.set(a.fingerprint, a.severity);
        else this.sentSeverity.delete(a.fingerprint);
      }
      this.ok();
    } catch (err) {
      this.fail(err);
    }
  }
}

export function createReceiver(cfg: AlertReceiverConfig, deps: ReceiverDeps): AlertReceiver {
  switch (cfg.kind) {
    case 'mqtt':
      return new MqttAlertReceiver(cfg.name, cfg.topic, deps);
    case 'webhook':
      return new WebhookAlertReceiver(cfg, deps);
    case 'alertmanager':
      return new AlertmanagerReceiver(cfg, deps);
  }
}
