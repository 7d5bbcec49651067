/**
 * Readings → InfluxDB points (pure). Readings of the same kind, target and timestamp merge into one
 * point with several fields, so a rack sample (inlet, outlet, power) is one line, not three.
 */
import { escape as influxEscape } from 'influx';
import type { TargetKind } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import type { Reading } from '../telemetry/reading.ts';
import type { AlertEventRecord, ForecastRecord } from './store.ts';

/** The tag that names the target of each measurement. */
export const TARGET_TAG: Readonly<Record<TargetKind, string>> = {
  rack: 'rack',
  cooling: 'unit',
  site: 'site',
};

export function tagsFor(
  kind: TargetKind,
  site: string,
  target: string,
  index: SiteIndex,
): Record<string, string> {
  switch (kind) {
    case 'rack': {
      const place = index.racks.get(target);
      return place ? { site, room: place.room, row: place.row, rack: target } : { site, rack: target };
    }
    case 'cooling': {
      const unit = index.coolingUnits.get(target);
      return unit ? { site, room: unit.room, unit: target } : { site, unit: target };
    }
    case 'site':
      return { site };
  }
}

interface PendingPoint {
  prefix: string;
  ts: number;
  metrics: string[];
  values: number[];
}

function addField(point: PendingPoint, field: string, value: number): void {
  const at = point.metrics.indexOf(field);
  if (at >= 0) point.values[at] = value;
  else {
    point.metrics.push(field);
    point.values.push(value);
  }
}

/**
 * Readings → InfluxDB line protocol, merging readings of the same target and timestamp into one
 * line. This is the write hot path, so the escaped series prefix of each target (measurement and
 * sorted tags, as InfluxDB prefers) is built once and cached, and no intermediate objects per field
 * are made. A repeated metric within one point keeps the last value, as InfluxDB itself would.
 * Non-finite values cannot be written and are skipped (counted).
 */
export class LineEncoder {
  /** kind → site → target → escaped series prefix; nested so the hot path builds no key strings. */
  private readonly prefixes = new Map<TargetKind, Map<string, Map<string, string>>>();
  private prefixCount = 0;
  private readonly fieldKeys = new Map<string, string>();

  constructor(private readonly index: SiteIndex) {}

  encode(readings: readonly Reading[]): { body: string; points: number; skipped: number } {
    const byTarget = new Map<string, Map<number, PendingPoint>>();
    const points: PendingPoint[] = [];
    let skipped = 0;
    // Fast path: a sample's fields usually arrive one after another, so compare with the previous
    // reading before touching the maps.
    let prev: Reading | undefined;
    let prevPoint: PendingPoint | undefined;
    let targetPoints: Map<number, PendingPoint> | undefined;
    let prefix = '';
    for (const r of readings) {
      if (!Number.isFinite(r.value) || !Number.isFinite(r.ts)) {
        skipped++;
        continue;
      }
      const ts = Math.round(r.ts);
      const sameTarget =
        prev !== undefined && r.target === prev.target && r.kind === prev.kind && r.site === prev.site;
      prev = r;
      const field = this.fieldKey(r.metric);
      if (sameTarget && prevPoint !== undefined && prevPoint.ts === ts) {
        addField(prevPoint, field, r.value);
        continue;
      }
      if (!sameTarget || !targetPoints) {
        // The series prefix (measurement + tags) is unique per target: it keys the batch's points too.
        prefix = this.prefixFor(r);
        targetPoints = byTarget.get(prefix);
        if (!targetPoints) {
          targetPoints = new Map();
          byTarget.set(prefix, targetPoints);
        }
      }
      const existing = targetPoints.get(ts);
      if (existing) {
        addField(existing, field, r.value);
        prevPoint = existing;
        continue;
      }
      const point: PendingPoint = { prefix, ts, metrics: [field], values: [r.value] };
      targetPoints.set(ts, point);
      points.push(point);
      prevPoint = point;
    }
    const lines = new Array<string>(points.length);
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as PendingPoint;
      let fields = `${p.metrics[0]}=${p.values[0]}`;
      for (let f = 1; f < p.metrics.length; f++) fields += `,${p.metrics[f]}=${p.values[f]}`;
      lines[i] = `${p.prefix} ${fields} ${p.ts}`;
    }
    return { body: lines.join('\n'), points: points.length, skipped };
  }

  private prefixFor(r: Reading): string {
    let bySite = this.prefixes.get(r.kind);
    if (bySite === undefined) {
      bySite = new Map();
      this.prefixes.set(r.kind, bySite);
    }
    let byTarget = bySite.get(r.site);
    if (byTarget === undefined) {
      byTarget = new Map();
      bySite.set(r.site, byTarget);
    }
    let prefix = byTarget.get(r.target);
    if (prefix === undefined) {
      const tags = tagsFor(r.kind, r.site, r.target, this.index);
      prefix = influxEscape.measurement(r.kind);
      for (const name of Object.keys(tags).sort())
        prefix += `,${influxEscape.tag(name)}=${influxEscape.tag(tags[name] ?? '')}`;
      // Targets are validated against the site, so this stays small; the cap guards against surprises.
      if (++this.prefixCount > 100_000) {
        this.prefixes.clear();
        this.prefixCount = 0;
      }
      byTarget.set(r.target, prefix);
    }
    return prefix;
  }

  private fieldKey(metric: string): string {
    let key = this.fieldKeys.get(metric);
    if (key === undefined) {
      key = influxEscape.tag(metric);
      if (this.fieldKeys.size > 10_000) this.fieldKeys.clear();
      this.fieldKeys.set(metric, key);
    }
    return key;
  }
}

/** Number of points a batch becomes, for counters (cheaper than building the points). */
export function countPoints(readings: readonly Reading[]): number {
  const byTarget = new Map<string, Set<number>>();
  let count = 0;
  for (const r of readings) {
    const key = `${r.kind}\u0000${r.site}\u0000${r.target}`;
    let seen = byTarget.get(key);
    if (!seen) {
      seen = new Set();
      byTarget.set(key, seen);
    }
    const ts = Math.round(r.ts);
    if (!seen.has(ts)) {
      seen.add(ts);
      count++;
    }
  }
  return count;
}

/**
 * Forecasts → line protocol for the `forecast` measurement (tags sorted as InfluxDB prefers: horizon_min,
 * model, rack, site; values to 0.001 °C). The escaped series prefix of each rack, horizon and model is
 * built once and cached: a 10,000-rack site writes 30,000 of these a minute. Records with a non-finite
 * value or time are skipped (counted).
 */
export class ForecastLineEncoder {
  private readonly prefixes = new Map<string, string>();

  encode(records: readonly ForecastRecord[]): { body: string; points: number; skipped: number } {
    const lines: string[] = [];
    let skipped = 0;
    for (const f of records) {
      if (
        !(
          Number.isFinite(f.inletC) &&
          Number.isFinite(f.loC) &&
          Number.isFinite(f.hiC) &&
          Number.isFinite(f.ts) &&
          Number.isFinite(f.horizonMin)
        )
      ) {
        skipped++;
        continue;
      }
      const key = `${f.site}\u0000${f.rack}\u0000${f.horizonMin}\u0000${f.model}`;
      let prefix = this.prefixes.get(key);
      if (prefix === undefined) {
        prefix = `forecast,horizon_min=${Math.round(f.horizonMin)},model=${influxEscape.tag(f.model)},rack=${influxEscape.tag(f.rack)},site=${influxEscape.tag(f.site)}`;
        // A new model version makes new keys; the cap keeps old ones from piling up.
        if (this.prefixes.size > 200_000) this.prefixes.clear();
        this.prefixes.set(key, prefix);
      }
      lines.push(
        `${prefix} inlet_c=${round3(f.inletC)},lo_c=${round3(f.loC)},hi_c=${round3(f.hiC)} ${Math.round(f.ts)}`,
      );
    }
    return { body: lines.join('\n'), points: lines.length, skipped };
  }
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** One-off encoding (tests, tools); the store keeps a ForecastLineEncoder. */
export function encodeForecastLines(records: readonly ForecastRecord[]): {
  body: string;
  points: number;
  skipped: number;
} {
  return new ForecastLineEncoder().encode(records);
}

/** A line-protocol string field value: quoted, with `"` and `\\` escaped. */
function stringField(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Alert events → `alert` lines (tags site, rule, severity, target; fields state, value, message, fingerprint). */
export function encodeAlertLines(events: readonly AlertEventRecord[]): string {
  const lines: string[] = [];
  for (const e of events) {
    if (!Number.isFinite(e.ts)) continue;
    const tags = `alert,rule=${influxEscape.tag(e.rule)},severity=${influxEscape.tag(e.severity)},site=${influxEscape.tag(e.site)},target=${influxEscape.tag(e.target)}`;
    const value = Number.isFinite(e.value) ? `,value=${e.value}` : '';
    lines.push(
      `${tags} state=${stringField(e.state)}${value},message=${stringField(e.message)},fingerprint=${stringField(e.fingerprint)} ${Math.round(e.ts)}`,
    );
  }
  return lines.join('\n');
}
