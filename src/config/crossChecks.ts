/**
 * Checks that span several parts of a site file and so cannot live in the zod schema:
 * unique ids, zones that some cooling unit serves, feeds that exist, telemetry mappings that can
 * actually match and decode. Pure: a validated config in, problems out. Every message says what to do.
 */

import { checkAlerts } from './alertChecks.ts';
import type { FieldMap, SiteConfig, TargetKind, TelemetryMapping } from './schema.ts';
import { METRICS } from './schema.ts';
import { compileTopicPattern, topicPatternProblems } from './topics.ts';

export interface CrossCheckProblem {
  path: string;
  message: string;
}

/** `['rooms', 0, 'rows', 2, 'id']` → `rooms[0].rows[2].id`; odd keys are quoted: `fields["a b"]`. */
export function formatConfigPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** The inverse of formatConfigPath. */
export function parseConfigPath(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  const token = /([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.matchAll(token)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function crossCheckSite(config: SiteConfig): CrossCheckProblem[] {
  return [
    ...checkLayout(config),
    ...checkCooling(config),
    ...checkPower(config),
    ...checkThresholdsAndTariff(config),
    ...checkTelemetry(config),
    ...checkAlerts(config),
  ];
}

/** Remembers where each id was first seen and reports later repeats with both paths. */
function uniqueIds(what: string, scope: string, out: CrossCheckProblem[]) {
  const seen = new Map<string, string>();
  return (id: string, path: string) => {
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, path);
      return;
    }
    out.push({
      path,
      message: `${what} '${id}' is used twice (also at ${first}); ${what} ids must be unique ${scope}, rename one of them`,
    });
  };
}

function checkLayout(config: SiteConfig): CrossCheckProblem[] {
  const out: CrossCheckProblem[] = [];
  const room = uniqueIds('room', 'in the site', out);
  const rack = uniqueIds('rack', 'across the whole site', out);
  const node = uniqueIds('node', 'across the whole site (the scheduler knows nodes by name)', out);
  for (const [i, r] of config.rooms.entries()) {
    room(r.id, `rooms[${i}].id`);
    const row = uniqueIds('row', `within room '${r.id}'`, out);
    for (const [j, w] of r.rows.entries()) {
      row(w.id, `rooms[${i}].rows[${j}].id`);
      const positions = new Map<number, string>();
      for (const [n, k] of w.racks.entries()) {
        const at = `rooms[${i}].rows[${j}].racks[${n}]`;
        rack(k.id, `${at}.id`);
        const other = positions.get(k.position);
        if (other !== undefined) {
          out.push({
            path: `${at}.position`,
            message: `racks '${other}' and '${k.id}' both stand at position ${k.position} of row '${w.id}'; give each rack its own slot`,
          });
        } else positions.set(k.position, k.id);
        for (const [m, d] of k.nodes.entries()) node(d.name, `${at}.nodes[${m}].name`);
      }
    }
  }
  return out;
}

function checkCooling(config: SiteConfig): CrossCheckProblem[] {
  const out: CrossCheckProblem[] = [];
  const unit = uniqueIds('cooling unit', 'in the site', out);
  const rooms = new Set(config.rooms.map((r) => r.id));
  /** zone → rooms that have a cooling unit for it */
  const zoneRooms = new Map<string, Set<string>>();
  for (const [i, u] of config.coolingUnits.entries()) {
    unit(u.id, `coolingUnits[${i}].id`);
    if (!rooms.has(u.room)) {
      out.push({
        path: `coolingUnits[${i}].room`,
        message: `cooling unit '${u.id}' is in room '${u.room}', which is not in rooms; known rooms: ${[...rooms].join(', ')}`,
      });
    }
    zoneRooms.set(u.zone, (zoneRooms.get(u.zone) ?? new Set()).add(u.room));
  }
  // A site without cooling units describes layout only; zones are then not checked.
  if (config.coolingUnits.length === 0) return out;
  const known = [...zoneRooms.keys()].join(', ');
  const checkZone = (zone: string, roomId: string, subject: string, path: string) => {
    const served = zoneRooms.get(zone);
    if (!served) {
      out.push({
        path,
        message: `${subject} is in zone '${zone}' but no coolingUnits entry has zone '${zone}'; known zones: ${known}. Fix the zone or add a cooling unit for it`,
      });
    } else if (!served.has(roomId)) {
      out.push({
        path,
        message: `${subject} stands in room '${roomId}' but zone '${zone}' is cooled only by units in ${[...served].map((r) => `'${r}'`).join(', ')}; use a zone of room '${roomId}'`,
      });
    }
  };
  for (const [i, r] of config.rooms.entries()) {
    for (const [j, w] of r.rows.entries()) {
      const onRowZone = w.racks.filter((k) => k.zone === undefined).map((k) => k.id);
      if (onRowZone.length > 0) {
        const subject = `row '${w.id}' (racks ${onRowZone.join(', ')})`;
        checkZone(w.zone, r.id, subject, `rooms[${i}].rows[${j}].zone`);
      }
      for (const [n, k] of w.racks.entries()) {
        if (k.zone === undefined) continue;
        checkZone(k.zone, r.id, `rack '${k.id}'`, `rooms[${i}].rows[${j}].racks[${n}].zone`);
      }
    }
  }
  return out;
}

function checkPower(config: SiteConfig): CrossCheckProblem[] {
  const out: CrossCheckProblem[] = [];
  const feed = uniqueIds('power feed', 'in the site', out);
  for (const [i, f] of config.powerFeeds.entries()) feed(f.id, `powerFeeds[${i}].id`);
  const feeds = new Set(config.powerFeeds.map((f) => f.id));
  for (const [i, r] of config.rooms.entries()) {
    for (const [j, w] of r.rows.entries()) {
      for (const [n, k] of w.racks.entries()) {
        const at = `rooms[${i}].rows[${j}].racks[${n}].feeds`;
        if (k.feeds.b !== undefined && k.feeds.b === k.feeds.a) {
          out.push({
            path: `${at}.b`,
            message: `rack '${k.id}' has feed '${k.feeds.a}' as both A and B; B must be a different feed (or leave b out for a single-corded rack)`,
          });
        }
        // Feeds are only checked when the site lists them; a layout-only file may omit powerFeeds.
        if (feeds.size === 0) continue;
        for (const side of ['a', 'b'] as const) {
          const id = k.feeds[side];
          if (id !== undefined && !feeds.has(id)) {
            out.push({
              path: `${at}.${side}`,
              message: `rack '${k.id}' uses power feed '${id}', which is not in powerFeeds; known feeds: ${[...feeds].join(', ')}`,
            });
          }
        }
      }
    }
  }
  return out;
}

function checkThresholdsAndTariff(config: SiteConfig): CrossCheckProblem[] {
  const out: CrossCheckProblem[] = [];
  const t = config.thresholds;
  if (t.inletWarnC >= t.inletCriticalC) {
    out.push({
      path: 'thresholds.inletWarnC',
      message: `inletWarnC (${t.inletWarnC} °C) must be below inletCriticalC (${t.inletCriticalC} °C); the warning has to come first (ASHRAE: 27 and 32)`,
    });
  }
  config.tariff?.periods.forEach((p, i) => {
    if (p.from === p.to) {
      out.push({
        path: `tariff.periods[${i}].to`,
        message: `tariff period '${p.name}' starts and ends at ${p.from}, so it never applies; for a whole day use from: '00:00' and to: '24:00'`,
      });
    }
  });
  return out;
}

/** Which source units make sense for a metric, by its suffix. */
function unitsFor(metric: string): readonly string[] {
  if (metric.endsWith('_c')) return ['C', 'F', 'K'];
  if (metric.endsWith('_kw')) return ['W', 'kW', 'MW'];
  if (metric.endsWith('_pct')) return ['pct', 'ratio'];
  return [];
}

function fieldMetric(f: FieldMap): { metric: string; unit: string | undefined } {
  return typeof f === 'string' ? { metric: f, unit: undefined } : { metric: f.metric, unit: f.unit };
}

/** Wildcard a mapping needs to tell which target a message is about, per target kind. */
const ID_WILDCARD: Record<TargetKind, string | undefined> = {
  rack: 'rack',
  cooling: 'unit',
  site: undefined,
};

function checkTelemetry(config: SiteConfig): CrossCheckProblem[] {
  const out: CrossCheckProblem[] = [];
  const filters: Array<{ index: number; topic: string; filter: string }> = [];
  config.telemetry.forEach((m, i) => {
    const at = `telemetry[${i}]`;
    const patternProblems = topicPatternProblems(m.topic);
    for (const p of patternProblems) {
      out.push({ path: `${at}.topic`, message: `topic pattern '${m.topic}' cannot be used: ${p}` });
    }
    if (patternProblems.length > 0) return;
    const params = compileTopicPattern(m.topic).params;
    out.push(...checkMappingShape(m, params, at));
    // {site} is filled with the site id when subscribing, so compare the filters actually subscribed.
    const concrete = m.topic
      .split('/')
      .map((level) => (level === '{site}' ? config.site.id : level))
      .join('/');
    const filter = compileTopicPattern(concrete).filter;
    const earlier = filters.find((f) => filterCovers(f.filter, filter));
    if (earlier) {
      const same = earlier.filter === filter;
      out.push({
        path: `${at}.topic`,
        message: same
          ? `topic '${m.topic}' subscribes to the same filter (${filter}) as telemetry[${earlier.index}] ('${earlier.topic}'); a message is routed to the first mapping whose pattern matches, so this mapping is never used. Merge its fields into telemetry[${earlier.index}] or make the topics differ`
          : `every topic matching '${m.topic}' also matches telemetry[${earlier.index}] ('${earlier.topic}'), which comes first; a message is routed to the first mapping whose pattern matches, so this mapping is never used. Move it above telemetry[${earlier.index}] or narrow that pattern`,
      });
    }
    filters.push({ index: i, topic: m.topic, filter });
  });
  return out;
}

function checkMappingShape(m: TelemetryMapping, params: readonly string[], at: string): CrossCheckProblem[] {
  const out: CrossCheckProblem[] = [];
  const has = (name: string) => params.includes(name);
  const fieldNames = Object.keys(m.fields);
  const idWildcard = ID_WILDCARD[m.target];
  if (idWildcard !== undefined && !has(idWildcard)) {
    if (m.format === 'value') {
      out.push({
        path: `${at}.topic`,
        message: `a '${m.target}' mapping with format value must name the ${m.target} in the topic; add a {${idWildcard}} level, e.g. dc/{site}/{${idWildcard}}/{metric}`,
      });
    } else if (m.idField === undefined) {
      out.push({
        path: `${at}.topic`,
        message: `a '${m.target}' mapping must say which ${m.target} a message is about: add a {${idWildcard}} level to the topic or set idField to the ${m.format === 'json' ? 'JSON key' : 'tag'} that holds the id`,
      });
    }
  }
  if (m.format === 'value') {
    if (m.idField !== undefined) {
      out.push({
        path: `${at}.idField`,
        message:
          'format value has no keys or tags to read an id from; remove idField and put the id in the topic',
      });
    }
    if (m.timestampField !== undefined) {
      out.push({
        path: `${at}.timestampField`,
        message:
          'format value carries a bare number without a timestamp (arrival time is used); remove timestampField',
      });
    }
    if (has('metric') && fieldNames.length === 0) {
      out.push({
        path: `${at}.fields`,
        message:
          'list which values of the {metric} topic level to read and what they mean, e.g. fields: { inlet: inlet_c, power: { metric: power_kw, unit: W } }',
      });
    } else if (!has('metric') && fieldNames.length !== 1) {
      out.push({
        path: `${at}.fields`,
        message: `without a {metric} level every message on the topic is one metric, so fields needs exactly one entry (it has ${fieldNames.length}); or add a {metric} level to the topic`,
      });
    }
  } else {
    if (has('metric')) {
      out.push({
        path: `${at}.topic`,
        message: `a {metric} level is meaningless for format ${m.format}: the payload names its fields; list them in fields and remove {metric} from the topic`,
      });
    }
    if (fieldNames.length === 0) {
      out.push({
        path: `${at}.fields`,
        message: `no fields listed, so nothing would be read; map the payload's ${m.format === 'json' ? 'keys' : 'fields'} to metrics, e.g. fields: { inlet_temp: inlet_c }`,
      });
    }
    if (m.format === 'influx-line' && m.timestampField !== undefined) {
      out.push({
        path: `${at}.timestampField`,
        message:
          'line protocol carries its timestamp at the end of the line; remove timestampField (set precision instead)',
      });
    }
  }
  const allowed: readonly string[] = METRICS[m.target];
  for (const [name, map] of Object.entries(m.fields)) {
    const { metric, unit } = fieldMetric(map);
    const path = `${at}.${formatConfigPath(['fields', name])}`;
    if (!allowed.includes(metric)) {
      out.push({
        path,
        message: `metric '${metric}' does not belong to target '${m.target}'; a ${m.target} mapping may use ${allowed.join(', ')}. Set target or move this field to a mapping for the right kind`,
      });
    } else if (unit !== undefined && !unitsFor(metric).includes(unit)) {
      out.push({
        path: `${path}.unit`,
        message: `unit '${unit}' cannot be converted to ${metric}; use one of ${unitsFor(metric).join(', ')}`,
      });
    }
  }
  return out;
}

/** True when every topic matching filter `b` also matches filter `a` (MQTT wildcard rules). */
export function filterCovers(a: string, b: string): boolean {
  const al = a.split('/');
  const bl = b.split('/');
  for (let i = 0; i < Math.max(al.length, bl.length); i++) {
    const x = al[i];
    const y = bl[i];
    if (x === '#') return true;
    if (x === undefined || y === undefined) return false;
    if (y === '#') return false;
    if (x === '+') continue;
    if (y === '+' || x !== y) return false;
  }
  return true;
}
