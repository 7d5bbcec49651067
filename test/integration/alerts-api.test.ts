/**
 * AlertsModule's HTTP side: webhook delivery with retries, fallback when the primary receiver is
 * down, and the /v1/alerts and /v1/silences API (through fastify's inject, with the agent's error
 * handling). Webhook receivers are small HTTP servers on loopback.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertsModule } from '../../src/alerts/alertsModule.ts';
import type { GroupPayload } from '../../src/alerts/payloads.ts';
import { alertStatePath } from '../../src/alerts/persistence.ts';
import { AlertmanagerReceiver } from '../../src/alerts/receivers.ts';
import { buildApiApp } from '../../src/api/server.ts';
import { type AlertReceiverConfig, AlertReceiverSchema, type SiteInput } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/log.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { alertsContext, labInlet } from '../helpers/alertsFixtures.ts';
import { waitFor } from '../helpers/poll.ts';
import { alertsLabSite } from '../helpers/sites.ts';

interface Hook {
  url: string;
  bodies: GroupPayload[];
  requests: number;
  auth: Array<string | undefined>;
  close(): Promise<void>;
}

/** A webhook endpoint that answers `status(n)` to the n-th request (0-based). */
async function hook(status: (n: number) => number): Promise<Hook> {
  const h: Hook = { url: '', bodies: [], requests: 0, auth: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      const code = status(h.requests++);
      h.auth.push(req.headers.authorization);
      if (code < 300) h.bodies.push(JSON.parse(text) as GroupPayload);
      res.statusCode = code;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  h.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`;
  h.close = () => new Promise((r) => server.close(() => r()));
  return h;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(alerts: SiteInput['alerts']) {
  const dataDir = await mkdtemp(join(tmpdir(), 'hotaisle-alerts-api-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const site = alertsLabSite({ racks: 2, alerts: { forSeconds: 0, resolveSeconds: 0, ...alerts } });
  const ctx = alertsContext(site);
  const module = new AlertsModule({
    dataDir,
    evaluateMs: 3_600_000,
    retryBaseMs: 20,
    env: { HOOK_TOKEN: 's3cret' },
    now: () => clock.now,
  });
  await module.start(ctx);
  cleanups.push(() => module.stop());
  const app: FastifyInstance = await buildApiApp({ log: silentLogger(), routes: module.routes() });
  cleanups.push(() => app.close());
  return { module, app, dataDir };
}

/** The module's clock; tests move it forward past holds instead of waiting. */
const clock = { now: Date.now() };
const inlet = (rack: string, value: number): Reading => labInlet(rack, value, clock.now);

describe('alert delivery over HTTP', () => {
  it('retries a webhook with backoff, sends the bearer token from the environment, counts retries', async () => {
    const h = await hook((n) => (n < 2 ? 503 : 200));
    cleanups.push(h.close);
    const { module } = await setup({
      receivers: [{ name: 'hook', kind: 'webhook', url: h.url, tokenEnv: 'HOOK_TOKEN', maxAttempts: 4 }],
      routes: [{ receiver: 'hook' }],
    });
    module.observe([inlet('r1', 28)]);
    await module.evaluateNow();
    expect(h.requests).toBe(3);
    expect(h.auth).toEqual(['Bearer s3cret', 'Bearer s3cret', 'Bearer s3cret']);
    expect(h.bodies).toHaveLength(1);
    const body = h.bodies[0]!;
    expect(body).toMatchObject({
      version: '1',
      site: 'lab',
      status: 'firing',
      groupLabels: { site: 'lab', room: 'hall1', row: 'row1' },
    });
    expect(body.alerts.map((a) => `${a.alertname}:${a.severity}:${a.labels.rack}`)).toEqual([
      'InletBreach:warning:r1',
    ]);
    expect(module.stats().receivers.hook).toMatchObject({ sent: 1, failed: 0, retries: 2 });
  });

  it('falls back to the fallback receiver when the primary fails, and reports it in readiness', async () => {
    const down = await hook(() => 500);
    const backup = await hook(() => 204);
    cleanups.push(down.close, backup.close);
    const { module } = await setup({
      receivers: [
        { name: 'primary', kind: 'webhook', url: down.url, maxAttempts: 2 },
        { name: 'backup', kind: 'webhook', url: backup.url },
      ],
      routes: [{ receiver: 'primary', fallback: 'backup' }],
    });
    module.observe([inlet('r1', 28), inlet('r2', 33)]);
    await module.evaluateNow();
    expect(down.requests).toBe(2);
    // Both racks share site/room/row: one group, one delivery.
    expect(backup.bodies).toHaveLength(1);
    expect(backup.bodies[0]!.alerts.map((a) => a.labels.rack).sort()).toEqual(['r1', 'r2']);
    expect(module.stats().dispatch).toEqual({ delivered: 0, fellBack: 1, lost: 0 });
    expect(module.stats().receivers.primary).toMatchObject({ failed: 1, retries: 1 });
    const check = module.readiness()[0]!.check();
    expect(check.status).toBe('degraded');
    expect(check.detail).toMatch(/primary/);
  });

  it('a notification no receiver took is retried on the next evaluation, not dropped', async () => {
    const flaky = await hook((n) => (n < 2 ? 503 : 200));
    cleanups.push(flaky.close);
    const { module } = await setup({
      receivers: [{ name: 'hook', kind: 'webhook', url: flaky.url, maxAttempts: 1 }],
      routes: [{ receiver: 'hook' }],
    });
    module.observe([inlet('r1', 28)]);
    await module.evaluateNow();
    await module.evaluateNow();
    expect(flaky.bodies).toHaveLength(0);
    expect(module.stats().dispatch).toEqual({ delivered: 0, fellBack: 0, lost: 2 });
    await module.evaluateNow();
    expect(flaky.bodies.map((b) => b.alerts.map((a) => `${a.reason}:${a.labels.rack}`))).toEqual([
      ['firing:r1'],
    ]);
    // Delivered once: no further sends until the repeat interval.
    await module.evaluateNow();
    expect(flaky.requests).toBe(3);
  });

  it('Alertmanager: an escalation ends the alert under its old severity label in the same post', async () => {
    const am = await hook(() => 200);
    cleanups.push(am.close);
    const now = Date.UTC(2026, 0, 5, 9, 0, 0);
    const receiver = new AlertmanagerReceiver(
      AlertReceiverSchema.parse({
        name: 'am',
        kind: 'alertmanager',
        url: am.url.replace(/\/hook$/, ''),
      }) as Extract<AlertReceiverConfig, { kind: 'alertmanager' }>,
      { site: 'lab', env: {}, mqtt: () => undefined, now: () => now, alertmanagerResendMs: 60_000 },
    );
    const base = {
      fingerprint: 'f1',
      status: 'firing' as const,
      reason: 'firing' as const,
      alertname: 'InletBreach',
      labels: { site: 'lab', rack: 'r1' },
      annotations: { summary: 's' },
      value: 28,
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: null,
      acknowledged: false,
      generatorURL: 'http://agent/v1/alerts',
    };
    await receiver.post([{ ...base, severity: 'warning' }]);
    await receiver.post([{ ...base, severity: 'critical' }]);
    const second = am.bodies[1] as unknown as Array<{ labels: Record<string, string>; endsAt: string }>;
    expect(second.map((a) => `${a.labels.severity}:${a.endsAt}`)).toEqual([
      `warning:${new Date(now).toISOString()}`,
      `critical:${new Date(now + 240_000).toISOString()}`,
    ]);
  });

  it('refuses routes that name unknown receivers at start', async () => {
    await expect(setup({ receivers: [], routes: [{ receiver: 'pager' }] })).rejects.toThrow(/pager/);
  });
});

describe('alerts API', () => {
  it('lists, acknowledges, silences and un-silences alerts; errors use the shared shape', async () => {
    const h = await hook(() => 200);
    cleanups.push(h.close);
    const { module, app, dataDir } = await setup({
      receivers: [{ name: 'hook', kind: 'webhook', url: h.url }],
      routes: [{ receiver: 'hook' }],
    });
    module.observe([inlet('r1', 28), inlet('r2', 33)]);
    await module.evaluateNow();

    const list = (await app.inject({ method: 'GET', url: '/v1/alerts' })).json();
    expect(list.firing.map((a: { labels: { rack: string } }) => a.labels.rack).sort()).toEqual(['r1', 'r2']);
    expect(list.pending).toEqual([]);
    const r1 = list.firing.find((a: { labels: { rack: string } }) => a.labels.rack === 'r1');
    expect(r1).toMatchObject({
      alertname: 'InletBreach',
      severity: 'warning',
      state: 'firing',
      acknowledged: null,
      silencedBy: [],
    });

    const ack = await app.inject({
      method: 'POST',
      url: `/v1/alerts/${r1.fingerprint}/ack`,
      payload: { by: 'ops', comment: 'fan swap' },
    });
    expect(ack.statusCode).toBe(200);
    expect(ack.json().acknowledged).toMatchObject({ by: 'ops', comment: 'fan swap' });
    await waitFor(async () => (await readFile(alertStatePath(dataDir), 'utf8')).includes('fan swap'), {
      what: 'ack persisted',
    });

    const missing = await app.inject({ method: 'POST', url: '/v1/alerts/0000/ack', payload: { by: 'ops' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('HOTAISLE_NOT_FOUND');

    const bad = await app.inject({
      method: 'POST',
      url: '/v1/silences',
      payload: { matchers: [], createdBy: 'ops', durationMinutes: 5 },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('HOTAISLE_BAD_REQUEST');
    const badRegex = await app.inject({
      method: 'POST',
      url: '/v1/silences',
      payload: {
        matchers: [{ name: 'rack', value: '(', isRegex: true }],
        createdBy: 'ops',
        durationMinutes: 5,
      },
    });
    expect(badRegex.statusCode).toBe(400);
    expect(badRegex.json().error.fields[0].path).toBe('body.matchers.0.value');

    const created = await app.inject({
      method: 'POST',
      url: '/v1/silences',
      payload: {
        matchers: [{ name: 'rack', value: 'r2' }],
        createdBy: 'ops',
        comment: 'maintenance',
        durationMinutes: 60,
      },
    });
    expect(created.statusCode).toBe(201);
    const silence = created.json();
    expect(silence).toMatchObject({
      status: 'active',
      createdBy: 'ops',
      matchers: [{ name: 'rack', value: 'r2', isRegex: false, isEqual: true }],
    });

    const silenced = (await app.inject({ method: 'GET', url: '/v1/alerts' })).json();
    expect(silenced.silenced.map((a: { labels: { rack: string } }) => a.labels.rack)).toEqual(['r2']);
    expect(silenced.silenced[0].silencedBy).toEqual([silence.id]);
    expect(silenced.firing.map((a: { labels: { rack: string } }) => a.labels.rack)).toEqual(['r1']);

    const listed = (await app.inject({ method: 'GET', url: '/v1/silences' })).json();
    expect(listed.silences.map((s: { id: string }) => s.id)).toEqual([silence.id]);

    const deleted = await app.inject({ method: 'DELETE', url: `/v1/silences/${silence.id}` });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json().status).toBe('expired');
    expect((await app.inject({ method: 'DELETE', url: '/v1/silences/nope' })).statusCode).toBe(404);
    const after = (await app.inject({ method: 'GET', url: '/v1/alerts' })).json();
    expect(after.silenced).toEqual([]);
    expect(after.firing).toHaveLength(2);

    // Recovery a minute later (past the start-up warm-up that holds resolutions back): r1 resolves
    // and is listed as recently resolved; acknowledging it now is a conflict.
    clock.now += 60_000;
    module.observe([inlet('r1', 22), inlet('r2', 33)]);
    await module.evaluateNow();
    const resolved = (await app.inject({ method: 'GET', url: '/v1/alerts' })).json();
    expect(resolved.resolved.map((a: { labels: { rack: string } }) => a.labels.rack)).toEqual(['r1']);
    const late = await app.inject({
      method: 'POST',
      url: `/v1/alerts/${r1.fingerprint}/ack`,
      payload: { by: 'ops' },
    });
    expect(late.statusCode).toBe(409);
  });
});
