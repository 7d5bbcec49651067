/**
 * Feature vectors per rack and time slot, built the same way from a training history and from the
 * forecaster's rolling state: both are a `SignalFrame` (flat arrays, one slot per step, NaN where
 * nothing was measured). Features carry the physics of `T_in = T_supply + Σ D·P` approached through
 * a lag: recent inlet change, own/neighbour/aisle/zone power, the gap between zone supply and inlet,
 * cooling state, site load, outdoor temperature, time of day. The target is the inlet change to
 * t + horizon (better conditioned than the level).
 *
 * Supply temperature enters only as `supply − inlet`: normal operation holds supply near its
 * setpoint, so a separately fitted supply coefficient would be unidentified and extrapolate wildly
 * when a cooling unit fails; the gap's coefficient is learned from ordinary inlet movements and
 * carries over. The inlet level itself is a feature only for tiers without supply. The supply
 * slope is not fitted at all: it drives the physical trend term (see `physics.ts`).
 */
import type { ForecastLayout } from './layout.ts';
import { PHYSICS_TAU_MIN } from './physics.ts';

export const FEATURES = [
  'inlet_c',
  'inlet_d1m',
  'inlet_d2m',
  'inlet_d5m',
  'inlet_slope10m',
  'zone_inlet_d2m',
  'power_kw',
  'power_d5m',
  'nbr_power_kw',
  'nbr_power_d5m',
  'aisle_power_kw',
  'zone_power_kw',
  'supply_gap_c',
  'supply_slope10m',
  'supply_unclosed_c',
  'cooling_fan_pct',
  'site_power_kw',
  'outdoor_c',
  'tod_sin',
  'tod_cos',
  'inlet_dev10m',
  'inlet_dev20m',
  'zone_inlet_dev20m',
  'power_dev20m',
  'nbr_power_dev20m',
  'aisle_power_dev20m',
  'zone_power_dev20m',
  'supply_dev20m',
  'supply_mean20m_c',
] as const;
export type FeatureName = (typeof FEATURES)[number];
export const F = FEATURES.length;
export const FEATURE_INDEX: Readonly<Record<FeatureName, number>> = Object.fromEntries(
  FEATURES.map((f, i) => [f, i]),
) as Record<FeatureName, number>;

/** Input groups: a feature is usable only when its whole group is. Bits of an availability mask. */
export const GROUP = {
  /** The current inlet (every forecast starts from it). */
  inletNow: 1,
  inletHistory: 2,
  power: 4,
  supply: 8,
  coolingState: 16,
  siteLoad: 32,
  outdoor: 64,
  time: 128,
  /** The inlet level as a fitted feature: present with inletNow, used only by tiers without supply. */
  inletLevel: 256,
  /** Computed but never fitted (the supply slope feeds the trend term). */
  structural: 512,
} as const;
export type GroupName = keyof typeof GROUP;
export const ALL_GROUPS = 1023;
export const MASKS = 1024;
/** Slow, minor inputs: when missing, the training mean stands in (and the output says so). */
export const IMPUTABLE_GROUPS = GROUP.coolingState | GROUP.siteLoad | GROUP.outdoor;

const G = GROUP;
export const FEATURE_GROUP: readonly number[] = [
  G.inletLevel,
  G.inletHistory,
  G.inletHistory,
  G.inletHistory,
  G.inletHistory,
  G.inletHistory,
  G.power,
  G.power,
  G.power,
  G.power,
  G.power,
  G.power,
  G.supply,
  G.structural,
  G.structural,
  G.coolingState,
  G.siteLoad,
  G.outdoor,
  G.time,
  G.time,
  G.inletHistory,
  G.inletHistory,
  G.inletHistory,
  G.power,
  G.power,
  G.power,
  G.power,
  G.supply,
  G.structural,
];

/** Model tiers in order of preference; the forecaster takes the first whose inputs are all present. */
const BASE = ALL_GROUPS & ~G.structural;
export const TIERS = [
  { name: 'full', groups: BASE & ~G.inletLevel },
  { name: 'no_supply_temp', groups: BASE & ~G.supply },
  { name: 'no_power', groups: BASE & ~G.power & ~G.inletLevel },
  { name: 'inlet_history', groups: G.inletNow | G.inletLevel | G.inletHistory | IMPUTABLE_GROUPS | G.time },
  // Persistence: the current inlet carried forward, with an interval from its own held-out errors.
  { name: 'persistence', groups: G.inletNow },
] as const;
export type TierName = (typeof TIERS)[number]['name'];
export const T = TIERS.length;
export const PERSISTENCE_TIER = T - 1;

/** Features a tier uses (indices into FEATURES). */
export function tierFeatures(tier: number): number[] {
  const groups = TIERS[tier]!.groups;
  if (tier === PERSISTENCE_TIER) return [];
  return FEATURES.map((_, j) => j).filter((j) => (FEATURE_GROUP[j]! & groups) !== 0);
}

/** Whether the tier uses supply temperature (and so the supply trend term). */
export function tierHasSupply(tier: number): boolean {
  return (TIERS[tier]!.groups & G.supply) !== 0;
}

/** Inputs a tier cannot do without (imputable groups are filled in, never required). */
export function tierRequired(tier: number): number {
  return TIERS[tier]!.groups & ~IMPUTABLE_GROUPS;
}

/** Lags in slots for a step length; features are defined in minutes so any resolution works. */
export interface LagSlots {
  d1: number;
  d2: number;
  d5: number;
  slope: number;
  /**
   * Window of the means the `*_dev20m` features de-noise with. With the inlet's and its drivers'
   * deviations together the fit takes the inlet's usual offset from its drivers as a 20-minute mean
   * and adds the drivers' current values: a less noisy start than one reading. Longer windows
   * de-noise more but hold on to a level that really shifted (a containment door left open): with
   * 60 minutes the lab's held-back window, which has such a door, forecast worse than persistence
   * at 5 minutes.
   */
  long: number;
  /** Fewest points a window mean needs (half the slope window), so a short history still forecasts. */
  minPoints: number;
  /** Slots of history a feature vector reaches back. */
  lookback: number;
  slotsPerMin: number;
  /** Per-slot step of the PHYSICS_TAU_MIN lag filter. */
  lagAlpha: number;
}

export function lagSlots(stepMs: number): LagSlots {
  const s = (min: number) => Math.max(1, Math.round((min * 60_000) / stepMs));
  const slope = s(10);
  const long = s(20);
  return {
    d1: s(1),
    d2: s(2),
    d5: s(5),
    slope,
    long,
    minPoints: Math.ceil((slope + 2) / 2),
    lookback: long,
    slotsPerMin: 60_000 / stepMs,
    lagAlpha: 1 - Math.exp(-stepMs / (PHYSICS_TAU_MIN * 60_000)),
  };
}

/**
 * Aligned signals, one value per slot (mean over the slot, NaN when unmeasured or stale).
 * Rack signals are [rack * stride + slot], zone signals [zone * stride + slot], site signals [slot].
 */
export interface SignalFrame {
  readonly stride: number;
  /** Start time of slot 0, ms. */
  readonly t0: number;
  readonly stepMs: number;
  readonly inlet: Float32Array;
  readonly power: Float32Array;
  readonly supply: Float32Array;
  readonly fan: Float32Array;
  readonly siteLoad: Float32Array;
  readonly outdoor: Float32Array;
  /**
   * Derived by `deriveAggregates`: mean rack power per zone and aisle, mean inlet and mean 2-min
   * inlet change per zone, and per rack the layout-weighted neighbour power.
   */
  readonly zonePower: Float32Array;
  readonly aislePower: Float32Array;
  readonly zoneInlet: Float32Array;
  readonly zoneInletD2: Float32Array;
  readonly nbrPower: Float32Array;
  /** 20-minute means (`lagSlots().long`, NaN with fewer than `minPoints`), for the `*_dev20m` features. */
  readonly long: {
    readonly inlet: Float32Array;
    readonly power: Float32Array;
    readonly nbrPower: Float32Array;
    readonly zoneInlet: Float32Array;
    readonly zonePower: Float32Array;
    readonly aislePower: Float32Array;
    readonly supply: Float32Array;
  };
}

export function createFrame(layout: ForecastLayout, stride: number, t0: number, stepMs: number): SignalFrame {
  const rack = () => new Float32Array(layout.n * stride).fill(Number.NaN);
  const zone = () => new Float32Array(layout.zoneIds.length * stride).fill(Number.NaN);
  const aisle = () => new Float32Array(layout.aisleCount * stride).fill(Number.NaN);
  const site = () => new Float32Array(stride).fill(Number.NaN);
  return {
    stride,
    t0,
    stepMs,
    inlet: rack(),
    power: rack(),
    supply: zone(),
    fan: zone(),
    siteLoad: site(),
    outdoor: site(),
    zonePower: zone(),
    aislePower: aisle(),
    zoneInlet: zone(),
    zoneInletD2: zone(),
    nbrPower: rack(),
    long: {
      inlet: rack(),
      power: rack(),
      nbrPower: rack(),
      zoneInlet: zone(),
      zonePower: zone(),
      aislePower: aisle(),
      supply: zone(),
    },
  };
}

/** Fill the aggregates for slots [from, to) from the rack signals (means over racks that report). */
export function deriveAggregates(
  frame: SignalFrame,
  layout: ForecastLayout,
  from = 0,
  to = frame.stride,
): void {
  const { stride, inlet, power } = frame;
  const Z = layout.zoneIds.length;
  const A = layout.aisleCount;
  const d2 = lagSlots(frame.stepMs).d2;
  const zSum = new Float64Array(Z);
  const zCnt = new Float64Array(Z);
  const aSum = new Float64Array(A);
  const aCnt = new Float64Array(A);
  const dSum = new Float64Array(Z);
  const dCnt = new Float64Array(Z);
  const iSum = new Float64Array(Z);
  const iCnt = new Float64Array(Z);
  for (let t = from; t < to; t++) {
    zSum.fill(0);
    zCnt.fill(0);
    aSum.fill(0);
    aCnt.fill(0);
    dSum.fill(0);
    dCnt.fill(0);
    iSum.fill(0);
    iCnt.fill(0);
    for (let i = 0; i < layout.n; i++) {
      const base = i * stride;
      const z = layout.zone[i]!;
      frame.nbrPower[base + t] = neighbourPower(frame, layout, i, t);
      const now = inlet[base + t]!;
      if (!Number.isNaN(now)) {
        iSum[z]! += now;
        iCnt[z]!++;
      }
      const p = power[base + t]!;
      if (!Number.isNaN(p)) {
        zSum[z]! += p;
        zCnt[z]!++;
        const a = layout.aisle[i]!;
        aSum[a]! += p;
        aCnt[a]!++;
      }
      if (t >= d2) {
        const d = inlet[base + t]! - inlet[base + t - d2]!;
        if (!Number.isNaN(d)) {
          dSum[z]! += d;
          dCnt[z]!++;
        }
      }
    }
    for (let z = 0; z < Z; z++) {
      frame.zonePower[z * stride + t] = zCnt[z]! > 0 ? zSum[z]! / zCnt[z]! : Number.NaN;
      frame.zoneInletD2[z * stride + t] = dCnt[z]! > 0 ? dSum[z]! / dCnt[z]! : Number.NaN;
      frame.zoneInlet[z * stride + t] = iCnt[z]! > 0 ? iSum[z]! / iCnt[z]! : Number.NaN;
    }
    for (let a = 0; a < A; a++)
      frame.aislePower[a * stride + t] = aCnt[a]! > 0 ? aSum[a]! / aCnt[a]! : Number.NaN;
  }
  const { long: w, minPoints } = lagSlots(frame.stepMs);
  const mean = (src: Float32Array, dst: Float32Array, entities: number) =>
    rollingMean(src, dst, entities, stride, from, to, w, minPoints);
  const m = frame.long;
  mean(inlet, m.inlet, layout.n);
  mean(power, m.power, layout.n);
  mean(frame.nbrPower, m.nbrPower, layout.n);
  mean(frame.zoneInlet, m.zoneInlet, Z);
  mean(frame.zonePower, m.zonePower, Z);
  mean(frame.aislePower, m.aislePower, A);
  mean(frame.supply, m.supply, Z);
}

/**
 * dst[t] = mean of src over slots [t − w, t] (clipped at slot 0; NaN slots skipped), for t in
 * [from, to) of every entity; NaN with fewer than `minPoints`. A running sum: O(slots), not O(slots · w).
 */
export function rollingMean(
  src: Float32Array,
  dst: Float32Array,
  entities: number,
  stride: number,
  from: number,
  to: number,
  w: number,
  minPoints: number,
): void {
  for (let e = 0; e < entities; e++) {
    const base = e * stride;
    let sum = 0;
    let n = 0;
    const start = Math.max(0, from - w);
    for (let k = start; k < from; k++) {
      const v = src[base + k]!;
      if (!Number.isNaN(v)) {
        sum += v;
        n++;
      }
    }
    for (let t = from; t < to; t++) {
      const v = src[base + t]!;
      if (!Number.isNaN(v)) {
        sum += v;
        n++;
      }
      const out = t - w - 1;
      if (out >= start) {
        const o = src[base + out]!;
        if (!Number.isNaN(o)) {
          sum -= o;
          n--;
        }
      }
      dst[base + t] = n >= minPoints ? sum / n : Number.NaN;
    }
  }
}

const TWO_PI_PER_DAY = (2 * Math.PI) / 86_400_000;

/**
 * Layout-weighted neighbour power at a slot, scaled up for neighbours that do not report;
 * NaN when less than half the neighbour weight reports. A rack without neighbours gets 0.
 */
function neighbourPower(frame: SignalFrame, layout: ForecastLayout, i: number, t: number): number {
  const start = layout.nbrStart[i]!;
  const end = layout.nbrStart[i + 1]!;
  if (start === end) return 0;
  let sum = 0;
  let wAll = 0;
  let wSeen = 0;
  for (let k = start; k < end; k++) {
    const w = layout.nbrW[k]!;
    wAll += w;
    const p = frame.power[layout.nbrCol[k]! * frame.stride + t]!;
    if (!Number.isNaN(p)) {
      sum += w * p;
      wSeen += w;
    }
  }
  return wSeen * 2 >= wAll ? (sum * wAll) / wSeen : Number.NaN;
}

/**
 * Supply change the inlet has not followed yet: supply now minus supply passed through a first-order
 * lag of PHYSICS_TAU_MIN over the look-back window (started at its first value). NaN without supply now.
 */
export function unclosedChange(signal: Float32Array, base: number, t: number, lags: LagSlots): number {
  const now = signal[base + t]!;
  if (Number.isNaN(now)) return Number.NaN;
  let lagged = Number.NaN;
  for (let k = lags.slope; k >= 0; k--) {
    const v = signal[base + t - k]!;
    if (Number.isNaN(v)) continue;
    lagged = Number.isNaN(lagged) ? v : lagged + lags.lagAlpha * (v - lagged);
  }
  return now - lagged;
}

/**
 * The signal now minus its mean over slots [t - w, t]; NaN with fewer than half the points. With the
 * window's slope this spans the local linear fit's level at t, so the ridge can start from a
 * de-noised level instead of the noisy reading (sensor noise otherwise enters every forecast one to one).
 */
export function deviationFromMean(signal: Float32Array, base: number, t: number, w: number): number {
  const now = signal[base + t]!;
  if (Number.isNaN(now)) return Number.NaN;
  let n = 0;
  let sum = 0;
  // Never before slot 0: a frame shorter than the window gives fewer points, not another rack's.
  for (let k = 0, kMax = Math.min(w, t); k <= kMax; k++) {
    const y = signal[base + t - k]!;
    if (Number.isNaN(y)) continue;
    n++;
    sum += y;
  }
  return n * 2 < w + 2 ? Number.NaN : now - sum / n;
}

/** Least-squares slope of a signal over slots [t - w, t], per minute; NaN with fewer than half the points. */
function slopeOf(signal: Float32Array, base: number, t: number, lags: LagSlots): number {
  const w = lags.slope;
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let k = 0; k <= w; k++) {
    const y = signal[base + t - k]!;
    if (Number.isNaN(y)) continue;
    const x = -k;
    n++;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  if (n * 2 < w + 2) return Number.NaN;
  const den = n * sxx - sx * sx;
  return den > 0 ? ((n * sxy - sx * sy) / den) * lags.slotsPerMin : Number.NaN;
}

/**
 * Write rack i's features at slot t into `out` (length F) and return the availability mask
 * (GROUP bits). Features of an unavailable group are left NaN. Needs t >= lags.lookback.
 */
export function buildFeatures(
  frame: SignalFrame,
  layout: ForecastLayout,
  i: number,
  t: number,
  lags: LagSlots,
  out: Float64Array,
): number {
  const s = frame.stride;
  const base = i * s;
  const z = layout.zone[i]! * s;
  const inlet = frame.inlet;
  let mask = GROUP.time;

  const now = inlet[base + t]!;
  out[0] = now;
  if (!Number.isNaN(now)) mask |= GROUP.inletNow | GROUP.inletLevel;

  const d1 = now - inlet[base + t - lags.d1]!;
  const d2 = now - inlet[base + t - lags.d2]!;
  const d5 = now - inlet[base + t - lags.d5]!;
  const slope = slopeOf(frame.inlet, base, t, lags);
  const zoneD2 = frame.zoneInletD2[z + t]!;
  const dev = deviationFromMean(inlet, base, t, lags.slope);
  out[20] = dev;
  const long = frame.long;
  const dev20 = now - long.inlet[base + t]!;
  const zoneDev20 = frame.zoneInlet[z + t]! - long.zoneInlet[z + t]!;
  out[21] = dev20;
  out[22] = zoneDev20;
  out[1] = d1;
  out[2] = d2;
  out[3] = d5;
  out[4] = slope;
  out[5] = zoneD2;
  // A sum is NaN when any term is: one check per group, no allocation in this hot path.
  if (!Number.isNaN(d1 + d2 + d5 + slope + zoneD2 + dev + dev20 + zoneDev20)) mask |= GROUP.inletHistory;

  const p = frame.power[base + t]!;
  const pd5 = p - frame.power[base + t - lags.d5]!;
  const nb = frame.nbrPower[base + t]!;
  const nbd5 = nb - frame.nbrPower[base + t - lags.d5]!;
  const a = layout.aisle[i]! * s;
  const ap = frame.aislePower[a + t]!;
  const zp = frame.zonePower[z + t]!;
  const pDev = p - long.power[base + t]!;
  const nbDev = nb - long.nbrPower[base + t]!;
  const apDev = ap - long.aislePower[a + t]!;
  const zpDev = zp - long.zonePower[z + t]!;
  out[6] = p;
  out[7] = pd5;
  out[8] = nb;
  out[9] = nbd5;
  out[10] = ap;
  out[11] = zp;
  out[23] = pDev;
  out[24] = nbDev;
  out[25] = apDev;
  out[26] = zpDev;

  if (!Number.isNaN(pd5 + nbd5 + ap + zp + pDev + nbDev + apDev + zpDev)) mask |= GROUP.power;

  const gap = frame.supply[z + t]! - now;
  const supSlope = slopeOf(frame.supply, z, t, lags);
  const unclosed = unclosedChange(frame.supply, z, t, lags);
  const supDev = frame.supply[z + t]! - long.supply[z + t]!;
  out[12] = gap;
  out[13] = supSlope;
  out[14] = unclosed;
  out[27] = supDev;
  out[28] = long.supply[z + t]!;
  if (!Number.isNaN(gap) && !Number.isNaN(supSlope) && !Number.isNaN(unclosed) && !Number.isNaN(supDev))
    mask |= GROUP.supply | GROUP.structural;

  const fan = frame.fan[z + t]!;
  out[15] = fan;
  if (!Number.isNaN(fan)) mask |= GROUP.coolingState;
  const load = frame.siteLoad[t]!;
  out[16] = load;
  if (!Number.isNaN(load)) mask |= GROUP.siteLoad;
  const outdoor = frame.outdoor[t]!;
  out[17] = outdoor;
  if (!Number.isNaN(outdoor)) mask |= GROUP.outdoor;

  const phase = (frame.t0 + t * frame.stepMs) * TWO_PI_PER_DAY;
  out[18] = Math.sin(phase);
  out[19] = Math.cos(phase);
  return mask;
}

/** Replace features of missing imputable groups with their training means, in place. */
export function imputeMissing(x: Float64Array, mask: number, means: ArrayLike<number>): void {
  if ((mask & IMPUTABLE_GROUPS) === IMPUTABLE_GROUPS) return;
  for (let j = 0; j < F; j++) {
    if ((FEATURE_GROUP[j]! & IMPUTABLE_GROUPS) !== 0 && (FEATURE_GROUP[j]! & mask) === 0) x[j] = means[j]!;
  }
}
