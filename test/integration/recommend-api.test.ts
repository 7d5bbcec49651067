import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentContext } from '../../src/agent.ts';
import { loadApiAuth } from '../../src/api/authTokens.ts';
import { buildApiApp } from '../../src/api/server.ts';
import { runSlurmCommand } from '../../src/cli/slurm.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { silentLogger } from '../../src/log.ts';
import { RecommendModule } from '../../src/recommend/module.ts';
import { recommendRoutes } from '../../src/recommend/routes.ts';
import { RecommendService } from '../../src/recommend/service.ts';
import type { TelemetryStore } from '../../src/store/store.ts';
import { rackReadings, recommendIndex, recommendSite, uniform } from '../unit/recommend-fixture.ts';

const MON = Date.UTC(2026, 10, 30);
const H = 3_600_000;

/** A pod as kube-scheduler sends it (trimmed), asking for GPUs through the device plugin resource. */
function pod(gpus: number, annotations: Record<string, string> = {}) {
  return {
    metadata: { name: 'train-0', namespace: 'ml', uid: 'u1', annotations },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'x',
          resources: {
            limits: { 'nvidia.com/gpu': String(gpus), cpu: '8' },
            requests: { 'nvidia.com/gpu': String(gpus) },
          },
        },
      ],
      priorityClassName: 'batch',
    },
  };
}
const nodeList = (names: string[]) => ({
  kind: 'NodeList',
  apiVersion: 'v1',
  metadata: {},
  items: names.map((name) => ({ metadata: { name, labels: {} }, status: {} })),
});

describe('recommendation API over HTTP', () => {
  let app: FastifyInstance;
  let dir: string;
  let service: RecommendService;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hotaisle-recapi-'));
    service = new RecommendService({
      index: recommendIndex({ siteCapKw: 200 }),
      dataDir: dir,
      now: () => MON + 10 * H,
    });
    service.state.observe(
      rackReadings({ ...uniform(5, 22), a1: { kw: 5, inletC: 28 }, b4: { kw: 29, inletC: 22 } }),
    );
    app = await buildApiApp({ log: silentLogger(), routes: [recommendRoutes({ service })] });
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = () => {
    const a = app.server.address();
    return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  };
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url()}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & unknown[] };
  };

  it('POST /v1/placements ranks candidates and can hold the best one', async () => {
    const r = await post('/v1/placements', { job: { gpus: 8, durationMin: 30, tier: 'realtime' } });
    expect(r.status).toBe(200);
    const candidates = r.body.candidates as Array<{
      rack: string;
      nodes: unknown[];
      reasons: string[];
      score: number;
    }>;
    expect(candidates.length).toBeGreaterThan(0);
    expect(candidates.map((c) => c.rack)).not.toContain('a1');
    expect(candidates[0]!.reasons.join(' ')).toMatch(/inlet forecast/);
    expect(r.body.thermalSource).toBe('layout');

    const held = await post('/v1/placements', { job: { nodes: 2, durationMin: 30 }, acceptAs: 'job-42' });
    expect(held.body.accepted).toBe('job-42');
    const heldRack = (held.body.candidates as Array<{ rack: string }>)[0]!.rack;
    const after = await post('/v1/placements', { job: { gpus: 1, durationMin: 30, limit: 50 } });
    expect(
      (after.body.rejected as Array<{ rack: string; reason: string }>).find((x) => x.rack === heldRack)
        ?.reason,
    ).toBe('not enough free GPUs');
    const del = await fetch(`${url()}/v1/placements/job-42`, { method: 'DELETE' });
    expect(del.status).toBe(204);
  });

  it('answers malformed requests with 400 naming the field', async () => {
    const noDuration = await post('/v1/placements', { job: { gpus: 4 } });
    expect(noDuration.status).toBe(400);
    const fields = (noDuration.body.error as { code: string; fields: Array<{ path: string }> }).fields.map(
      (f) => f.path,
    );
    expect(fields).toContain('body.job.durationMin');

    const both = await post('/v1/placements', { job: { gpus: 4, nodes: 1, durationMin: 5 } });
    expect(both.status).toBe(400);
    expect(JSON.stringify(both.body)).toContain('body.job.gpus');

    const badTier = await app.inject({
      method: 'POST',
      url: '/v1/placements',
      payload: { job: { gpus: 4, durationMin: 5, tier: 'urgent' } },
    });
    expect(badTier.statusCode).toBe(400);
    expect(badTier.json().error.fields[0].path).toBe('body.job.tier');

    const badWindow = await post('/v1/batch-windows', { powerKw: 10, durationMin: 60, deadline: 'tomorrow' });
    expect(badWindow.status).toBe(400);
    expect(JSON.stringify(badWindow.body)).toContain('body.deadline');

    const badK8s = await post('/v1/k8s/filter', { Pod: pod(1) });
    expect(badK8s.status).toBe(400);
    expect(JSON.stringify(badK8s.body)).toContain('body.NodeNames');
  });

  it('POST /v1/batch-windows proposes a cheaper window and accept persists it', async () => {
    const r = await post('/v1/batch-windows', {
      energyKwh: 100,
      durationMin: 120,
      deadline: new Date(MON + 34 * H).toISOString(),
      pausable: false,
    });
    expect(r.status).toBe(200);
    expect(r.body.feasible).toBe(true);
    expect(r.body.start).toBe(new Date(MON + 20 * H).toISOString());
    expect(r.body.powerKw).toBe(50);
    expect(r.body.saving as number).toBeGreaterThan(0);
    expect((r.body.optimalDataPoints as unknown[]).length).toBe(1);
    const acc = await post(`/v1/batch-windows/${r.body.id as string}/accept`, {});
    expect(acc.status).toBe(200);
    expect(acc.body.accepted).toBe(true);
    expect(service.plan.reservedKw(MON + 21 * H)).toBe(50);
    const again = await post(`/v1/batch-windows/${r.body.id as string}/accept`, {});
    expect(again.status).toBe(409);
    const unknown = await post('/v1/batch-windows/does-not-exist/accept', {});
    expect(unknown.status).toBe(404);
    expect((unknown.body.error as { code: string }).code).toBe('HOTAISLE_NOT_FOUND');
  });

  it('speaks the Kubernetes scheduler extender v1 JSON (filter with Nodes and NodeNames, prioritize)', async () => {
    const names = ['a1-n1', 'a2-n1', 'b4-n1', 'b2-n2', 'cpu-node-7'];
    const withNodes = await post('/v1/k8s/filter', { Pod: pod(8), Nodes: nodeList(names), NodeNames: null });
    expect(withNodes.status).toBe(200);
    expect(Object.keys(withNodes.body).sort()).toEqual([
      'Error',
      'FailedAndUnresolvableNodes',
      'FailedNodes',
      'NodeNames',
      'Nodes',
    ]);
    const kept = (withNodes.body.Nodes as { items: Array<{ metadata: { name: string } }> }).items.map(
      (n) => n.metadata.name,
    );
    expect(kept).toEqual(['a2-n1', 'b2-n2', 'cpu-node-7']);
    expect(Object.keys(withNodes.body.FailedNodes as object).sort()).toEqual(['a1-n1', 'b4-n1']);
    expect((withNodes.body.FailedNodes as Record<string, string>)['a1-n1']).toMatch(/hotspot/);
    expect(withNodes.body.Error).toBe('');
    expect(withNodes.body.NodeNames).toBeNull();
    // Items keep every field the scheduler sent.
    expect((withNodes.body.Nodes as { items: Array<Record<string, unknown>> }).items[0]).toHaveProperty(
      'status',
    );

    const cached = await post('/v1/k8s/filter', { Pod: pod(8), NodeNames: names });
    expect(cached.body.NodeNames).toEqual(['a2-n1', 'b2-n2', 'cpu-node-7']);
    expect(cached.body.Nodes).toBeNull();

    const prio = await post('/v1/k8s/prioritize', {
      Pod: pod(8, { 'hotaisle.io/tier': 'batch' }),
      NodeNames: names,
    });
    expect(prio.status).toBe(200);
    const list = prio.body as unknown as Array<{ Host: string; Score: number }>;
    expect(list.map((h) => h.Host)).toEqual(names);
    for (const h of list) {
      expect(Number.isInteger(h.Score)).toBe(true);
      expect(h.Score).toBeGreaterThanOrEqual(0);
      expect(h.Score).toBeLessThanOrEqual(10);
    }
    expect(list.find((h) => h.Host === 'a1-n1')!.Score).toBe(0);
    expect(list.find((h) => h.Host === 'a2-n1')!.Score).toBeGreaterThan(0);
  });
});

describe('Slurm weights', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const service = new RecommendService({ index: recommendIndex() });
    service.state.observe(
      rackReadings({
        ...uniform(5, 22),
        a1: { kw: 5, inletC: 28 },
        a3: { kw: 5, inletC: 25 },
        b4: { kw: 29, inletC: 20 },
      }),
    );
    app = await buildApiApp({ log: silentLogger(), routes: [recommendRoutes({ service })] });
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
  });

  it('weights cool nodes low, warm ones higher and refused ones last; the CLI prints scontrol lines', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/slurm/weights' });
    expect(res.statusCode).toBe(200);
    const nodes = res.json().nodes as Array<{
      node: string;
      weight: number;
      thermalRisk: number;
      scontrol: string;
      slurmrestd: { path: string; body: { weight: number } };
    }>;
    expect(nodes).toHaveLength(16);
    const w = (n: string) => nodes.find((x) => x.node === n)!.weight;
    expect(w('a1-n1')).toBe(1000); // hotspot
    expect(w('b4-n1')).toBe(1000); // 29 kW + a full node (9 kW) crosses the 30 kW cap
    expect(w('a3-n1')).toBeGreaterThan(w('a2-n1'));
    expect(nodes.find((x) => x.node === 'a2-n1')!.scontrol).toMatch(
      /^scontrol update NodeName=a2-n1 Weight=\d+ Extra='\{"thermal_risk":0\.17,"rack":"a2","inlet_c":22\}'$/,
    );
    expect(nodes[0]!.slurmrestd.path).toMatch(/^\/slurm\/v0\.0\.\d+\/node\//);

    const a = app.server.address();
    const lines: string[] = [];
    const code = await runSlurmCommand(
      ['weights', '--api', `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`],
      (l) => lines.push(l),
    );
    expect(code).toBe(0);
    expect(lines).toHaveLength(16);
    expect(lines.every((l) => l.startsWith('scontrol update NodeName='))).toBe(true);
  });
});

describe('bearer token', () => {
  it('guards the recommendation routes with the API tokens (deprecated HOTAISLE_RECOMMEND_TOKEN: a scheduler)', async () => {
    const service = new RecommendService({ index: recommendIndex() });
    const app = await buildApiApp({
      log: silentLogger(),
      routes: [recommendRoutes({ service })],
      auth: loadApiAuth(undefined, { env: { HOTAISLE_RECOMMEND_TOKEN: 's3cret' } }),
    });
    try {
      const payload = { job: { gpus: 1, durationMin: 5 } };
      const none = await app.inject({ method: 'POST', url: '/v1/placements', payload });
      expect(none.statusCode).toBe(401);
      expect(none.json().error.code).toBe('HOTAISLE_UNAUTHORIZED');
      const wrong = await app.inject({
        method: 'POST',
        url: '/v1/placements',
        payload,
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.statusCode).toBe(401);
      const ok = await app.inject({
        method: 'POST',
        url: '/v1/placements',
        payload,
        headers: { authorization: 'Bearer s3cret' },
      });
      expect(ok.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('RecommendModule', () => {
  it('keeps state from observed readings, serves its routes and reloads the batch plan after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotaisle-recmod-'));
    const base = recommendSite();
    const site = { ...base, storage: { ...base.storage, dataDir: dir } };
    // The module never touches the store: an empty object stands in for it.
    const ctx: AgentContext = {
      site,
      index: buildSiteIndex(site),
      log: silentLogger(),
      store: {} as TelemetryStore,
      brokerUrl: 'mqtt://127.0.0.1:1',
      brokerCredentials: {},
    };
    const now = () => MON + 10 * H;
    try {
      const first = new RecommendModule({ now });
      await first.start(ctx);
      first.observe(rackReadings({ ...uniform(5, 22), a2: { kw: 5, inletC: 29 } }));
      expect(first.readiness()[0]!.check().status).toBe('ok');
      const app = await buildApiApp({ log: silentLogger(), routes: first.routes() });
      const placed = await app.inject({
        method: 'POST',
        url: '/v1/placements',
        payload: { job: { gpus: 2, durationMin: 10, limit: 20 } },
      });
      expect(placed.statusCode).toBe(200);
      expect(placed.json().candidates.map((c: { rack: string }) => c.rack)).not.toContain('a2');
      const w = await app.inject({
        method: 'POST',
        url: '/v1/batch-windows',
        payload: { powerKw: 20, durationMin: 60, deadline: MON + 30 * H },
      });
      const acc = await app.inject({ method: 'POST', url: `/v1/batch-windows/${w.json().id}/accept` });
      expect(acc.statusCode).toBe(200);
      await app.close();
      await first.stop();

      const second = new RecommendModule({ now });
      await second.start(ctx);
      expect(second.recommendations!.plan.list().map((r) => r.id)).toEqual([w.json().id]);
      await second.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
