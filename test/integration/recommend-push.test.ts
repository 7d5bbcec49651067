/**
 * Recommendation push against a real Mosquitto and local HTTP webhooks: retained JSON a late
 * subscriber still gets, a change pushed at once, a webhook that fails twice and then recovers
 * (retried with backoff), and one that never recovers (failures counted).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentContext } from '../../src/agent.ts';
import { SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { silentLogger } from '../../src/log.ts';
import { RecommendModule } from '../../src/recommend/module.ts';
import {
  BatchPlanPushSchema,
  NodesPushSchema,
  PlacementPushSchema,
  type WebhookPush,
  WebhookPushSchema,
} from '../../src/recommend/pushPayloads.ts';
import type { TelemetryStore } from '../../src/store/store.ts';
import { type MosquittoHandle, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/poll.ts';
import { rackReadings, recommendSite, uniform } from '../unit/recommend-fixture.ts';

const MON = Date.UTC(2026, 10, 30);
const H = 3_600_000;

interface Hook {
  server: Server;
  url: string;
  /** Status answered per request, in order; the last repeats. */
  statuses: number[];
  received: WebhookPush[];
  attempts: number;
}

async function startHook(statuses: number[]): Promise<Hook> {
  const hook: Hook = { server: createServer(), url: '', statuses, received: [], attempts: 0 };
  hook.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = hook.statuses[Math.min(hook.attempts, hook.statuses.length - 1)]!;
      hook.attempts++;
      if (status === 200)
        hook.received.push(WebhookPushSchema.parse(JSON.parse(Buffer.concat(chunks).toString())));
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => hook.server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/push`;
  return hook;
}

/** Collects retained messages of a fresh subscriber, topic → parsed JSON. */
async function subscribe(
  url: string,
  filter: string,
): Promise<{ client: MqttClient; got: Map<string, unknown> }> {
  const client = await mqtt.connectAsync(url, {
    clientId: `push-test-${Math.random().toString(16).slice(2)}`,
  });
  const got = new Map<string, unknown>();
  client.on('message', (topic, payload, packet) => {
    got.set(topic, { retain: packet.retain, body: JSON.parse(payload.toString()) });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, got };
}

describe('recommendation push over MQTT and webhooks', () => {
  let broker: MosquittoHandle;
  let dir: string;
  let good: Hook;
  let flaky: Hook;
  let broken: Hook;
  let module: RecommendModule;
  let clock = MON + 10 * H;

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = mkdtempSync(join(tmpdir(), 'hotaisle-push-'));
    good = await startHook([200]);
    flaky = await startHook([503, 503, 200]);
    broken = await startHook([500]);
    const base = recommendSite({ siteCapKw: 200 });
    const site = SiteSchema.parse({
      ...base,
      storage: { ...base.storage, dataDir: dir },
      recommend: {
        push: {
          // Long enough that only the change check can explain a second push in the test.
          intervalSeconds: 3600,
          checkSeconds: 1,
          rankingJob: { gpus: 8 },
          webhooks: [
            { name: 'good', url: good.url },
            { name: 'flaky', url: flaky.url, maxAttempts: 4 },
            { name: 'broken', url: broken.url, maxAttempts: 2 },
          ],
        },
      },
    });
    const ctx: AgentContext = {
      site,
      index: buildSiteIndex(site),
      log: silentLogger(),
      store: {} as TelemetryStore,
      brokerUrl: broker.url,
      brokerCredentials: {},
    };
    module = new RecommendModule({ now: () => clock, pushRetryBaseMs: 20 });
    module.observe(rackReadings(uniform(5, 22))); // before start: ignored (no service yet)
    await module.start(ctx);
    module.observe(rackReadings({ ...uniform(5, 22), a1: { kw: 5, inletC: 28 } }));
  }, 30_000);

  afterAll(async () => {
    await module?.stop();
    for (const h of [good, flaky, broken]) h?.server.close();
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves retained placement, node and batch-plan messages a late subscriber receives', async () => {
    await waitFor(() => module.pushStats()!.mqtt.sent >= 3, {
      timeoutMs: 10_000,
      what: 'three retained publishes',
    });
    const sub = await subscribe(broker.url, 'hotaisle/rt/recommendations/#');
    try {
      await waitFor(() => sub.got.size === 3, { timeoutMs: 5000, what: 'three retained messages' });
      const get = (t: string) =>
        sub.got.get(`hotaisle/rt/recommendations/${t}`) as { retain: boolean; body: unknown };
      for (const t of ['placement', 'nodes', 'batch-plan']) expect(get(t).retain).toBe(true);
      const placement = PlacementPushSchema.parse(get('placement').body);
      expect(placement.site).toBe('rt');
      expect(placement.job).toEqual({ gpus: 8, tier: 'internal', durationMin: 60 });
      expect(placement.candidates.length).toBeGreaterThan(0);
      // a1 reads 28 °C, above warn (27): refused, with the reason.
      expect(placement.candidates.map((c) => c.rack)).not.toContain('a1');
      expect(placement.refused.find((r) => r.rack === 'a1')?.reason).toMatch(/hotspot/);
      expect(placement.zones.map((z) => z.zone).sort()).toEqual(['z1', 'z2']);
      const nodes = NodesPushSchema.parse(get('nodes').body);
      expect(nodes.nodes).toHaveLength(16);
      const a1 = nodes.nodes.filter((n) => n.rack === 'a1');
      expect(a1.every((n) => !n.eligible && n.thermalRisk === 1)).toBe(true);
      expect(BatchPlanPushSchema.parse(get('batch-plan').body).reservations).toEqual([]);
    } finally {
      await sub.client.endAsync();
    }
  });

  it('posts to every webhook: retries a failing one until it recovers, counts one that never does', async () => {
    await waitFor(() => good.received.length >= 1 && flaky.received.length >= 1, {
      timeoutMs: 10_000,
      what: 'the good and the flaky webhook receive a push',
    });
    expect(good.received[0]!.trigger).toBe('start');
    expect(flaky.attempts).toBeGreaterThanOrEqual(3);
    await waitFor(() => module.pushStats()!.webhooks.broken!.failed >= 1, {
      timeoutMs: 10_000,
      what: 'broken counted',
    });
    const stats = module.pushStats()!.webhooks;
    expect(stats.flaky).toMatchObject({ sent: expect.any(Number), failed: 0 });
    expect(stats.flaky!.retries).toBeGreaterThanOrEqual(2);
    expect(stats.broken!.sent).toBe(0);
    expect(stats.broken!.retries).toBe(1);
    expect(stats.broken!.lastError).toMatch(/answered 500/);
    expect(broken.attempts).toBeGreaterThanOrEqual(2);
  });

  it('pushes a change at once: the accepted batch plan reaches MQTT and the webhook', async () => {
    const service = module.recommendations!;
    const proposal = service.batchWindow({
      powerKw: 20,
      durationMin: 120,
      deadline: new Date(clock + 24 * H).toISOString(),
      pausable: false,
    });
    expect(proposal.feasible).toBe(true);
    const sub = await subscribe(broker.url, 'hotaisle/rt/recommendations/batch-plan');
    try {
      service.accept(proposal.id);
      clock += 1000;
      const plan = await waitFor(
        () => {
          const m = sub.got.get('hotaisle/rt/recommendations/batch-plan') as { body: unknown } | undefined;
          const body = m ? BatchPlanPushSchema.parse(m.body) : undefined;
          return body && body.reservations.length === 1 ? body : undefined;
        },
        { timeoutMs: 10_000, what: 'the plan with the reservation on MQTT' },
      );
      expect(plan.reservations[0]!.id).toBe(proposal.id);
      expect(plan.reservations[0]!.powerKw).toBe(20);
      const hook = await waitFor(
        () => good.received.find((b) => b.trigger === 'change' && b.batchPlan.reservations.length === 1),
        { timeoutMs: 10_000, what: 'a change push on the webhook' },
      );
      expect(hook.batchPlan.reservations[0]!.segments[0]!.start).toBe(proposal.start);
    } finally {
      await sub.client.endAsync();
    }
  });
});
