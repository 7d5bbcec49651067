/** Request and response shapes of the recommendation API, typed once (STYLE.md §5). Pure. */
import { z } from 'zod';

const TIER = z.enum(['realtime', 'internal', 'batch']);
const DOMAIN = z.enum(['rack', 'row', 'room', 'feed']);

/** Share of a GPU's rated power each profile draws on average. */
export const PROFILE_LOAD = { training: 1, mixed: 0.8, inference: 0.6 } as const;

export const PlacementJobSchema = z
  .strictObject({
    gpus: z.number({ error: 'expected the number of GPUs the job needs' }).int().min(1).max(4096).optional(),
    nodes: z
      .number({ error: 'expected the number of whole nodes the job needs' })
      .int()
      .min(1)
      .max(512)
      .optional(),
    powerPerGpuKw: z.number({ error: 'expected kW per GPU as a number' }).positive().max(3).optional(),
    profile: z.enum(['training', 'mixed', 'inference']).default('training'),
    durationMin: z
      .number({ error: 'expected the expected run time in minutes' })
      .positive()
      .max(60 * 24 * 60),
    tier: TIER.default('internal'),
    /** Each replica in a different rack / row / room / power feed. */
    spread: DOMAIN.optional(),
    /** Replicas for spread; defaults to one per node the job fills. */
    replicas: z.number().int().min(1).max(256).optional(),
    constraints: z
      .strictObject({
        zones: z.array(z.string()).optional(),
        labels: z.record(z.string(), z.string()).optional(),
        avoidRacks: z.array(z.string()).optional(),
      })
      .default({}),
    limit: z.number().int().min(1).max(50).default(5),
  })
  .superRefine((job, ctx) => {
    if ((job.gpus === undefined) === (job.nodes === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['gpus'], message: 'give exactly one of gpus or nodes' });
    }
  });
export type PlacementJob = z.infer<typeof PlacementJobSchema>;

export const PlacementRequestSchema = z.strictObject({
  job: PlacementJobSchema,
  /** Hold the best candidate's GPUs for the job's duration under this id (the scheduler placed it). */
  acceptAs: z.string().min(1).max(200).optional(),
});

export const CandidateSchema = z.object({
  rack: z.string(),
  racks: z.array(z.string()),
  nodes: z.array(z.object({ node: z.string(), rack: z.string(), gpus: z.number() })),
  addedKw: z.number(),
  score: z.number(),
  predictedPeakInletC: z.number().nullable(),
  powerHeadroomKw: z.number(),
  reasons: z.array(z.string()),
});
export type Candidate = z.infer<typeof CandidateSchema>;

export const PlacementResponseSchema = z.object({
  candidates: z.array(CandidateSchema),
  rejected: z.array(z.object({ rack: z.string(), reason: z.string() })),
  thermalSource: z.enum(['forecast', 'layout']),
  accepted: z.string().optional(),
});
export type PlacementResponse = z.infer<typeof PlacementResponseSchema>;

const timestamp = z.union([z.number().int().min(0), z.iso.datetime({ offset: true })], {
  error: 'expected ms since epoch or an ISO 8601 date-time',
});

export const BatchWindowRequestSchema = z
  .strictObject({
    energyKwh: z.number().positive().max(1e7).optional(),
    powerKw: z.number().positive().max(1e5).optional(),
    durationMin: z
      .number({ error: 'expected the run time in minutes' })
      .positive()
      .max(60 * 24 * 31),
    earliestStart: timestamp.optional(),
    deadline: timestamp,
    pausable: z.boolean().default(false),
  })
  .superRefine((req, ctx) => {
    if ((req.energyKwh === undefined) === (req.powerKw === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['powerKw'],
        message: 'give exactly one of powerKw or energyKwh',
      });
    }
  });
export type BatchWindowRequest = z.infer<typeof BatchWindowRequestSchema>;

export const SegmentSchema = z.object({
  start: z.string(),
  end: z.string(),
  startTs: z.number(),
  endTs: z.number(),
});

export const BatchWindowResponseSchema = z.object({
  id: z.string(),
  feasible: z.boolean(),
  start: z.string().nullable(),
  end: z.string().nullable(),
  segments: z.array(SegmentSchema),
  powerKw: z.number(),
  currency: z.string(),
  expectedCost: z.number().nullable(),
  costNow: z.number().nullable(),
  saving: z.number().nullable(),
  energyKwh: z.number(),
  coolingKwh: z.number(),
  carbonKg: z.number().nullable(),
  slurmBegin: z.string().nullable(),
  reason: z.string(),
  optimalDataPoints: z.array(
    z.object({ location: z.string(), timestamp: z.string(), duration: z.number(), value: z.number() }),
  ),
});
export type BatchWindowResponse = z.infer<typeof BatchWindowResponseSchema>;

/** An accepted reservation as schedulers and the dashboard see it (push messages, GET /v1/dashboard/plan). */
export const ReservationSummarySchema = z.object({
  id: z.string(),
  powerKw: z.number(),
  acceptedAt: z.string(),
  segments: z.array(z.object({ start: z.string(), end: z.string() })),
});
export type ReservationSummary = z.infer<typeof ReservationSummarySchema>;

export function summarizeReservation(r: {
  id: string;
  powerKw: number;
  acceptedAt: number;
  segments: ReadonlyArray<{ startTs: number; endTs: number }>;
}): ReservationSummary {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: r.id,
    powerKw: Math.round(r.powerKw * 100) / 100,
    acceptedAt: iso(r.acceptedAt),
    segments: r.segments.map((s) => ({ start: iso(s.startTs), end: iso(s.endTs) })),
  };
}

export const AcceptResponseSchema = z.object({
  id: z.string(),
  accepted: z.literal(true),
  segments: z.array(SegmentSchema),
  powerKw: z.number(),
});
