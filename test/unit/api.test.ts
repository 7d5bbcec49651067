import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { healthRoutes } from '../../src/api/routes/health.ts';
import { buildApiApp } from '../../src/api/server.ts';
import { silentLogger } from '../../src/log.ts';

let app: FastifyInstance;
let storeStatus: 'ok' | 'degraded' | 'down' = 'ok';

beforeAll(async () => {
  const echo = (root: FastifyInstance) => {
    root.withTypeProvider<ZodTypeProvider>().post(
      '/v1/echo',
      {
        schema: {
          body: z.object({ job: z.object({ gpus: z.number().int().min(1) }) }),
          response: { 200: z.object({ gpus: z.number() }) },
        },
      },
      async (req) => ({ gpus: req.body.job.gpus }),
    );
  };
  app = await buildApiApp({
    log: silentLogger(),
    routes: [
      healthRoutes({
        checks: [{ name: 'store', check: () => ({ status: storeStatus }) }],
        registry: new Registry(),
      }),
      echo,
    ],
  });
});

afterAll(async () => {
  await app.close();
});

describe('HTTP API conventions', () => {
  it('answers a bad request with 400 and the field that is wrong, in the shared error shape', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/echo', payload: { job: { gpus: 0 } } });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe('HOTAISLE_BAD_REQUEST');
    expect(body.error.fields[0].path).toBe('body.job.gpus');
    expect(body.error.message).toContain('body.job.gpus');
  });

  it('answers malformed JSON with 400, not 500', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      payload: '{"job":',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('HOTAISLE_BAD_REQUEST');
  });

  it('answers unknown routes with 404 in the shared error shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'HOTAISLE_NOT_FOUND', message: expect.stringContaining('/v1/nothing') },
    });
  });

  it('serves an OpenAPI document generated from the route schemas', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/v1/echo']));
    expect(
      doc.paths['/v1/echo'].post.requestBody.content['application/json'].schema.properties.job,
    ).toBeDefined();
  });

  it('reports readiness: degraded still serves (200), down does not (503)', async () => {
    storeStatus = 'degraded';
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    storeStatus = 'down';
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks[0]).toEqual({ name: 'store', status: 'down' });
    storeStatus = 'ok';
  });
});
