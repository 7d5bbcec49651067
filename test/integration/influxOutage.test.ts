/**
 * Zero loss through an InfluxDB outage, against a real influxd: a steady stream keeps flowing into the
 * WriteBuffer while the server is down; afterwards every reading is in InfluxDB (counted with
 * SELECT COUNT), including when the agent itself restarts during the outage.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { InfluxStore } from '../../src/store/influxStore.ts';
import { DiskSpool } from '../../src/store/spool.ts';
import { WriteBuffer } from '../../src/store/writeBuffer.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { type InfluxdHandle, startInfluxd } from '../helpers/influxd.ts';
import { waitFor } from '../helpers/poll.ts';
import { rackSample, storeIndex } from '../helpers/storeFixtures.ts';

const RACKS = 20;
let influxd: InfluxdHandle;
let dir: string;

beforeAll(async () => {
  influxd = await startInfluxd();
  dir = await mkdtemp(join(tmpdir(), 'hotaisle-outage-'));
}, 30_000);

const producers: Producer[] = [];
afterEach(async () => {
  // A failed test must not leave the next one without a server, or a stream still running.
  for (const p of producers.splice(0)) p.stop();
  await influxd?.start();
});

afterAll(async () => {
  await influxd?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every 20 ms, one sample (inlet, outlet, power) per rack, each tick with its own timestamp. */
class Producer {
  ticks = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  constructor(
    private readonly base: number,
    public sink: (r: Reading[]) => void,
  ) {}
  start(): void {
    producers.push(this);
    this.timer = setInterval(() => {
      const ts = this.base + this.ticks * 1000;
      const batch: Reading[] = [];
      for (let r = 1; r <= RACKS; r++) batch.push(...rackSample(`r${r}`, ts, 20 + (this.ticks % 10)));
      this.ticks++;
      this.sink(batch);
    }, 20);
  }
  stop(): void {
    clearInterval(this.timer);
  }
  /** Points sent: one per rack and tick. */
  get points(): number {
    return this.ticks * RACKS;
  }
}

function makeStore(database: string): InfluxStore {
  return new InfluxStore({
    index: storeIndex({ racks: RACKS, influxPort: influxd.port, database }),
    log: silentLogger(),
    requestTimeoutMs: 2000,
  });
}

function makeBuffer(store: InfluxStore, spoolDir: string): WriteBuffer {
  return new WriteBuffer({
    store,
    spool: new DiskSpool({ dir: spoolDir, maxBytes: 64 * 1024 * 1024, log: silentLogger() }),
    log: silentLogger(),
    batchSize: 500,
    flushIntervalMs: 100,
    retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 200 },
    drain: { minDelayMs: 100, maxDelayMs: 500 },
    writeTimeoutMs: 3000,
  });
}

async function countIn(store: InfluxStore, database: string): Promise<Record<string, number>> {
  const res = await store.rawQuery(
    `SELECT COUNT("inlet_c") AS inlet, COUNT("outlet_c") AS outlet, COUNT("power_kw") AS power FROM "${database}"."hotaisle_14d"."rack"`,
  );
  const s = res.results?.[0]?.series?.[0];
  if (!s) return { inlet: 0, outlet: 0, power: 0 };
  const row = s.values[0] ?? [];
  return { inlet: Number(row[1]), outlet: Number(row[2]), power: Number(row[3]) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('zero loss through an InfluxDB outage', () => {
  it('delivers every reading of a steady stream when influxd stops for a few seconds', async () => {
    const store = makeStore('outage_stream');
    await store.start();
    const buffer = makeBuffer(store, join(dir, 'spool-stream'));
    await buffer.start();
    const producer = new Producer(Date.now() - 3_600_000, (r) => buffer.add(r));
    producer.start();

    await waitFor(() => buffer.stats().readingsWritten > 1000, { timeoutMs: 10_000, what: 'writes flowing' });
    await influxd.stop();
    await sleep(3000);
    await waitFor(() => buffer.stats().spoolDepth > 0, {
      timeoutMs: 5000,
      what: 'batches spooled during the outage',
    });
    const during = buffer.stats();
    expect(during.storeUp).toBe(false);
    await influxd.start();
    await sleep(1000);
    producer.stop();
    buffer.flush();

    await waitFor(
      () => {
        const s = buffer.stats();
        return s.spoolDepth === 0 && s.pending === 0 && s.readingsWritten === s.readingsAccepted;
      },
      { timeoutMs: 20_000, what: 'spool drained and every reading written' },
    );
    await buffer.stop();
    const stats = buffer.stats();
    expect(stats.droppedReadings).toBe(0);
    expect(stats.rejectedReadings).toBe(0);
    expect(stats.spooledBatches).toBeGreaterThan(0);
    expect(stats.readingsAccepted).toBe(producer.points * 3);
    expect(await countIn(store, 'outage_stream')).toEqual({
      inlet: producer.points,
      outlet: producer.points,
      power: producer.points,
    });
    await store.stop();
  }, 60_000);

  it('delivers what an agent stopped during the outage left in its spool, after a restart', async () => {
    const spoolDir = join(dir, 'spool-restart');
    const first = makeStore('outage_restart');
    await first.start();
    const bufferA = makeBuffer(first, spoolDir);
    await bufferA.start();
    const producer = new Producer(Date.now() - 3_600_000, (r) => bufferA.add(r));
    producer.start();
    await waitFor(() => bufferA.stats().readingsWritten > 1000, {
      timeoutMs: 10_000,
      what: 'writes flowing',
    });

    await influxd.stop();
    await sleep(1500);
    producer.stop();
    // The agent stops during the outage: what could not be written goes to the spool.
    await bufferA.stop();
    await first.stop();
    const a = bufferA.stats();
    expect(a.droppedReadings).toBe(0);
    expect(a.spoolDepth).toBeGreaterThan(0);
    expect(a.readingsWritten + a.pending).toBeLessThan(a.readingsAccepted);

    // A new agent process: new store (its start fails, influxd is still down), new buffer, same spool dir.
    const second = makeStore('outage_restart');
    await expect(second.start()).rejects.toThrow(/could not be prepared/);
    const bufferB = makeBuffer(second, spoolDir);
    await bufferB.start();
    expect(bufferB.stats().spoolDepth).toBe(a.spoolDepth);
    await sleep(500);
    await influxd.start();

    await waitFor(() => bufferB.stats().spoolDepth === 0, {
      timeoutMs: 20_000,
      what: 'the new agent drained the old spool',
    });
    await bufferB.stop();
    expect(bufferB.stats().droppedReadings).toBe(0);
    expect(await countIn(second, 'outage_restart')).toEqual({
      inlet: producer.points,
      outlet: producer.points,
      power: producer.points,
    });
    await second.stop();
  }, 60_000);
});
