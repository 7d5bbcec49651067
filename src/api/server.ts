/**
 * The HTTP server: fastify with zod schemas for every route, one error shape, pino logging.
 * Capabilities add their routes through `routes`; this module knows none of them.
 */

import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Logger } from '../log.ts';
import {
  type ApiAuth,
  documentAccess,
  installAuth,
  OPEN_API,
  type RouteAccess,
  securitySchemes,
} from './auth.ts';
import { HttpError } from './errors.ts';

export type RouteRegistrar = (app: FastifyInstance) => void | Promise<void>;

export interface ApiServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  log: Logger;
  routes: RouteRegistrar[];
  /** Tokens and roles (api/authTokens.ts loadApiAuth); absent: the API is open. */
  auth?: ApiAuth;
}

/** A route as registered, with the access it declared (undefined: none, so operator). */
export interface RegisteredRoute {
  method: string;
  url: string;
  role: RouteAccess | undefined;
  hidden: boolean;
}

const registered = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route buildApiApp registered, HEAD twins included; for tests and checks. */
export function registeredRoutes(app: FastifyInstance): readonly RegisteredRoute[] {
  return registered.get(app) ?? [];
}

export async function buildApiApp(
  opts: Pick<ApiServerOptions, 'log' | 'routes' | 'auth'>,
): Promise<FastifyInstance> {
  const auth = opts.auth ?? OPEN_API;
  const app = Fastify({
    loggerInstance: opts.log as FastifyBaseLogger,
    // Health and metrics are scraped every few seconds: their requests are not worth a log line.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const routes: RegisteredRoute[] = [];
  registered.set(app, routes);
  app.addHook('onRoute', (route) => {
    const role = route.config?.role;
    for (const method of typeof route.method === 'string' ? [route.method] : route.method) {
      routes.push({ method, url: route.url, role, hidden: route.schema?.hide === true });
    }
    if (role === undefined && route.method !== 'HEAD')
      opts.log.warn(
        { route: `${String(route.method)} ${route.url}` },
        'route declares no role; it needs operator',
      );
  });
  installAuth(app, auth);

  app.setErrorHandler((err, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const fields = err.validation.map((v) => ({
        path: [err.validationContext, ...v.instancePath.split('/').filter(Boolean)].filter(Boolean).join('.'),
        message: v.message ?? 'invalid value',
      }));
      const body = new HttpError(
        400,
        'HOTAISLE_BAD_REQUEST',
        `invalid request: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
        fields,
      ).toBody();
      return reply.status(400).send(body);
    }
    if (err instanceof HttpError) return reply.status(err.statusCode).send(err.toBody());
    const status =
      typeof (err as { statusCode?: unknown }).statusCode === 'number'
        ? (err as { statusCode: number }).statusCode
        : 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    const code =
      status === 415
        ? 'HOTAISLE_UNSUPPORTED_MEDIA'
        : status === 413
          ? 'HOTAISLE_TOO_LARGE'
          : status >= 500
            ? 'HOTAISLE_INTERNAL'
            : 'HOTAISLE_BAD_REQUEST';
    const message = status >= 500 ? 'internal error; see the agent log' : (err as Error).message;
    return reply.status(status).send(new HttpError(status, code, message).toBody());
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(
        new HttpError(
          404,
          'HOTAISLE_NOT_FOUND',
          `no route ${request.method} ${request.url}; see /openapi.json`,
        ).toBody(),
      ),
  );
  // The OpenAPI document is generated from the same zod schemas that validate requests.
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Hotaisle API',
        version: '1',
        description: 'Telemetry health, forecasts, recommendations and alerts',
      },
      components: { securitySchemes },
    },
    // Each operation documents the role it needs and the shared error shape of 400/401/403.
    transform: (doc) =>
      jsonSchemaTransform({
        ...doc,
        schema: documentAccess(doc.schema, doc.route.method, doc.route.config?.role, auth.openRead),
      }),
  });
  for (const register of opts.routes) await register(app);
  app.get('/openapi.json', { schema: { hide: true }, config: { role: 'public' } }, async () => app.swagger());
  return app;
}

export class ApiServer {
  private app: FastifyInstance | undefined;
  private boundPort = 0;

  constructor(private readonly opts: ApiServerOptions) {}

  async start(): Promise<void> {
    const app = await buildApiApp(this.opts);
    await app.listen({ host: this.opts.host, port: this.opts.port });
    const address = app.server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.opts.port;
    this.app = app;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `http://${host}:${this.boundPort}`;
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    await app?.close();
  }
}
