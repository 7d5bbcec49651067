/**
 * The dashboard's data routes: GET /v1/layout (the floor plan), GET /v1/dashboard/snapshot (current
 * state), GET /v1/dashboard/stream (the same state pushed as server-sent events), GET
 * /v1/racks/:rack/history (inlet, outlet and power for the rack panel) and GET /v1/dashboard/plan
 * (accepted batch windows). Viewer role throughout: nothing here changes anything.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiErrorSchema, HttpError } from '../api/errors.ts';
import { ReservationSummarySchema } from '../recommend/schemas.ts';
import { type DashboardLayout, DashboardLayoutSchema } from './layout.ts';
import { type DashboardSnapshot, DashboardSnapshotSchema } from './snapshot.ts';
import type { SseHub } from './sse.ts';

const VIEWER = { role: 'viewer' } as const;

export const RackHistorySchema = z.object({
  rack: z.string(),
  from: z.string(),
  to: z.string(),
  windowSeconds: z.number().describe('points are means over windows this long'),
  series: z
    .record(z.string(), z.array(z.tuple([z.number(), z.number()])))
    .describe('metric (inlet_c, outlet_c, power_kw) → [ms since epoch, value] pairs, oldest first'),
});
export type RackHistory = z.infer<typeof RackHistorySchema>;

export const PlanSchema = z.object({ reservations: z.array(ReservationSummarySchema) });
export type DashboardPlan = z.infer<typeof PlanSchema>;

export interface DashboardData {
  layout(): DashboardLayout;
  snapshot(): DashboardSnapshot;
  /** undefined: no such rack. */
  history(rack: string, minutes: number): Promise<RackHistory | undefined>;
  plan(): DashboardPlan;
  readonly hub: SseHub;
}

export function dashboardRoutes(data: DashboardData) {
  return (root: FastifyInstance) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    // Open event streams would keep the server from closing; end them first.
    app.addHook('preClose', (done) => {
      data.hub.closeAll();
      done();
    });

    app.get(
      '/v1/layout',
      {
        config: VIEWER,
        schema: {
          summary: 'Floor plan for the dashboard: rooms, rows, racks, cooling units, thresholds',
          tags: ['dashboard'],
          response: { 200: DashboardLayoutSchema },
        },
      },
      async () => data.layout(),
    );

    app.get(
      '/v1/dashboard/snapshot',
      {
        config: VIEWER,
        schema: {
          summary: 'Current rack and cooling values, map forecast and alert marks',
          tags: ['dashboard'],
          response: { 200: DashboardSnapshotSchema },
        },
      },
      async () => data.snapshot(),
    );

    app.get(
      '/v1/dashboard/stream',
      {
        config: VIEWER,
        schema: {
          summary:
            'Server-sent events: a `snapshot` event (the body of /v1/dashboard/snapshot) every ~2 s and on alert changes',
          tags: ['dashboard'],
          response: { 200: z.string().describe('text/event-stream') },
        },
      },
      async (req, reply) => {
        reply.hijack();
        data.hub.add(reply.raw, { event: 'snapshot', data: JSON.stringify(data.snapshot()) });
        req.log.debug('dashboard stream opened');
      },
    );

    app.get(
      '/v1/racks/:rack/history',
      {
        config: VIEWER,
        schema: {
          summary: 'Stored inlet, outlet and power of one rack',
          tags: ['dashboard'],
          params: z.object({ rack: z.string().min(1) }),
          querystring: z.object({
            minutes: z.coerce
              .number()
              .int()
              .min(1)
              .max(7 * 24 * 60)
              .default(60)
              .describe('how far back from now'),
          }),
          response: { 200: RackHistorySchema, 404: ApiErrorSchema, 503: ApiErrorSchema },
        },
      },
      async (req) => {
        let history: RackHistory | undefined;
        try {
          history = await data.history(req.params.rack, req.query.minutes);
        } catch (err) {
          throw new HttpError(
            503,
            'HOTAISLE_STORE_UNAVAILABLE',
            `history could not be read from the store (${(err as Error).message}); try again shortly`,
          );
        }
        if (!history)
          throw new HttpError(
            404,
            'HOTAISLE_NOT_FOUND',
            `no rack "${req.params.rack}" in this site; GET /v1/layout lists the racks`,
          );
        return history;
      },
    );

    app.get(
      '/v1/dashboard/plan',
      {
        config: VIEWER,
        schema: {
          summary: 'Accepted batch windows (the plan later batch jobs are scheduled around)',
          tags: ['dashboard'],
          response: { 200: PlanSchema },
        },
      },
      async () => data.plan(),
    );
  };
}
