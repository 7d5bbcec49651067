import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { StoreWriteError } from '../../src/store/errors.ts';
import { DiskSpool } from '../../src/store/spool.ts';
import type { HistorySeries, StoreHealth, TelemetryStore } from '../../src/store/store.ts';
import { backoffDelay, WriteBuffer, type WriteBufferOptions } from '../../src/store/writeBuffer.ts';
import type { Reading } from '../../src/telemetry/reading.ts';

/** A store that is up, down, hung or refusing, as a test needs; it records what it took. */
class FakeStore implements TelemetryStore {
  readonly name = 'fake';
  mode: 'up' | 'down' | 'hang' | 'reject' = 'up';
  readonly batches: Reading[][] = [];
  attempts = 0;
  pings = 0;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async write(readings: readonly Reading[]): Promise<number | undefined> {
    this.attempts++;
    if (this.mode === 'down') throw new StoreWriteError('connect ECONNREFUSED', true);
    if (this.mode === 'reject') throw new StoreWriteError('field type conflict', false);
    if (this.mode === 'hang') return new Promise(() => {});
    this.batches.push([...readings]);
  }
  async query(): Promise<HistorySeries[]> {
    return [];
  }
  async ping(): Promise<boolean> {
    this.pings++;
    return this.mode === 'up';
  }
  health(): StoreHealth {
    return { connected: this.mode === 'up' };
  }
  /** Values of every stored reading, sorted, to compare with what was sent. */
  values(): number[] {
    return this.batches
      .flat()
      .map((r) => r.value)
      .sort((a, b) => a - b);
  }
}

let seq = 0;
function readings(n: number): Reading[] {
  return Array.from({ length: n }, () => {
    seq++;
    return {
      kind: 'rack' as const,
      site: 'lab',
      target: `r${seq % 5}`,
      metric: 'inlet_c',
      value: seq,
      ts: 1_700_000_000_000 + seq,
    };
  });
}
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let dir: string;
let store: FakeStore;
const buffers: WriteBuffer[] = [];

function makeBuffer(over: Partial<WriteBufferOptions> = {}): { buffer: WriteBuffer; spool: DiskSpool } {
  const spool = new DiskSpool({ dir, maxBytes: 64 * 1024 * 1024, log: silentLogger(), durable: false });
  const buffer = new WriteBuffer({
    store,
    spool,
    log: silentLogger(),
    batchSize: 10,
    flushIntervalMs: 1000,
    random: () => 0.5,
    ...over,
  });
  buffers.push(buffer);
  return { buffer, spool };
}

/** Poll with fake time moving forward 50 ms per check (vi.waitFor advances fake timers). */
const until = (cond: () => boolean, what: string) =>
  vi.waitFor(
    () => {
      if (!cond()) throw new Error(`not yet: ${what}`);
    },
    { timeout: 5000, interval: 50 },
  );

beforeEach(async () => {
  seq = 0;
  dir = await mkdtemp(join(tmpdir(), 'hotaisle-wb-'));
  store = new FakeStore();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(async () => {
  store.mode = 'up';
  let stopped = false;
  void Promise.all(buffers.splice(0).map((b) => b.stop())).then(() => {
    stopped = true;
  });
  // A write hung in a test only ends at its timeout: move fake time on until every buffer stopped,
  // letting real spool I/O run in between (setImmediate and performance are not faked).
  const deadline = performance.now() + 8000;
  while (!stopped && performance.now() < deadline) {
    await vi.advanceTimersByTimeAsync(1000);
    await new Promise((r) => setImmediate(r));
  }
  expect(stopped, 'every write buffer stopped').toBe(true);
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

describe('backoffDelay', () => {
  it('doubles per attempt up to the cap, with half of it random', () => {
    expect(backoffDelay(0, 100, 2000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 2000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 2000, () => 1)).toBe(800);
    expect(backoffDelay(10, 100, 2000, () => 0.5)).toBe(1500);
    expect(backoffDelay(500, 100, 2000, () => 1)).toBe(2000);
  });
});

describe('WriteBuffer', () => {
  it('writes full batches at once and the remainder on the flush interval', async () => {
    const { buffer } = makeBuffer();
    await buffer.start();
    buffer.add(readings(25));
    await until(() => buffer.stats().readingsWritten === 20, 'two full batches');
    expect(store.batches.map((b) => b.length)).toEqual([10, 10]);
    expect(buffer.stats().pending).toBe(5);

    await vi.advanceTimersByTimeAsync(1000);
    await until(() => store.batches.length === 3, 'the remainder after flushIntervalMs');
    expect(store.batches[2]).toHaveLength(5);
    expect(store.values()).toEqual(range(1, 25));
    const s = buffer.stats();
    expect(s).toMatchObject({
      readingsAccepted: 25,
      readingsWritten: 25,
      batchesWritten: 3,
      pending: 0,
      droppedReadings: 0,
    });
    // Each reading has its own timestamp here, so every reading is its own point.
    expect(s.pointsWritten).toBe(25);
  });

  it('add() never throws or blocks, and memory stays bounded while the store hangs', async () => {
    store.mode = 'hang';
    const { buffer, spool } = makeBuffer({
      maxInFlight: 1,
      maxQueuedReadings: 20,
      maxSpoolingReadings: 2000,
      writeTimeoutMs: 60_000,
    });
    await buffer.start();
    for (let i = 0; i < 100; i++) expect(() => buffer.add(readings(10))).not.toThrow();
    // 1 batch in flight, at most 20 readings queued; the rest went to disk.
    await until(() => buffer.stats().pending <= 10 + 20, 'overflow spilled to the spool');
    const s = buffer.stats();
    expect(s.readingsAccepted).toBe(1000);
    expect(s.droppedReadings).toBe(0);
    expect(spool.pendingReadings + s.pending).toBe(1000);
  });

  it('drops (and counts) rather than grow memory when even the spool cannot keep up', async () => {
    store.mode = 'hang';
    const { buffer, spool } = makeBuffer({
      maxInFlight: 1,
      maxQueuedReadings: 20,
      maxSpoolingReadings: 50,
      writeTimeoutMs: 60_000,
    });
    await buffer.start();
    // One synchronous burst: nothing reaches the disk before it ends.
    for (let i = 0; i < 100; i++) buffer.add(readings(10));
    await until(() => buffer.stats().pending <= 30, 'spool writes settled');
    const s = buffer.stats();
    expect(s.droppedReadings).toBeGreaterThan(0);
    // Every reading is somewhere: in memory, on disk, or counted as dropped.
    expect(s.pending + spool.pendingReadings + s.droppedReadings).toBe(1000);
  });

  it('spools failed batches after retrying, then replays them when the store is back', async () => {
    store.mode = 'down';
    const { buffer, spool } = makeBuffer({ retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 400 } });
    await buffer.start();
    buffer.add(readings(30));
    await until(() => spool.depth === 3, 'three batches spooled');
    // Each fresh batch was tried; the first one up to 3 times before the store was declared down.
    expect(store.attempts).toBeGreaterThanOrEqual(3);
    expect(store.attempts).toBeLessThanOrEqual(9);
    expect(buffer.stats()).toMatchObject({ storeUp: false, spooledBatches: 3, readingsWritten: 0 });

    // While down, new batches go straight to the spool without trying the store.
    const attemptsWhileDown = store.attempts;
    buffer.add(readings(10));
    await until(() => spool.depth === 4, 'fourth batch spooled directly');
    expect(store.attempts).toBe(attemptsWhileDown);
    expect(store.pings).toBeGreaterThan(0);

    store.mode = 'up';
    await until(() => spool.depth === 0, 'spool drained');
    expect(store.values()).toEqual(range(1, 40));
    expect(buffer.stats()).toMatchObject({
      storeUp: true,
      readingsWritten: 40,
      droppedReadings: 0,
      pending: 0,
    });
  });

  it('stop() writes what is pending when the store is up', async () => {
    const { buffer } = makeBuffer({ batchSize: 1000 });
    await buffer.start();
    buffer.add(readings(7));
    expect(store.batches).toHaveLength(0);
    await buffer.stop();
    expect(store.values()).toEqual(range(1, 7));
  });

  it('stop() spools what cannot be written; a new buffer on the same spool delivers it', async () => {
    store.mode = 'down';
    const first = makeBuffer({ batchSize: 1000 });
    await first.buffer.start();
    first.buffer.add(readings(7));
    await first.buffer.stop();
    expect(first.spool.depth).toBe(1);
    expect(store.batches).toHaveLength(0);

    // The agent restarts; the store is back.
    store.mode = 'up';
    const second = makeBuffer({ batchSize: 1000 });
    await second.buffer.start();
    await until(() => second.spool.depth === 0, 'replayed after restart');
    expect(store.values()).toEqual(range(1, 7));
  });

  it('stop() does not wait for a hung store beyond its timeout, and keeps the batch', async () => {
    store.mode = 'hang';
    const { buffer, spool } = makeBuffer({ batchSize: 1000, writeTimeoutMs: 3000 });
    await buffer.start();
    buffer.add(readings(5));
    let done = false;
    void buffer.stop().then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(2999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => done, 'stop resolved');
    expect(spool.depth).toBe(1);
    expect(buffer.stats().droppedReadings).toBe(0);
  });

  it('counts a batch the store refuses as invalid and does not retry or spool it', async () => {
    store.mode = 'reject';
    const { buffer, spool } = makeBuffer();
    await buffer.start();
    buffer.add(readings(10));
    await until(() => buffer.stats().rejectedReadings === 10, 'rejected counted');
    expect(store.attempts).toBe(1);
    expect(spool.depth).toBe(0);
    expect(buffer.stats().storeUp).toBe(true);
  });

  it('counts readings added after stop() as dropped', async () => {
    const { buffer } = makeBuffer();
    await buffer.start();
    await buffer.stop();
    expect(() => buffer.add(readings(3))).not.toThrow();
    expect(buffer.stats().droppedReadings).toBe(3);
  });

  it('counts readings dropped when the spool is over its bound', async () => {
    store.mode = 'down';
    const spool = new DiskSpool({ dir, maxBytes: 1, log: silentLogger(), durable: false });
    const buffer = new WriteBuffer({
      store,
      spool,
      log: silentLogger(),
      batchSize: 10,
      flushIntervalMs: 1000,
      random: () => 0.5,
    });
    buffers.push(buffer);
    await buffer.start();
    buffer.add(readings(50));
    await until(() => buffer.stats().spooledBatches === 5, 'all batches through the spool');
    // Only the newest batch stays; every other reading is accounted for as dropped.
    expect(spool.depth).toBe(1);
    expect(buffer.stats().droppedReadings).toBe(40);
  });
});
