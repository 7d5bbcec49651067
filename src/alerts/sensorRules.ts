/**
 * Sensor health: stale (silent), stuck (flat too long), implausible (out of range, outlet below
 * inlet, jumps).
 */
import type { TargetKind } from '../config/schema.ts';
import { fresh, type RuleContext, rackLabels, round, staleAfterMs, unitLabels } from './ruleContext.ts';
import { type Condition, fingerprintOf } from './types.ts';

const TEMPERATURES: ReadonlyArray<[TargetKind, string]> = [
  ['rack', 'inlet_c'],
  ['rack', 'outlet_c'],
  ['cooling', 'supply_c'],
  ['cooling', 'return_c'],
];
const METRICS_BY_KIND: ReadonlyArray<[TargetKind, readonly string[]]> = [
  ['rack', ['inlet_c', 'outlet_c', 'power_kw', 'humidity_pct']],
  ['cooling', ['supply_c', 'return_c', 'fan_pct', 'power_kw']],
  ['site', ['power_kw', 'outdoor_c']],
];
/** This many silent targets, and at least this share of those seen, make one site-wide alert. */
const SILENT_MIN_TARGETS = 5;
const SILENT_SHARE = 0.5;
/** A jump stays reported this long after it happened (it is a single event, not a lasting state). */
const JUMP_HOLD_MS = 10 * 60_000;
/** Outlet below inlet by more than this is implausible (sensor swapped or misplaced). */
const OUTLET_BELOW_INLET_C = 1;
/**
 * An out-of-range value this many reading intervals ago still counts when good values came since:
 * a sensor alternating between sense and nonsense stays flagged instead of flapping.
 */
const OUT_OF_RANGE_RECENT_INTERVALS = 2;

function labelsFor(ctx: RuleContext, kind: TargetKind, target: string): Record<string, string> {
  if (kind === 'rack') return rackLabels(ctx, target);
  if (kind === 'cooling') return unitLabels(ctx, target);
  return { site: ctx.index.site.site.id };
}

function known(ctx: RuleContext, kind: TargetKind, target: string): boolean {
  return kind === 'rack'
    ? ctx.index.racks.has(target)
    : kind === 'cooling'
      ? ctx.index.coolingUnits.has(target)
      : true;
}

/** One alert per target listing its silent metrics; only series seen at least once can go stale. */
export function sensorStale(ctx: RuleContext): Condition[] {
  const staleMs = staleAfterMs(ctx.settings);
  const byTarget = new Map<string, { kind: TargetKind; target: string; metrics: string[]; oldest: number }>();
  for (const [kind, metrics] of METRICS_BY_KIND) {
    for (const metric of metrics) {
      for (const [target, s] of ctx.readings.all(kind, metric)) {
        if (ctx.now - s.ts <= staleMs || !known(ctx, kind, target)) continue;
        // Not silent: it reports values out of range, which sensorOutOfRange names.
        if (reportsOutOfRange(ctx, kind, target, metric, staleMs)) continue;
        const key = `${kind}/${target}`;
        const entry = byTarget.get(key) ?? { kind, target, metrics: [], oldest: s.ts };
        entry.metrics.push(metric);
        entry.oldest = Math.min(entry.oldest, s.ts);
        byTarget.set(key, entry);
      }
    }
  }
  const conditions: Condition[] = [...byTarget.values()].map((e) => {
    const silentMin = round((ctx.now - e.oldest) / 60_000);
    return {
      rule: 'SensorStale' as const,
      labels: { ...labelsFor(ctx, e.kind, e.target), kind: e.kind },
      severity: 'warning' as const,
      value: silentMin,
      summary: `${e.kind} ${e.target}: no ${e.metrics.join(', ')} reading for ${silentMin} min`,
      description: `Expected a reading every ${ctx.settings.readingIntervalSeconds} s; check the sensor, its gateway and the topic mapping (a message the agent cannot route is counted in hotaisle_readings_rejected_total and sent to the dead-letter topic).`,
      annotations: { metrics: e.metrics.join(',') },
      // Staleness already waited staleIntervals readings.
      forMs: 0,
    };
  });
  return [...conditions, ...telemetrySilent(ctx, conditions)];
}

function reportsOutOfRange(
  ctx: RuleContext,
  kind: TargetKind,
  target: string,
  metric: string,
  staleMs: number,
): boolean {
  const bad = ctx.implausible?.get(kind, target, metric);
  return bad !== undefined && ctx.now - bad.ts <= staleMs;
}

/**
 * A sensor whose latest values are out of the plausible range (refused at ingest, never stored): one
 * alert per series naming the value, the range and the place. Gone once plausible values flow again.
 */
export function sensorOutOfRange(ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  if (!ctx.implausible) return out;
  const staleMs = staleAfterMs(ctx.settings);
  const recentMs = ctx.settings.readingIntervalSeconds * 1000 * OUT_OF_RANGE_RECENT_INTERVALS;
  for (const { kind, target, metric, series: bad } of ctx.implausible.entries()) {
    // A sensor that went quiet after its nonsense is the stale rule's business.
    if (ctx.now - bad.ts > staleMs || !known(ctx, kind, target)) continue;
    const good = ctx.readings.get(kind, target, metric);
    if (good !== undefined && good.ts > bad.ts && ctx.now - bad.ts > recentMs) continue;
    const labels = labelsFor(ctx, kind, target);
    const unit = unitOf(metric);
    const where =
      kind === 'rack'
        ? `rack ${target}${labels.room ? ` (room ${labels.room}, row ${labels.row})` : ''}`
        : kind === 'cooling'
          ? `cooling unit ${target}${labels.room ? ` (room ${labels.room})` : ''}`
          : `site ${target}`;
    const range = `${bad.range.min}…${bad.range.max}${unit}`;
    out.push({
      rule: 'SensorImplausible',
      labels: { ...labels, check: 'out_of_range', metric },
      severity: 'warning',
      value: bad.value,
      summary: `${where}: ${metric} reads ${round(bad.value, 2)}${unit}, outside the plausible ${range}`,
      description: `The ${metric} sensor of ${where} reports ${round(bad.value, 2)}${unit}, outside the plausible range ${range}. These readings are refused at ingest and not stored (hotaisle_readings_rejected_total{reason="implausible_value"}). Check the sensor, and the units of its topic mapping (a value sent in °F or W where the mapping says °C or kW).`,
      annotations: {
        range: `${bad.range.min}..${bad.range.max}`,
        lastImplausibleAt: new Date(bad.ts).toISOString(),
      },
    });
  }
  return out;
}

function unitOf(metric: string): string {
  if (metric.endsWith('_c')) return ' °C';
  if (metric.endsWith('_kw')) return ' kW';
  if (metric.endsWith('_pct')) return ' %';
  return '';
}

/** Most targets silent at once is a broker, gateway or network fault: one alert, the rest grouped. */
function telemetrySilent(ctx: RuleContext, stale: Condition[]): Condition[] {
  const seen = new Set<string>();
  for (const [kind, metrics] of METRICS_BY_KIND) {
    for (const metric of metrics)
      for (const target of ctx.readings.all(kind, metric).keys()) seen.add(`${kind}/${target}`);
  }
  const labels = { site: ctx.index.site.site.id };
  const active = ctx.activeSeverity('TelemetrySilent', labels) !== undefined;
  const share = active ? SILENT_SHARE * 0.7 : SILENT_SHARE;
  if (stale.length < SILENT_MIN_TARGETS || stale.length < share * seen.size) return [];
  const silent: Condition = {
    rule: 'TelemetrySilent',
    labels,
    severity: 'critical',
    value: stale.length,
    summary: `${stale.length} of ${seen.size} sensors on site ${labels.site} went silent`,
    description:
      'Most telemetry stopped at once: check the MQTT broker, the gateways and the network before single sensors. Per-sensor stale alerts are grouped under this one.',
    forMs: 0,
  };
  const parent = fingerprintOf(silent.rule, labels);
  for (const c of stale) c.groupedUnder = parent;
  return [silent];
}

export function sensorStuck(ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  const stuckMs = ctx.settings.stuckMinutes * 60_000;
  for (const [kind, metric] of TEMPERATURES) {
    for (const [target, s] of ctx.readings.all(kind, metric)) {
      if (!fresh(ctx, s) || !known(ctx, kind, target) || s.ts - s.stillSince < stuckMs) continue;
      const flatMin = round((s.ts - s.stillSince) / 60_000);
      out.push({
        rule: 'SensorStuck',
        labels: { ...labelsFor(ctx, kind, target), metric },
        severity: 'warning',
        value: s.value,
        summary: `${kind} ${target} ${metric} stuck at ${s.value} for ${flatMin} min`,
        description:
          'The sensor keeps reporting the same value; it may be frozen or disconnected behind its gateway.',
        forMs: 0,
      });
    }
  }
  return out;
}

export function sensorImplausible(ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  for (const [rack, inlet] of ctx.readings.all('rack', 'inlet_c')) {
    const outlet = ctx.readings.get('rack', rack, 'outlet_c');
    if (!fresh(ctx, inlet) || !fresh(ctx, outlet) || !ctx.index.racks.has(rack)) continue;
    if (outlet.value >= inlet.value - OUTLET_BELOW_INLET_C) continue;
    out.push({
      rule: 'SensorImplausible',
      labels: { ...rackLabels(ctx, rack), check: 'outlet_below_inlet' },
      severity: 'warning',
      value: round(outlet.value - inlet.value, 2),
      summary: `Rack ${rack}: outlet ${round(outlet.value)} °C is colder than inlet ${round(inlet.value)} °C`,
      description:
        'Air cannot leave a running rack colder than it entered; the sensors are likely swapped or misplaced.',
    });
  }
  // Rack sensors only: a cooling unit's supply legitimately steps when it trips or comes back.
  for (const [kind, metric] of TEMPERATURES.filter(([k]) => k === 'rack')) {
    for (const [target, s] of ctx.readings.all(kind, metric)) {
      const jump = s.lastJump;
      if (!jump || ctx.now - jump.ts > JUMP_HOLD_MS || !known(ctx, kind, target)) continue;
      out.push({
        rule: 'SensorImplausible',
        labels: { ...labelsFor(ctx, kind, target), check: 'jump', metric },
        severity: 'warning',
        value: round(jump.delta, 2),
        summary: `${kind} ${target} ${metric} jumped ${round(jump.delta)} °C between two readings`,
        description: `A change above ${ctx.settings.jumpC} °C within ${round(jump.gapMs / 1000)} s is not physical; check the sensor.`,
        forMs: 0,
      });
    }
  }
  return out;
}
