/**
 * Off-peak batch windows: when a deferrable job should run so it costs least, never ending after
 * its deadline. Pure: prices, loads and reservations come in as functions.
 *
 * Cost of a slot = facility energy (IT plus cooling, P_cool = P_IT / CoP(T_supply)) × the tariff
 * price at the slot's local time, plus the demand charge on any rise of the month's peak facility
 * kW. Slots where the site cap (IT) would be crossed are not used. Carbon breaks ties.
 */

import type { LocalClock } from '../sim/clock.ts';
import { coefficientOfPerformance } from '../sim/physics.ts';
import type { TariffPricer } from '../sim/tariff.ts';

export const SLOT_MS = 15 * 60_000;
/** How far ahead a window may start; tariffs repeat weekly, forecasts fade long before this. */
export const MAX_LOOKAHEAD_MS = 14 * 24 * 3_600_000;

export interface WindowJob {
  powerKw: number;
  durationMin: number;
  earliestStart: number;
  deadline: number;
  pausable: boolean;
}

export interface WindowEnv {
  tariff: TariffPricer;
  clock: LocalClock;
  siteCapKw: number | undefined;
  /** Expected site IT load without this job at ts (kW). */
  baseItKw(ts: number): number;
  /** IT load of accepted reservations at ts (kW). */
  reservedKw(ts: number): number;
  /** Cooling supply temperature at ts (°C), for the CoP. */
  supplyC(ts: number): number;
  /** Highest facility demand already reached this month (kW). */
  monthPeakFacilityKw: number;
}

export interface Interval {
  startTs: number;
  endTs: number;
}

export interface WindowCost {
  energyKwh: number;
  coolingKwh: number;
  /** Energy charges plus the demand charge on the peak rise. */
  cost: number;
  demandCost: number;
  carbonKg: number;
}

export interface WindowPlan extends WindowCost {
  feasible: boolean;
  /** Highest facility kW planned in the horizon without this job; compare other runs against it. */
  plannedPeakKw: number;
  segments: Interval[];
  reason: string;
}

interface Slot extends Interval {
  /** Job facility kW in this slot. */
  facilityKw: number;
  /** Facility kW of everything else. */
  otherFacilityKw: number;
  pricePerKwh: number;
  carbon: number;
  fitsCap: boolean;
}

function slotAt(job: WindowJob, env: WindowEnv, startTs: number, endTs: number): Slot {
  const mid = startTs + (endTs - startTs) / 2;
  const coolFactor = 1 / coefficientOfPerformance(env.supplyC(mid));
  const otherIt = env.baseItKw(mid) + env.reservedKw(mid);
  const local = env.clock.at(startTs);
  return {
    startTs,
    endTs,
    facilityKw: job.powerKw * (1 + coolFactor),
    otherFacilityKw: otherIt * (1 + coolFactor),
    pricePerKwh: env.tariff.pricePerKwh(local),
    carbon: env.tariff.carbonGPerKwh(local),
    fitsCap: env.siteCapKw === undefined || otherIt + job.powerKw <= env.siteCapKw,
  };
}

/** Slots covering [from, to), cut at 15-minute boundaries. */
function slotsBetween(job: WindowJob, env: WindowEnv, from: number, to: number): Slot[] {
  const out: Slot[] = [];
  for (let t = from; t < to; ) {
    const next = Math.min(to, (Math.floor(t / SLOT_MS) + 1) * SLOT_MS);
    out.push(slotAt(job, env, t, next));
    t = next;
  }
  return out;
}

/** Cost of running on exactly these intervals. */
export function costOf(
  job: WindowJob,
  env: WindowEnv,
  intervals: readonly Interval[],
  /** Peak already planned elsewhere in the horizon (kW); the demand charge is on the rise above it. */
  plannedPeakKw = 0,
): WindowCost {
  let energyKwh = 0;
  let coolingKwh = 0;
  let cost = 0;
  let carbonKg = 0;
  let peakWith = 0;
  let peakWithout = 0;
  for (const iv of intervals) {
    for (const s of slotsBetween(job, env, iv.startTs, iv.endTs)) {
      const h = (s.endTs - s.startTs) / 3_600_000;
      energyKwh += job.powerKw * h;
      coolingKwh += (s.facilityKw - job.powerKw) * h;
      cost += s.facilityKw * h * s.pricePerKwh;
      carbonKg += (s.facilityKw * h * s.carbon) / 1000;
      peakWith = Math.max(peakWith, s.otherFacilityKw + s.facilityKw);
      peakWithout = Math.max(peakWithout, s.otherFacilityKw);
    }
  }
  // Only the rise this job causes above the month's peak (and above what others already plan).
  const ref = Math.max(env.monthPeakFacilityKw, peakWithout, plannedPeakKw);
  const demandCost = Math.max(0, peakWith - ref) * env.tariff.demandChargePerKw;
  return { energyKwh, coolingKwh, cost: cost + demandCost, demandCost, carbonKg };
}

/** Merges touching intervals, in time order. */
export function mergeIntervals(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a.startTs - b.startTs);
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && iv.startTs <= last.endTs) last.endTs = Math.max(last.endTs, iv.endTs);
    else out.push({ ...iv });
  }
  return out;
}

const infeasible = (reason: string): WindowPlan => ({
  feasible: false,
  plannedPeakKw: 0,
  segments: [],
  reason,
  energyKwh: 0,
  coolingKwh: 0,
  cost: 0,
  demandCost: 0,
  carbonKg: 0,
});

/** The cheapest way to run the job between earliestStart and deadline. */
export function planWindow(job: WindowJob, env: WindowEnv): WindowPlan {
  const durMs = Math.round(job.durationMin * 60_000);
  const from = job.earliestStart;
  const to = Math.min(job.deadline, from + MAX_LOOKAHEAD_MS + durMs);
  if (from + durMs > job.deadline)
    return infeasible('the job does not fit between earliestStart and deadline');
  return job.pausable ? planPausable(job, env, from, to, durMs) : planContiguous(job, env, from, to, durMs);
}

function planContiguous(job: WindowJob, env: WindowEnv, from: number, to: number, durMs: number): WindowPlan {
  // Starts: earliestStart, then every slot boundary after it, while the run still ends by `to`.
  // Slot prices are looked up once; each start's cost is a prefix-sum difference plus a partial slot.
  const grid = slotsBetween(job, env, from, to);
  const n = grid.length;
  const slotCost = grid.map((s) => ((s.facilityKw * (s.endTs - s.startTs)) / 3_600_000) * s.pricePerKwh);
  const slotCarbon = grid.map((s) => (s.facilityKw * (s.endTs - s.startTs) * s.carbon) / 3_600_000 / 1000);
  const pre = [0];
  const preCarbon = [0];
  const preBad = [0];
  for (let i = 0; i < n; i++) {
    pre.push(pre[i]! + slotCost[i]!);
    preCarbon.push(preCarbon[i]! + slotCarbon[i]!);
    preBad.push(preBad[i]! + (grid[i]!.fitsCap ? 0 : 1));
  }
  const charge = env.tariff.demandChargePerKw;
  // The month's bill is on the highest peak anywhere, so a rise only costs above the planned peak.
  const planned = grid.reduce((m, s) => Math.max(m, s.otherFacilityKw), 0);
  let best: { cost: number; carbon: number; iv: Interval } | undefined;
  let j = 0;
  for (let i = 0; i < n; i++) {
    const start = grid[i]!.startTs;
    const end = start + durMs;
    if (end > to) break;
    while (j < n - 1 && grid[j]!.endTs < end) j++;
    if (preBad[j + 1]! - preBad[i]! > 0) continue;
    const last = grid[j]!;
    const fraction = (end - last.startTs) / (last.endTs - last.startTs);
    let cost = pre[j]! - pre[i]! + slotCost[j]! * fraction;
    const carbon = preCarbon[j]! - preCarbon[i]! + slotCarbon[j]! * fraction;
    if (charge > 0) {
      let peakWith = 0;
      let peakWithout = 0;
      for (let k = i; k <= j; k++) {
        peakWith = Math.max(peakWith, grid[k]!.otherFacilityKw + grid[k]!.facilityKw);
        peakWithout = Math.max(peakWithout, grid[k]!.otherFacilityKw);
      }
      cost += Math.max(0, peakWith - Math.max(env.monthPeakFacilityKw, peakWithout, planned)) * charge;
    }
    // Cheaper wins; within a cent, lower carbon; then earlier.
    if (
      !best ||
      cost < best.cost - 0.005 ||
      (Math.abs(cost - best.cost) <= 0.005 && carbon < best.carbon - 1e-9)
    ) {
      best = { cost, carbon, iv: { startTs: start, endTs: end } };
    }
  }
  if (!best) return infeasible('every start before the deadline would cross the site power cap');
  return {
    ...costOf(job, env, [best.iv], planned),
    plannedPeakKw: planned,
    feasible: true,
    segments: [best.iv],
    reason: 'cheapest contiguous run before the deadline',
  };
}

function planPausable(job: WindowJob, env: WindowEnv, from: number, to: number, durMs: number): WindowPlan {
  const all = slotsBetween(job, env, from, to);
  const planned = all.reduce((m, s) => Math.max(m, s.otherFacilityKw), 0);
  const slots = all.filter((s) => s.fitsCap);
  const rank = (s: Slot) => {
    const h = 1 / 60; // per minute, so partial slots compare fairly
    const ref = Math.max(env.monthPeakFacilityKw, s.otherFacilityKw, planned);
    const demand = Math.max(0, s.otherFacilityKw + s.facilityKw - ref) * env.tariff.demandChargePerKw;
    return s.facilityKw * h * s.pricePerKwh + demand / ((s.endTs - s.startTs) / 60_000);
  };
  const ordered = slots
    .map((s) => ({ s, r: rank(s) }))
    .sort((a, b) => a.r - b.r || a.s.carbon - b.s.carbon || a.s.startTs - b.s.startTs);
  const chosen: Interval[] = [];
  let need = durMs;
  for (const { s } of ordered) {
    if (need <= 0) break;
    const use = Math.min(need, s.endTs - s.startTs);
    chosen.push({ startTs: s.startTs, endTs: s.startTs + use });
    need -= use;
  }
  if (need > 0) return infeasible('not enough time under the site power cap before the deadline');
  const segments = mergeIntervals(chosen);
  return {
    ...costOf(job, env, segments, planned),
    plannedPeakKw: planned,
    feasible: true,
    segments,
    reason: 'cheapest slots before the deadline, paused in between',
  };
}
