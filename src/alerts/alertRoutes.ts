/**
 * The alerts API: GET /v1/alerts, GET /v1/alerts/history, POST /v1/alerts/:fingerprint/ack,
 * GET/POST /v1/silences, DELETE /v1/silences/:id. zod schemas for every body and reply; errors in the shared shape.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiErrorSchema, HttpError } from '../api/errors.ts';
import type { AlertEventQuery, AlertEventRecord } from '../store/store.ts';
import type { AlertRecord } from './lifecycle.ts';
import { type Matcher, matcherProblem, type Silence, silenceActive } from './silences.ts';

/** What the routes need; the AlertsModule provides it. */
export interface AlertsService {
  now(): number;
  alerts(): readonly AlertRecord[];
  silencedBy(a: AlertRecord): string[];
  acknowledge(fingerprint: string, by: string, comment: string): AlertRecord | undefined;
  get(fingerprint: string): AlertRecord | undefined;
  silences(): readonly Silence[];
  addSilence(s: Omit<Silence, 'id'>): Silence;
  expireSilence(id: string): boolean;
  /** Stored alert events, newest first (site filled in); undefined when the store keeps no history. */
  alertHistory?(q: Omit<AlertEventQuery, 'site'>): Promise<AlertEventRecord[]> | undefined;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export const AlertViewSchema = z.object({
  fingerprint: z.string(),
  alertname: z.string().describe('the rule, e.g. InletBreach'),
  severity: z.enum(['info', 'warning', 'critical']),
  state: z.enum(['pending', 'firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).describe('summary, description and rule-specific detail'),
  value: z.number(),
  activeAt: z.string(),
  firingAt: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  silencedBy: z.array(z.string()),
  groupedUnder: z.string().nullable().describe('fingerprint of the cooling alert this one is grouped under'),
  acknowledged: z.object({ by: z.string(), at: z.string(), comment: z.string() }).nullable(),
});
export type AlertView = z.infer<typeof AlertViewSchema>;

const AlertListSchema = z.object({
  firing: z.array(AlertViewSchema),
  pending: z.array(AlertViewSchema),
  silenced: z.array(AlertViewSchema).describe('pending or firing alerts an active silence covers'),
  resolved: z.array(AlertViewSchema).describe('recently resolved'),
});

const MatcherSchema = z.object({
  name: z.string().min(1).describe('label name; alertname and severity work too'),
  value: z.string(),
  isRegex: z.boolean().default(false),
  isEqual: z.boolean().default(true),
});

const SilenceBodySchema = z
  .object({
    matchers: z.array(MatcherSchema).min(1, { error: 'a silence needs at least one matcher' }),
    startsAt: z.iso.datetime({ offset: true }).optional(),
    endsAt: z.iso.datetime({ offset: true }).optional(),
    durationMinutes: z
      .number()
      .positive()
      .max(90 * 24 * 60)
      .optional(),
    createdBy: z.string().min(1),
    comment: z.string().default(''),
  })
  .refine((b) => (b.endsAt === undefined) !== (b.durationMinutes === undefined), {
    error: 'give either endsAt or durationMinutes',
  });

const SilenceViewSchema = z.object({
  id: z.string(),
  matchers: z.array(
    z.object({ name: z.string(), value: z.string(), isRegex: z.boolean(), isEqual: z.boolean() }),
  ),
  startsAt: z.string(),
  endsAt: z.string(),
  createdBy: z.string(),
  comment: z.string(),
  status: z.enum(['pending', 'active', 'expired']),
});

/** ms since epoch (digits) or an ISO 8601 date-time with offset; converted by parseTime. */
const TimeParamSchema = z.union([z.string().regex(/^\d{1,15}$/), z.iso.datetime({ offset: true })], {
  error: 'expected ms since epoch or an ISO 8601 date-time',
});
const parseTime = (t: string) => (/^\d+$/.test(t) ? Number(t) : Date.parse(t));
const HISTORY_DEFAULT_MS = 24 * 3_600_000;

const AlertHistoryQuerySchema = z.object({
  from: TimeParamSchema.optional().describe('inclusive start; default 24 h before `to`'),
  to: TimeParamSchema.optional().describe('exclusive end; default now'),
  rack: z
    .string()
    .min(1)
    .optional()
    .describe("the alert's target: a rack id (unit, feed or zone ids work too)"),
  alertname: z.string().min(1).optional().describe('the rule, e.g. InletBreach'),
  limit: z.coerce.number().int().min(1).max(5000).default(200).describe('the newest this many'),
});

const AlertEventViewSchema = z.object({
  at: z.string().describe('when the notification went out (ISO 8601)'),
  alertname: z.string(),
  severity: z.string(),
  target: z.string().describe('rack, cooling unit, feed, zone or site the alert is about'),
  state: z.string().describe('firing | escalated | repeat | resolved'),
  value: z.number().nullable(),
  message: z.string(),
  fingerprint: z.string(),
});

function alertEventView(e: AlertEventRecord): z.infer<typeof AlertEventViewSchema> {
  return {
    at: new Date(e.ts).toISOString(),
    alertname: e.rule,
    severity: e.severity,
    target: e.target,
    state: e.state,
    value: Number.isFinite(e.value) ? e.value : null,
    message: e.message,
    fingerprint: e.fingerprint,
  };
}

export function alertView(a: AlertRecord, silencedBy: string[]): AlertView {
  return {
    fingerprint: a.fingerprint,
    alertname: a.rule,
    severity: a.severity,
    state: a.state,
    labels: { ...a.labels },
    annotations: { summary: a.summary, description: a.description, ...a.annotations },
    value: a.value,
    activeAt: new Date(a.activeAt).toISOString(),
    firingAt: iso(a.firingAt),
    resolvedAt: iso(a.resolvedAt),
    silencedBy,
    groupedUnder: a.groupedUnder ?? null,
    acknowledged:
      a.acknowledgedAt !== undefined
        ? {
            by: a.acknowledgedBy ?? '',
            at: new Date(a.acknowledgedAt).toISOString(),
            comment: a.ackComment ?? '',
          }
        : null,
  };
}

function silenceView(s: Silence, now: number) {
  return {
    id: s.id,
    matchers: s.matchers.map((m) => ({ ...m })),
    startsAt: new Date(s.startsAt).toISOString(),
    endsAt: new Date(s.endsAt).toISOString(),
    createdBy: s.createdBy,
    comment: s.comment,
    status: silenceActive(s, now)
      ? ('active' as const)
      : s.startsAt > now
        ? ('pending' as const)
        : ('expired' as const),
  };
}

export function alertRoutes(service: AlertsService) {
  return (root: FastifyInstance) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/alerts',
      { config: { role: 'viewer' }, schema: { response: { 200: AlertListSchema } } },
      async () => {
        const list: z.infer<typeof AlertListSchema> = { firing: [], pending: [], silenced: [], resolved: [] };
        const byNewest = [...service.alerts()].sort((a, b) => b.activeAt - a.activeAt);
        for (const a of byNewest) {
          const silenced = a.state === 'resolved' ? [] : service.silencedBy(a);
          const view = alertView(a, silenced);
          if (a.state === 'resolved') list.resolved.push(view);
          else if (silenced.length > 0) list.silenced.push(view);
          else list[a.state].push(view);
        }
        return list;
      },
    );

    app.get(
      '/v1/alerts/history',
      {
        config: { role: 'viewer' },
        schema: {
          querystring: AlertHistoryQuerySchema,
          response: {
            200: z.object({ from: z.string(), to: z.string(), events: z.array(AlertEventViewSchema) }),
            400: ApiErrorSchema,
            501: ApiErrorSchema,
            503: ApiErrorSchema,
          },
        },
      },
      async (req) => {
        const q = req.query;
        // Default end just past now: `to` is exclusive, and an event stamped this ms belongs in.
        const to = q.to !== undefined ? parseTime(q.to) : service.now() + 1;
        const from = q.from !== undefined ? parseTime(q.from) : to - HISTORY_DEFAULT_MS;
        if (!(from < to))
          throw new HttpError(
            400,
            'HOTAISLE_BAD_REQUEST',
            'invalid request: querystring.from: must be before to',
            [{ path: 'querystring.from', message: 'must be before to' }],
          );
        const filters = {
          ...(q.rack !== undefined ? { rack: q.rack } : {}),
          ...(q.alertname !== undefined ? { alertname: q.alertname } : {}),
        };
        const pending = service.alertHistory?.({ from, to, limit: q.limit, ...filters });
        if (!pending)
          throw new HttpError(
            501,
            'HOTAISLE_NOT_SUPPORTED',
            "this agent's store keeps no alert history; the embedded and InfluxDB stores do",
          );
        let events: AlertEventRecord[];
        try {
          events = await pending;
        } catch (err) {
          throw new HttpError(
            503,
            'HOTAISLE_STORE_UNAVAILABLE',
            `alert history could not be read from the store (${(err as Error).message}); try again shortly`,
          );
        }
        return {
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          events: events.map(alertEventView),
        };
      },
    );

    app.post(
      '/v1/alerts/:fingerprint/ack',
      {
        config: { role: 'operator' },
        schema: {
          params: z.object({ fingerprint: z.string().min(1) }),
          body: z.object({ by: z.string().min(1), comment: z.string().default('') }),
          response: { 200: AlertViewSchema, 404: ApiErrorSchema, 409: ApiErrorSchema },
        },
      },
      async (req) => {
        const { fingerprint } = req.params;
        const existing = service.get(fingerprint);
        if (!existing)
          throw new HttpError(
            404,
            'HOTAISLE_NOT_FOUND',
            `no alert with fingerprint ${fingerprint}; see GET /v1/alerts`,
          );
        const acked = service.acknowledge(fingerprint, req.body.by, req.body.comment);
        if (!acked)
          throw new HttpError(
            409,
            'HOTAISLE_ALERT_RESOLVED',
            `alert ${fingerprint} is already resolved; nothing to acknowledge`,
          );
        return alertView(acked, service.silencedBy(acked));
      },
    );

    app.get(
      '/v1/silences',
      {
        config: { role: 'viewer' },
        schema: { response: { 200: z.object({ silences: z.array(SilenceViewSchema) }) } },
      },
      async () => {
        const now = service.now();
        return { silences: service.silences().map((s) => silenceView(s, now)) };
      },
    );

    app.post(
      '/v1/silences',
      {
        config: { role: 'operator' },
        schema: { body: SilenceBodySchema, response: { 201: SilenceViewSchema, 400: ApiErrorSchema } },
      },
      async (req, reply) => {
        const b = req.body;
        const matchers: Matcher[] = b.matchers.map((m) => ({
          name: m.name,
          value: m.value,
          isRegex: m.isRegex,
          isEqual: m.isEqual,
        }));
        const problems = matchers.flatMap((m, i) => {
          const p = matcherProblem(m);
          return p ? [{ path: `body.matchers.${i}.value`, message: p }] : [];
        });
        const now = service.now();
        const startsAt = b.startsAt ? Date.parse(b.startsAt) : now;
        const endsAt = b.endsAt ? Date.parse(b.endsAt) : startsAt + (b.durationMinutes ?? 0) * 60_000;
        if (endsAt <= startsAt)
          problems.push({ path: 'body.endsAt', message: 'endsAt must be after startsAt' });
        if (endsAt <= now)
          problems.push({
            path: 'body.endsAt',
            message: 'endsAt is in the past; the silence would never apply',
          });
        if (problems.length > 0) {
          throw new HttpError(
            400,
            'HOTAISLE_BAD_REQUEST',
            `invalid silence: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
            problems,
          );
        }
        const s = service.addSilence({
          matchers,
          startsAt,
          endsAt,
          createdBy: b.createdBy,
          comment: b.comment,
        });
        return reply.status(201).send(silenceView(s, now));
      },
    );

    app.delete(
      '/v1/silences/:id',
      {
        config: { role: 'operator' },
        schema: {
          params: z.object({ id: z.string().min(1) }),
          response: { 200: SilenceViewSchema, 404: ApiErrorSchema },
        },
      },
      async (req) => {
        if (!service.expireSilence(req.params.id))
          throw new HttpError(404, 'HOTAISLE_NOT_FOUND', `no silence ${req.params.id}; see GET /v1/silences`);
        const s = service.silences().find((x) => x.id === req.params.id)!;
        return silenceView(s, service.now());
      },
    );
  };
}
