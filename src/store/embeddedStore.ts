/**
 * The default store when no InfluxDB is configured: columnar series in memory (columnSeries.ts),
 * persisted as append-only binary segment files under `<dataDir>/store/`, reloaded on start and
 * pruned by retention. Queries mean the same as InfluxStore's: raw points, or means per window
 * aligned to the epoch with empty windows left out.
 *
 * Segment records (little-endian), one append per write():
 *   1 = series:  u8 1, u32 id, u16 length, UTF-8 JSON [kind, site, target, metric]
 *   2 = samples: u8 2, u32 count, count × (u32 id, f64 ts, f32 value)
 * Ids are local to a segment, which defines each series before first use. A record cut short by a
 * crash is ignored on load; each start opens a new segment, so nothing is appended after it.
 * Forecasts are series of kind `forecast`: target the rack, metric `h<horizon>.<field>` (e.g.
 * `h15.inlet_c`); the model tag is not kept (the model files record which model was in service).
 * Alert events go to `alerts.jsonl` beside the segments (alertEventLog.ts), under the same retention.
 */
import { type FileHandle, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TargetKind } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import type { Logger } from '../log.ts';
import type { Reading } from '../telemetry/reading.ts';
import { AlertEventLog } from './alertEventLog.ts';
import { ColumnSeries, windowMeans } from './columnSeries.ts';
import { errorMessage, StoreWriteError } from './errors.ts';
import type {
  AlertEventQuery,
  AlertEventRecord,
  ForecastRecord,
  HistoryQuery,
  HistorySeries,
  StoreHealth,
  TelemetryStore,
} from './store.ts';

/** The site schema has no embedded retention setting; two weeks covers training and backtests. */
export const EMBEDDED_RETENTION_DAYS = 14;
const DAY_MS = 86_400_000;
const SAMPLE_BYTES = 16;
const SEGMENT_RE = /^(\d{10})\.seg$/;
const KINDS: ReadonlySet<string> = new Set(['rack', 'cooling', 'site', 'forecast']);
/** Telemetry kinds, plus the forecasts written next to them. */
type StoredKind = TargetKind | 'forecast';
type StoredReading = Omit<Reading, 'kind'> & { kind: StoredKind };

export interface EmbeddedStoreContext {
  index: SiteIndex;
  log: Logger;
  /** Parent of `store/`; storage.dataDir by default. */
  dataDir?: string;
  retentionDays?: number;
  /** Roll to a new segment past this size (default 64 MB) or age (one day). */
  segmentMaxBytes?: number;
  now?: () => number;
  /**
   * Load and query only (CLI commands next to a running agent): no segment is opened, none is
   * pruned, and writes throw. Another process's segment is never appended to.
   */
  readOnly?: boolean;
}

interface Segment {
  name: string;
  seq: number;
  bytes: number;
  maxTs: number;
  openedAt: number;
}

interface SeriesEntry {
  kind: StoredKind;
  site: string;
  target: string;
  metric: string;
  data: ColumnSeries;
}

function parseSeriesDef(text: string): [StoredKind, string, string, string] | undefined {
  try {
    const def = JSON.parse(text) as unknown;
    if (
      Array.isArray(def) &&
      def.length === 4 &&
      KINDS.has(def[0] as string) &&
      def.every((x) => typeof x === 'string')
    ) {
      return def as [StoredKind, string, string, string];
    }
  } catch {
    // fall through: damaged record
  }
  return undefined;
}

export class EmbeddedStore implements TelemetryStore {
  readonly name = 'embedded';
  readonly dir: string;
  private readonly series = new Map<string, SeriesEntry>();
  /** kind\0site → target → metric → entry, for queries. */
  private readonly byTarget = new Map<string, Map<string, Map<string, SeriesEntry>>>();
  private segments: Segment[] = [];
  private current: { segment: Segment; fh: FileHandle; ids: Map<SeriesEntry, number> } | undefined;
  private alertLog: AlertEventLog | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private pruneTimer: ReturnType<typeof setInterval> | undefined;
  private started = false;
  private lastError: string | undefined;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly retentionMs: number;

  constructor(private readonly ctx: EmbeddedStoreContext) {
    this.dir = join(resolve(ctx.dataDir ?? ctx.index.site.storage.dataDir), 'store');
    this.log = ctx.log.child({ module: 'store', store: 'embedded' });
    this.now = ctx.now ?? Date.now;
    this.retentionMs = (ctx.retentionDays ?? EMBEDDED_RETENTION_DAYS) * DAY_MS;
  }

  /** Loads the segments; safe to call again after a failed attempt (starts from scratch). */
  async start(): Promise<void> {
    if (this.started) return;
    this.series.clear();
    this.byTarget.clear();
    this.segments = [];
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    const cutoff = this.now() - this.retentionMs;
    let samples = 0;
    for (const name of names) samples += await this.load(name, cutoff);
    await this.alertLog?.close(); // a failed start() before this one may have opened it
    const alertLog = new AlertEventLog(join(this.dir, 'alerts.jsonl'), this.log);
    await alertLog.load(cutoff, this.ctx.readOnly === true);
    this.alertLog = alertLog;
    if (this.ctx.readOnly) {
      this.started = true;
      this.log.info(
        { dir: this.dir, series: this.series.size, samples },
        'embedded store loaded (read only)',
      );
      return;
    }
    await this.pruneSegments(cutoff);
    await this.openSegment();
    this.pruneTimer = setInterval(
      () =>
        void this.prune().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'prune failed')),
      3_600_000,
    );
    this.pruneTimer.unref?.();
    this.started = true;
    this.log.info(
      { dir: this.dir, segments: this.segments.length, series: this.series.size, samples },
      'embedded store loaded',
    );
  }

  async write(readings: readonly Reading[]): Promise<number | undefined> {
    await this.writeStored(readings);
    return undefined;
  }

  private writeStored(readings: readonly StoredReading[]): Promise<void> {
    if (readings.length === 0) return Promise.resolve();
    if (this.ctx.readOnly)
      return Promise.reject(new StoreWriteError('embedded store opened read only', false));
    return this.serial(async () => {
      if (!this.current) throw new StoreWriteError('EmbeddedStore.write() before start()', true);
      try {
        await this.rollIfDue();
        await this.append(readings);
        this.lastError = undefined;
      } catch (err) {
        this.lastError = errorMessage(err);
        throw err instanceof StoreWriteError
          ? err
          : new StoreWriteError(`embedded store write failed: ${this.lastError}`, true);
      }
    });
  }

  /** Forecasts as `forecast` series (see the file comment). */
  writeForecasts(records: readonly ForecastRecord[]): Promise<void> {
    const readings: StoredReading[] = [];
    for (const f of records) {
      const h = `h${Math.round(f.horizonMin)}.`;
      const base = { kind: 'forecast' as const, site: f.site, target: f.rack, ts: f.ts };
      readings.push({ ...base, metric: `${h}inlet_c`, value: f.inletC });
      readings.push({ ...base, metric: `${h}lo_c`, value: f.loC });
      readings.push({ ...base, metric: `${h}hi_c`, value: f.hiC });
    }
    return this.writeStored(readings);
  }

  /** Appended to alerts.jsonl in the same queue as telemetry, so writes never interleave. */
  writeAlertEvents(events: readonly AlertEventRecord[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    if (this.ctx.readOnly)
      return Promise.reject(new StoreWriteError('embedded store opened read only', false));
    return this.serial(async () => {
      if (!this.alertLog || !this.current)
        throw new StoreWriteError('EmbeddedStore.writeAlertEvents() before start()', true);
      await this.alertLog.append(events);
    });
  }

  async queryAlertEvents(q: AlertEventQuery): Promise<AlertEventRecord[]> {
    // Clamped to retention like telemetry: expiry is exact for readers between hourly prunes.
    return this.alertLog?.query({ ...q, from: Math.max(q.from, this.now() - this.retentionMs) }) ?? [];
  }

  /** Alert events held and lines of alerts.jsonl skipped as unreadable at start. */
  alertHistoryStats(): { events: number; skippedLines: number } {
    return this.alertLog?.stats() ?? { events: 0, skippedLines: 0 };
  }

  query(q: HistoryQuery): Promise<HistorySeries[]> {
    return this.queryStored(q.kind, q);
  }

  /** Stored forecasts (metrics such as `h15.inlet_c`), read as query() reads telemetry. */
  queryForecasts(q: Omit<HistoryQuery, 'kind'>): Promise<HistorySeries[]> {
    return this.queryStored('forecast', q);
  }

  private async queryStored(kind: StoredKind, q: Omit<HistoryQuery, 'kind'>): Promise<HistorySeries[]> {
    const targets = this.byTarget.get(`${kind}\u0000${q.site}`);
    // Memory is pruned a chunk at a time; clamping here makes expiry exact for readers.
    const from = Math.max(q.from, this.now() - this.retentionMs);
    if (!targets || q.metrics.length === 0 || q.to <= from) return [];
    const ids = q.targets ?? [...targets.keys()].sort();
    const out: HistorySeries[] = [];
    for (const target of [...new Set(ids)].sort()) {
      const metrics = targets.get(target);
      if (!metrics) continue;
      for (const metric of q.metrics) {
        const entry = metrics.get(metric);
        if (!entry) continue;
        const { ts, values } = entry.data.range(from, q.to);
        if (ts.length === 0) continue;
        const points =
          q.windowMs !== undefined
            ? windowMeans(ts, values, Math.max(1, Math.round(q.windowMs)))
            : ts.map((t, i) => ({ ts: t, value: values[i] as number }));
        out.push({ target, metric, points });
      }
    }
    return out;
  }

  async ping(): Promise<boolean> {
    return this.started;
  }

  health(): StoreHealth {
    return {
      connected: this.started && this.lastError === undefined,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  async stop(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    await this.serial(async () => {
      await this.current?.fh.close();
      this.current = undefined;
      await this.alertLog?.close();
    }).catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'closing the segment failed'));
    this.started = false;
  }

  /** Memory held by series data, for health and tests. */
  memoryBytes(): number {
    let n = 0;
    for (const e of this.series.values()) n += e.data.bytes;
    return n;
  }

  /** Drops data past retention: whole chunks in memory, whole segments on disk, old alert events. */
  prune(): Promise<void> {
    return this.serial(async () => {
      const cutoff = this.now() - this.retentionMs;
      for (const [key, e] of this.series) {
        e.data.pruneBefore(cutoff);
        if (e.data.empty) this.forget(key, e);
      }
      await this.pruneSegments(cutoff);
      if (!this.ctx.readOnly) await this.alertLog?.prune(cutoff);
    });
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private entryFor(kind: StoredKind, site: string, target: string, metric: string): SeriesEntry {
    const key = `${kind}\u0000${site}\u0000${target}\u0000${metric}`;
    let e = this.series.get(key);
    if (!e) {
      e = { kind, site, target, metric, data: new ColumnSeries() };
      this.series.set(key, e);
      const siteKey = `${kind}\u0000${site}`;
      let targets = this.byTarget.get(siteKey);
      if (!targets) {
        targets = new Map();
        this.byTarget.set(siteKey, targets);
      }
      let metrics = targets.get(target);
      if (!metrics) {
        metrics = new Map();
        targets.set(target, metrics);
      }
      metrics.set(metric, e);
    }
    return e;
  }

  private forget(key: string, e: SeriesEntry): void {
    this.series.delete(key);
    const targets = this.byTarget.get(`${e.kind}\u0000${e.site}`);
    const metrics = targets?.get(e.target);
    metrics?.delete(e.metric);
    if (metrics?.size === 0) targets?.delete(e.target);
  }

  private async append(readings: readonly StoredReading[]): Promise<void> {
    const cur = this.current as NonNullable<typeof this.current>;
    const defs: Buffer[] = [];
    const entries: SeriesEntry[] = [];
    const kept: StoredReading[] = [];
    for (const r of readings) {
      if (!Number.isFinite(r.value) || !Number.isFinite(r.ts)) continue;
      const e = this.entryFor(r.kind, r.site, r.target, r.metric);
      if (!cur.ids.has(e)) {
        const id = cur.ids.size + 1;
        cur.ids.set(e, id);
        const json = Buffer.from(JSON.stringify([e.kind, e.site, e.target, e.metric]));
        const def = Buffer.allocUnsafe(7 + json.length);
        def.writeUInt8(1, 0);
        def.writeUInt32LE(id, 1);
        def.writeUInt16LE(json.length, 5);
        json.copy(def, 7);
        defs.push(def);
      }
      entries.push(e);
      kept.push(r);
    }
    if (kept.length < readings.length)
      this.log.warn(
        { skipped: readings.length - kept.length },
        'readings with non-finite values or timestamps were not stored',
      );
    if (kept.length === 0) return;
    const block = Buffer.allocUnsafe(5 + kept.length * SAMPLE_BYTES);
    block.writeUInt8(2, 0);
    block.writeUInt32LE(kept.length, 1);
    let maxTs = cur.segment.maxTs;
    for (let i = 0, o = 5; i < kept.length; i++, o += SAMPLE_BYTES) {
      const r = kept[i] as StoredReading;
      block.writeUInt32LE(cur.ids.get(entries[i] as SeriesEntry) as number, o);
      block.writeDoubleLE(Math.round(r.ts), o + 4);
      block.writeFloatLE(r.value, o + 12);
      if (r.ts > maxTs) maxTs = r.ts;
    }
    const buf = defs.length > 0 ? Buffer.concat([...defs, block]) : block;
    await cur.fh.write(buf);
    // Memory only after the disk took it, so a failed write() leaves no half-stored batch behind.
    for (let i = 0; i < kept.length; i++) {
      const r = kept[i] as StoredReading;
      (entries[i] as SeriesEntry).data.append(Math.round(r.ts), r.value);
    }
    cur.segment.bytes += buf.length;
    cur.segment.maxTs = maxTs;
  }

  /** Loads one segment into memory, skipping samples past retention; returns samples loaded. */
  private async load(name: string, cutoff: number): Promise<number> {
    const buf = await readFile(join(this.dir, name));
    const ids = new Map<number, SeriesEntry>();
    let maxTs = Number.NEGATIVE_INFINITY;
    let loaded = 0;
    let o = 0;
    while (o < buf.length) {
      const type = buf[o];
      if (type === 1 && o + 7 <= buf.length) {
        const len = buf.readUInt16LE(o + 5);
        if (o + 7 + len > buf.length) break;
        const id = buf.readUInt32LE(o + 1);
        const def = parseSeriesDef(buf.toString('utf8', o + 7, o + 7 + len));
        if (!def) break; // damaged: keep what was read, report the rest below
        const [kind, site, target, metric] = def;
        ids.set(id, this.entryFor(kind, site, target, metric));
        o += 7 + len;
      } else if (type === 2 && o + 5 <= buf.length) {
        const count = buf.readUInt32LE(o + 1);
        if (o + 5 + count * SAMPLE_BYTES > buf.length) break;
        for (let i = 0, p = o + 5; i < count; i++, p += SAMPLE_BYTES) {
          const e = ids.get(buf.readUInt32LE(p));
          const ts = buf.readDoubleLE(p + 4);
          if (ts > maxTs) maxTs = ts;
          if (!e || ts < cutoff) continue;
          e.data.append(ts, buf.readFloatLE(p + 12));
          loaded++;
        }
        o += 5 + count * SAMPLE_BYTES;
      } else {
        break;
      }
    }
    if (o < buf.length)
      this.log.warn(
        { segment: name, ignoredBytes: buf.length - o },
        'segment ends in a cut-off or damaged record (crash during a write?); the rest is ignored',
      );
    const seq = Number(SEGMENT_RE.exec(name)?.[1]);
    this.segments.push({ name, seq, bytes: buf.length, maxTs, openedAt: this.now() });
    return loaded;
  }

  private async openSegment(): Promise<void> {
    await this.current?.fh.close();
    const seq = (this.segments.at(-1)?.seq ?? 0) + 1;
    const name = `${String(seq).padStart(10, '0')}.seg`;
    const fh = await open(join(this.dir, name), 'a');
    const segment: Segment = { name, seq, bytes: 0, maxTs: Number.NEGATIVE_INFINITY, openedAt: this.now() };
    this.segments.push(segment);
    this.current = { segment, fh, ids: new Map() };
  }

  private async rollIfDue(): Promise<void> {
    const s = this.current?.segment;
    if (!s) return;
    if (s.bytes >= (this.ctx.segmentMaxBytes ?? 64 * 1024 * 1024) || this.now() - s.openedAt >= DAY_MS)
      await this.openSegment();
  }

  private async pruneSegments(cutoff: number): Promise<void> {
    const keep: Segment[] = [];
    for (const s of this.segments) {
      if (s !== this.current?.segment && s.maxTs < cutoff) {
        await unlink(join(this.dir, s.name)).catch(() => undefined);
        this.log.debug({ segment: s.name }, 'segment past retention deleted');
      } else keep.push(s);
    }
    this.segments = keep;
  }
}
