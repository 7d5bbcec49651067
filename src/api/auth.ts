/**
 * Bearer-token authentication with roles for the whole HTTP API.
 *
 * Roles form a chain: viewer < scheduler < operator. A scheduler can do all a viewer can (read
 * forecasts, alerts, weights) plus place and plan jobs; an operator can do all a scheduler can plus
 * acknowledge alerts and manage silences. Each route declares what it needs in its route config,
 * `config: { role: 'viewer' | 'scheduler' | 'operator' | 'public' }`; a route that declares nothing
 * needs operator (fail closed). One onRequest hook enforces it for every route.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import { z } from 'zod';
import { ApiErrorSchema, HttpError } from './errors.ts';

export const ROLES = ['viewer', 'scheduler', 'operator'] as const;
export type Role = (typeof ROLES)[number];
/** What a route needs: a role, or `public` for health, metrics and the OpenAPI document. */
export type RouteAccess = Role | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route (src/api/auth.ts); absent means operator. */
    role?: RouteAccess;
  }
}

const RANK: Record<Role, number> = { viewer: 0, scheduler: 1, operator: 2 };

/** True when a token of role `have` may call a route that needs `need`. */
export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

/** A route's access as enforced: undeclared routes need operator. */
export function routeAccess(declared: RouteAccess | undefined): RouteAccess {
  return declared ?? 'operator';
}

export interface ApiToken {
  /** Who holds it, for 403 messages and logs; never the token itself. */
  name: string;
  role: Role;
  /** Where it was configured, e.g. `file tokens.yaml` or `env HOTAISLE_API_TOKENS`. */
  source: string;
}

export interface ApiAuth {
  /** SHA-256 hex digest of each token → its holder. Empty: no tokens configured, the API is open. */
  tokens: ReadonlyMap<string, ApiToken>;
  /** GET/HEAD requests to viewer routes need no token (a read-only dashboard). */
  openRead: boolean;
}

export const OPEN_API: ApiAuth = { tokens: new Map(), openRead: false };

/** Tokens are kept and compared as digests, so a configured hash (`sha256:<hex>`) and a clear token look alike. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const callers = new WeakMap<FastifyRequest, ApiToken>();

/** The token holder of an authenticated request (e.g. to record who acknowledged an alert). */
export function callerOf(request: FastifyRequest): ApiToken | undefined {
  return callers.get(request);
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const CHALLENGE = 'Bearer realm="hotaisle"';

/** Whether `openRead` lets this request through without a token. */
function openForReading(auth: ApiAuth, method: string, access: RouteAccess): boolean {
  return auth.openRead && access === 'viewer' && (method === 'GET' || method === 'HEAD');
}

/**
 * Adds the hook that enforces every route's declared role. Call before any route is registered.
 * With no tokens configured every request passes (the caller warns once that the API is open).
 */
export function installAuth(app: FastifyInstance, auth: ApiAuth): void {
  if (auth.tokens.size === 0) return;
  app.addHook('onRequest', async (request, reply) => {
    // Unknown routes get the plain 404; /openapi.json lists every route anyway.
    if (request.is404) return;
    const access = routeAccess(request.routeOptions.config.role);
    if (access === 'public') return;
    const header = request.headers.authorization;
    if (header === undefined && openForReading(auth, request.method, access)) return;

    const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
    const match = header === undefined ? null : BEARER.exec(header);
    const holder = match?.[1] === undefined ? undefined : auth.tokens.get(tokenDigest(match[1]));
    if (!holder) {
      // A digest lookup leaks no timing about the token: an attacker cannot steer the digest's prefix.
      request.log.debug({ route, reason: header ? 'unknown token' : 'no token' }, 'API request refused');
      const body = new HttpError(
        401,
        'HOTAISLE_UNAUTHORIZED',
        header
          ? `unknown or malformed bearer token; ${route} needs role ${access} (Authorization: Bearer <token>)`
          : `missing bearer token; ${route} needs role ${access} (Authorization: Bearer <token>)`,
      ).toBody();
      const challenge = header ? `${CHALLENGE}, error="invalid_token"` : CHALLENGE;
      return reply.status(401).header('www-authenticate', challenge).send(body);
    }
    if (!roleAllows(holder.role, access)) {
      request.log.debug({ route, caller: holder.name, role: holder.role }, 'API request forbidden');
      const body = new HttpError(
        403,
        'HOTAISLE_FORBIDDEN',
        `${route} needs role ${access}; token "${holder.name}" has role ${holder.role}`,
      ).toBody();
      return reply
        .status(403)
        .header('www-authenticate', `${CHALLENGE}, error="insufficient_scope"`)
        .send(body);
    }
    callers.set(request, holder);
  });
}

export const SECURITY_SCHEME = 'bearerAuth';

export const securitySchemes = {
  [SECURITY_SCHEME]: {
    type: 'http' as const,
    scheme: 'bearer',
    description:
      'Tokens carry a role: viewer < scheduler < operator (each can do all the roles before it). ' +
      'Each operation names the role it needs in x-hotaisle-role; public operations need no token.',
  },
};

/** A route schema as @fastify/swagger sees it: fastify's parts plus `hide` and `x-` extensions. */
type RouteSchemaLike = FastifySchema & { hide?: boolean; [key: string]: unknown };

/**
 * The OpenAPI side of a route's access, added to its schema before the zod → JSON conversion:
 * `security`, the `x-hotaisle-role` extension, and the shared error shape for 400/401/403.
 * Only the document changes; replies are serialized from the route's own schema.
 */
export function documentAccess(
  schema: FastifySchema | undefined,
  method: string | readonly string[],
  declared: RouteAccess | undefined,
  openRead: boolean,
): RouteSchemaLike {
  const base: RouteSchemaLike = (schema as RouteSchemaLike | undefined) ?? {};
  if (base.hide) return base;
  const access = routeAccess(declared);
  const response: Record<string, unknown> = { ...((base.response as Record<string, unknown>) ?? {}) };
  // A route without a response schema would otherwise lose fastify-swagger's default 200.
  if (base.response === undefined && access !== 'public') response['200'] = z.unknown();
  const hasInput = base.body !== undefined || base.params !== undefined || base.querystring !== undefined;
  if (hasInput) response['400'] ??= ApiErrorSchema.describe('invalid request; fields name what is wrong');
  if (access !== 'public') {
    response['401'] ??= ApiErrorSchema.describe('no bearer token, or an unknown one (HOTAISLE_UNAUTHORIZED)');
    response['403'] ??= ApiErrorSchema.describe(`the token's role is below ${access} (HOTAISLE_FORBIDDEN)`);
  }
  const methods = typeof method === 'string' ? [method] : method;
  const readable = openRead && access === 'viewer' && methods.every((m) => m === 'GET' || m === 'HEAD');
  // `{}` as an alternative means "or no token at all" (OpenAPI 3 security requirement semantics).
  const bearer: Record<string, string[]> = { [SECURITY_SCHEME]: [] };
  const security: Array<Record<string, string[]>> =
    access === 'public' ? [] : readable ? [bearer, {}] : [bearer];
  return {
    ...base,
    ...(Object.keys(response).length > 0 ? { response } : {}),
    security,
    'x-hotaisle-role': access,
  };
}
