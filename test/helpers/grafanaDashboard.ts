/**
 * The Grafana dashboard in deploy/grafana: its InfluxQL queries, and the measurements, tags and fields
 * the agent writes — derived from the store's own encoders, so the check follows the code, not a copy.
 */
import { readFileSync } from 'node:fs';
import { METRICS, SiteSchema, type TargetKind } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { encodeAlertLines, encodeForecastLines, tagsFor } from '../../src/store/points.ts';

export const DASHBOARD_FILE = 'deploy/grafana/hotaisle-dashboard.json';

interface Target {
  refId?: string;
  query?: string;
  rawQuery?: boolean;
}
interface Panel {
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string;
  datasource?: { type?: string; uid?: string };
}
interface Annotation {
  name: string;
  builtIn?: number;
  query?: string;
  datasource?: { type?: string; uid?: string };
}
export interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: { list: Annotation[] };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

export interface DashboardQuery {
  /** "panel <title> / <refId>", "variable <name>" or "annotation <name>", for messages. */
  where: string;
  query: string;
  datasourceUid: string | undefined;
}

/** Every InfluxQL query of the dashboard: panel targets (rows included), query variables, annotations. */
export function dashboardQueries(d: Dashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const walk = (panels: readonly Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        if (t.query !== undefined)
          out.push({
            where: `panel "${p.title}" / ${t.refId}`,
            query: t.query,
            datasourceUid: p.datasource?.uid,
          });
      }
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const v of d.templating.list) {
    if (v.type === 'query' && v.query !== undefined)
      out.push({ where: `variable ${v.name}`, query: v.query, datasourceUid: v.datasource?.uid });
  }
  for (const a of d.annotations.list) {
    if (!a.builtIn && a.query !== undefined)
      out.push({ where: `annotation ${a.name}`, query: a.query, datasourceUid: a.datasource?.uid });
  }
  return out;
}

export interface MeasurementSchema {
  tags: ReadonlySet<string>;
  fields: ReadonlySet<string>;
}

/** `measurement,tag=v,... field=v,... ts` → names (sample values hold no spaces, commas or escapes). */
function lineSchema(line: string): { measurement: string; schema: MeasurementSchema } {
  const [series = '', fields = ''] = line.split(' ');
  const [measurement = '', ...tags] = series.split(',');
  return {
    measurement,
    schema: {
      tags: new Set(tags.map((t) => t.split('=')[0] ?? '')),
      fields: new Set(fields.split(',').map((f) => f.split('=')[0] ?? '')),
    },
  };
}

/** What the agent writes to InfluxDB: measurement → tag keys and field keys. */
export function writtenSchema(): Map<string, MeasurementSchema> {
  const index = buildSiteIndex(
    SiteSchema.parse({
      site: { id: 's', name: 's' },
      rooms: [
        {
          id: 'h',
          rows: [
            { id: 'r', zone: 'z', racks: [{ id: 'k', position: 1, powerCapKw: 10, feeds: { a: 'f' } }] },
          ],
        },
      ],
      coolingUnits: [{ id: 'u', room: 'h', zone: 'z', capacityKw: 10 }],
    }),
  );
  const out = new Map<string, MeasurementSchema>();
  const targets: Record<TargetKind, string> = { rack: 'k', cooling: 'u', site: 's' };
  for (const kind of Object.keys(METRICS) as TargetKind[]) {
    out.set(kind, {
      tags: new Set(Object.keys(tagsFor(kind, 's', targets[kind], index))),
      fields: new Set(METRICS[kind]),
    });
  }
  const forecast = lineSchema(
    encodeForecastLines([
      { site: 's', rack: 'k', horizonMin: 15, model: 'v1', ts: 1, inletC: 1, loC: 0, hiC: 2 },
    ]).body,
  );
  out.set(forecast.measurement, forecast.schema);
  const alert = lineSchema(
    encodeAlertLines([
      {
        site: 's',
        rule: 'R',
        severity: 'warning',
        target: 'k',
        state: 'firing',
        value: 1,
        message: 'm',
        fingerprint: 'f',
        ts: 1,
      },
    ]),
  );
  out.set(alert.measurement, alert.schema);
  return out;
}

/**
 * Quoted identifiers of a query that the agent never writes: measurements after FROM, and every other
 * "name" that is neither a tag or field of those measurements nor an alias the query defines itself.
 */
export function unknownIdentifiers(query: string, schema: ReadonlyMap<string, MeasurementSchema>): string[] {
  const measurements = [...query.matchAll(/\bFROM\s+"([^"]+)"/gi)].map((m) => m[1] ?? '');
  const aliases = new Set([...query.matchAll(/\bAS\s+"([^"]+)"/gi)].map((m) => m[1] ?? ''));
  const unknown = measurements.filter((m) => !schema.has(m)).map((m) => `measurement ${m}`);
  const allowed = new Set<string>([...measurements, ...aliases]);
  for (const m of measurements) {
    const s = schema.get(m);
    for (const name of [...(s?.tags ?? []), ...(s?.fields ?? [])]) allowed.add(name);
  }
  if (measurements.length === 0) unknown.push('no FROM "measurement"');
  for (const m of query.matchAll(/"([^"]+)"/g)) {
    const name = m[1] ?? '';
    if (!allowed.has(name)) unknown.push(name);
  }
  return unknown;
}

export interface Substitution {
  vars: Readonly<Record<string, string>>;
  fromMs: number;
  toMs: number;
  /** $__interval, e.g. "1m". */
  interval: string;
}

/** Grafana's substitution for single-valued variables, enough to run the queries by hand. */
export function substitute(query: string, s: Substitution): string {
  let q = query
    .replaceAll('$timeFilter', `time >= ${Math.floor(s.fromMs)}ms and time <= ${Math.ceil(s.toMs)}ms`)
    .replaceAll('$__interval', s.interval);
  // Longest names first, so $rack never eats the start of a longer name.
  for (const name of Object.keys(s.vars).sort((a, b) => b.length - a.length)) {
    q = q.replaceAll(`\${${name}}`, s.vars[name] ?? '').replaceAll(`$${name}`, s.vars[name] ?? '');
  }
  return q;
}
