/**
 * The embedded store's alert history: one JSON object per line in `<dataDir>/store/alerts.jsonl`,
 * appended per batch, held in memory (alerts are few) and rewritten through a temp file and rename
 * when retention drops events. A line that does not parse (a crash mid-append, a hand edit) is
 * skipped and counted, never fatal. The caller (EmbeddedStore) serializes every call.
 */
import { type FileHandle, open, readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { type AlertEventQuery, type AlertEventRecord, DEFAULT_ALERT_EVENT_LIMIT } from './store.ts';

/** One line of the file; `value` is null when it was not finite (JSON has no NaN). */
const AlertEventLineSchema = z.object({
  ts: z.number(),
  site: z.string(),
  rule: z.string(),
  severity: z.string(),
  target: z.string(),
  state: z.string(),
  value: z.number().nullable(),
  message: z.string(),
  fingerprint: z.string(),
});

function toLine(e: AlertEventRecord): string {
  return `${JSON.stringify({
    ts: Math.round(e.ts),
    site: e.site,
    rule: e.rule,
    severity: e.severity,
    target: e.target,
    state: e.state,
    value: Number.isFinite(e.value) ? e.value : null,
    message: e.message,
    fingerprint: e.fingerprint,
  })}\n`;
}

function parseLine(line: string): AlertEventRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = AlertEventLineSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  return { ...parsed.data, value: parsed.data.value ?? Number.NaN };
}

/** Events matching `q` from a list sorted oldest first, answered newest first. Pure. */
export function selectAlertEvents(
  sorted: readonly AlertEventRecord[],
  q: AlertEventQuery,
): AlertEventRecord[] {
  const limit = Math.max(0, Math.floor(q.limit ?? DEFAULT_ALERT_EVENT_LIMIT));
  const out: AlertEventRecord[] = [];
  for (let i = sorted.length - 1; i >= 0 && out.length < limit; i--) {
    const e = sorted[i] as AlertEventRecord;
    if (e.ts >= q.to) continue;
    if (e.ts < q.from) break;
    if (e.site !== q.site) continue;
    if (q.rack !== undefined && e.target !== q.rack) continue;
    if (q.alertname !== undefined && e.rule !== q.alertname) continue;
    out.push({ ...e });
  }
  return out;
}

export class AlertEventLog {
  /** Oldest first. */
  private events: AlertEventRecord[] = [];
  /** Opened at the first append, so a store that never alerted has no file. */
  private fh: FileHandle | undefined;
  private writable = false;
  /** The file ends without a newline (cut-off last line): start the next append on a new line. */
  private needsNewline = false;
  private corruptLines = 0;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  /** Reads the file (missing is empty), keeping events at or after `cutoff`. */
  async load(cutoff: number, readOnly: boolean): Promise<void> {
    this.events = [];
    this.corruptLines = 0;
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let expired = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const e = parseLine(line);
      if (!e) this.corruptLines++;
      else if (e.ts < cutoff) expired++;
      else this.events.push(e);
    }
    this.events.sort((a, b) => a.ts - b.ts);
    if (this.corruptLines > 0)
      this.log.warn(
        { file: this.path, skippedLines: this.corruptLines },
        'alert history has lines that do not parse (crash during a write?); they were skipped',
      );
    this.writable = !readOnly;
    if (readOnly) return;
    this.needsNewline = text.length > 0 && !text.endsWith('\n');
    // Past retention or damaged: write the file again without them, so they are not read every start.
    if (expired > 0 || this.corruptLines > 0) await this.rewrite();
  }

  /** Appends on disk, then in memory (a failed append leaves memory as it was). */
  async append(events: readonly AlertEventRecord[]): Promise<void> {
    if (!this.writable) throw new Error('alert history is not open for writing');
    const kept = events.filter((e) => Number.isFinite(e.ts));
    if (kept.length === 0) return;
    this.fh ??= await open(this.path, 'a');
    const text = (this.needsNewline ? '\n' : '') + kept.map(toLine).join('');
    await this.fh.write(text);
    this.needsNewline = false;
    const last = this.events.at(-1)?.ts ?? Number.NEGATIVE_INFINITY;
    for (const e of kept) this.events.push(parseLine(toLine(e)) as AlertEventRecord);
    if (kept.some((e) => e.ts < last)) this.events.sort((a, b) => a.ts - b.ts);
  }

  query(q: AlertEventQuery): AlertEventRecord[] {
    return selectAlertEvents(this.events, q);
  }

  /** Drops events before `cutoff`, rewriting the file when any went. */
  async prune(cutoff: number): Promise<void> {
    const first = this.events.findIndex((e) => e.ts >= cutoff);
    const drop = first < 0 ? this.events.length : first;
    if (drop === 0) return;
    this.events = this.events.slice(drop);
    if (this.writable) await this.rewrite();
  }

  stats(): { events: number; skippedLines: number } {
    return { events: this.events.length, skippedLines: this.corruptLines };
  }

  /** Closes the file; the next append (if still writable) opens it again. */
  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  /** The file as memory holds it: temp file, then rename over the old one (a crash keeps one or the other). */
  private async rewrite(): Promise<void> {
    await this.close();
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, this.events.map(toLine).join(''));
    await rename(tmp, this.path);
    this.needsNewline = false;
  }
}
