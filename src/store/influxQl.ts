/**
 * InfluxQL text for the InfluxDB backend: string literals, and the alert-history query with the
 * mapping of its rows back to records. Pure: no client, no I/O.
 */
import { escape as influxEscape } from 'influx';
import type { AlertEventQuery, AlertEventRecord } from './store.ts';

/**
 * An InfluxQL string literal. The client's escape.stringLit escapes quotes but not backslashes, so a
 * value ending in `\\` would end the literal early; escape both.
 */
export function stringLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Columns of the `alert` measurement (points.ts encodeAlertLines), tags and fields alike. */
const ALERT_COLUMNS = ['site', 'rule', 'severity', 'target', 'state', 'value', 'message', 'fingerprint'];

/** One SELECT on the `alert` measurement, newest first; identifiers quoted and strings escaped. */
export function buildAlertEventsQuery(
  q: AlertEventQuery,
  database: string,
  retentionPolicy: string,
  defaultLimit: number,
): string {
  const from = Math.floor(q.from);
  const to = Math.ceil(q.to);
  if (!Number.isFinite(from) || !Number.isFinite(to))
    throw new Error('alert history query: from/to must be finite ms timestamps');
  const limit = Math.floor(q.limit ?? defaultLimit);
  if (!(limit >= 1)) throw new Error('alert history query: limit must be at least 1');
  const source = `${influxEscape.quoted(database)}.${influxEscape.quoted(retentionPolicy)}.${influxEscape.quoted('alert')}`;
  const where = [
    `${influxEscape.quoted('site')} = ${stringLiteral(q.site)}`,
    `time >= ${from}ms`,
    `time < ${to}ms`,
  ];
  if (q.rack !== undefined) where.push(`${influxEscape.quoted('target')} = ${stringLiteral(q.rack)}`);
  if (q.alertname !== undefined) where.push(`${influxEscape.quoted('rule')} = ${stringLiteral(q.alertname)}`);
  const columns = ALERT_COLUMNS.map((c) => influxEscape.quoted(c)).join(', ');
  return `SELECT ${columns} FROM ${source} WHERE ${where.join(' AND ')} ORDER BY time DESC LIMIT ${limit}`;
}

interface RawAlertResponse {
  results?: Array<{ series?: Array<{ columns: string[]; values: unknown[][] }>; error?: string }>;
  error?: string;
}

/** The JSON of buildAlertEventsQuery's statement (precision ms) → records, newest first. */
export function parseAlertEventsResponse(raw: RawAlertResponse): AlertEventRecord[] {
  if (raw.error) throw new Error(`InfluxDB query failed: ${raw.error}`);
  const result = raw.results?.[0];
  if (result?.error) throw new Error(`InfluxDB query failed: ${result.error}`);
  const out: AlertEventRecord[] = [];
  for (const s of result?.series ?? []) {
    const at = (name: string) => s.columns.indexOf(name);
    const time = at('time');
    const text = (row: unknown[], name: string) => {
      const v = row[at(name)];
      return typeof v === 'string' ? v : '';
    };
    for (const row of s.values) {
      const ts = row[time];
      if (typeof ts !== 'number') continue;
      const value = row[at('value')];
      out.push({
        ts,
        site: text(row, 'site'),
        rule: text(row, 'rule'),
        severity: text(row, 'severity'),
        target: text(row, 'target'),
        state: text(row, 'state'),
        value: typeof value === 'number' ? value : Number.NaN,
        message: text(row, 'message'),
        fingerprint: text(row, 'fingerprint'),
      });
    }
  }
  return out.sort((a, b) => b.ts - a.ts);
}
