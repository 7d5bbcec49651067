/**
 * Placement policies: where a job without a pinned rack goes. The simulator calls the policy when
 * the job is due; a benchmark replays one job trace under several policies and compares metrics.
 * The built-ins are the baselines a scheduler uses today; Hotaisle's own ranking plugs in the same way.
 */
import type { JobSpec } from './jobs.ts';
import { Rng } from './random.ts';

/** What a placement policy may look at. Arrays are indexed like `rackIds`; do not modify them. */
export interface PlacementView {
  readonly now: number;
  readonly rackIds: readonly string[];
  readonly freeGpus: ArrayLike<number>;
  readonly totalGpus: ArrayLike<number>;
  readonly inletC: ArrayLike<number>;
  readonly powerKw: ArrayLike<number>;
  readonly powerCapKw: ArrayLike<number>;
  readonly zone: ArrayLike<number>;
}

/** Picks a rack id for an unpinned job, or null to keep it waiting. */
export type PlacementPolicy = (job: Readonly<JobSpec>, view: PlacementView) => string | null;

/**
 * Random rack among those with enough free GPUs (a scheduler that ignores temperature).
 * A few random probes find a fit at once in a hall with room; a full scan settles the rest.
 */
export function randomFit(seed: number): PlacementPolicy {
  const rng = new Rng(seed, 'placement');
  return (job, view) => {
    const n = view.rackIds.length;
    for (let probe = 0; probe < 16; probe++) {
      const i = rng.int(n);
      if (view.freeGpus[i]! >= job.gpus) return view.rackIds[i]!;
    }
    let chosen = -1;
    let seen = 0;
    for (let i = 0; i < n; i++) {
      if (view.freeGpus[i]! < job.gpus) continue;
      seen++;
      if (rng.int(seen) === 0) chosen = i; // reservoir sampling: one pass, uniform choice
    }
    return chosen < 0 ? null : view.rackIds[chosen]!;
  };
}

/** First rack in site order with enough free GPUs (packs rows from the start). */
export const firstFit: PlacementPolicy = (job, view) => {
  for (let i = 0; i < view.rackIds.length; i++) if (view.freeGpus[i]! >= job.gpus) return view.rackIds[i]!;
  return null;
};

/** The rack with the coolest inlet among those with enough free GPUs. */
export const coolestInletFit: PlacementPolicy = (job, view) => {
  let best = -1;
  for (let i = 0; i < view.rackIds.length; i++) {
    if (view.freeGpus[i]! < job.gpus) continue;
    if (best < 0 || view.inletC[i]! < view.inletC[best]!) best = i;
  }
  return best < 0 ? null : view.rackIds[best]!;
};
