/**
 * Slurm node weights from thermal headroom: Slurm fills nodes of the lowest Weight first, so cool
 * racks with power to spare get low weights and racks that cannot take a full node's load get the
 * highest. Emitted as `scontrol update` lines for cron, per-node `extra` JSON (for
 * SchedulerParameters=extra_constraints, so jobs can ask `--extra "thermal_risk<0.5"`) and
 * slurmrestd node-update bodies. Pure.
 */
import { judgeNodes, type PlacementContext } from './placement.ts';
import { PlacementJobSchema } from './schemas.ts';

/** Weight of nodes whose rack cannot take a full node's load now (used last). */
export const SLURM_REFUSED_WEIGHT = 1000;
/** Inlet span over which thermal risk rises from 0 to 1, ending at the warn threshold, °C. */
const RISK_SPAN_C = 6;

export interface SlurmNodeWeight {
  node: string;
  rack: string;
  weight: number;
  /** 0 (cool) … 1 (at or above warn, or a hotspot). */
  thermalRisk: number;
  inletC: number | null;
  reason: string;
  scontrol: string;
  extra: Record<string, number | string | null>;
  slurmrestd: { method: 'POST'; path: string; body: { weight: number; extra: string } };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

export function slurmWeights(ctx: PlacementContext, restVersion = 'v0.0.40'): SlurmNodeWeight[] {
  const warn = ctx.index.site.thresholds.inletWarnC;
  const out: SlurmNodeWeight[] = [];
  for (const [rack, place] of ctx.index.racks) {
    const peak = ctx.thermal.predictedPeakC(rack);
    const hot = ctx.thermal.hotspot(rack);
    const risk = hot
      ? 1
      : peak === undefined
        ? 0.5
        : Math.min(1, Math.max(0, (peak - (warn - RISK_SPAN_C)) / RISK_SPAN_C));
    for (const node of place.rack.nodes) {
      const job = PlacementJobSchema.parse({ nodes: 1, durationMin: 60 });
      const v = judgeNodes(job, ctx, [node.name]).get(node.name);
      const ok = v?.ok === true;
      const weight = ok ? 1 + Math.round(risk * 98) : SLURM_REFUSED_WEIGHT;
      const extra = { thermal_risk: round2(risk), rack, inlet_c: peak === undefined ? null : round2(peak) };
      const extraJson = JSON.stringify(extra);
      out.push({
        node: node.name,
        rack,
        weight,
        thermalRisk: round2(risk),
        inletC: extra.inlet_c,
        reason: v === undefined ? 'unknown node' : v.ok ? `score ${Math.round(v.score)}` : v.reason,
        scontrol: `scontrol update NodeName=${node.name} Weight=${weight} Extra='${extraJson}'`,
        extra,
        slurmrestd: {
          method: 'POST',
          path: `/slurm/${restVersion}/node/${node.name}`,
          body: { weight, extra: extraJson },
        },
      });
    }
  }
  return out;
}
