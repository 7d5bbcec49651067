/** Which nodes of a rack a job's parts take, and how a job splits into parts. Pure. */
import type { SiteIndex } from '../config/siteIndex.ts';
import { type PlacementJob, PROFILE_LOAD } from './schemas.ts';
import type { NodeAllocation, NodeView } from './state.ts';

export interface Part {
  gpus: number;
  wholeNode: boolean;
}

export function jobParts(job: PlacementJob, largestNodeGpus: number): Part[] {
  if (job.nodes !== undefined) return Array.from({ length: job.nodes }, () => ({ gpus: 0, wholeNode: true }));
  const gpus = job.gpus ?? 0;
  if (!job.spread) return [{ gpus, wholeNode: false }];
  const replicas = Math.min(
    gpus,
    job.replicas ?? Math.max(1, Math.ceil(gpus / Math.max(1, largestNodeGpus))),
  );
  return Array.from({ length: replicas }, (_, i) => ({
    gpus: Math.floor(gpus / replicas) + (i < gpus % replicas ? 1 : 0),
    wholeNode: false,
  }));
}

export function domainKeys(index: SiteIndex, rack: string, domain: PlacementJob['spread']): string[] {
  const p = index.racks.get(rack)!;
  switch (domain) {
    case 'row':
      return [`${p.room}/${p.row}`];
    case 'room':
      return [p.room];
    case 'feed':
      return [p.rack.feeds.a, ...(p.rack.feeds.b ? [p.rack.feeds.b] : [])];
    default:
      return [rack];
  }
}

/** Chooses nodes in one rack for the parts; null when they do not fit. */
export function nodeKw(n: NodeView, gpus: number, job: PlacementJob): number {
  const perGpu = job.powerPerGpuKw ?? n.gpuKw * PROFILE_LOAD[job.profile];
  return gpus * perGpu + (n.gpus > 0 ? (n.baseKw * gpus) / n.gpus : n.baseKw);
}

export function chooseNodes(
  nodes: readonly NodeView[],
  parts: Part[],
  job: PlacementJob,
): NodeAllocation[] | null {
  // Fast path for the common request (some GPUs, one rack): one scan, no allocation.
  if (parts.length === 1 && !parts[0]!.wholeNode) {
    const need = parts[0]!.gpus;
    let pick: NodeView | undefined;
    for (const n of nodes) {
      if (n.freeGpus < need) continue;
      if (!pick || (job.tier === 'batch' ? n.freeGpus < pick.freeGpus : n.freeGpus > pick.freeGpus)) pick = n;
    }
    if (pick) return [{ node: pick.name, rack: pick.rack, gpus: need, kw: nodeKw(pick, need, job) }];
  }
  const free = new Map(nodes.map((n) => [n.name, n.freeGpus]));
  const perGpu = (n: NodeView) => job.powerPerGpuKw ?? n.gpuKw * PROFILE_LOAD[job.profile];
  const kwFor = (n: NodeView, gpus: number) =>
    gpus * perGpu(n) + (n.gpus > 0 ? (n.baseKw * gpus) / n.gpus : n.baseKw);
  const out: NodeAllocation[] = [];
  const take = (n: NodeView, gpus: number) => {
    free.set(n.name, (free.get(n.name) ?? 0) - gpus);
    const prev = out.find((a) => a.node === n.name);
    if (prev) {
      prev.gpus += gpus;
      prev.kw += kwFor(n, gpus);
    } else out.push({ node: n.name, rack: n.rack, gpus, kw: kwFor(n, gpus) });
  };
  for (const part of parts) {
    if (part.wholeNode) {
      const n = nodes.find((x) => x.gpus > 0 && free.get(x.name) === x.gpus);
      if (!n) return null;
      take(n, n.gpus);
      continue;
    }
    // One node when one fits: batch takes the tightest fit (packs), others the roomiest (spreads).
    const fits = nodes.filter((x) => (free.get(x.name) ?? 0) >= part.gpus);
    if (fits.length > 0) {
      fits.sort((x, y) => (free.get(x.name) ?? 0) - (free.get(y.name) ?? 0));
      take(job.tier === 'batch' ? fits[0]! : fits[fits.length - 1]!, part.gpus);
      continue;
    }
    // Otherwise across the rack's nodes, fullest-free first so the job spans as few as possible.
    const byFree = [...nodes]
      .filter((x) => (free.get(x.name) ?? 0) > 0)
      .sort((x, y) => (free.get(y.name) ?? 0) - (free.get(x.name) ?? 0));
    let need = part.gpus;
    for (const n of byFree) {
      if (need <= 0) break;
      const g = Math.min(need, free.get(n.name) ?? 0);
      take(n, g);
      need -= g;
    }
    if (need > 0) return null;
  }
  return out;
}
