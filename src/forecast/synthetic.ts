/**
 * A small stand-in thermal plant that writes a SignalFrame directly (no telemetry round trip), for
 * forecast benchmarks and unit tests: zone supply temperatures, racks whose power follows a daily
 * cycle plus job steps, and inlets that approach `supply + own/neighbour recirculation` through a
 * first-order lag. The full simulator lives in src/sim; this is only big-and-fast test data.
 */
import { createFrame, deriveAggregates, type SignalFrame } from './features.ts';
import type { ForecastLayout } from './layout.ts';

export interface SyntheticOptions {
  slots: number;
  stepMs?: number;
  t0?: number;
  seed?: number;
  /** Inlet time constant, minutes. */
  tauMin?: number;
  /** Inlet rise per kW of own power, and per kW of layout-weighted neighbour power. */
  ownKPerKw?: number;
  nbrKPerKw?: number;
  /** Sensor noise (standard deviation), °C. */
  noiseC?: number;
  /** Per zone: a ramp of the supply temperature (°C per hour) starting at a slot, to make hotspots. */
  supplyRamp?: { zone: number; fromSlot: number; cPerHour: number };
}

/** Small deterministic PRNG (mulberry32) so tests are repeatable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticFrame(layout: ForecastLayout, o: SyntheticOptions): SignalFrame {
  const stepMs = o.stepMs ?? 60_000;
  const L = o.slots;
  const frame = createFrame(layout, L, o.t0 ?? Date.UTC(2024, 0, 1), stepMs);
  const rnd = prng(o.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const stepMin = stepMs / 60_000;
  const alpha = 1 - Math.exp(-stepMin / (o.tauMin ?? 4));
  const own = o.ownKPerKw ?? 0.05;
  const nbrK = o.nbrKPerKw ?? 0.04;
  const noise = o.noiseC ?? 0.05;
  const Z = layout.zoneIds.length;
  const n = layout.n;

  // Zone supply: setpoint with slow wander, plus an optional ramp.
  for (let z = 0; z < Z; z++) {
    let wander = 0;
    for (let t = 0; t < L; t++) {
      wander = 0.995 * wander + 0.02 * gauss();
      let v = 18 + 0.4 * z + wander;
      const ramp = o.supplyRamp;
      if (ramp && ramp.zone === z && t >= ramp.fromSlot)
        v += (ramp.cPerHour * (t - ramp.fromSlot) * stepMin) / 60;
      frame.supply[z * L + t] = v;
      frame.fan[z * L + t] = 60 + 5 * wander;
    }
  }
  // Rack power: daily cycle around a per-rack base, with job steps that start and end at random.
  const base = Float64Array.from({ length: n }, () => 4 + 8 * rnd());
  const job = new Float64Array(n);
  const power = new Float64Array(n);
  const state = new Float64Array(n);
  for (let t = 0; t < L; t++) {
    const ts = frame.t0 + t * stepMs;
    const daily = 1 + 0.25 * Math.sin((2 * Math.PI * ts) / 86_400_000);
    let site = 0;
    for (let i = 0; i < n; i++) {
      if (rnd() < 0.004 * stepMin) job[i] = job[i]! > 0 ? 0 : 2 + 6 * rnd();
      const p = Math.max(0.5, base[i]! * daily + job[i]! + 0.1 * gauss());
      power[i] = p;
      frame.power[i * L + t] = p;
      site += p;
    }
    frame.siteLoad[t] = site * 1.35;
    frame.outdoor[t] = 12 + 8 * Math.sin((2 * Math.PI * (ts - 6 * 3_600_000)) / 86_400_000);
    for (let i = 0; i < n; i++) {
      let nb = 0;
      for (let k = layout.nbrStart[i]!; k < layout.nbrStart[i + 1]!; k++)
        nb += layout.nbrW[k]! * power[layout.nbrCol[k]!]!;
      const eq = frame.supply[layout.zone[i]! * L + t]! + own * power[i]! + nbrK * nb + 0.3;
      state[i] = t === 0 ? eq : state[i]! + alpha * (eq - state[i]!);
      frame.inlet[i * L + t] = state[i]! + noise * gauss();
    }
  }
  deriveAggregates(frame, layout);
  return frame;
}
