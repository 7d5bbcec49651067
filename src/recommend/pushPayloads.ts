/**
 * What the recommendation push sends, typed once (STYLE.md §5): the placement ranking for a
 * typical job, per-node weights, and the accepted batch plan. Each MQTT topic carries one message
 * (retained); a webhook gets all three in one body. Every message names its schema and version so
 * a scheduler plug-in can check what it reads. No I/O beyond the service's own (building the
 * batch plan message prunes ended reservations, which saves the plan file).
 */
import { z } from 'zod';
import { zoneCooling } from './cooling.ts';
import { rankPlacements } from './placement.ts';
import { PlacementJobSchema, ReservationSummarySchema, summarizeReservation } from './schemas.ts';
import type { RecommendService } from './service.ts';
import { SLURM_REFUSED_WEIGHT, slurmWeights } from './slurm.ts';

/** Racks listed in the published ranking (the rest are in `refused` or simply lower). */
export const PUSHED_CANDIDATES = 20;

const round2 = (v: number) => Math.round(v * 100) / 100;

export const PlacementPushSchema = z.object({
  schema: z.literal('hotaisle.recommendations.placement/v1'),
  site: z.string(),
  ts: z.string(),
  thermalSource: z.enum(['forecast', 'layout']),
  /** The job this ranking answers (recommend.push.rankingJob). */
  job: z.object({
    gpus: z.number(),
    tier: z.enum(['realtime', 'internal', 'batch']),
    durationMin: z.number(),
  }),
  /** Best first; score 0–100. */
  candidates: z.array(
    z.object({
      rack: z.string(),
      score: z.number(),
      predictedPeakInletC: z.number().nullable(),
      powerHeadroomKw: z.number(),
      reasons: z.array(z.string()),
    }),
  ),
  /** Racks that must not take the job now, and why (GPU shortage omitted). */
  refused: z.array(z.object({ rack: z.string(), reason: z.string() })),
  /** Cooling margin per zone, kW: what its units remove now minus the IT load. */
  zones: z.array(
    z.object({
      zone: z.string(),
      loadKw: z.number(),
      effectiveKw: z.number(),
      marginKw: z.number(),
      supplyExcessC: z.number().nullable(),
      weakUnits: z.array(z.object({ unit: z.string(), health: z.number() })),
    }),
  ),
});
export type PlacementPush = z.infer<typeof PlacementPushSchema>;

export const NodesPushSchema = z.object({
  schema: z.literal('hotaisle.recommendations.nodes/v1'),
  site: z.string(),
  ts: z.string(),
  /**
   * One entry per node in the site file. weight: Slurm semantics, lower is used first (1–99; 1000
   * when the node's rack cannot take a full node's load now); thermalRisk 0 (cool) … 1 (at warn).
   */
  nodes: z.array(
    z.object({
      node: z.string(),
      rack: z.string(),
      weight: z.number(),
      eligible: z.boolean(),
      thermalRisk: z.number(),
      inletC: z.number().nullable(),
      reason: z.string(),
    }),
  ),
});
export type NodesPush = z.infer<typeof NodesPushSchema>;

export const BatchPlanPushSchema = z.object({
  schema: z.literal('hotaisle.recommendations.batch-plan/v1'),
  site: z.string(),
  ts: z.string(),
  /** IT kW the accepted reservations hold right now. */
  reservedKwNow: z.number(),
  reservations: z.array(ReservationSummarySchema),
});
export type BatchPlanPush = z.infer<typeof BatchPlanPushSchema>;

/** The webhook body: all three, and why it was sent. */
export const WebhookPushSchema = z.object({
  schema: z.literal('hotaisle.recommendations/v1'),
  site: z.string(),
  ts: z.string(),
  /** start: first push; change: something a scheduler acts on changed; interval: periodic refresh. */
  trigger: z.enum(['start', 'change', 'interval']),
  placement: PlacementPushSchema,
  nodes: NodesPushSchema,
  batchPlan: BatchPlanPushSchema,
});
export type WebhookPush = z.infer<typeof WebhookPushSchema>;

export type PushTopic = 'placement' | 'nodes' | 'batch-plan';

export interface PushMessages {
  placement: PlacementPush;
  nodes: NodesPush;
  'batch-plan': BatchPlanPush;
}

export interface RankingJob {
  gpus: number;
  tier: 'realtime' | 'internal' | 'batch';
  durationMin: number;
}

/** The three messages for the service's current state. */
export function buildPushMessages(
  service: RecommendService,
  site: string,
  job: RankingJob,
  now: number,
): PushMessages {
  const ts = new Date(now).toISOString();
  const ctx = service.placementContext();
  const spec = PlacementJobSchema.parse({ ...job, limit: PUSHED_CANDIDATES });
  const ranking = rankPlacements(spec, ctx);
  const zones = [...zoneCooling(ctx.index, ctx.state).values()].map((z) => ({
    zone: z.zone,
    loadKw: round2(z.loadKw),
    effectiveKw: round2(z.effectiveKw),
    marginKw: round2(z.marginKw),
    supplyExcessC: z.supplyExcessC === undefined ? null : round2(z.supplyExcessC),
    weakUnits: z.weakUnits.map((u) => ({ unit: u.unit, health: round2(u.health) })),
  }));
  service.plan.prune(now);
  return {
    placement: {
      schema: 'hotaisle.recommendations.placement/v1',
      site,
      ts,
      thermalSource: ctx.thermal.source,
      job,
      candidates: ranking.candidates.map((c) => ({
        rack: c.rack,
        score: c.score,
        predictedPeakInletC: c.predictedPeakInletC,
        powerHeadroomKw: c.powerHeadroomKw,
        reasons: c.reasons,
      })),
      refused: ranking.rejected.filter((r) => r.reason !== 'not enough free GPUs'),
      zones,
    },
    nodes: {
      schema: 'hotaisle.recommendations.nodes/v1',
      site,
      ts,
      nodes: slurmWeights(ctx).map((w) => ({
        node: w.node,
        rack: w.rack,
        weight: w.weight,
        eligible: w.weight !== SLURM_REFUSED_WEIGHT,
        thermalRisk: w.thermalRisk,
        inletC: w.inletC,
        reason: w.reason,
      })),
    },
    'batch-plan': {
      schema: 'hotaisle.recommendations.batch-plan/v1',
      site,
      ts,
      reservedKwNow: round2(service.plan.reservedKw(now)),
      reservations: service.plan.list().map(summarizeReservation),
    },
  };
}

/**
 * What a scheduler acts on, per topic: a push "on change" fires when this differs, not when a
 * score moves by a tenth (scores and inlets drift with every reading).
 */
export function changeKey(topic: PushTopic, m: PushMessages): string {
  switch (topic) {
    case 'placement':
      return JSON.stringify([
        m.placement.candidates.slice(0, 5).map((c) => c.rack),
        m.placement.refused.map((r) => r.rack),
      ]);
    case 'nodes':
      // Weights in bands of 10: a scheduler re-reads them when a node moves a band or is refused.
      return JSON.stringify(m.nodes.nodes.map((n) => [n.node, Math.round(n.weight / 10)]));
    case 'batch-plan':
      return JSON.stringify(m['batch-plan'].reservations);
  }
}
