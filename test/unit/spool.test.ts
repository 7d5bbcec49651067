import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { DiskSpool, decodeBatch, encodeBatch } from '../../src/store/spool.ts';
import type { Reading } from '../../src/telemetry/reading.ts';

function batch(n: number, start: number): Reading[] {
  return Array.from({ length: n }, (_, i) => ({
    kind: 'rack' as const,
    site: 'lab',
    target: `r${(i % 3) + 1}`,
    metric: i % 2 ? 'inlet_c' : 'power_kw',
    value: start + i + 0.5,
    ts: 1_700_000_000_000 + start + i,
  }));
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotaisle-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spoolAt = (maxBytes = 10 * 1024 * 1024) => new DiskSpool({ dir, maxBytes, log: silentLogger() });

describe('encodeBatch / decodeBatch', () => {
  it('round-trips readings, including several series and kinds', () => {
    const readings: Reading[] = [
      ...batch(7, 0),
      { kind: 'cooling', site: 'lab', target: 'crac1', metric: 'supply_c', value: -1.25, ts: 5 },
      { kind: 'site', site: 'lab', target: 'lab', metric: 'power_kw', value: 1234.5, ts: 6 },
    ];
    expect(decodeBatch(encodeBatch(readings))).toEqual(readings);
  });

  it('refuses text that is not a spool batch', () => {
    expect(() => decodeBatch('{"v":2}')).toThrow();
    expect(() => decodeBatch('{"v":1,"series":[["nope","a","b","c"]],"rows":[0,1,2]}')).toThrow();
    expect(() => decodeBatch('{"v":1,"series":[],"rows":[0,1,2]}')).toThrow();
  });
});

describe('DiskSpool', () => {
  it('is a FIFO: peek returns the oldest batch until it is acked', async () => {
    const spool = spoolAt();
    const a = batch(5, 0);
    const b = batch(4, 100);
    const c = batch(3, 200);
    await Promise.all([spool.push(a), spool.push(b), spool.push(c)]);
    expect(spool.depth).toBe(3);
    expect(spool.pendingReadings).toBe(12);

    const first = await spool.peek();
    expect(first?.readings).toEqual(a);
    expect((await spool.peek())?.readings).toEqual(a);
    await spool.ack(first!.id);
    const second = await spool.peek();
    expect(second?.readings).toEqual(b);
    await spool.ack(second!.id);
    const third = await spool.peek();
    expect(third?.readings).toEqual(c);
    await spool.ack(third!.id);
    expect(await spool.peek()).toBeUndefined();
    expect(spool.depth).toBe(0);
    expect(spool.bytes).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('replays pending batches in order after a restart, and new batches go after them', async () => {
    const before = spoolAt();
    await before.push(batch(2, 0));
    await before.push(batch(2, 10));
    await before.push(batch(2, 20));
    const head = await before.peek();
    await before.ack(head!.id);
    // A crash in the middle of a write leaves a temp file behind; it must be ignored and cleaned.
    await writeFile(join(dir, '000000000099-5.batch.tmp'), '{"v":1,"ser');

    const after = spoolAt();
    await after.open();
    expect(after.depth).toBe(2);
    expect(after.pendingReadings).toBe(4);
    expect(after.bytes).toBe(before.bytes);
    await after.push(batch(2, 30));
    const seen: number[] = [];
    for (let e = await after.peek(); e; e = await after.peek()) {
      seen.push(e.readings[0]!.ts - 1_700_000_000_000);
      await after.ack(e.id);
    }
    expect(seen).toEqual([10, 20, 30]);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('drops the oldest batches over the bound and counts every reading dropped', async () => {
    // Starts 1000…5000 keep every batch the same size in bytes.
    const one = Buffer.byteLength(encodeBatch(batch(100, 1000)));
    const spool = spoolAt(one * 3 + 10);
    for (let i = 1; i <= 5; i++) await spool.push(batch(100, i * 1000));
    expect(spool.depth).toBe(3);
    expect(spool.bytes).toBeLessThanOrEqual(one * 3 + 10);
    expect(spool.droppedBatches).toBe(2);
    expect(spool.droppedReadings).toBe(200);
    // What is left is the newest three, oldest first.
    const head = await spool.peek();
    expect(head!.readings[0]!.value).toBe(3000.5);
  });

  it('does not drop the batch being replayed, and ignores an ack for a dropped batch', async () => {
    const one = Buffer.byteLength(encodeBatch(batch(100, 1000)));
    const spool = spoolAt(one * 2 + 10);
    await spool.push(batch(100, 1000));
    await spool.push(batch(100, 2000));
    const inFlight = await spool.peek();
    await spool.push(batch(100, 3000));
    // Over the bound: batch 2 (not the one in flight, not the newest) goes.
    expect(spool.droppedReadings).toBe(100);
    await spool.ack(inFlight!.id);
    await spool.ack(inFlight!.id);
    expect(spool.depth).toBe(1);
    expect((await spool.peek())!.readings[0]!.value).toBe(3000.5);
  });

  it('sets an unreadable batch aside as .corrupt, counts it as dropped and moves on', async () => {
    const spool = spoolAt();
    await spool.push(batch(3, 0));
    await spool.push(batch(4, 100));
    const [firstFile] = (await readdir(dir)).sort();
    await writeFile(join(dir, firstFile!), 'garbage');
    const head = await spool.peek();
    expect(head!.readings).toEqual(batch(4, 100));
    expect(spool.droppedReadings).toBe(3);
    expect((await readdir(dir)).some((n) => n.endsWith('.corrupt'))).toBe(true);
  });
});
