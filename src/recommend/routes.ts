/**
 * HTTP routes of the recommendations: placements, batch windows and the Kubernetes scheduler
 * extender verbs. Bad requests get the shared 400 naming the field (api/server.ts). Reads need a
 * viewer token, anything a scheduler acts on needs scheduler (api/auth.ts enforces both).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiErrorSchema, HttpError } from '../api/errors.ts';
import { ExtenderArgsSchema, ExtenderFilterResultSchema, HostPriorityListSchema } from './k8s.ts';
import {
  AcceptResponseSchema,
  BatchWindowRequestSchema,
  BatchWindowResponseSchema,
  PlacementRequestSchema,
  PlacementResponseSchema,
} from './schemas.ts';
import type { RecommendService } from './service.ts';

export interface RecommendRouteOptions {
  service: RecommendService;
}

export function recommendRoutes(opts: RecommendRouteOptions) {
  const { service } = opts;
  return (root: FastifyInstance) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const scheduler = { role: 'scheduler' as const };
    const errors = { 400: ApiErrorSchema };

    app.post(
      '/v1/placements',
      {
        config: scheduler,
        schema: { body: PlacementRequestSchema, response: { 200: PlacementResponseSchema, ...errors } },
      },
      async (req) => service.place(req.body.job, req.body.acceptAs),
    );
    app.delete(
      '/v1/placements/:id',
      {
        config: scheduler,
        schema: {
          params: z.object({ id: z.string().min(1) }),
          response: { 204: z.null(), 404: ApiErrorSchema },
        },
      },
      async (req, reply) => {
        if (!service.release(req.params.id))
          throw new HttpError(404, 'HOTAISLE_NOT_FOUND', `placement ${req.params.id} not found`);
        return reply.status(204).send(null);
      },
    );
    app.post(
      '/v1/batch-windows',
      {
        config: scheduler,
        schema: { body: BatchWindowRequestSchema, response: { 200: BatchWindowResponseSchema, ...errors } },
      },
      async (req) => service.batchWindow(req.body),
    );
    app.post(
      '/v1/batch-windows/:id/accept',
      {
        config: scheduler,
        schema: {
          params: z.object({ id: z.string().min(1).max(200) }),
          response: {
            200: AcceptResponseSchema,
            404: ApiErrorSchema,
            409: ApiErrorSchema,
          },
        },
      },
      async (req) => service.accept(req.params.id),
    );
    app.get(
      '/v1/slurm/weights',
      {
        // Read-only: the weights cron (hotaisle slurm weights) needs no more than a viewer token.
        config: { role: 'viewer' },
        schema: {
          response: {
            200: z.object({
              nodes: z.array(
                z.object({
                  node: z.string(),
                  rack: z.string(),
                  weight: z.number(),
                  thermalRisk: z.number(),
                  inletC: z.number().nullable(),
                  reason: z.string(),
                  scontrol: z.string(),
                  extra: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
                  slurmrestd: z.object({
                    method: z.literal('POST'),
                    path: z.string(),
                    body: z.object({ weight: z.number(), extra: z.string() }),
                  }),
                }),
              ),
            }),
          },
        },
      },
      async () => ({ nodes: service.slurmWeights() }),
    );
    app.post(
      '/v1/k8s/filter',
      {
        config: scheduler,
        schema: { body: ExtenderArgsSchema, response: { 200: ExtenderFilterResultSchema, ...errors } },
      },
      async (req) => service.k8sFilter(req.body),
    );
    app.post(
      '/v1/k8s/prioritize',
      {
        config: scheduler,
        schema: { body: ExtenderArgsSchema, response: { 200: HostPriorityListSchema, ...errors } },
      },
      async (req) => service.k8sPrioritize(req.body),
    );
  };
}
