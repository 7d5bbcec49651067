/**
 * What the sensors report, as opposed to the true state: Gaussian noise, random dropouts, and
 * faults a scenario injects (a stuck sensor repeating one value, a sensor offline, a biased or
 * noisy sensor). Noise is counter-based — a hash of (seed, sensor, time) — so the readings at a
 * given time are the same however often, or in whatever order, they are taken.
 */
import { METRICS, type TargetKind } from '../config/schema.ts';
import type { Reading } from '../telemetry/reading.ts';
import { hashNormal, hashUnit } from './random.ts';

export interface SensorOptions {
  /** σ of temperature noise, K. */
  noiseC: number;
  /** σ of power noise, % of the value. */
  powerNoisePct: number;
  /** σ of fan speed noise, percentage points. */
  fanNoisePct: number;
  /** Chance that any one reading is missing. */
  dropoutRate: number;
}

export const DEFAULT_SENSORS: SensorOptions = {
  noiseC: 0.1,
  powerNoisePct: 0.5,
  fanNoisePct: 0.5,
  dropoutRate: 0,
};

export type SensorFaultKind = 'stuck' | 'dropout' | 'offset' | 'noise';

export interface SensorFault {
  kind: SensorFaultKind;
  /** stuck: the value it repeats (captured when the fault began). */
  stuckValue?: number;
  /** offset: added to the true value (in the metric's unit). */
  offset?: number;
  /** noise: σ of the extra noise (in the metric's unit). */
  sigma?: number;
  untilTs: number;
}

/** The metrics each target kind reports (the simulator does not model humidity). */
export const SIM_METRICS: Record<TargetKind, readonly string[]> = {
  rack: METRICS.rack.filter((m) => m !== 'humidity_pct'),
  cooling: METRICS.cooling,
  site: METRICS.site,
};

export function sensorKey(kind: TargetKind, target: string, metric: string): string {
  return `${kind}/${target}/${metric}`;
}

export class SensorModel {
  private readonly faults = new Map<string, SensorFault>();

  constructor(
    readonly options: SensorOptions,
    private readonly seed: number,
  ) {}

  setFault(key: string, fault: SensorFault): void {
    this.faults.set(key, fault);
  }

  clearFault(key: string): void {
    this.faults.delete(key);
  }

  activeFaults(now: number): Array<[string, SensorFault]> {
    return [...this.faults].filter(([, f]) => f.untilTs > now);
  }

  /**
   * Append the reading a sensor reports for `trueValue`, or nothing when it drops out.
   * `sensorId` is a stable integer per (target, metric) used to key the noise.
   */
  report(
    out: Reading[],
    kind: TargetKind,
    site: string,
    target: string,
    metric: string,
    ts: number,
    sensorId: number,
    trueValue: number,
  ): void {
    const tsHi = Math.floor(ts / 1000);
    const tsLo = ts - tsHi * 1000;
    const salt = this.seed ^ Math.imul(tsLo + 1, 0x9e3779b1);
    const o = this.options;
    if (o.dropoutRate > 0 && hashUnit(salt ^ 0x68e31da4, sensorId, tsHi) < o.dropoutRate) return;
    let value = trueValue;
    if (metric.endsWith('_c')) value += o.noiseC * hashNormal(salt, sensorId, tsHi);
    else if (metric === 'fan_pct') value += o.fanNoisePct * hashNormal(salt, sensorId, tsHi);
    else value *= 1 + (o.powerNoisePct / 100) * hashNormal(salt, sensorId, tsHi);
    if (this.faults.size > 0) {
      const fault = this.faults.get(sensorKey(kind, target, metric));
      if (fault && ts < fault.untilTs) {
        switch (fault.kind) {
          case 'dropout':
            return;
          case 'stuck':
            value = fault.stuckValue ?? value;
            break;
          case 'offset':
            value += fault.offset ?? 0;
            break;
          case 'noise':
            value += (fault.sigma ?? 1) * hashNormal(salt ^ 0x1b873593, sensorId, tsHi);
            break;
        }
      }
    }
    if (metric === 'fan_pct') value = Math.min(100, Math.max(0, value));
    else if (metric.endsWith('_kw')) value = Math.max(0, value);
    out.push({ kind, site, target, metric, value, ts });
  }
}
