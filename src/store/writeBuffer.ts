/**
 * The hot path between ingest and the store. add() is synchronous and never blocks or throws, so the
 * MQTT client keeps draining the broker while the store is slow or dead (the failure of Telegraf
 * issue #15485, where a stuck output stalled inputs, is the one we must not copy).
 *
 * - Readings collect into batches of batchSize, cut early every flushIntervalMs.
 * - At most maxInFlight fresh writes run at once; a failed write is retried briefly (exponential
 *   backoff with jitter), then the batch goes to the disk spool.
 * - Memory is bounded: batches waiting for a write slot beyond maxQueuedReadings spill to the spool;
 *   while the store is known to be down, every new batch goes straight to the spool.
 * - A drainer replays spooled batches oldest-first once the store answers ping(), backing off while
 *   it does not.
 *
 * Ordering: fresh batches do NOT queue behind the spool. InfluxDB orders points by their timestamps,
 * not by arrival, so writing fresh data first keeps dashboards and forecasts current while the
 * drainer catches up, and a healthy store never pays for disk I/O. What is guaranteed is that
 * nothing is lost silently: every reading is written, spooled, or counted in droppedReadings /
 * rejectedReadings (and logged).
 */
import type { Logger } from '../log.ts';
import type { Reading } from '../telemetry/reading.ts';
import { errorMessage, isRetryable } from './errors.ts';
import { countPoints } from './points.ts';
import type { SpoolEntry } from './spool.ts';
import type { TelemetryStore } from './store.ts';

/** What the buffer needs from a spool; DiskSpool fulfils it. */
export interface BatchSpool {
  open(): Promise<void>;
  push(batch: readonly Reading[]): Promise<void>;
  peek(): Promise<SpoolEntry | undefined>;
  ack(id: number): Promise<void>;
  release(id: number): void;
  readonly depth: number;
  readonly bytes: number;
  readonly droppedReadings: number;
}

export interface WriteBufferOptions {
  store: TelemetryStore;
  spool: BatchSpool;
  log: Logger;
  batchSize: number;
  flushIntervalMs: number;
  /** Concurrent writes of fresh batches (default 2); the drainer adds one more. */
  maxInFlight?: number;
  /**
   * Readings waiting for a write slot before new batches spill to the spool (default 2 × batchSize, so
   * ingest pauses as soon as one whole batch waits). Holding fewer readings in memory is faster, not
   * slower: every queued reading survives garbage collections. bench:ingest (clock stopped when
   * InfluxDB had every reading) measured 4 × batchSize at 45–51k messages/s and 2 × at 54–62k, four
   * runs each, with less CPU per message in the agent, Mosquitto and influxd alike.
   */
  maxQueuedReadings?: number;
  /** Readings waiting for the disk before further ones are dropped and counted (default max(20 × batchSize, 100k)). */
  maxSpoolingReadings?: number;
  /**
   * Backlog (readings queued for a write slot or for the disk) at which saturated() turns true, so the
   * subscriber stops taking messages off the broker until it falls to half; default half of
   * maxSpoolingReadings. Pausing leaves QoS 1 messages on the broker instead of dropping them here.
   */
  highWaterReadings?: number;
  /** Attempts per fresh batch before it is spooled (default 3), and the backoff between them. */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Backoff of the drainer while the store is down (default 500 ms up to 10 s): the longest a recovery goes unnoticed. */
  drain?: { minDelayMs?: number; maxDelayMs?: number };
  /** A write that takes longer counts as failed (default 15 s; 5 s while stopping). */
  writeTimeoutMs?: number;
  random?: () => number;
}

export interface WriteBufferStats {
  readingsAccepted: number;
  readingsWritten: number;
  /** InfluxDB points: readings merged per target and timestamp. */
  pointsWritten: number;
  batchesWritten: number;
  writeErrors: number;
  spooledBatches: number;
  spoolDepth: number;
  spoolBytes: number;
  /** Lost: spool over its bound, disk unwritable, or add() after stop(). */
  droppedReadings: number;
  /** Refused by the store as invalid (e.g. a field type conflict); retrying could not help. */
  rejectedReadings: number;
  /** Readings in memory: collecting, waiting for a slot, being written or being spooled. */
  pending: number;
  storeUp: boolean;
  /** Times saturated() sent the subscriber into a pause. */
  saturations: number;
}

/** "Equal jitter": half the exponential delay fixed, half random, so retries of many clients spread out. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** maxQueuedReadings in batches, by default. */
const DEFAULT_QUEUED_BATCHES = 2;

export class WriteBuffer {
  private pending: Reading[] = [];
  private readonly queue: Reading[][] = [];
  private queuedReadings = 0;
  private readonly writes = new Set<Promise<void>>();
  private inFlightReadings = 0;
  private readonly spooling = new Set<Promise<void>>();
  private spoolingReadings = 0;
  private reliefWaiters: Array<() => void> = [];
  private saturations = 0;
  private storeDown = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private flushTimer: ReturnType<typeof setInterval> | undefined;
  private drainer: Promise<void> | undefined;
  /** The drainer's current wait: idle (nothing spooled) or backing off (store down). */
  private drainerWait: { resolve: () => void; idle: boolean } | undefined;
  /** Retry delays of fresh writes, cut short by stop(). */
  private readonly sleepers = new Set<() => void>();
  private lastDropWarn = Number.NEGATIVE_INFINITY;
  private readonly counters = {
    readingsAccepted: 0,
    readingsWritten: 0,
    pointsWritten: 0,
    batchesWritten: 0,
    writeErrors: 0,
    spooledBatches: 0,
    droppedReadings: 0,
    rejectedReadings: 0,
  };
  private readonly log: Logger;
  private readonly random: () => number;

  constructor(private readonly opts: WriteBufferOptions) {
    this.log = opts.log.child({ module: 'writeBuffer' });
    this.random = opts.random ?? Math.random;
  }

  /** Opens the spool, starts the flush timer and the drainer (which replays what a previous run left). */
  async start(): Promise<void> {
    await this.opts.spool.open();
    this.flushTimer = setInterval(() => this.flush(), this.opts.flushIntervalMs);
    this.flushTimer.unref?.();
    this.drainer = this.drainLoop();
  }

  /** Takes readings; never blocks, never throws. */
  add(readings: readonly Reading[]): void {
    if (readings.length === 0) return;
    try {
      if (this.stopping) {
        this.drop(readings.length, 'add() after stop()');
        return;
      }
      this.counters.readingsAccepted += readings.length;
      const size = this.opts.batchSize;
      let from = 0;
      while (from < readings.length) {
        const room = size - this.pending.length;
        const take = Math.min(room, readings.length - from);
        for (let i = from; i < from + take; i++) this.pending.push(readings[i] as Reading);
        from += take;
        if (this.pending.length >= size) this.cut();
      }
      this.pump();
    } catch (err) {
      // Not expected (only array pushes above); logged so a bug here cannot hide.
      this.log.error({ err: errorMessage(err) }, 'write buffer add() failed');
    }
  }

  /** Sends what is collecting now instead of waiting for a full batch. */
  flush(): void {
    if (this.pending.length === 0) return;
    this.cut();
    this.pump();
  }

  /**
   * True while the caller should stop feeding add(). With the store up, that is when fresh batches
   * wait for a write slot (half of maxQueuedReadings): pausing the broker then is cheaper than
   * spilling to disk. With the store down, it is when the disk falls behind (highWaterReadings).
   */
  saturated(): boolean {
    const full = this.overHighWater(1);
    if (full && this.reliefWaiters.length === 0) this.saturations++;
    return full;
  }

  /** Resolves once the backlog has fallen to half its high-water mark (or the buffer stops). */
  whenRelieved(): Promise<void> {
    if (this.stopping || !this.overHighWater(0.5)) return Promise.resolve();
    return new Promise((resolve) => this.reliefWaiters.push(resolve));
  }

  private overHighWater(share: number): boolean {
    if (this.storeDown) {
      const spoolBound = this.opts.maxSpoolingReadings ?? Math.max(this.opts.batchSize * 20, 100_000);
      const highWater = this.opts.highWaterReadings ?? spoolBound / 2;
      return this.queuedReadings + this.spoolingReadings >= highWater * share;
    }
    const queueBound = this.opts.maxQueuedReadings ?? this.opts.batchSize * DEFAULT_QUEUED_BATCHES;
    return this.queuedReadings + this.spoolingReadings >= (queueBound / 2) * share;
  }

  private checkRelief(): void {
    if (this.reliefWaiters.length === 0) return;
    if (!this.stopping && this.overHighWater(0.5)) return;
    const waiters = this.reliefWaiters;
    this.reliefWaiters = [];
    for (const resolve of waiters) resolve();
  }

  stats(): WriteBufferStats {
    const spool = this.opts.spool;
    return {
      ...this.counters,
      droppedReadings: this.counters.droppedReadings + spool.droppedReadings,
      spoolDepth: spool.depth,
      spoolBytes: spool.bytes,
      pending: this.pending.length + this.queuedReadings + this.inFlightReadings + this.spoolingReadings,
      storeUp: !this.storeDown,
      saturations: this.saturations,
    };
  }

  /**
   * Writes what it can, spools the rest, stops the drainer (spooled batches stay on disk for the
   * next run). Resolves when every reading is stored, spooled or counted; never throws.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown().catch((err: unknown) => {
      this.log.error({ err: errorMessage(err) }, 'write buffer stop failed');
    });
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.checkRelief();
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.drainerWait?.resolve();
    for (const wake of this.sleepers) wake();
    if (this.pending.length > 0) this.cut();
    while (this.queue.length > 0 || this.writes.size > 0) {
      this.pump();
      await Promise.all([...this.writes]);
    }
    await this.drainer;
    await Promise.all([...this.spooling]);
    const s = this.stats();
    this.log.info(
      {
        written: s.readingsWritten,
        spoolDepth: s.spoolDepth,
        dropped: s.droppedReadings,
        rejected: s.rejectedReadings,
      },
      'write buffer stopped',
    );
  }

  private cut(): void {
    const batch = this.pending;
    this.pending = [];
    this.queue.push(batch);
    this.queuedReadings += batch.length;
  }

  /** Starts writes while slots are free; spills to the spool what must not wait in memory. */
  private pump(): void {
    if (this.storeDown) {
      // No point holding batches for a store that is down: the drainer delivers them on its return.
      for (let b = this.queue.shift(); b; b = this.queue.shift()) {
        this.queuedReadings -= b.length;
        this.spill(b);
      }
      return;
    }
    const maxInFlight = this.opts.maxInFlight ?? 2;
    while (this.writes.size < maxInFlight && this.queue.length > 0) {
      const batch = this.queue.shift() as Reading[];
      this.queuedReadings -= batch.length;
      this.startWrite(batch);
    }
    const bound = this.opts.maxQueuedReadings ?? this.opts.batchSize * DEFAULT_QUEUED_BATCHES;
    while (this.queuedReadings > bound && this.queue.length > 0) {
      const batch = this.queue.pop() as Reading[];
      this.queuedReadings -= batch.length;
      this.spill(batch);
    }
    this.checkRelief();
  }

  private startWrite(batch: Reading[]): void {
    this.inFlightReadings += batch.length;
    const p: Promise<void> = this.writeWithRetry(batch)
      .catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'unexpected write path error'))
      .finally(() => {
        this.inFlightReadings -= batch.length;
        this.writes.delete(p);
        if (!this.stopping) this.pump();
      });
    this.writes.add(p);
  }

  private async writeWithRetry(batch: Reading[]): Promise<void> {
    const attempts = this.stopping ? 1 : Math.max(1, this.opts.retry?.attempts ?? 3);
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        this.written(batch, await this.timedWrite(batch));
        return;
      } catch (err) {
        lastError = err;
        this.counters.writeErrors++;
        if (!isRetryable(err)) {
          this.rejected(batch.length, err);
          return;
        }
        // Another write already found the store down, or we are shutting down: spool now.
        if (this.storeDown || this.stopping || attempt === attempts - 1) break;
        await this.delay(
          backoffDelay(
            attempt,
            this.opts.retry?.baseDelayMs ?? 100,
            this.opts.retry?.maxDelayMs ?? 2000,
            this.random,
          ),
        );
      }
    }
    this.markDown(lastError);
    this.spill(batch);
  }

  private async timedWrite(batch: readonly Reading[]): Promise<number | undefined> {
    const ms = this.stopping
      ? Math.min(5000, this.opts.writeTimeoutMs ?? 15_000)
      : (this.opts.writeTimeoutMs ?? 15_000);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`store write took longer than ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([this.opts.store.write(batch), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private spill(batch: Reading[]): void {
    const bound = this.opts.maxSpoolingReadings ?? Math.max(this.opts.batchSize * 20, 100_000);
    if (this.spoolingReadings + batch.length > bound) {
      this.drop(batch.length, 'the spool disk is not keeping up');
      return;
    }
    this.spoolingReadings += batch.length;
    const p: Promise<void> = this.opts.spool
      .push(batch)
      .then(
        () => {
          this.counters.spooledBatches++;
          if (this.drainerWait?.idle) this.drainerWait.resolve();
        },
        (err: unknown) => this.drop(batch.length, `spool write failed: ${errorMessage(err)}`),
      )
      .finally(() => {
        this.spoolingReadings -= batch.length;
        this.spooling.delete(p);
        this.checkRelief();
      });
    this.spooling.add(p);
  }

  /** Replays spooled batches oldest-first while the store takes them; backs off while it does not. */
  private async drainLoop(): Promise<void> {
    const min = this.opts.drain?.minDelayMs ?? 500;
    const max = this.opts.drain?.maxDelayMs ?? 10_000;
    let failures = 0;
    const backOff = () => this.drainerSleep(backoffDelay(failures++, min, max, this.random));
    while (!this.stopping) {
      try {
        if (this.opts.spool.depth === 0) {
          await this.drainerSleep();
          continue;
        }
        if (this.storeDown && !(await this.opts.store.ping())) {
          await backOff();
          continue;
        }
        const entry = await this.opts.spool.peek();
        if (!entry) continue;
        let points: number | undefined;
        try {
          points = await this.timedWrite(entry.readings);
        } catch (err) {
          this.counters.writeErrors++;
          if (!isRetryable(err)) {
            this.rejected(entry.readings.length, err);
            await this.opts.spool.ack(entry.id);
            continue;
          }
          this.opts.spool.release(entry.id);
          this.markDown(err);
          await backOff();
          continue;
        }
        await this.opts.spool.ack(entry.id);
        this.written(entry.readings, points);
        failures = 0;
      } catch (err) {
        // Spool I/O trouble: log, wait, try again; the batch stays on disk.
        this.log.error({ err: errorMessage(err) }, 'spool replay failed');
        await backOff();
      }
    }
  }

  /**
   * The drainer waits here: without ms until something is spooled, with ms for a backoff. Both end
   * early when a fresh write succeeds (the store is back) or on stop().
   */
  private drainerSleep(ms?: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wait = {
        idle: ms === undefined,
        resolve: () => {
          clearTimeout(timer);
          if (this.drainerWait === wait) this.drainerWait = undefined;
          resolve();
        },
      };
      if (ms !== undefined) timer = setTimeout(wait.resolve, ms);
      this.drainerWait = wait;
    });
  }

  private delay(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private written(batch: readonly Reading[], points: number | undefined): void {
    this.counters.readingsWritten += batch.length;
    // Stores that merge readings say how many points they wrote; counting again costs a pass over the batch.
    this.counters.pointsWritten += typeof points === 'number' ? points : countPoints(batch);
    this.counters.batchesWritten++;
    if (this.storeDown) {
      this.storeDown = false;
      this.log.info({ spoolDepth: this.opts.spool.depth }, 'store is taking writes again');
      this.drainerWait?.resolve();
    }
  }

  private markDown(err: unknown): void {
    if (!this.storeDown) {
      this.log.warn(
        { err: errorMessage(err), spoolDepth: this.opts.spool.depth },
        'store write failed; spooling to disk until it is back',
      );
    }
    this.storeDown = true;
  }

  private rejected(count: number, err: unknown): void {
    this.counters.rejectedReadings += count;
    this.log.warn(
      { readings: count, err: errorMessage(err) },
      'store refused a batch as invalid; it is not retried',
    );
  }

  private drop(count: number, why: string): void {
    this.counters.droppedReadings += count;
    const now = Date.now();
    if (now - this.lastDropWarn >= 10_000) {
      this.lastDropWarn = now;
      this.log.warn(
        { readings: count, totalDropped: this.counters.droppedReadings, why },
        'readings dropped',
      );
    }
  }
}
