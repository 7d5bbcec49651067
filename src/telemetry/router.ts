/**
 * Topic + payload → validated Readings. Pure and hot: everything that depends only on the site
 * (topic levels, field maps, unit converters, plausible ranges) is compiled in the constructor;
 * route() does one topic split, one decode and a few Map lookups per message, and never logs.
 */
import { METRICS, type SiteConfig, type TargetKind, type TelemetryMapping } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import { compileTopicPattern } from '../config/topics.ts';
import { decodeLineProtocol, lineTimestampToMs } from './decoders/influxLine.ts';
import {
  compileJsonPath,
  decodeJson,
  type JsonPath,
  jsonTimestampToMs,
  readJsonPath,
} from './decoders/json.ts';
import { decodeValue } from './decoders/value.ts';
import { buildPlausibility, type PlausibilityLimits, type Range } from './plausibility.ts';
import type { Reading, RejectReason } from './reading.ts';
import { type Convert, converterFor } from './units.ts';

export interface RouteReject {
  reason: RejectReason;
  detail: string;
  /** implausible_value only: the refused reading, so alerts can name it (it is never stored). */
  implausible?: ImplausibleReading;
}

/** A reading refused as out of range, with the range it missed; value already in agent units. */
export interface ImplausibleReading extends Reading {
  range: Range;
}

export interface RouteResult {
  readings: Reading[];
  rejects: RouteReject[];
}

export interface Subscription {
  /** MQTT filter, `$share/<group>/…` when the site shares its topics among agents. */
  filter: string;
  qos: 0 | 1 | 2;
}

interface CompiledField {
  source: string;
  metric: string;
  convert: Convert;
  path: JsonPath;
}

interface CompiledMapping {
  mapping: TelemetryMapping;
  kind: TargetKind;
  /** Per topic level: the literal text, or null for a one-level wildcard. */
  levels: readonly (string | null)[];
  /** Pattern ends in a multi-level wildcard: the topic may have more levels. */
  rest: boolean;
  /** Level holding the target id ({rack} / {unit}); -1 when it comes from idField or the site. */
  idLevel: number;
  /** Level naming the source field for the value format ({metric}); -1 otherwise. */
  metricLevel: number;
  fields: ReadonlyMap<string, CompiledField>;
  fieldList: readonly CompiledField[];
  /** JSON top-level keys that are not "unknown fields": id, timestamp, first segments of paths. */
  knownKeys: ReadonlySet<string>;
  filter: string;
}

const ID_PARAM: Record<TargetKind, string | undefined> = { rack: 'rack', cooling: 'unit', site: undefined };
const MAX_LISTED_UNKNOWN = 5;

export class TelemetryRouter {
  private readonly compiled: readonly CompiledMapping[];
  private readonly limits: PlausibilityLimits;
  private readonly siteId: string;
  private readonly maxPayloadBytes: number;
  private readonly maxFutureMs: number;
  private readonly maxAgeMs: number;
  private readonly subs: readonly Subscription[];

  /** Throws one error listing every unusable mapping as `telemetry[i] (topic): problem`. */
  constructor(
    site: SiteConfig,
    private readonly index: SiteIndex,
  ) {
    this.siteId = site.site.id;
    this.maxPayloadBytes = site.ingest.maxPayloadBytes;
    this.maxFutureMs = site.ingest.maxFutureMs;
    this.maxAgeMs = site.ingest.maxAgeMs;
    this.limits = buildPlausibility(index);
    const problems: string[] = [];
    const compiled: CompiledMapping[] = [];
    site.telemetry.forEach((mapping, i) => {
      try {
        compiled.push(compileMapping(mapping, this.siteId));
      } catch (err) {
        problems.push(`telemetry[${i}] (${mapping.topic}): ${(err as Error).message}`);
      }
    });
    if (problems.length > 0) throw new Error(`unusable telemetry mappings:\n  ${problems.join('\n  ')}`);
    this.compiled = compiled;
    const prefix = site.broker.sharedGroup ? `$share/${site.broker.sharedGroup}/` : '';
    const byFilter = new Map<string, Subscription>();
    for (const c of compiled) {
      const filter = prefix + c.filter;
      const seen = byFilter.get(filter);
      if (!seen) byFilter.set(filter, { filter, qos: c.mapping.qos });
      else if (c.mapping.qos > seen.qos) seen.qos = c.mapping.qos;
    }
    this.subs = [...byFilter.values()];
  }

  /** What to subscribe to: one filter per distinct mapping topic, `{site}` filled with this site. */
  subscriptions(): Subscription[] {
    return this.subs.map((s) => ({ ...s }));
  }

  /** The mapping a topic is routed by (first match wins), or undefined. */
  mappingFor(topic: string): TelemetryMapping | undefined {
    return this.match(topic.split('/'))?.mapping;
  }

  /** Never throws on input: every problem becomes a reject; good fields of a message survive bad ones. */
  route(topic: string, payload: Buffer, receivedAt: number): RouteResult {
    const out: RouteResult = { readings: [], rejects: [] };
    if (payload.length > this.maxPayloadBytes) {
      out.rejects.push({
        reason: 'payload_too_large',
        detail: `${payload.length} bytes, limit ${this.maxPayloadBytes} (ingest.maxPayloadBytes)`,
      });
      return out;
    }
    const parts = topic.split('/');
    const c = this.match(parts);
    if (c === undefined) {
      out.rejects.push({ reason: 'no_mapping', detail: `no telemetry mapping matches ${topic}` });
      return out;
    }
    const topicId = c.idLevel >= 0 ? parts[c.idLevel] : undefined;
    switch (c.mapping.format) {
      case 'value':
        this.routeValue(c, parts, topicId, payload, receivedAt, out);
        break;
      case 'json':
        this.routeJson(c, topicId, payload, receivedAt, out);
        break;
      case 'influx-line':
        this.routeLines(c, topicId, payload, receivedAt, out);
        break;
    }
    return out;
  }

  private match(parts: readonly string[]): CompiledMapping | undefined {
    for (const c of this.compiled) {
      const { levels } = c;
      if (c.rest ? parts.length < levels.length : parts.length !== levels.length) continue;
      let ok = true;
      for (let i = 0; i < levels.length; i++) {
        const level = levels[i];
        if (level !== null && level !== parts[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return c;
    }
    return undefined;
  }

  private routeValue(
    c: CompiledMapping,
    parts: readonly string[],
    topicId: string | undefined,
    payload: Buffer,
    receivedAt: number,
    out: RouteResult,
  ): void {
    const target = this.target(c, topicId, out);
    if (target === undefined) return;
    const field = c.metricLevel >= 0 ? c.fields.get(parts[c.metricLevel] ?? '') : c.fieldList[0];
    if (field === undefined) {
      out.rejects.push({
        reason: 'unknown_field',
        detail: `${parts[c.metricLevel]} is not in fields of ${c.mapping.topic}`,
      });
      return;
    }
    const value = decodeValue(payload);
    if (Number.isNaN(value)) {
      out.rejects.push({ reason: 'not_a_number', detail: `${target} ${field.source}: ${preview(payload)}` });
      return;
    }
    this.accept(c, target, field, value, receivedAt, out);
  }

  private routeJson(
    c: CompiledMapping,
    topicId: string | undefined,
    payload: Buffer,
    receivedAt: number,
    out: RouteResult,
  ): void {
    const { records, errors } = decodeJson(payload.toString('utf8'));
    for (const error of errors) out.rejects.push({ reason: 'malformed_payload', detail: error });
    const { idField, timestampField, precision } = c.mapping;
    let unknown: Set<string> | undefined;
    for (const record of records) {
      const target = this.target(c, topicId ?? (idField ? idText(record[idField]) : undefined), out);
      if (target === undefined) continue;
      const ts =
        timestampField !== undefined && record[timestampField] !== undefined
          ? jsonTimestampToMs(record[timestampField], precision ?? 'ms')
          : receivedAt;
      if (!this.timeOk(ts, receivedAt, target, timestampField ? record[timestampField] : undefined, out))
        continue;
      for (const field of c.fieldList) {
        const raw = readJsonPath(record, field.path);
        if (raw !== undefined) this.accept(c, target, field, raw, ts, out);
      }
      for (const key in record) {
        if (!c.knownKeys.has(key)) {
          unknown ??= new Set();
          unknown.add(key);
        }
      }
    }
    if (unknown) this.unknownFields(c, unknown, out);
  }

  private routeLines(
    c: CompiledMapping,
    topicId: string | undefined,
    payload: Buffer,
    receivedAt: number,
    out: RouteResult,
  ): void {
    const { points, errors } = decodeLineProtocol(payload.toString('utf8'));
    for (const e of errors)
      out.rejects.push({ reason: 'malformed_payload', detail: `line ${e.line}: ${e.message}` });
    const { idField, precision } = c.mapping;
    let unknown: Set<string> | undefined;
    for (const point of points) {
      let id = topicId;
      if (id === undefined && idField !== undefined)
        id = point.tags.get(idField) ?? idText(point.fields.get(idField));
      const target = this.target(c, id, out);
      if (target === undefined) continue;
      const ts =
        point.timestamp === undefined ? receivedAt : lineTimestampToMs(point.timestamp, precision ?? 'ns');
      if (!this.timeOk(ts, receivedAt, target, point.timestamp, out)) continue;
      for (const [name, raw] of point.fields) {
        const field = c.fields.get(name);
        if (field !== undefined) this.accept(c, target, field, raw, ts, out);
        // String fields (status texts, versions) are never metrics: ignored, not counted.
        else if (typeof raw !== 'string' && name !== idField) {
          unknown ??= new Set();
          unknown.add(name);
        }
      }
    }
    if (unknown) this.unknownFields(c, unknown, out);
  }

  /** The validated target id, or undefined after recording why not. */
  private target(c: CompiledMapping, id: string | undefined, out: RouteResult): string | undefined {
    if (c.kind === 'site') return this.siteId;
    if (id === undefined || id.length === 0) {
      const where = c.mapping.idField
        ? `key/tag "${c.mapping.idField}"`
        : `{${ID_PARAM[c.kind]}} topic level`;
      out.rejects.push({ reason: 'unknown_target', detail: `no ${c.kind} id (${where} missing)` });
      return undefined;
    }
    const known = c.kind === 'rack' ? this.index.racks.has(id) : this.index.coolingUnits.has(id);
    if (!known) {
      out.rejects.push({ reason: 'unknown_target', detail: `${c.kind} ${id} is not in site ${this.siteId}` });
      return undefined;
    }
    return id;
  }

  private timeOk(ts: number, receivedAt: number, target: string, raw: unknown, out: RouteResult): boolean {
    if (Number.isNaN(ts)) {
      out.rejects.push({
        reason: 'malformed_payload',
        detail: `${target}: unreadable timestamp ${short(raw)}`,
      });
      return false;
    }
    if (ts > receivedAt + this.maxFutureMs) {
      out.rejects.push({
        reason: 'timestamp_in_future',
        detail: `${target}: ${safeIso(ts)} is ${Math.round((ts - receivedAt) / 1000)} s ahead (ingest.maxFutureMs)`,
      });
      return false;
    }
    if (ts < receivedAt - this.maxAgeMs) {
      out.rejects.push({
        reason: 'timestamp_too_old',
        detail: `${target}: ${safeIso(ts)} is older than ingest.maxAgeMs (${this.maxAgeMs} ms)`,
      });
      return false;
    }
    return true;
  }

  private accept(
    c: CompiledMapping,
    target: string,
    field: CompiledField,
    raw: unknown,
    ts: number,
    out: RouteResult,
  ): void {
    if (typeof raw !== 'number' || !Number.isFinite(raw)) {
      out.rejects.push({ reason: 'not_a_number', detail: `${target} ${field.source}: ${short(raw)}` });
      return;
    }
    const value = field.convert(raw);
    const range = this.limits.range(c.kind, target, field.metric);
    if (range !== undefined && !(value >= range.min && value <= range.max)) {
      out.rejects.push({
        reason: 'implausible_value',
        detail: `${target} ${field.metric}=${value} outside ${range.min}…${range.max} (from ${field.source}=${raw})`,
        implausible: { kind: c.kind, site: this.siteId, target, metric: field.metric, value, ts, range },
      });
      return;
    }
    out.readings.push({ kind: c.kind, site: this.siteId, target, metric: field.metric, value, ts });
  }

  private unknownFields(c: CompiledMapping, names: Set<string>, out: RouteResult): void {
    const listed = [...names].slice(0, MAX_LISTED_UNKNOWN).join(', ');
    const more = names.size > MAX_LISTED_UNKNOWN ? ` and ${names.size - MAX_LISTED_UNKNOWN} more` : '';
    out.rejects.push({
      reason: 'unknown_field',
      detail: `${listed}${more} not in fields of ${c.mapping.topic}`,
    });
  }
}

function compileMapping(mapping: TelemetryMapping, siteId: string): CompiledMapping {
  // Only this site's topics: {site} becomes a literal level, in the filter and in matching.
  const source = mapping.topic
    .split('/')
    .map((level) => (level === '{site}' ? siteId : level))
    .join('/');
  const { filter } = compileTopicPattern(source); // throws on malformed patterns
  const kind = mapping.target;
  const rawLevels = source.split('/');
  const last = rawLevels[rawLevels.length - 1] ?? '';
  const rest = last === '#' || /^\{[A-Za-z_][A-Za-z0-9_]*\.\.\.\}$/.test(last);
  const levelNames = (rest ? rawLevels.slice(0, -1) : rawLevels).map(
    (l) => /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(l)?.[1],
  );
  const levels = (rest ? rawLevels.slice(0, -1) : rawLevels).map((l, i) =>
    levelNames[i] || l === '+' ? null : l,
  );
  const idParam = ID_PARAM[kind];
  const idLevel = idParam ? levelNames.indexOf(idParam) : -1;
  const metricLevel = mapping.format === 'value' ? levelNames.indexOf('metric') : -1;

  const fieldList: CompiledField[] = Object.entries(mapping.fields).map(([src, map]) => {
    const metric = typeof map === 'string' ? map : map.metric;
    const unit = typeof map === 'string' ? undefined : map.unit;
    if (!(METRICS[kind] as readonly string[]).includes(metric)) {
      throw new Error(`field ${src}: ${metric} is not a ${kind} metric (${METRICS[kind].join(', ')})`);
    }
    let convert: Convert;
    try {
      convert = converterFor(metric, unit);
    } catch (err) {
      throw new Error(`field ${src}: ${(err as Error).message}`);
    }
    return { source: src, metric, convert, path: compileJsonPath(src) };
  });
  if (fieldList.length === 0) throw new Error('fields is empty; map at least one source field to a metric');
  if (idParam && idLevel < 0 && mapping.idField === undefined) {
    throw new Error(`a ${kind} mapping needs a {${idParam}} topic level or an idField`);
  }
  if (mapping.format === 'value' && metricLevel < 0 && fieldList.length !== 1) {
    throw new Error('format value needs a {metric} topic level, or exactly one entry in fields');
  }
  const knownKeys = new Set<string>(fieldList.map((f) => f.path.segments[0] ?? f.source));
  for (const f of fieldList) knownKeys.add(f.source);
  if (mapping.idField) knownKeys.add(mapping.idField);
  if (mapping.timestampField) knownKeys.add(mapping.timestampField);
  return {
    mapping,
    kind,
    levels,
    rest,
    idLevel,
    metricLevel,
    fields: new Map(fieldList.map((f) => [f.source, f])),
    fieldList,
    knownKeys,
    filter,
  };
}

function idText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function short(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function preview(payload: Buffer): string {
  return short(payload.subarray(0, 61).toString('utf8'));
}

function safeIso(ts: number): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString();
}
