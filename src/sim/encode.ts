/**
 * Readings → MQTT messages in exactly the layouts a site maps (the inverse of the decoders), so
 * the agent ingests simulated telemetry like any real source:
 * - `value`: one topic per metric (the `{metric}` level holds the source field name), a bare number;
 * - `json`: one object per target with the mapped keys (dotted keys nest) and the timestamp field;
 * - `influx-line`: Telegraf-style line protocol, the target id in the `idField` tag.
 * Values are converted back to the source units (kW → W, °C → °F, …). Topic wildcards the
 * simulator cannot know get stable stand-ins: {host} is the rack's first node, {measurement}
 * the line's measurement, anything else "sim". Pure.
 */
import type { SiteConfig, SourceUnit, TargetKind, TelemetryMapping } from '../config/schema.ts';
import { buildSiteIndex, type SiteIndex } from '../config/siteIndex.ts';
import { type CompiledTopic, compileTopicPattern } from '../config/topics.ts';
import type { Reading } from '../telemetry/reading.ts';
import type { SimFrame } from './simulator.ts';

export interface EncodedMessage {
  topic: string;
  payload: string;
  qos: 0 | 1 | 2;
}

export interface EncoderOptions {
  /**
   * Which rack mappings carry rack telemetry: 'first' (default), 'spread' (racks round-robin over
   * every rack mapping, so each format is exercised), 'all' (every rack on every mapping), or
   * indices into site.telemetry.
   */
  rackMappings?: 'first' | 'spread' | 'all' | number[];
  /** Digits after the point per source unit; defaults suit each unit's sensors. */
  decimals?: Partial<Record<SourceUnit, number>>;
}

/** Measurement names written in line protocol, per target kind. */
export const LINE_MEASUREMENT: Record<TargetKind, string> = {
  rack: 'rack_sensors',
  cooling: 'cooling',
  site: 'site',
};

const DEFAULT_DECIMALS: Record<SourceUnit, number> = {
  C: 3,
  F: 3,
  K: 3,
  W: 1,
  kW: 4,
  MW: 7,
  pct: 2,
  ratio: 4,
};

const FROM_CANONICAL: Record<SourceUnit, (v: number) => number> = {
  C: (v) => v,
  F: (v) => (v * 9) / 5 + 32,
  K: (v) => v + 273.15,
  W: (v) => v * 1000,
  kW: (v) => v,
  MW: (v) => v / 1000,
  pct: (v) => v,
  ratio: (v) => v / 100,
};

interface CompiledField {
  source: string;
  metric: string;
  unit: SourceUnit;
}

interface CompiledMapping {
  index: number;
  mapping: TelemetryMapping;
  topic: CompiledTopic;
  fields: CompiledField[];
}

/** A target's readings at one time, by metric. */
interface Group {
  kind: TargetKind;
  target: string;
  ts: number;
  values: Map<string, number>;
}

function canonicalUnitOf(metric: string): SourceUnit {
  if (metric.endsWith('_c')) return 'C';
  if (metric.endsWith('_kw')) return 'kW';
  return 'pct';
}

export class TelemetryEncoder {
  private readonly index: SiteIndex;
  private readonly byKind: Record<TargetKind, CompiledMapping[]>;
  private readonly rackChoice: CompiledMapping[];
  private readonly rackMode: 'one' | 'spread' | 'all';
  private readonly rackOrder: ReadonlyMap<string, number>;
  private readonly scales: Record<SourceUnit, number>;
  /** Topics per target, by mapping index and field slot (fields of `value` mappings get their own). */
  private readonly topicCache = new Map<string, Map<number, string>>();

  constructor(
    readonly site: SiteConfig,
    opts: EncoderOptions = {},
  ) {
    this.index = buildSiteIndex(site);
    const decimals = { ...DEFAULT_DECIMALS, ...opts.decimals };
    this.scales = Object.fromEntries(Object.entries(decimals).map(([u, d]) => [u, 10 ** d])) as Record<
      SourceUnit,
      number
    >;
    this.rackOrder = new Map(this.index.rackIds.map((id, i) => [id, i]));
    const compiled = site.telemetry.map((mapping, index) => ({
      index,
      mapping,
      topic: compileTopicPattern(mapping.topic),
      fields: Object.entries(mapping.fields).map(([source, f]) =>
        typeof f === 'string'
          ? { source, metric: f, unit: canonicalUnitOf(f) }
          : { source, metric: f.metric, unit: f.unit ?? canonicalUnitOf(f.metric) },
      ),
    }));
    this.byKind = {
      rack: compiled.filter((c) => c.mapping.target === 'rack'),
      cooling: compiled.filter((c) => c.mapping.target === 'cooling'),
      site: compiled.filter((c) => c.mapping.target === 'site'),
    };
    const choice = opts.rackMappings ?? 'first';
    if (Array.isArray(choice)) {
      this.rackChoice = choice.map((i) => {
        const c = compiled[i];
        if (c?.mapping.target !== 'rack')
          throw new Error(`rackMappings: site.telemetry[${i}] is not a rack mapping`);
        return c!;
      });
      this.rackMode = 'spread';
    } else {
      this.rackChoice = choice === 'first' ? this.byKind.rack.slice(0, 1) : this.byKind.rack;
      this.rackMode = choice === 'first' ? 'one' : choice;
    }
  }

  /** Messages for these readings (any mix of targets; one time per target is expected). */
  encode(readings: readonly Reading[]): EncodedMessage[] {
    const out: EncodedMessage[] = [];
    for (const group of groupReadings(readings)) {
      for (const m of this.mappingsFor(group)) this.encodeGroup(m, group, out);
    }
    return out;
  }

  /** Messages for the true state of a frame, without sensor noise. */
  encodeFrame(frame: SimFrame): EncodedMessage[] {
    return this.encode(frameToReadings(frame));
  }

  private mappingsFor(group: Group): CompiledMapping[] {
    if (group.kind !== 'rack') return this.byKind[group.kind];
    if (this.rackMode === 'all' || this.rackChoice.length <= 1) return this.rackChoice;
    const i = this.rackOrder.get(group.target) ?? 0;
    return [this.rackChoice[i % this.rackChoice.length]!];
  }

  private encodeGroup(m: CompiledMapping, g: Group, out: EncodedMessage[]): void {
    const qos = m.mapping.qos;
    const present = m.fields.every((f) => g.values.has(f.metric))
      ? m.fields
      : m.fields.filter((f) => g.values.has(f.metric));
    if (present.length === 0) return;
    switch (m.mapping.format) {
      case 'value': {
        // Without a {metric} level every field would land on one topic; only the first is sent.
        const fields = m.topic.params.includes('metric') ? present : present.slice(0, 1);
        for (const f of fields) {
          out.push({
            topic: this.topicFor(m, g, f),
            payload: this.format(g.values.get(f.metric)!, f.unit),
            qos,
          });
        }
        return;
      }
      case 'json': {
        const record: Record<string, unknown> = {};
        const idField = m.mapping.idField;
        if (idField && g.kind !== 'site') setPath(record, idField, g.target);
        const tsField = m.mapping.timestampField;
        if (tsField) setPath(record, tsField, timestampValue(g.ts, m.mapping.precision ?? 'ms'));
        for (const f of present) setPath(record, f.source, this.rounded(g.values.get(f.metric)!, f.unit));
        out.push({ topic: this.topicFor(m, g, undefined), payload: JSON.stringify(record), qos });
        return;
      }
      case 'influx-line': {
        out.push({ topic: this.topicFor(m, g, undefined), payload: this.line(m, g, present), qos });
        return;
      }
    }
  }

  private line(m: CompiledMapping, g: Group, fields: CompiledField[]): string {
    const tags: string[] = [];
    const idField = m.mapping.idField ?? (g.kind === 'cooling' ? 'unit' : g.kind);
    if (g.kind !== 'site') tags.push(`${escapeKey(idField)}=${escapeKey(g.target)}`);
    const place = g.kind === 'rack' ? this.index.racks.get(g.target) : undefined;
    const room =
      place?.room ?? (g.kind === 'cooling' ? this.index.coolingUnits.get(g.target)?.room : undefined);
    if (room !== undefined && idField !== 'room') tags.push(`room=${escapeKey(room)}`);
    if (g.kind === 'rack' && idField !== 'host') tags.push(`host=${escapeKey(this.hostOf(g))}`);
    const fieldText = fields
      .map((f) => `${escapeKey(f.source)}=${this.format(g.values.get(f.metric)!, f.unit)}`)
      .join(',');
    const ts = timestampDigits(g.ts, m.mapping.precision ?? 'ns');
    return `${escapeMeasurement(LINE_MEASUREMENT[g.kind])}${tags.length > 0 ? `,${tags.join(',')}` : ''} ${fieldText} ${ts}`;
  }

  private hostOf(g: Group): string {
    const rack = this.index.racks.get(g.target)?.rack;
    return rack?.nodes[0]?.name ?? g.target;
  }

  private topicFor(m: CompiledMapping, g: Group, field: CompiledField | undefined): string {
    const targetKey = g.kind === 'rack' ? g.target : `${g.kind}\u0000${g.target}`;
    let perTarget = this.topicCache.get(targetKey);
    if (!perTarget) {
      perTarget = new Map();
      this.topicCache.set(targetKey, perTarget);
    }
    const slot = m.index * 1024 + (field ? m.fields.indexOf(field) + 1 : 0);
    const cached = perTarget.get(slot);
    if (cached !== undefined) return cached;
    const metricSource = field?.source;
    const values: Record<string, string> = {};
    const place = g.kind === 'rack' ? this.index.racks.get(g.target) : undefined;
    const unit = g.kind === 'cooling' ? this.index.coolingUnits.get(g.target) : undefined;
    for (const p of m.topic.params) {
      const v =
        p === 'site'
          ? this.site.site.id
          : p === 'metric'
            ? metricSource
            : p === 'measurement'
              ? LINE_MEASUREMENT[g.kind]
              : p === 'host' && g.kind === 'rack'
                ? this.hostOf(g)
                : p === 'rack' && g.kind === 'rack'
                  ? g.target
                  : p === 'unit' && g.kind === 'cooling'
                    ? g.target
                    : p === 'room'
                      ? (place?.room ?? unit?.room)
                      : p === 'row'
                        ? place?.row
                        : p === 'zone'
                          ? (place?.zone ?? unit?.zone)
                          : undefined;
      values[p] = v ?? 'sim';
    }
    const topic = m.topic.fill(values);
    perTarget.set(slot, topic);
    return topic;
  }

  /** The value in the source unit, rounded to that unit's decimals. */
  private rounded(canonical: number, unit: SourceUnit): number {
    const scale = this.scales[unit];
    return Math.round(FROM_CANONICAL[unit](canonical) * scale) / scale;
  }

  private format(canonical: number, unit: SourceUnit): string {
    return String(this.rounded(canonical, unit));
  }
}

/** The true values of a frame as readings (no noise, nothing dropped). */
export function frameToReadings(frame: SimFrame): Reading[] {
  const out: Reading[] = [];
  const site = frame.site.id;
  const ts = frame.ts;
  const push = (kind: TargetKind, target: string, metric: string, value: number) =>
    out.push({ kind, site, target, metric, value, ts });
  frame.racks.ids.forEach((id, i) => {
    push('rack', id, 'inlet_c', frame.racks.inletC[i]!);
    push('rack', id, 'outlet_c', frame.racks.outletC[i]!);
    push('rack', id, 'power_kw', frame.racks.powerKw[i]!);
  });
  frame.cooling.ids.forEach((id, u) => {
    push('cooling', id, 'supply_c', frame.cooling.supplyC[u]!);
    push('cooling', id, 'return_c', frame.cooling.returnC[u]!);
    push('cooling', id, 'fan_pct', frame.cooling.fanPct[u]!);
    push('cooling', id, 'power_kw', frame.cooling.powerKw[u]!);
  });
  push('site', site, 'power_kw', frame.site.powerKw);
  push('site', site, 'outdoor_c', frame.site.outdoorC);
  return out;
}

/** Readings grouped by target and time; consecutive readings of one target (the usual order) need no lookup. */
function groupReadings(readings: readonly Reading[]): Group[] {
  const groups: Group[] = [];
  let index: Map<string, Group> | undefined;
  let last: Group | undefined;
  for (const r of readings) {
    if (!last || last.target !== r.target || last.kind !== r.kind || last.ts !== r.ts) {
      index ??= new Map();
      const key = `${r.kind}\u0000${r.target}\u0000${r.ts}`;
      let g = index.get(key);
      if (!g) {
        g = { kind: r.kind, target: r.target, ts: r.ts, values: new Map() };
        index.set(key, g);
        groups.push(g);
      }
      last = g;
    }
    last.values.set(r.metric, r.value);
  }
  return groups;
}

/** ms and s as JSON numbers; us and ns as digit strings, since they exceed 2^53. */
function timestampValue(ts: number, precision: 'ns' | 'us' | 'ms' | 's'): number | string {
  if (precision === 'ms') return ts;
  if (precision === 's') return ts / 1000;
  return timestampDigits(ts, precision);
}

/** Integer timestamp digits in the given precision (exact: ms padded with zeros). */
export function timestampDigits(ts: number, precision: 'ns' | 'us' | 'ms' | 's'): string {
  const ms = Math.round(ts);
  switch (precision) {
    case 'ns':
      return `${ms}000000`;
    case 'us':
      return `${ms}000`;
    case 'ms':
      return String(ms);
    case 's':
      return String(Math.floor(ms / 1000));
  }
}

function setPath(record: Record<string, unknown>, path: string, value: unknown): void {
  if (!path.includes('.')) {
    record[path] = value;
    return;
  }
  const parts = path.split('.');
  let node = record;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next === 'object' && next !== null) node = next as Record<string, unknown>;
    else {
      const created: Record<string, unknown> = {};
      node[part] = created;
      node = created;
    }
  }
  node[parts[parts.length - 1]!] = value;
}

function escapeKey(text: string): string {
  return text.replace(/[,= ]/g, (c) => `\\${c}`);
}

function escapeMeasurement(text: string): string {
  return text.replace(/[, ]/g, (c) => `\\${c}`);
}
