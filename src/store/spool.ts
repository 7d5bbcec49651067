/**
 * A bounded, crash-safe FIFO of reading batches on disk: one file per batch, written to a temp name,
 * fsynced and renamed, so a crash leaves either the whole batch or nothing. A restart replays the
 * files in order. Over the size bound the OLDEST batches are dropped, counted and logged — never
 * silently. A batch acknowledged after a crash-interrupted delete is replayed once more; InfluxDB
 * overwrites a point with the same series and timestamp, so a replay duplicates nothing.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { TargetKind } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { Reading } from '../telemetry/reading.ts';
import { errorMessage } from './errors.ts';

export interface SpoolEntry {
  /** Sequence number; pass it to ack(). */
  id: number;
  readings: Reading[];
}

export interface DiskSpoolOptions {
  dir: string;
  maxBytes: number;
  log: Logger;
  /** fsync files and the directory (default true); off only where durability does not matter. */
  durable?: boolean;
  /** Shortest gap between two "dropped" warnings; drops in between are summed into the next. */
  warnIntervalMs?: number;
}

interface FileEntry {
  id: number;
  count: number;
  bytes: number;
}

const FILE_RE = /^(\d{12})-(\d+)\.batch$/;
const KINDS: ReadonlySet<string> = new Set(['rack', 'cooling', 'site']);

function fileName(e: { id: number; count: number }): string {
  return `${String(e.id).padStart(12, '0')}-${e.count}.batch`;
}

/** Compact form: each distinct series once, then flat [seriesIndex, value, ts] triples. */
export function encodeBatch(batch: readonly Reading[]): string {
  const seriesIndex = new Map<string, number>();
  const series: Array<[string, string, string, string]> = [];
  const rows: number[] = [];
  for (const r of batch) {
    const key = `${r.kind}\u0000${r.site}\u0000${r.target}\u0000${r.metric}`;
    let i = seriesIndex.get(key);
    if (i === undefined) {
      i = series.length;
      seriesIndex.set(key, i);
      series.push([r.kind, r.site, r.target, r.metric]);
    }
    rows.push(i, r.value, r.ts);
  }
  return JSON.stringify({ v: 1, series, rows });
}

export function decodeBatch(text: string): Reading[] {
  const doc = JSON.parse(text) as { v?: unknown; series?: unknown; rows?: unknown };
  if (doc.v !== 1 || !Array.isArray(doc.series) || !Array.isArray(doc.rows) || doc.rows.length % 3 !== 0) {
    throw new Error('not a spool batch (version 1)');
  }
  const series = doc.series as unknown[];
  for (const s of series) {
    if (
      !Array.isArray(s) ||
      s.length !== 4 ||
      !s.every((x) => typeof x === 'string') ||
      !KINDS.has(s[0] as string)
    ) {
      throw new Error('bad series entry in spool batch');
    }
  }
  const rows = doc.rows as unknown[];
  const out: Reading[] = new Array(rows.length / 3);
  for (let i = 0, j = 0; i < rows.length; i += 3, j++) {
    const s = series[rows[i] as number] as [TargetKind, string, string, string] | undefined;
    const value = rows[i + 1];
    const ts = rows[i + 2];
    if (!s || typeof value !== 'number' || typeof ts !== 'number') throw new Error('bad row in spool batch');
    out[j] = { kind: s[0], site: s[1], target: s[2], metric: s[3], value, ts };
  }
  return out;
}

export class DiskSpool {
  private files: FileEntry[] = [];
  private nextId = 1;
  private totalBytes = 0;
  private totalReadings = 0;
  private opened: Promise<void> | undefined;
  /** Every operation runs in call order on this chain, so ids follow push order. */
  private chain: Promise<unknown> = Promise.resolve();
  /** The batch a drainer is writing: not dropped under its feet. */
  private inFlight: number | undefined;
  private dropped = { batches: 0, readings: 0 };
  private unwarned = { batches: 0, readings: 0 };
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  private readonly log: Logger;

  constructor(private readonly opts: DiskSpoolOptions) {
    this.log = opts.log.child({ module: 'spool' });
  }

  /** Batches waiting. */
  get depth(): number {
    return this.files.length;
  }
  get bytes(): number {
    return this.totalBytes;
  }
  get pendingReadings(): number {
    return this.totalReadings;
  }
  get droppedReadings(): number {
    return this.dropped.readings;
  }
  get droppedBatches(): number {
    return this.dropped.batches;
  }

  /** Reads the directory (idempotent; every other method calls it first). */
  open(): Promise<void> {
    this.opened ??= this.scan();
    return this.opened;
  }

  push(batch: readonly Reading[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    const text = encodeBatch(batch);
    return this.run(async () => {
      const entry: FileEntry = { id: this.nextId++, count: batch.length, bytes: Buffer.byteLength(text) };
      await this.writeAtomic(fileName(entry), text);
      this.files.push(entry);
      this.totalBytes += entry.bytes;
      this.totalReadings += entry.count;
      await this.enforceBound(entry.id);
    });
  }

  /** The oldest batch, without removing it. Unreadable files are set aside as *.corrupt and counted as dropped. */
  peek(): Promise<SpoolEntry | undefined> {
    return this.run(async () => {
      for (;;) {
        const head = this.files[0];
        if (!head) return undefined;
        try {
          const readings = decodeBatch(await readFile(join(this.opts.dir, fileName(head)), 'utf8'));
          this.inFlight = head.id;
          return { id: head.id, readings };
        } catch (err) {
          this.remove(head);
          this.countDropped(head, `unreadable spool file ${fileName(head)}: ${errorMessage(err)}`);
          await rename(
            join(this.opts.dir, fileName(head)),
            join(this.opts.dir, `${fileName(head)}.corrupt`),
          ).catch(() => undefined);
        }
      }
    });
  }

  /** Removes a batch once it is stored; unknown ids (already dropped) are ignored. */
  ack(id: number): Promise<void> {
    return this.run(async () => {
      if (this.inFlight === id) this.inFlight = undefined;
      const entry = this.files.find((f) => f.id === id);
      if (!entry) return;
      this.remove(entry);
      await unlink(join(this.opts.dir, fileName(entry))).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    });
  }

  /** Lets a batch that was peeked but not written be dropped again under pressure. */
  release(id: number): void {
    if (this.inFlight === id) this.inFlight = undefined;
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(() => this.open()).then(op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async scan(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    const names = await readdir(this.opts.dir);
    const found: FileEntry[] = [];
    for (const name of names) {
      if (name.endsWith('.tmp')) {
        // A write cut off by a crash: its push() never resolved, so nobody counted it as spooled.
        await unlink(join(this.opts.dir, name)).catch(() => undefined);
        continue;
      }
      const m = FILE_RE.exec(name);
      if (!m) continue;
      const st = await stat(join(this.opts.dir, name));
      found.push({ id: Number(m[1]), count: Number(m[2]), bytes: st.size });
    }
    found.sort((a, b) => a.id - b.id);
    this.files = found;
    this.totalBytes = found.reduce((n, f) => n + f.bytes, 0);
    this.totalReadings = found.reduce((n, f) => n + f.count, 0);
    this.nextId = (found.at(-1)?.id ?? 0) + 1;
    if (found.length > 0) {
      this.log.info(
        { batches: found.length, readings: this.totalReadings, bytes: this.totalBytes },
        'spooled batches found; they will be replayed',
      );
    }
  }

  private async writeAtomic(name: string, text: string): Promise<void> {
    const tmp = join(this.opts.dir, `${name}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text);
      if (this.opts.durable !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.opts.dir, name));
    if (this.opts.durable !== false) {
      const dir = await open(this.opts.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    }
  }

  /** Drops oldest batches until under the bound; the batch in flight and the newest one are kept. */
  private async enforceBound(newestId: number): Promise<void> {
    while (this.totalBytes > this.opts.maxBytes) {
      const victim = this.files.find((f) => f.id !== this.inFlight && f.id !== newestId);
      if (!victim) return;
      this.remove(victim);
      this.countDropped(victim, `spool over ${Math.round(this.opts.maxBytes / 1048576)} MB`);
      await unlink(join(this.opts.dir, fileName(victim))).catch(() => undefined);
    }
  }

  private remove(entry: FileEntry): void {
    const i = this.files.indexOf(entry);
    if (i < 0) return;
    this.files.splice(i, 1);
    this.totalBytes -= entry.bytes;
    this.totalReadings -= entry.count;
  }

  private countDropped(entry: FileEntry, why: string): void {
    this.dropped.batches++;
    this.dropped.readings += entry.count;
    this.unwarned.batches++;
    this.unwarned.readings += entry.count;
    const now = Date.now();
    if (now - this.lastWarnAt >= (this.opts.warnIntervalMs ?? 10_000)) {
      this.log.warn(
        {
          droppedBatches: this.unwarned.batches,
          droppedReadings: this.unwarned.readings,
          totalDroppedReadings: this.dropped.readings,
          why,
        },
        'spool dropped the oldest readings',
      );
      this.lastWarnAt = now;
      this.unwarned = { batches: 0, readings: 0 };
    }
  }
}
