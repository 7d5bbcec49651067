/**
 * Alert metrics on GET /metrics: active alerts by state, severity and rule, silenced ones,
 * notifications sent and failed per receiver, fallback deliveries, lost notifications and evaluation
 * time. An AlertsModule with a dead primary webhook, a working fallback and a second route to a
 * receiver that refuses everything; the webhooks are small HTTP servers on loopback.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertsModule } from '../../src/alerts/alertsModule.ts';
import { createMetricsRegistry } from '../../src/api/metrics.ts';
import { healthRoutes } from '../../src/api/routes/health.ts';
import { buildApiApp } from '../../src/api/server.ts';
import { silentLogger } from '../../src/log.ts';
import type { Reading, RejectReason } from '../../src/telemetry/reading.ts';
import { alertsContext, labInlet } from '../helpers/alertsFixtures.ts';
import { alertsLabSite } from '../helpers/sites.ts';

/** A webhook answering `code` to every request; counts requests. */
async function webhook(code: number) {
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.statusCode = code;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The value of one sample, by metric name and labels (all of them must match). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('alert metrics on GET /metrics', () => {
  const clock = { now: Date.UTC(2026, 0, 5, 9, 0, 0) };
  let dataDir: string;
  let module: AlertsModule;
  let app: FastifyInstance;
  const hooks: Array<Awaited<ReturnType<typeof webhook>>> = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hotaisle-alerts-metrics-'));
    const [dead, backup, refusing] = await Promise.all([webhook(503), webhook(200), webhook(400)]);
    hooks.push(dead, backup, refusing);
    const site = alertsLabSite({
      racks: 3,
      alerts: {
        forSeconds: 60,
        receivers: [
          { name: 'primary', kind: 'webhook', url: dead.url, maxAttempts: 2 },
          { name: 'backup', kind: 'webhook', url: backup.url },
          { name: 'audit', kind: 'webhook', url: refusing.url },
        ],
        routes: [
          { receiver: 'primary', fallback: 'backup', continue: true },
          { receiver: 'audit', severities: ['critical'] },
        ],
      },
    });
    const ctx = alertsContext(site);
    module = new AlertsModule({ dataDir, evaluateMs: 3_600_000, retryBaseMs: 10, now: () => clock.now });
    await module.start(ctx);
    const registry = createMetricsRegistry('lab', {
      ingest: () => ({
        messagesReceived: 0,
        readingsAccepted: 0,
        rejectsByReason: {} as Record<RejectReason, number>,
        connected: true,
        reconnects: 0,
        pauses: 0,
      }),
      writes: () => ({
        readingsWritten: 0,
        pointsWritten: 0,
        batchesWritten: 0,
        writeErrors: 0,
        spooledBatches: 0,
        spoolDepth: 0,
        spoolBytes: 0,
        droppedReadings: 0,
        pending: 0,
      }),
      storeConnected: () => true,
    });
    module.metrics(registry);
    app = await buildApiApp({
      log: silentLogger(),
      routes: [healthRoutes({ checks: [], registry }), ...module.routes()],
    });
  });

  afterAll(async () => {
    await app?.close();
    await module?.stop();
    await Promise.all(hooks.map((h) => h.close()));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const inlet = (rack: string, value: number): Reading => labInlet(rack, value, clock.now);
  const scrape = async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    return res.body;
  };

  it('counts active alerts, silences, deliveries per receiver, fallbacks and evaluations', async () => {
    // r1 critical, r2 warning, r3 warning but silenced.
    const silence = await app.inject({
      method: 'POST',
      url: '/v1/silences',
      payload: {
        matchers: [{ name: 'rack', value: 'r3' }],
        durationMinutes: 60,
        createdBy: 'test',
        comment: 'maintenance',
      },
    });
    expect(silence.statusCode).toBe(201);
    module.observe([inlet('r1', 33), inlet('r2', 28), inlet('r3', 28)]);
    await module.evaluateNow();

    let text = await scrape();
    // Held for forSeconds: pending, nothing sent yet.
    expect(
      sample(text, 'hotaisle_alerts', { state: 'pending', severity: 'critical', rule: 'InletBreach' }),
    ).toBe(1);
    expect(
      sample(text, 'hotaisle_alerts', { state: 'pending', severity: 'warning', rule: 'InletBreach' }),
    ).toBe(2);
    expect(
      sample(text, 'hotaisle_alerts', { state: 'firing', severity: 'warning', rule: 'InletBreach' }),
    ).toBe(undefined);
    expect(sample(text, 'hotaisle_alerts_silenced')).toBe(1);
    expect(sample(text, 'hotaisle_alert_evaluations_total')).toBe(1);

    clock.now += 61_000;
    module.observe([inlet('r1', 33.1), inlet('r2', 28.1), inlet('r3', 28.1)]);
    await module.evaluateNow();

    text = await scrape();
    expect(
      sample(text, 'hotaisle_alerts', { state: 'firing', severity: 'critical', rule: 'InletBreach' }),
    ).toBe(1);
    expect(
      sample(text, 'hotaisle_alerts', { state: 'firing', severity: 'warning', rule: 'InletBreach' }),
    ).toBe(2);
    expect(sample(text, 'hotaisle_alerts', { state: 'pending', rule: 'InletBreach' })).toBe(undefined);
    expect(sample(text, 'hotaisle_alerts_silenced')).toBe(1);
    // One group (site/room/row) per route: primary failed after 2 attempts and backup took it; the
    // audit route's receiver refused it (a 400 is not retried) and it has no fallback.
    expect(hooks[0]!.requests()).toBe(2);
    expect(sample(text, 'hotaisle_alert_notifications_failed_total', { receiver: 'primary' })).toBe(1);
    expect(sample(text, 'hotaisle_alert_notification_retries_total', { receiver: 'primary' })).toBe(1);
    expect(sample(text, 'hotaisle_alert_notifications_sent_total', { receiver: 'primary' })).toBe(0);
    expect(sample(text, 'hotaisle_alert_notifications_sent_total', { receiver: 'backup' })).toBe(1);
    expect(sample(text, 'hotaisle_alert_fallback_deliveries_total')).toBe(1);
    expect(sample(text, 'hotaisle_alert_notifications_failed_total', { receiver: 'audit' })).toBe(1);
    expect(sample(text, 'hotaisle_alert_notifications_lost_total')).toBe(1);
    expect(sample(text, 'hotaisle_alert_evaluations_total')).toBe(2);
    const spent = sample(text, 'hotaisle_alert_evaluation_seconds_total')!;
    const last = sample(text, 'hotaisle_alert_last_evaluation_seconds')!;
    expect(spent).toBeGreaterThan(0);
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThanOrEqual(spent);
    // The site label every agent metric carries.
    expect(text).toMatch(/hotaisle_alerts_silenced\{site="lab"\} 1/);
  });
});
