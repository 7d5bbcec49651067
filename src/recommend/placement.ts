/**
 * Placement ranking: where a GPU job should go, from the current state. Pure and fast.
 *
 * Hard limits are never crossed: rack power cap; each power feed carrying every rack it serves on
 * its own (A/B redundancy: when one feed of a pair fails, the other takes the whole load); the site
 * cap; racks with an active or predicted hotspot, or that the job would push to the warn limit
 * (own or neighbours'). Among what is left, soft goals trade off per tier: thermal headroom
 * (including heat pushed onto neighbours), recirculation (cooling efficiency), power headroom,
 * and consolidation for batch vs spreading for realtime.
 */
import type { SiteIndex } from '../config/siteIndex.ts';
import { type ZoneCooling, zoneCooling, zoneShortOfCooling } from './cooling.ts';
import { chooseNodes, domainKeys, jobParts, nodeKw, type Part } from './nodes.ts';
import type { Candidate, PlacementJob } from './schemas.ts';
import type { ClusterState, NodeAllocation } from './state.ts';
import type { ThermalModel } from './thermal.ts';

export interface PlacementContext {
  index: SiteIndex;
  state: ClusterState;
  thermal: ThermalModel;
}

export interface PlacementRanking {
  candidates: Candidate[];
  rejected: Array<{ rack: string; reason: string }>;
}

/**
 * Weights of the rack's (and neighbours') thermal headroom, its cooling zone's headroom (a zone
 * whose cooling is failing warms as a whole), power headroom, recirculation and tier fit.
 */
const WEIGHTS = {
  realtime: { thermal: 0.3, zone: 0.2, power: 0.15, recirculation: 0.05, tier: 0.3 },
  internal: { thermal: 0.3, zone: 0.2, power: 0.15, recirculation: 0.05, tier: 0.3 },
  batch: { thermal: 0.25, zone: 0.2, power: 0.1, recirculation: 0.15, tier: 0.3 },
} as const;
/** °C of headroom below warn that counts as "plenty". */
const THERMAL_SCALE_C = 4;
const MAX_REJECTED_LISTED = 50;
/** Zone load over its N-1 cooling that scores 0, and the span over which the score rises to 1. */
const N1_FULL_RATIO = 1.8;
const N1_SPAN = 0.6;
/** Share of a zone's cooling left free that counts as "plenty" of margin. */
const MARGIN_SCALE = 0.3;

interface RackOption {
  rack: string;
  allocations: NodeAllocation[];
  addKw: number;
  score: number;
  peakAfterC: number | undefined;
  /** Built only for the candidates returned: formatting every rack's reasons costs more than ranking. */
  reasons: () => string[];
}

/** Feed id → summed rack load it must carry alone if its partner fails. */
export function feedLoads(index: SiteIndex, state: ClusterState): Map<string, number> {
  const loads = new Map<string, number>();
  for (const [rack, place] of index.racks) {
    const kw = state.rackKw(rack);
    for (const f of [place.rack.feeds.a, place.rack.feeds.b]) if (f) loads.set(f, (loads.get(f) ?? 0) + kw);
  }
  return loads;
}

const fmt = (v: number) => v.toFixed(1);
const pct = (v: number) => `${Math.round(v * 100)}%`;
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

interface Shared {
  ctx: PlacementContext;
  job: PlacementJob;
  feeds: Map<string, number>;
  feedCap: Map<string, number>;
  siteKw: number;
  /** Mean predicted peak inlet per cooling zone (racks with a value). */
  zoneInletC: Map<string, number>;
  /** Each zone's cooling margin from unit telemetry and ratings. */
  zones: Map<string, ZoneCooling>;
}

/** Evaluates the parts on one rack: an option with its score and reasons, or why it is refused. */
function evaluateRack(s: Shared, rack: string, parts: Part[]): RackOption | string {
  const { state, thermal } = s.ctx;
  const hot = thermal.hotspot(rack);
  if (hot) return `${hot} hotspot active or forecast`;
  const labels = s.job.constraints.labels ?? {};
  const nodes = state
    .nodesOf(rack)
    .filter((n) => Object.entries(labels).every(([k, v]) => n.labels[k] === v));
  if (nodes.length === 0) return 'no node with the requested labels';
  const allocations = chooseNodes(nodes, parts, s.job);
  if (!allocations) return 'not enough free GPUs';
  return assessRack(s, rack, allocations);
}

/** Hard limits, score and reasons for adding these allocations to one rack. */
function assessRack(s: Shared, rack: string, allocations: NodeAllocation[]): RackOption | string {
  const { index, state, thermal } = s.ctx;
  const place = index.racks.get(rack)!;
  const { inletWarnC } = index.site.thresholds;
  const addKw = allocations.reduce((sum, a) => sum + a.kw, 0);

  const rackBefore = state.rackKw(rack);
  const cap = place.rack.powerCapKw;
  if (rackBefore + addKw > cap) return `rack cap: ${fmt(rackBefore)} + ${fmt(addKw)} kW > ${fmt(cap)} kW`;
  let worstFeed = { id: '', frac: 0, headroom: Number.POSITIVE_INFINITY };
  for (const f of [place.rack.feeds.a, place.rack.feeds.b]) {
    const fcap = f ? s.feedCap.get(f) : undefined;
    if (!f || fcap === undefined) continue;
    const after = (s.feeds.get(f) ?? 0) + addKw;
    if (after > fcap)
      return `feed ${f} would carry ${fmt(after)} kW alone if its partner fails (breaker ${fmt(fcap)} kW)`;
    if (after / fcap >= worstFeed.frac) worstFeed = { id: f, frac: after / fcap, headroom: fcap - after };
  }
  const siteCap = index.site.powerCapKw;
  if (siteCap !== undefined && s.siteKw + addKw > siteCap)
    return `site cap: ${fmt(s.siteKw + addKw)} kW > ${fmt(siteCap)} kW`;

  // The zone's cooling: past its capacity the supply air, and so every inlet in it, climbs.
  const zone = s.zones.get(place.zone);
  if (zone && zoneShortOfCooling(zone, addKw)) {
    const weak = zone.weakUnits.map((u) => `${u.unit} at ${pct(u.health)}`).join(', ');
    return `cooling zone ${place.zone} would carry ${fmt(zone.loadKw + addKw)} kW, its units remove ~${fmt(zone.effectiveKw)} kW${weak ? ` (${weak})` : ''}`;
  }
  const sens = thermal.sensitivity(rack);
  const peak = thermal.predictedPeakC(rack);
  const peakAfter = peak === undefined ? undefined : peak + sens.selfCPerKw * addKw;
  if (peakAfter !== undefined && peakAfter >= inletWarnC) {
    return `inlet forecast ${fmt(peak!)} → ${fmt(peakAfter)} °C reaches warn ${fmt(inletWarnC)} °C`;
  }
  let worstAfter = peakAfter;
  let neighbourRise = 0;
  let hottest = { rack: '', rise: 0 };
  for (const nb of sens.neighbours) {
    const rise = nb.cPerKw * addKw;
    neighbourRise += rise;
    if (rise > hottest.rise) hottest = { rack: nb.rack, rise };
    const nbPeak = thermal.predictedPeakC(nb.rack);
    if (nbPeak === undefined) continue;
    if (thermal.hotspot(nb.rack) === undefined && nbPeak < inletWarnC && nbPeak + rise >= inletWarnC) {
      return `would push neighbour ${nb.rack} to ${fmt(nbPeak + rise)} °C (warn ${fmt(inletWarnC)} °C)`;
    }
    worstAfter = worstAfter === undefined ? nbPeak + rise : Math.max(worstAfter, nbPeak + rise);
  }

  const w = WEIGHTS[s.job.tier];
  const thermalScore = worstAfter === undefined ? 0.5 : clamp01((inletWarnC - worstAfter) / THERMAL_SCALE_C);
  const rackHeadroom = cap - rackBefore - addKw;
  const powerScore = Math.min(
    clamp01(rackHeadroom / cap),
    Number.isFinite(worstFeed.headroom) ? clamp01(1 - worstFeed.frac) : 1,
  );
  const recirculation = clamp01(1 - (sens.selfCPerKw * addKw + neighbourRise) / 3);
  // Share of the rack's GPUs in use (what least-allocated spreads on), or of its cap without GPUs.
  let gpus = 0;
  let free = 0;
  for (const n of state.nodesOf(rack)) {
    gpus += n.gpus;
    free += n.freeGpus;
  }
  const util = gpus > 0 ? 1 - free / gpus : rackBefore / cap;
  // Realtime spreads, so no one rack holds much of it when its cooling falters. Batch and internal
  // work packs best-fit (the tightest hole it fills): whole racks stay free elsewhere, so when a zone
  // runs short of cooling the next big job has somewhere else to go instead of into that zone.
  const taken = allocations.reduce((sum, a) => sum + a.gpus, 0);
  const fill = free > 0 ? Math.min(1, taken / free) : util;
  const tierScore = s.job.tier === 'realtime' ? 1 - util : 0.5 * util + 0.5 * fill;
  const zoneC = s.zoneInletC.get(place.zone);
  const zoneInletScore = zoneC === undefined ? 0.5 : clamp01((inletWarnC - zoneC) / THERMAL_SCALE_C);
  // Resilience: how much of the zone's cooling would be left with its largest unit lost.
  const n1 = zone?.n1Kw;
  // Relative, not clamped at N-1: busy zones all run past N-1, and the one furthest past it is the
  // one that overheats first when a unit falters, so it should get new heat last.
  const zoneN1Score =
    n1 === undefined || n1 <= 0 ? 0.5 : clamp01((N1_FULL_RATIO - (zone!.loadKw + addKw) / n1) / N1_SPAN);
  // Spread heat where the cooling has room: a thin margin scores low long before it is refused.
  const marginScore =
    zone === undefined || zone.effectiveKw <= 0
      ? 0.5
      : clamp01((zone.marginKw - addKw) / (MARGIN_SCALE * zone.effectiveKw));
  const zoneScore = Math.min(zoneInletScore, marginScore, zoneN1Score);
  const score =
    100 *
    (w.thermal * thermalScore +
      w.zone * zoneScore +
      w.power * powerScore +
      w.recirculation * recirculation +
      w.tier * tierScore);

  const reasons = (): string[] => {
    const out: string[] = [];
    out.push(
      peak === undefined || peakAfter === undefined
        ? `no inlet reading yet for ${rack}`
        : `inlet forecast ${fmt(peak)} → ${fmt(peakAfter)} °C`,
    );
    if (worstFeed.id)
      out.push(
        `feed ${worstFeed.id === place.rack.feeds.a ? 'A' : 'B'} (${worstFeed.id}) at ${pct(worstFeed.frac)} of cap`,
      );
    out.push(`rack at ${pct((rackBefore + addKw) / cap)} of its ${fmt(cap)} kW cap after +${fmt(addKw)} kW`);
    if (zone)
      out.push(
        `cooling zone ${place.zone} at ${pct((zone.loadKw + addKw) / Math.max(1e-9, zone.effectiveKw))} of what its units remove now`,
      );
    if (hottest.rise >= 0.05) out.push(`warms neighbour ${hottest.rack} by ${fmt(hottest.rise)} °C`);
    if (s.job.tier === 'batch' && util > 0.3) out.push('consolidates batch work onto a busy rack');
    if (s.job.tier !== 'batch' && util < 0.3) out.push('spreads work onto a lightly used rack');
    return out;
  };
  return { rack, allocations, addKw, score, peakAfterC: worstAfter, reasons };
}

function headroomOf(
  s: Shared,
  rack: string,
  addKw: number,
  feedAdd: Map<string, number>,
  siteAdd: number,
): number {
  const place = s.ctx.index.racks.get(rack)!;
  let h = place.rack.powerCapKw - s.ctx.state.rackKw(rack) - addKw;
  for (const f of [place.rack.feeds.a, place.rack.feeds.b]) {
    const fcap = f ? s.feedCap.get(f) : undefined;
    if (f && fcap !== undefined) h = Math.min(h, fcap - (s.feeds.get(f) ?? 0) - (feedAdd.get(f) ?? 0));
  }
  const siteCap = s.ctx.index.site.powerCapKw;
  if (siteCap !== undefined) h = Math.min(h, siteCap - s.siteKw - siteAdd);
  return h;
}

function toCandidate(s: Shared, options: RackOption[]): Candidate | null {
  const feedAdd = new Map<string, number>();
  let siteAdd = 0;
  for (const o of options) {
    const p = s.ctx.index.racks.get(o.rack)!;
    for (const f of [p.rack.feeds.a, p.rack.feeds.b]) if (f) feedAdd.set(f, (feedAdd.get(f) ?? 0) + o.addKw);
    siteAdd += o.addKw;
  }
  // Parts on different racks may share a feed or the site cap: check the sum, not each alone.
  for (const [f, add] of feedAdd) {
    const fcap = s.feedCap.get(f);
    if (fcap !== undefined && (s.feeds.get(f) ?? 0) + add > fcap) return null;
  }
  const siteCap = s.ctx.index.site.powerCapKw;
  if (siteCap !== undefined && s.siteKw + siteAdd > siteCap) return null;
  const peaks = options.map((o) => o.peakAfterC).filter((v): v is number => v !== undefined);
  const first = options[0]!;
  return {
    rack: first.rack,
    racks: options.map((o) => o.rack),
    nodes: options.flatMap((o) => o.allocations.map((a) => ({ node: a.node, rack: a.rack, gpus: a.gpus }))),
    addedKw: Math.round(siteAdd * 1000) / 1000,
    score: Math.round((options.reduce((sum, o) => sum + o.score, 0) / options.length) * 10) / 10,
    predictedPeakInletC: peaks.length > 0 ? Math.round(Math.max(...peaks) * 100) / 100 : null,
    powerHeadroomKw:
      Math.round(Math.min(...options.map((o) => headroomOf(s, o.rack, o.addKw, feedAdd, siteAdd))) * 1000) /
      1000,
    reasons:
      options.length === 1
        ? first.reasons()
        : options.flatMap((o) => o.reasons().map((r) => `${o.rack}: ${r}`)),
  };
}

function shared(job: PlacementJob, ctx: PlacementContext): Shared {
  const feedCap = new Map(ctx.index.site.powerFeeds.map((f) => [f.id, f.capacityKw]));
  const sums = new Map<string, { sum: number; n: number }>();
  for (const [rack, place] of ctx.index.racks) {
    const t = ctx.thermal.predictedPeakC(rack);
    if (t === undefined) continue;
    const z = sums.get(place.zone) ?? { sum: 0, n: 0 };
    z.sum += t;
    z.n++;
    sums.set(place.zone, z);
  }
  const zoneInletC = new Map([...sums].map(([zone, z]) => [zone, z.sum / z.n]));
  return {
    ctx,
    job,
    feeds: feedLoads(ctx.index, ctx.state),
    feedCap,
    siteKw: ctx.state.siteItKw(),
    zoneInletC,
    zones: zoneCooling(ctx.index, ctx.state),
  };
}

export type NodeVerdict = { ok: true; score: number; reasons: string[] } | { ok: false; reason: string };

/**
 * Verdicts for putting `gpus` of the job on each named node (a Kubernetes pod lands on one node).
 * GPU bookkeeping is the scheduler's own here, so only power and heat are judged.
 * Nodes the site file does not know get no verdict.
 */
export function judgeNodes(
  job: PlacementJob,
  ctx: PlacementContext,
  nodeNames: readonly string[],
): Map<string, NodeVerdict> {
  const s = shared(job, ctx);
  const gpus = job.gpus ?? 0;
  const out = new Map<string, NodeVerdict>();
  for (const name of nodeNames) {
    const rack = ctx.index.nodeToRack.get(name);
    const node = rack ? ctx.state.nodesOf(rack).find((n) => n.name === name) : undefined;
    if (!rack || !node) continue;
    if (job.constraints.avoidRacks?.includes(rack)) {
      out.set(name, { ok: false, reason: `rack ${rack} is in avoidRacks` });
      continue;
    }
    const n = job.nodes !== undefined ? node.gpus : Math.min(gpus, node.gpus);
    // A pod on a node without GPUs adds nothing we can estimate; the node's base is already drawn.
    const kw = node.gpus > 0 ? nodeKw(node, n, job) : 0;
    const hot = ctx.thermal.hotspot(rack);
    const o = hot
      ? `${hot} hotspot active or forecast on rack ${rack}`
      : assessRack(s, rack, [{ node: name, rack, gpus: n, kw }]);
    out.set(
      name,
      typeof o === 'string' ? { ok: false, reason: o } : { ok: true, score: o.score, reasons: o.reasons() },
    );
  }
  return out;
}

/** The best candidate placements for a job, best first, and why other racks were refused. */
export function rankPlacements(job: PlacementJob, ctx: PlacementContext): PlacementRanking {
  const { index } = ctx;
  const avoid = new Set(job.constraints.avoidRacks ?? []);
  const zones = job.constraints.zones ? new Set(job.constraints.zones) : undefined;
  const s = shared(job, ctx);
  let largest = 0;
  for (const place of index.racks.values())
    for (const n of place.rack.nodes) largest = Math.max(largest, n.gpus);
  const parts = jobParts(job, largest);
  const rejected: Array<{ rack: string; reason: string }> = [];
  const options: RackOption[] = [];
  const perRackParts = job.spread ? [parts.reduce((a, b) => (b.gpus > a.gpus ? b : a))] : parts;
  for (const [rack, place] of index.racks) {
    if (place.rack.nodes.length === 0) continue;
    if (avoid.has(rack)) {
      rejected.push({ rack, reason: 'in avoidRacks' });
      continue;
    }
    if (zones && !zones.has(place.zone)) continue;
    const o = evaluateRack(s, rack, perRackParts);
    if (typeof o === 'string') rejected.push({ rack, reason: o });
    else options.push(o);
  }
  options.sort((a, b) => b.score - a.score || a.rack.localeCompare(b.rack));

  const candidates: Candidate[] = [];
  if (!job.spread) {
    for (const o of options) {
      if (candidates.length >= job.limit) break;
      const c = toCandidate(s, [o]);
      if (c) candidates.push(c);
    }
  } else {
    // Greedy per starting rack: the k-th best rack, then the best racks in unused domains.
    const seen = new Set<string>();
    for (let k = 0; k < options.length && candidates.length < job.limit; k++) {
      const chosen = [options[k]!];
      const used = new Set(domainKeys(index, options[k]!.rack, job.spread));
      for (const o of options) {
        if (chosen.length >= parts.length) break;
        const keys = domainKeys(index, o.rack, job.spread);
        if (keys.some((key) => used.has(key))) continue;
        chosen.push(o);
        for (const key of keys) used.add(key);
      }
      if (chosen.length < parts.length) continue;
      const key = chosen
        .map((o) => o.rack)
        .sort()
        .join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      // Each rack was scored for the largest replica; fit the actual replica sizes.
      const exact = chosen.map((o, i) => evaluateRack(s, o.rack, [parts[i]!]));
      if (exact.some((e) => typeof e === 'string')) continue;
      const c = toCandidate(s, exact as RackOption[]);
      if (c) candidates.push(c);
    }
  }
  return { candidates, rejected: rejected.slice(0, MAX_REJECTED_LISTED) };
}
