/**
 * The latest out-of-range value per series, from readings the ingest router refused (they are never
 * stored, so the alert rules would otherwise only see the sensor go quiet). In memory only.
 */
import type { TargetKind } from '../config/schema.ts';
import type { Range } from '../telemetry/plausibility.ts';
import type { ImplausibleReading } from '../telemetry/router.ts';

export interface ImplausibleSeries {
  /** The latest refused value and when it was reported. */
  value: number;
  ts: number;
  range: Range;
}

export interface ImplausibleView {
  get(kind: TargetKind, target: string, metric: string): ImplausibleSeries | undefined;
  /** Every series that reported an out-of-range value at least once. */
  entries(): Iterable<{ kind: TargetKind; target: string; metric: string; series: ImplausibleSeries }>;
}

export class ImplausibleState implements ImplausibleView {
  /** kind → metric → target, like ReadingState: targets were validated against the site, so it stays small. */
  private readonly series = new Map<TargetKind, Map<string, Map<string, ImplausibleSeries>>>();

  add(readings: readonly ImplausibleReading[]): void {
    for (const r of readings) {
      let byMetric = this.series.get(r.kind);
      if (!byMetric) {
        byMetric = new Map();
        this.series.set(r.kind, byMetric);
      }
      let byTarget = byMetric.get(r.metric);
      if (!byTarget) {
        byTarget = new Map();
        byMetric.set(r.metric, byTarget);
      }
      const s = byTarget.get(r.target);
      // Late readings (QoS 1 redelivery) never move the state backwards.
      if (s && r.ts < s.ts) continue;
      byTarget.set(r.target, { value: r.value, ts: r.ts, range: r.range });
    }
  }

  get(kind: TargetKind, target: string, metric: string): ImplausibleSeries | undefined {
    return this.series.get(kind)?.get(metric)?.get(target);
  }

  *entries(): Iterable<{ kind: TargetKind; target: string; metric: string; series: ImplausibleSeries }> {
    for (const [kind, byMetric] of this.series)
      for (const [metric, byTarget] of byMetric)
        for (const [target, series] of byTarget) yield { kind, target, metric, series };
  }
}
