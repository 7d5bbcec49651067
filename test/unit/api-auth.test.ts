import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiAuth, callerOf, tokenDigest } from '../../src/api/auth.ts';
import { AuthConfigError, loadApiAuth } from '../../src/api/authTokens.ts';
import { buildApiApp } from '../../src/api/server.ts';
import { runSlurmCommand } from '../../src/cli/slurm.ts';
import { createLogger, type Logger, silentLogger } from '../../src/log.ts';
import { recommendRoutes } from '../../src/recommend/routes.ts';
import { RecommendService } from '../../src/recommend/service.ts';
import { recommendIndex } from './recommend-fixture.ts';

const VIEWER = 'viewer-token-0123456789abcdef';
const SCHEDULER = 'scheduler-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';
// The operator's token is configured only as its hash: the clear value never sits in config.
const ENV = {
  HOTAISLE_API_TOKENS: `viewer:${VIEWER}, scheduler:${SCHEDULER},operator:sha256:${tokenDigest(OPERATOR)}`,
};

/** A log sink whose lines a test can read. */
function capturedLogger(): { log: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination: sink }), text: () => chunks.join('') };
}

/** Small routes, one per kind of access, so each rule is seen on its own. */
async function appWith(auth: ApiAuth, log: Logger = silentLogger()): Promise<FastifyInstance> {
  return buildApiApp({
    log,
    auth,
    routes: [
      (app) => {
        app.get('/v1/read', { config: { role: 'viewer' } }, async (req) => ({
          caller: callerOf(req)?.name ?? null,
        }));
        app.post('/v1/plan', { config: { role: 'scheduler' } }, async () => ({ ok: true }));
        app.post('/v1/silence', { config: { role: 'operator' } }, async () => ({ ok: true }));
        app.get('/v1/audit', { config: { role: 'operator' } }, async () => ({ ok: true }));
        app.post('/v1/undeclared', async () => ({ ok: true }));
        app.get('/v1/status', { config: { role: 'public' } }, async () => ({ ok: true }));
        app.get('/v1/boom', { config: { role: 'viewer' } }, async (req) => {
          // A careless handler: logs every header, then fails. Neither may leak the token.
          req.log.warn({ headers: req.headers }, 'about to fail');
          throw new Error('boom');
        });
      },
    ],
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('API authorization', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await appWith(loadApiAuth(undefined, { env: ENV }));
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 401 with WWW-Authenticate: Bearer when the token is missing', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/read' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="hotaisle"$/);
    expect(res.json()).toEqual({
      error: { code: 'HOTAISLE_UNAUTHORIZED', message: expect.stringContaining('needs role viewer') },
    });
  });

  it('answers 401 for an unknown token and for a header that is not a bearer token', async () => {
    const unknown = await app.inject({
      method: 'GET',
      url: '/v1/read',
      headers: bearer('nope-nope-nope-nope'),
    });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(unknown.json().error.code).toBe('HOTAISLE_UNAUTHORIZED');
    const basic = await app.inject({
      method: 'GET',
      url: '/v1/read',
      headers: { authorization: `Basic ${VIEWER}` },
    });
    expect(basic.statusCode).toBe(401);
  });

  it('answers 403 naming the role needed when the token has too low a role', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/plan', headers: bearer(VIEWER) });
    expect(res.statusCode).toBe(403);
    const { error } = res.json();
    expect(error.code).toBe('HOTAISLE_FORBIDDEN');
    expect(error.message).toContain('needs role scheduler');
    expect(error.message).toContain('has role viewer');
    const sched = await app.inject({ method: 'POST', url: '/v1/silence', headers: bearer(SCHEDULER) });
    expect(sched.statusCode).toBe(403);
    expect(sched.json().error.message).toContain('needs role operator');
  });

  it('lets the right role through, and higher roles too (viewer < scheduler < operator)', async () => {
    const read = await app.inject({ method: 'GET', url: '/v1/read', headers: bearer(VIEWER) });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ caller: 'HOTAISLE_API_TOKENS[0]' });
    expect(
      (await app.inject({ method: 'POST', url: '/v1/plan', headers: bearer(SCHEDULER) })).statusCode,
    ).toBe(200);
    // The hashed operator token works with its clear value, for every lower role's routes as well.
    for (const [method, url] of [
      ['GET', '/v1/read'],
      ['POST', '/v1/plan'],
      ['POST', '/v1/silence'],
    ] as const) {
      expect((await app.inject({ method, url, headers: bearer(OPERATOR) })).statusCode).toBe(200);
    }
    const lower = await app.inject({
      method: 'GET',
      url: '/v1/read',
      headers: { authorization: `bearer  ${SCHEDULER}` },
    });
    expect(lower.statusCode).toBe(200);
  });

  it('fails closed: a route that declares no role needs operator', async () => {
    expect(
      (await app.inject({ method: 'POST', url: '/v1/undeclared', headers: bearer(SCHEDULER) })).statusCode,
    ).toBe(403);
    expect(
      (await app.inject({ method: 'POST', url: '/v1/undeclared', headers: bearer(OPERATOR) })).statusCode,
    ).toBe(200);
  });

  it('keeps public routes, /openapi.json and the 404 answer open', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/status' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
    const missing = await app.inject({ method: 'GET', url: '/v1/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('HOTAISLE_NOT_FOUND');
  });

  it('guards the HEAD twin of a GET route like the GET', async () => {
    expect((await app.inject({ method: 'HEAD', url: '/v1/read' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'HEAD', url: '/v1/read', headers: bearer(VIEWER) })).statusCode).toBe(
      200,
    );
  });
});

describe('openRead', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await appWith(loadApiAuth({ openRead: true }, { env: ENV }));
  });
  afterAll(async () => {
    await app.close();
  });

  it('lets a GET of a viewer route through without a token, but not a POST or an operator GET', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/read' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/plan' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/audit' })).statusCode).toBe(401);
  });

  it('still refuses a token that is presented and wrong', async () => {
    expect(
      (await app.inject({ method: 'GET', url: '/v1/read', headers: bearer('wrong-wrong-wrong-wrong') }))
        .statusCode,
    ).toBe(401);
  });
});

describe('no tokens configured', () => {
  it('leaves the API open and warns once that it is', async () => {
    const { log, text } = capturedLogger();
    const auth = loadApiAuth(undefined, { env: {}, log });
    const app = await appWith(auth, log);
    try {
      expect((await app.inject({ method: 'POST', url: '/v1/silence' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'POST', url: '/v1/undeclared' })).statusCode).toBe(200);
      const warnings = text()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level === 40 && /no API tokens/.test(l.msg));
      expect(warnings).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});

describe('tokens never reach the logs', () => {
  it('redacts the authorization header of a request through auth refusals, handler logs and a 500', async () => {
    const { log, text } = capturedLogger();
    const app = await appWith(loadApiAuth(undefined, { env: ENV, log }), log);
    try {
      expect((await app.inject({ method: 'GET', url: '/v1/read', headers: bearer(VIEWER) })).statusCode).toBe(
        200,
      );
      expect(
        (await app.inject({ method: 'POST', url: '/v1/plan', headers: bearer(VIEWER) })).statusCode,
      ).toBe(403);
      expect(
        (await app.inject({ method: 'GET', url: '/v1/read', headers: bearer(`${VIEWER}x`) })).statusCode,
      ).toBe(401);
      expect(
        (await app.inject({ method: 'GET', url: '/v1/boom', headers: bearer(SCHEDULER) })).statusCode,
      ).toBe(500);
    } finally {
      await app.close();
    }
    const logged = text();
    // The handler did log its headers and the 500 was logged: there was something to leak.
    expect(logged).toContain('about to fail');
    expect(logged).toContain('[redacted]');
    expect(logged).toContain('request failed');
    for (const token of [VIEWER, SCHEDULER, OPERATOR]) expect(logged).not.toContain(token);
  });
});

describe('token sources', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hotaisle-auth-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads a YAML list and a JSON { tokens } file, clear or sha256 tokens', () => {
    const yamlFile = file(
      'tokens.yaml',
      `- name: slurm-cron\n  role: scheduler\n  token: ${SCHEDULER}\n- name: noc\n  role: operator\n  token: sha256:${tokenDigest(OPERATOR).toUpperCase()}\n`,
    );
    const auth = loadApiAuth({ tokensFile: yamlFile }, { env: {} });
    expect(auth.tokens.get(tokenDigest(SCHEDULER))).toEqual({
      name: 'slurm-cron',
      role: 'scheduler',
      source: `file ${yamlFile}`,
    });
    expect(auth.tokens.get(tokenDigest(OPERATOR))?.name).toBe('noc');

    const jsonFile = file(
      'tokens.json',
      JSON.stringify({ tokens: [{ name: 'wall', role: 'viewer', token: VIEWER }] }),
    );
    const json = loadApiAuth({ tokensFile: yamlFile }, { env: { HOTAISLE_API_TOKENS_FILE: jsonFile } });
    // The environment's file wins over the site file's.
    expect([...json.tokens.values()].map((t) => t.name)).toEqual(['wall']);
  });

  it('reads the variable api.auth.tokensEnv names, adds it to the file, and takes HOTAISLE_API_OPEN_READ', () => {
    const f = file('one.yaml', `tokens:\n  - { name: a, role: viewer, token: ${VIEWER} }\n`);
    const auth = loadApiAuth(
      { tokensFile: f, tokensEnv: 'SITE_TOKENS', openRead: false },
      {
        env: {
          SITE_TOKENS: `scheduler:${SCHEDULER}`,
          HOTAISLE_API_TOKENS: `operator:${OPERATOR}`,
          HOTAISLE_API_OPEN_READ: 'true',
        },
      },
    );
    expect([...auth.tokens.values()].map((t) => `${t.name}:${t.role}`).sort()).toEqual([
      'SITE_TOKENS[0]:scheduler',
      'a:viewer',
    ]);
    expect(auth.openRead).toBe(true);
  });

  it('takes the deprecated HOTAISLE_RECOMMEND_TOKEN as one scheduler token and says it is deprecated', () => {
    const { log, text } = capturedLogger();
    const auth = loadApiAuth(undefined, { env: { HOTAISLE_RECOMMEND_TOKEN: 's3cret' }, log });
    expect(auth.tokens.get(tokenDigest('s3cret'))?.role).toBe('scheduler');
    expect(text()).toContain('deprecated');
    expect(text()).not.toContain('s3cret');
  });

  const problemsOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(AuthConfigError);
      return (err as Error).message;
    }
    throw new Error('expected an AuthConfigError');
  };

  it('names the file and the entry of every problem in a bad tokens file, never the token', () => {
    const bad = file(
      'bad.yaml',
      [
        `- { name: ok, role: viewer, token: ${VIEWER} }`,
        `- { name: ci, role: admin, token: ${SCHEDULER} }`,
        '- { name: short, role: viewer, token: abc }',
        '- { name: hashed, role: viewer, token: "sha256:1234" }',
        `- { name: again, role: operator, token: ${VIEWER} }`,
        '- { role: viewer, token: no-name-0123456789abcdef }',
      ].join('\n'),
    );
    const message = problemsOf(() => loadApiAuth({ tokensFile: bad }, { env: {} }));
    expect(message).toContain(
      `${bad}: tokens[1] (name "ci").role: expected a role: viewer, scheduler, operator`,
    );
    expect(message).toContain(
      `${bad}: tokens[2] (name "short").token: a clear token needs at least 16 characters`,
    );
    expect(message).toContain(`${bad}: tokens[3] (name "hashed").token: a sha256: token needs 64 hex digits`);
    expect(message).toContain(
      `${bad}: tokens[4] (name "again"): the same token as ${bad}: tokens[0] (name "ok")`,
    );
    expect(message).toContain(`${bad}: tokens[5].name:`);
    for (const token of [VIEWER, SCHEDULER, 'no-name-0123456789abcdef']) expect(message).not.toContain(token);
  });

  it('names the file when it is missing or not YAML/JSON, and the entry of a bad variable', () => {
    const missing = join(dir, 'nope.yaml');
    expect(problemsOf(() => loadApiAuth({ tokensFile: missing }, { env: {} }))).toContain(
      `${missing}: cannot read the tokens file (ENOENT)`,
    );
    const garbled = file('garbled.json', '{"tokens": [');
    expect(problemsOf(() => loadApiAuth({ tokensFile: garbled }, { env: {} }))).toContain(
      `${garbled}: not valid YAML or JSON`,
    );
    const shape = file('shape.yaml', 'name: x\n');
    expect(problemsOf(() => loadApiAuth({ tokensFile: shape }, { env: {} }))).toContain(
      `${shape}: expected a list of`,
    );
    const env = problemsOf(() =>
      loadApiAuth(undefined, {
        env: { HOTAISLE_API_TOKENS: `viewer:${VIEWER},root:${SCHEDULER}`, HOTAISLE_API_OPEN_READ: 'maybe' },
      }),
    );
    expect(env).toContain('HOTAISLE_API_TOKENS: entry 2: expected role:token');
    expect(env).toContain('HOTAISLE_API_OPEN_READ: expected true or false');
    expect(env).not.toContain(SCHEDULER);
  });
});

describe('hotaisle slurm weights', () => {
  it('sends --token or $HOTAISLE_API_TOKEN as the bearer token', async () => {
    const app = await buildApiApp({
      log: silentLogger(),
      routes: [recommendRoutes({ service: new RecommendService({ index: recommendIndex() }) })],
      auth: loadApiAuth(undefined, { env: ENV }),
    });
    const saved = { api: process.env.HOTAISLE_API_TOKEN, legacy: process.env.HOTAISLE_RECOMMEND_TOKEN };
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      const api = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      delete process.env.HOTAISLE_API_TOKEN;
      delete process.env.HOTAISLE_RECOMMEND_TOKEN;
      await expect(runSlurmCommand(['weights', '--api', api], () => {})).rejects.toThrow(/answered 401/);
      const lines: string[] = [];
      expect(await runSlurmCommand(['weights', '--api', api, '--token', VIEWER], (l) => lines.push(l))).toBe(
        0,
      );
      expect(lines).toHaveLength(16);
      process.env.HOTAISLE_API_TOKEN = SCHEDULER;
      expect(await runSlurmCommand(['weights', '--api', api], () => {})).toBe(0);
    } finally {
      for (const [key, value] of [
        ['HOTAISLE_API_TOKEN', saved.api],
        ['HOTAISLE_RECOMMEND_TOKEN', saved.legacy],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await app.close();
    }
  });
});
