/**
 * Rejected telemetry: counted per reason (for Prometheus), logged at a bounded pace, optionally
 * handed to a dead-letter callback. A flood of bad messages costs a counter increment each,
 * not a log line each (STYLE.md §10).
 */
import type { Logger } from '../log.ts';
import type { RejectReason } from './reading.ts';

export const REJECT_REASONS = [
  'payload_too_large',
  'malformed_payload',
  'no_mapping',
  'unknown_target',
  'unknown_field',
  'not_a_number',
  'implausible_value',
  'timestamp_in_future',
  'timestamp_too_old',
] as const satisfies readonly RejectReason[];

// Compile-time guard: adding a reason to reading.ts without listing it here fails the build.
type Unlisted = Exclude<RejectReason, (typeof REJECT_REASONS)[number]>;
const allListed: [Unlisted] extends [never] ? true : never = true;
void allListed;

export interface RejectEntry {
  topic: string;
  reason: RejectReason;
  detail: string;
  payload: Buffer;
}

export interface RejectLogOptions {
  log: Logger;
  /** Rejects logged one by one per reason per window before the log goes quiet; default 5. */
  burst?: number;
  /** Length of the rate-limit window; default one minute. */
  windowMs?: number;
  now?: () => number;
  /**
   * Called for each reject except 'unknown_field' (Telegraf sends extra fields in every
   * message; dead-lettering those would double the traffic). Errors it throws are swallowed.
   */
  deadLetter?: (entry: RejectEntry) => void;
}

interface Window {
  start: number;
  logged: number;
  suppressed: number;
}

export class RejectLog {
  private readonly counters = new Map<RejectReason, number>(REJECT_REASONS.map((r) => [r, 0]));
  private readonly windows = new Map<RejectReason, Window>();
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private deadLetterErrors = 0;

  constructor(private readonly opts: RejectLogOptions) {
    this.burst = opts.burst ?? 5;
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  record(topic: string, reason: RejectReason, detail: string, payload: Buffer = EMPTY): void {
    this.counters.set(reason, (this.counters.get(reason) ?? 0) + 1);
    const now = this.now();
    let w = this.windows.get(reason);
    if (w === undefined) {
      w = { start: now, logged: 0, suppressed: 0 };
      this.windows.set(reason, w);
    } else if (now - w.start >= this.windowMs) {
      this.summarize(reason, w);
      w.start = now;
      w.logged = 0;
    }
    if (w.logged < this.burst) {
      w.logged++;
      this.opts.log.warn({ reason, topic, detail }, `rejected telemetry (${reason})`);
    } else {
      w.suppressed++;
    }
    if (this.opts.deadLetter && reason !== 'unknown_field') {
      try {
        this.opts.deadLetter({ topic, reason, detail, payload });
      } catch {
        this.deadLetterErrors++;
      }
    }
  }

  /** Logs "N more rejected (reason)" for windows that have ended; all of them when `force`. */
  flush(force = false): void {
    const now = this.now();
    for (const [reason, w] of this.windows) {
      if (!force && now - w.start < this.windowMs) continue;
      this.summarize(reason, w);
      w.start = now;
      w.logged = 0;
    }
  }

  /** Rejects so far, per reason (every reason present, zero when none). */
  counts(): Record<RejectReason, number> {
    return Object.fromEntries(this.counters) as Record<RejectReason, number>;
  }

  count(reason: RejectReason): number {
    return this.counters.get(reason) ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const n of this.counters.values()) sum += n;
    return sum;
  }

  /** Dead-letter callbacks that threw. */
  deadLetterFailures(): number {
    return this.deadLetterErrors;
  }

  private summarize(reason: RejectReason, w: Window): void {
    if (w.suppressed === 0) return;
    this.opts.log.warn({ reason, suppressed: w.suppressed }, `${w.suppressed} more rejected (${reason})`);
    w.suppressed = 0;
  }
}

const EMPTY = Buffer.alloc(0);
