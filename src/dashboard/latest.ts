/**
 * The newest value of each metric per rack and cooling unit, kept from accepted readings for the
 * floor map. A late, older reading never replaces a newer one. Pure (no I/O, no clock).
 */
import type { Reading } from '../telemetry/reading.ts';

export const RACK_METRICS = ['inlet_c', 'outlet_c', 'power_kw'] as const;
export const COOLING_METRICS = ['supply_c', 'return_c', 'fan_pct', 'power_kw'] as const;

export interface LatestValue {
  value: number;
  ts: number;
}

type MetricMap = Map<string, LatestValue>;

export class LatestValues {
  private readonly racks = new Map<string, MetricMap>();
  private readonly cooling = new Map<string, MetricMap>();

  observe(readings: readonly Reading[]): void {
    for (const r of readings) {
      const byTarget = r.kind === 'rack' ? this.racks : r.kind === 'cooling' ? this.cooling : undefined;
      if (!byTarget) continue;
      let metrics = byTarget.get(r.target);
      if (!metrics) {
        metrics = new Map();
        byTarget.set(r.target, metrics);
      }
      const prev = metrics.get(r.metric);
      if (prev === undefined) metrics.set(r.metric, { value: r.value, ts: r.ts });
      else if (r.ts >= prev.ts) {
        prev.value = r.value;
        prev.ts = r.ts;
      }
    }
  }

  rack(id: string, metric: string): LatestValue | undefined {
    return this.racks.get(id)?.get(metric);
  }

  coolingUnit(id: string, metric: string): LatestValue | undefined {
    return this.cooling.get(id)?.get(metric);
  }

  /** Newest reading of any metric of a rack, ms; undefined when none came yet. */
  rackLastSeen(id: string): number | undefined {
    return lastSeen(this.racks.get(id));
  }

  coolingLastSeen(id: string): number | undefined {
    return lastSeen(this.cooling.get(id));
  }
}

function lastSeen(metrics: MetricMap | undefined): number | undefined {
  if (!metrics) return undefined;
  let ts: number | undefined;
  for (const v of metrics.values()) if (ts === undefined || v.ts > ts) ts = v.ts;
  return ts;
}
