/** Liveness, readiness and Prometheus metrics. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { z } from 'zod';

export interface ReadinessCheck {
  name: string;
  /** ok: serving; degraded: serving but something needs attention (e.g. spooling); down: not serving. */
  check(): { status: 'ok' | 'degraded' | 'down'; detail?: string };
}

const ReadinessSchema = z.object({
  status: z.enum(['ok', 'degraded', 'down']),
  checks: z.array(
    z.object({ name: z.string(), status: z.enum(['ok', 'degraded', 'down']), detail: z.string().optional() }),
  ),
});

export function healthRoutes(opts: { checks: ReadinessCheck[]; registry: Registry }) {
  return (root: FastifyInstance) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/healthz',
      { config: { role: 'public' }, schema: { response: { 200: z.object({ status: z.literal('ok') }) } } },
      async () => ({
        status: 'ok' as const,
      }),
    );
    app.get(
      '/readyz',
      { config: { role: 'public' }, schema: { response: { 200: ReadinessSchema, 503: ReadinessSchema } } },
      async (_req, reply) => {
        const checks = opts.checks.map((c) => ({ name: c.name, ...c.check() }));
        const status = checks.some((c) => c.status === 'down')
          ? 'down'
          : checks.some((c) => c.status === 'degraded')
            ? 'degraded'
            : 'ok';
        // Degraded still takes traffic: readings are spooled, nothing is lost.
        return reply.status(status === 'down' ? 503 : 200).send({ status, checks });
      },
    );
    app.get('/metrics', { config: { role: 'public' } }, async (_req, reply) => {
      const text = await opts.registry.metrics();
      return reply.type(opts.registry.contentType).send(text);
    });
  };
}
