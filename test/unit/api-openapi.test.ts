/**
 * The OpenAPI contract: /openapi.json is a valid OpenAPI 3 document, lists every route the agent
 * registers with the role it needs, and describes every 4xx with the shared error shape.
 * Routes come from the real registrars; their services are stubs (registration never calls them).
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertsService } from '../../src/alerts/alertRoutes.ts';
import { alertRoutes } from '../../src/alerts/alertRoutes.ts';
import { loadApiAuth } from '../../src/api/authTokens.ts';
import { type ForecastSource, forecastRoutes } from '../../src/api/routes/forecasts.ts';
import { healthRoutes } from '../../src/api/routes/health.ts';
import {
  buildApiApp,
  type RegisteredRoute,
  type RouteRegistrar,
  registeredRoutes,
} from '../../src/api/server.ts';
import { type ConfigService, configRoutes } from '../../src/config/reloadRoutes.ts';
import { type DashboardData, dashboardRoutes } from '../../src/dashboard/routes.ts';
import { SseHub } from '../../src/dashboard/sse.ts';
import { staticRoutes } from '../../src/dashboard/static.ts';
import { silentLogger } from '../../src/log.ts';
import { recommendRoutes } from '../../src/recommend/routes.ts';
import { RecommendService } from '../../src/recommend/service.ts';
import { recommendIndex } from './recommend-fixture.ts';

const forecasts: ForecastSource = {
  latest: () => undefined,
  status: () => ({
    mode: 'persistence',
    modelVersion: null,
    reason: null,
    cycleSeconds: 60,
    warnC: 27,
    criticalC: 32,
  }),
  sensitivity: () => undefined,
  headroomKw: () => undefined,
};

const alerts: AlertsService = {
  now: () => 0,
  alerts: () => [],
  silencedBy: () => [],
  acknowledge: () => undefined,
  get: () => undefined,
  silences: () => [],
  addSilence: (s) => ({ ...s, id: 'x' }),
  expireSilence: () => false,
};

const dashboard: DashboardData = {
  layout: () => {
    throw new Error('not called at registration');
  },
  snapshot: () => {
    throw new Error('not called at registration');
  },
  history: async () => undefined,
  plan: () => ({ reservations: [] }),
  hub: new SseHub(),
};

const config: ConfigService = {
  status: () => ({
    site: 't',
    file: 'site.yaml',
    loadedAt: 0,
    version: undefined,
    watching: false,
    lastReload: undefined,
  }),
  reload: () => Promise.reject(new Error('not called at registration')),
};

/** Every route registrar the agent serves (keep in step with the modules' routes()). */
function agentRoutes(): RouteRegistrar[] {
  return [
    healthRoutes({ checks: [], registry: new Registry() }),
    forecastRoutes(forecasts),
    alertRoutes(alerts),
    recommendRoutes({ service: new RecommendService({ index: recommendIndex() }) }),
    dashboardRoutes(dashboard),
    staticRoutes(),
    configRoutes(config),
  ];
}

interface Operation {
  security?: Array<Record<string, string[]>>;
  'x-hotaisle-role'?: string;
  responses: Record<string, { content?: Record<string, { schema?: JsonSchema }> }>;
}
interface JsonSchema {
  type?: string;
  required?: string[];
  properties?: Record<string, JsonSchema>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
}

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const served = (routes: readonly RegisteredRoute[]) => routes.filter((r) => r.method !== 'HEAD' && !r.hidden);

async function documentOf(openRead: boolean): Promise<{ app: FastifyInstance; doc: Document }> {
  const auth = loadApiAuth({ openRead }, { env: { HOTAISLE_API_TOKENS: 'viewer:view-view-view-view-view' } });
  const app = await buildApiApp({ log: silentLogger(), routes: agentRoutes(), auth });
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  return { app, doc: res.json() as Document };
}

describe('OpenAPI document', () => {
  let app: FastifyInstance;
  let doc: Document;
  beforeAll(async () => {
    ({ app, doc } = await documentOf(false));
  });
  afterAll(async () => {
    await app.close();
  });

  it('is a valid OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    // The validator dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('lists every registered route, except the hidden /openapi.json itself', () => {
    const routes = served(registeredRoutes(app));
    expect(routes.length).toBeGreaterThan(10);
    const missing = routes.filter((r) => !doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()]);
    expect(missing).toEqual([]);
    expect(doc.paths['/openapi.json']).toBeUndefined();
    const documented = Object.values(doc.paths).flatMap((ops) => Object.keys(ops));
    expect(documented).toHaveLength(routes.length);
  });

  it('has every route declare the role it needs, and no mutating route open to viewers', () => {
    const routes = registeredRoutes(app).filter((r) => r.method !== 'HEAD');
    expect(routes.filter((r) => r.role === undefined)).toEqual([]);
    const mutatingReadable = routes.filter(
      (r) => r.method !== 'GET' && (r.role === 'viewer' || r.role === 'public'),
    );
    expect(mutatingReadable).toEqual([]);
    const publicRoutes = routes.filter((r) => r.role === 'public').map((r) => r.url);
    expect(publicRoutes).toEqual(
      expect.arrayContaining(['/healthz', '/metrics', '/openapi.json', '/readyz']),
    );
    // Only probes, the document and the dashboard's static shell (no data in it) may be public.
    const mayBePublic = ['/healthz', '/metrics', '/openapi.json', '/readyz', '/', '/dashboard/:file'];
    expect(publicRoutes.filter((u) => !mayBePublic.includes(u))).toEqual([]);
  });

  it('declares the bearer scheme and marks each operation with its role and security', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const r of served(registeredRoutes(app))) {
      const op = doc.paths[openApiPath(r.url)]![r.method.toLowerCase()]!;
      expect(op['x-hotaisle-role'], `${r.method} ${r.url}`).toBe(r.role);
      if (r.role === 'public') expect(op.security).toEqual([]);
      else {
        expect(op.security, `${r.method} ${r.url}`).toEqual([{ bearerAuth: [] }]);
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403']));
      }
    }
  });

  it('describes every 4xx response with the shared error shape', () => {
    let seen = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (!status.startsWith('4')) continue;
          seen++;
          const schema = response.content?.['application/json']?.schema;
          const where = `${method.toUpperCase()} ${path} ${status}`;
          expect(schema?.required, where).toContain('error');
          const error = schema?.properties?.error;
          expect(error?.required, where).toEqual(expect.arrayContaining(['code', 'message']));
          expect(error?.properties?.code?.type, where).toBe('string');
        }
      }
    }
    expect(seen).toBeGreaterThan(20);
  });

  it('documents the 400 of every route that takes input', () => {
    const post = doc.paths['/v1/placements']!.post!;
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
    expect(Object.keys(doc.paths['/v1/forecasts/{rack}']!.get!.responses)).toContain('400');
    expect(Object.keys(doc.paths['/v1/alerts/history']!.get!.responses)).toEqual(
      expect.arrayContaining(['200', '400', '501']),
    );
    expect(Object.keys(doc.paths['/healthz']!.get!.responses)).toEqual(['200']);
  });
});

describe('OpenAPI document with openRead', () => {
  it('marks viewer GETs as callable without a token, and nothing else', async () => {
    const { app, doc } = await documentOf(true);
    try {
      expect(doc.paths['/v1/alerts']!.get!.security).toEqual([{ bearerAuth: [] }, {}]);
      expect(doc.paths['/v1/silences']!.post!.security).toEqual([{ bearerAuth: [] }]);
      expect(doc.paths['/v1/placements']!.post!.security).toEqual([{ bearerAuth: [] }]);
      await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    } finally {
      await app.close();
    }
  });
});
