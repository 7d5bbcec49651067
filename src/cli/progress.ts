/**
 * Progress and status lines for long-running commands. On a terminal one line is redrawn in place;
 * elsewhere (CI logs, pipes) plain lines are written every few seconds so a log is not flooded.
 * The formatters are pure.
 */
import type { BackfillProgress } from '../sim/backfill.ts';

/** "45s", "12m05s", "3h02m", "6d04h", "14d" (two units at most, a zero second unit left out). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const two = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit}${String(small).padStart(2, '0')}${smallUnit}`;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return two(m, 'm', s % 60, 's');
  const h = Math.floor(m / 60);
  if (h < 24) return two(h, 'h', m % 60, 'm');
  return two(Math.floor(h / 24), 'd', h % 24, 'h');
}

/** "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "850", "41.2k", "1.35M" per second. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return '–';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

/** "2025-06-03 14:05 UTC". */
export function formatSimTime(ts: number): string {
  return `${new Date(ts).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `[#######.............]  35.0%  day 4.9/14  1,234,567 readings  412.3k/s  ETA 18s` */
export function formatBackfillProgress(p: BackfillProgress, barWidth = 24): string {
  const span = p.toTs - p.fromTs;
  const fraction = span > 0 ? Math.min(1, Math.max(0, (p.simTs - p.fromTs) / span)) : 1;
  const filled = Math.round(fraction * barWidth);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
  const days = (p.simTs - p.fromTs) / 86_400_000;
  const totalDays = span / 86_400_000;
  const wallS = p.wallMs / 1000;
  const rate = wallS > 0 ? p.readingsWritten / wallS : Number.NaN;
  const eta =
    fraction > 0 && fraction < 1
      ? formatDuration((p.wallMs * (1 - fraction)) / fraction)
      : fraction >= 1
        ? '0s'
        : '–';
  return [
    bar,
    `${(fraction * 100).toFixed(1).padStart(5)}%`,
    `day ${days.toFixed(1)}/${Number(totalDays.toFixed(1))}`,
    `${formatCount(p.readingsWritten)} readings`,
    `${formatRate(rate)}/s`,
    `ETA ${eta}`,
  ].join('  ');
}

/** Where progress goes: a stream that may be a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** One status line: redrawn in place on a terminal, a plain line every plainEveryMs otherwise. */
export class ProgressLine {
  private lastPlain = Number.NEGATIVE_INFINITY;
  private drawn = false;

  constructor(
    private readonly out: ProgressStream,
    private readonly plainEveryMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  get isTTY(): boolean {
    return this.out.isTTY === true;
  }

  update(text: string): void {
    if (this.isTTY) {
      const width = this.out.columns ?? 120;
      this.out.write(`\r${text.length >= width ? text.slice(0, width - 1) : text}\x1b[K`);
      this.drawn = true;
      return;
    }
    const now = this.now();
    if (now - this.lastPlain < this.plainEveryMs) return;
    this.lastPlain = now;
    this.out.write(`${text}\n`);
  }

  /** The last state, always written, ending the line. */
  done(text: string): void {
    if (this.isTTY) {
      this.out.write(`\r${text}\x1b[K\n`);
      this.drawn = false;
      return;
    }
    this.out.write(`${text}\n`);
  }

  /** Ends a line drawn in place so that other output starts on a fresh line. */
  break(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
