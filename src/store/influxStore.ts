/**
 * InfluxDB 1.x backend. Thin adapter (STYLE.md §4): write() throws so the write buffer can spool;
 * ping()/health() never throw. Retries are the write buffer's job, so the client's own retry and
 * host-disabling are switched off.
 *
 * The `influx` client does schema, queries and ping. Writes post line protocol from our own encoder
 * (points.ts) on a keep-alive agent: the client's writePoints() built and coerced an object per
 * point and spent more CPU than influxd itself (measured: ~13 ms + GC per 5,000-point batch).
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { InfluxDB, escape as influxEscape } from 'influx';
import { credentials } from '../config/overrides.ts';
import type { TargetKind } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import type { Logger } from '../log.ts';
import type { Reading } from '../telemetry/reading.ts';
import { errorMessage, StoreWriteError } from './errors.ts';
import { buildAlertEventsQuery, parseAlertEventsResponse, stringLiteral } from './influxQl.ts';
import { encodeAlertLines, ForecastLineEncoder, LineEncoder, TARGET_TAG } from './points.ts';
import {
  type AlertEventQuery,
  type AlertEventRecord,
  DEFAULT_ALERT_EVENT_LIMIT,
  type ForecastRecord,
  type HistoryQuery,
  type HistorySeries,
  type StoreHealth,
  type TelemetryStore,
} from './store.ts';

/** Kept here too: callers (forecast/holtWinters.ts) import it from the store they query. */
export { stringLiteral };

export interface InfluxStoreContext {
  index: SiteIndex;
  log: Logger;
  /** Where credentials are read from (names come from the site file); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Per-request timeout; a hung server must not hold a write slot for long. */
  requestTimeoutMs?: number;
}

/** Never take the (only) host out of the client's pool: our own backoff decides when to try again. */
const NO_BACKOFF = {
  getDelay: () => 0,
  next() {
    return NO_BACKOFF;
  },
  reset() {
    return NO_BACKOFF;
  },
};

export function retentionPolicyName(days: number): string {
  return `hotaisle_${days}d`;
}

interface RawSeries {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values: Array<Array<number | null>>;
}
interface RawResponse {
  results?: Array<{ series?: RawSeries[]; error?: string }>;
  error?: string;
}

/** Builds one InfluxQL SELECT for a history query; identifiers and strings escaped by the client. */
export function buildHistoryQuery(q: HistoryQuery, database: string, retentionPolicy: string): string {
  const tagKey = TARGET_TAG[q.kind];
  const from = Math.floor(q.from);
  const to = Math.ceil(q.to);
  if (!Number.isFinite(from) || !Number.isFinite(to))
    throw new Error('history query: from/to must be finite ms timestamps');
  const source = `${influxEscape.quoted(database)}.${influxEscape.quoted(retentionPolicy)}.${influxEscape.quoted(q.kind)}`;
  const where = [
    `${influxEscape.quoted('site')} = ${stringLiteral(q.site)}`,
    `time >= ${from}ms`,
    `time < ${to}ms`,
  ];
  if (q.targets) {
    where.push(
      `(${q.targets.map((t) => `${influxEscape.quoted(tagKey)} = ${stringLiteral(t)}`).join(' OR ')})`,
    );
  }
  if (q.windowMs !== undefined) {
    const w = Math.round(q.windowMs);
    if (!(w >= 1)) throw new Error('history query: windowMs must be at least 1 ms');
    const fields = q.metrics
      .map((m) => `mean(${influxEscape.quoted(m)}) AS ${influxEscape.quoted(m)}`)
      .join(', ');
    return `SELECT ${fields} FROM ${source} WHERE ${where.join(' AND ')} GROUP BY time(${w}ms), ${influxEscape.quoted(tagKey)} fill(none)`;
  }
  const fields = q.metrics.map((m) => influxEscape.quoted(m)).join(', ');
  return `SELECT ${fields} FROM ${source} WHERE ${where.join(' AND ')} GROUP BY ${influxEscape.quoted(tagKey)}`;
}

/** Turns the JSON of one statement into series, one per target and metric, dropping nulls. */
export function parseHistoryResponse(
  raw: RawResponse,
  kind: TargetKind,
  metrics: readonly string[],
): HistorySeries[] {
  if (raw.error) throw new Error(`InfluxDB query failed: ${raw.error}`);
  const result = raw.results?.[0];
  if (result?.error) throw new Error(`InfluxDB query failed: ${result.error}`);
  const tagKey = TARGET_TAG[kind];
  const out: HistorySeries[] = [];
  for (const s of result?.series ?? []) {
    const target = s.tags?.[tagKey] ?? '';
    const timeCol = s.columns.indexOf('time');
    for (const metric of metrics) {
      const col = s.columns.indexOf(metric);
      if (col < 0 || timeCol < 0) continue;
      const points: HistorySeries['points'] = [];
      for (const row of s.values) {
        const ts = row[timeCol];
        const value = row[col];
        if (typeof ts === 'number' && typeof value === 'number') points.push({ ts, value });
      }
      if (points.length > 0) out.push({ target, metric, points });
    }
  }
  out.sort((a, b) =>
    a.target < b.target
      ? -1
      : a.target > b.target
        ? 1
        : metrics.indexOf(a.metric) - metrics.indexOf(b.metric),
  );
  return out;
}

export class InfluxStore implements TelemetryStore {
  readonly name = 'influx';
  readonly database: string;
  readonly retentionPolicy: string;
  private client: InfluxDB | undefined;
  private encoder: LineEncoder | undefined;
  private forecastEncoder: ForecastLineEncoder | undefined;
  private agent: HttpAgent | undefined;
  private auth: string | undefined;
  private readonly requestTimeoutMs: number;
  private connected = false;
  private lastError: string | undefined;
  /** Set when the database vanished (or start() could not prepare it): prepare again before writing. */
  private schemaReady = false;
  private readonly log: Logger;
  /** Where room/row tags come from: the index at start, then each reload's (storage settings stay). */
  private tagIndex: SiteIndex;

  constructor(private readonly ctx: InfluxStoreContext) {
    this.tagIndex = ctx.index;
    const s = ctx.index.site.storage.influx;
    this.database = s.database;
    this.retentionPolicy = retentionPolicyName(s.retentionDays);
    this.log = ctx.log.child({ module: 'store', store: 'influx' });
    this.requestTimeoutMs = ctx.requestTimeoutMs ?? 10_000;
  }

  get url(): string {
    const s = this.ctx.index.site.storage.influx;
    return `${s.protocol}://${s.host}:${s.port}`;
  }

  async start(): Promise<void> {
    const s = this.ctx.index.site.storage.influx;
    const creds = credentials(this.ctx.env ?? process.env, s, {
      usernameEnv: 'HOTAISLE_INFLUX_USERNAME',
      passwordEnv: 'HOTAISLE_INFLUX_PASSWORD',
    });
    // A keep-alive agent of our own: batches reuse connections, and stop() can close them.
    this.agent?.destroy();
    this.agent =
      s.protocol === 'https'
        ? new HttpsAgent({ keepAlive: true, maxSockets: 8 })
        : new HttpAgent({ keepAlive: true, maxSockets: 8 });
    this.client = new InfluxDB({
      host: s.host,
      port: s.port,
      protocol: s.protocol,
      database: s.database,
      ...creds,
      options: { agent: this.agent },
      pool: { maxRetries: 0, requestTimeout: this.requestTimeoutMs, backoff: NO_BACKOFF },
    });
    this.auth = creds.username !== undefined ? `${creds.username}:${creds.password ?? ''}` : undefined;
    this.encoder = new LineEncoder(this.tagIndex);
    try {
      await this.prepareSchema();
      this.markUp();
      this.log.info(
        { url: this.url, database: this.database, retentionPolicy: this.retentionPolicy },
        'InfluxDB ready',
      );
    } catch (err) {
      this.markDown(err);
      throw new Error(
        `InfluxDB at ${this.url} could not be prepared (database ${this.database}): ${errorMessage(err)}`,
      );
    }
  }

  /** Database and retention policy, created when missing; safe to repeat. */
  private async prepareSchema(): Promise<void> {
    const client = this.requireClient();
    const days = this.ctx.index.site.storage.influx.retentionDays;
    const names = await client.getDatabaseNames();
    if (!names.includes(this.database)) await client.createDatabase(this.database);
    const policies = await client.showRetentionPolicies(this.database);
    const existing = policies.find((p) => p.name === this.retentionPolicy);
    const options = { database: this.database, duration: `${days}d`, replication: 1, isDefault: true };
    if (!existing) await client.createRetentionPolicy(this.retentionPolicy, options);
    else if (!existing.default || existing.duration !== `${days * 24}h0m0s`)
      await client.alterRetentionPolicy(this.retentionPolicy, options);
    this.schemaReady = true;
  }

  /** A reload added or moved racks/units: a new encoder, so their points carry room and row tags. */
  setIndex(index: SiteIndex): void {
    this.tagIndex = index;
    if (this.encoder) this.encoder = new LineEncoder(index);
  }

  async write(readings: readonly Reading[]): Promise<number | undefined> {
    if (readings.length === 0) return 0;
    if (!this.client || !this.encoder) throw new StoreWriteError('InfluxStore.write() before start()', true);
    const { body, points, skipped } = this.encoder.encode(readings);
    if (skipped > 0)
      this.log.warn({ skipped }, 'readings with non-finite values or timestamps were not written');
    if (points === 0) return 0;
    try {
      if (!this.schemaReady) await this.prepareSchema();
      await this.postLines(body);
      this.markUp();
      return points;
    } catch (err) {
      if (err instanceof StoreWriteError && !err.retryable) {
        this.markUp(); // it answered; the data was the problem
        throw err;
      }
      this.markDown(err);
      throw err instanceof StoreWriteError
        ? err
        : new StoreWriteError(`InfluxDB write to ${this.url} failed: ${errorMessage(err)}`, true);
    }
  }

  /** The `forecast` measurement, same database and retention policy as the telemetry it is charted with. */
  async writeForecasts(records: readonly ForecastRecord[]): Promise<void> {
    if (!this.client) throw new StoreWriteError('InfluxStore.writeForecasts() before start()', true);
    this.forecastEncoder ??= new ForecastLineEncoder();
    const { body, points } = this.forecastEncoder.encode(records);
    if (points === 0) return;
    if (!this.schemaReady) await this.prepareSchema();
    await this.postLines(body);
  }

  /** The `alert` measurement: one point per notification, for history and Grafana annotations. */
  async writeAlertEvents(events: readonly AlertEventRecord[]): Promise<void> {
    if (!this.client) throw new StoreWriteError('InfluxStore.writeAlertEvents() before start()', true);
    const body = encodeAlertLines(events);
    if (body.length === 0) return;
    if (!this.schemaReady) await this.prepareSchema();
    await this.postLines(body);
  }

  /** The `alert` measurement read back, newest first. */
  async queryAlertEvents(q: AlertEventQuery): Promise<AlertEventRecord[]> {
    if (q.to <= q.from) return [];
    const text = buildAlertEventsQuery(q, this.database, this.retentionPolicy, DEFAULT_ALERT_EVENT_LIMIT);
    const raw: unknown = await this.requireClient().queryRaw(text, { precision: 'ms', method: 'POST' });
    return parseAlertEventsResponse(raw as Parameters<typeof parseAlertEventsResponse>[0]);
  }

  /** POST /write; resolves on 204, rejects with a StoreWriteError that says whether a retry can help. */
  private postLines(body: string): Promise<void> {
    const s = this.ctx.index.site.storage.influx;
    const query = new URLSearchParams({ db: this.database, rp: this.retentionPolicy, precision: 'ms' });
    const payload = Buffer.from(body);
    const headers: Record<string, string | number> = {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': payload.length,
    };
    if (this.auth) headers.authorization = `Basic ${Buffer.from(this.auth).toString('base64')}`;
    const send = s.protocol === 'https' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        {
          host: s.host,
          port: s.port,
          method: 'POST',
          path: `/write?${query}`,
          headers,
          agent: this.agent,
          timeout: this.requestTimeoutMs,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (text.length < 2000) text += chunk;
          });
          res.on('error', (err) => reject(new StoreWriteError(`InfluxDB write: ${err.message}`, true)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve();
            const detail = `HTTP ${status} ${text.trim() || res.statusMessage || ''}`.trim();
            if (status === 404 || /database not found|retention policy not found/i.test(text))
              this.schemaReady = false;
            // 400: InfluxDB parsed the batch and refused (part of) it; the same lines can never succeed.
            reject(
              new StoreWriteError(
                `InfluxDB ${status === 400 ? 'refused the batch' : 'write failed'}: ${detail}`,
                status !== 400,
              ),
            );
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.requestTimeoutMs} ms`)));
      req.on('error', (err) =>
        reject(new StoreWriteError(`InfluxDB write to ${this.url} failed: ${err.message}`, true)),
      );
      req.end(payload);
    });
  }

  async query(q: HistoryQuery): Promise<HistorySeries[]> {
    if (q.metrics.length === 0 || q.targets?.length === 0 || q.to <= q.from) return [];
    const client = this.requireClient();
    const text = buildHistoryQuery(q, this.database, this.retentionPolicy);
    const raw = (await client.queryRaw(text, { precision: 'ms', method: 'POST' })) as RawResponse;
    return parseHistoryResponse(raw, q.kind, q.metrics);
  }

  /** Runs an InfluxQL statement as is (tests, diagnostics); the caller owns its safety. */
  async rawQuery(text: string): Promise<RawResponse> {
    return (await this.requireClient().queryRaw(text, { precision: 'ms', method: 'POST' })) as RawResponse;
  }

  async ping(): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    try {
      const hosts = await client.ping(2000);
      const online = hosts.some((h) => h.online);
      if (online) this.connected = true;
      else this.markDown(new Error('ping: no answer'));
      return online;
    } catch (err) {
      this.markDown(err);
      return false;
    }
  }

  health(): StoreHealth {
    return {
      connected: this.connected,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  async stop(): Promise<void> {
    this.agent?.destroy();
    this.agent = undefined;
    this.client = undefined;
    this.connected = false;
  }

  private requireClient(): InfluxDB {
    if (!this.client) throw new Error('InfluxStore used before start()');
    return this.client;
  }

  private markUp(): void {
    if (!this.connected) this.log.info({ url: this.url }, 'InfluxDB reachable');
    this.connected = true;
  }

  private markDown(err: unknown): void {
    const message = errorMessage(err);
    if (this.connected || this.lastError !== message)
      this.log.warn({ url: this.url, err: message }, 'InfluxDB unreachable');
    this.connected = false;
    this.lastError = message;
  }
}
