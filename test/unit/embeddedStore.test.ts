import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { ColumnSeries, roundFloat32, windowMeans } from '../../src/store/columnSeries.ts';
import { EmbeddedStore } from '../../src/store/embeddedStore.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { rackSample, storeIndex } from '../helpers/storeFixtures.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

let dir: string;
let now = T0;
const stores: EmbeddedStore[] = [];

function makeStore(retentionDays = 14): EmbeddedStore {
  const s = new EmbeddedStore({
    index: storeIndex(),
    log: silentLogger(),
    dataDir: dir,
    retentionDays,
    now: () => now,
  });
  stores.push(s);
  return s;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotaisle-emb-'));
  now = T0;
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

const rackQuery = { kind: 'rack' as const, site: 'lab', metrics: ['inlet_c', 'power_kw'] };

describe('ColumnSeries', () => {
  it('returns a time range sorted, with the last write winning on equal timestamps', () => {
    const s = new ColumnSeries();
    for (const [ts, v] of [
      [30, 3],
      [10, 1],
      [20, 2],
      [20, 2.5],
      [40, 4],
    ] as const)
      s.append(ts, v);
    expect(s.range(10, 40)).toEqual({ ts: [10, 20, 30], values: [1, 2.5, 3] });
  });

  it('keeps about 8 bytes a sample (two weeks at 10 s for one metric)', () => {
    const s = new ColumnSeries();
    const n = 14 * 8640;
    for (let i = 0; i < n; i++) s.append(T0 + i * 10_000, 20 + (i % 100) / 10);
    expect(s.samples).toBe(n);
    expect(s.bytes / n).toBeLessThan(8.3);
    expect(s.range(T0, T0 + 30_000).values).toEqual([20, 20.1, 20.2]);
  });

  it('reads Float32 values back as the decimals they were', () => {
    for (const v of [21.3, -3.75, 0.001, 1234.567, 99.99, 7]) expect(roundFloat32(Math.fround(v))).toBe(v);
  });

  it('averages per window aligned to the epoch, leaving empty windows out', () => {
    const ts = [60_000, 61_000, 119_000, 120_000, 300_000];
    expect(windowMeans(ts, [1, 2, 3, 10, 7], 60_000)).toEqual([
      { ts: 60_000, value: 2 },
      { ts: 120_000, value: 10 },
      { ts: 300_000, value: 7 },
    ]);
  });
});

describe('EmbeddedStore', () => {
  it('answers raw queries per target and metric, from inclusive to exclusive', async () => {
    const store = makeStore();
    await store.start();
    await store.write([
      ...rackSample('r1', T0, 20),
      ...rackSample('r2', T0, 22),
      ...rackSample('r1', T0 + 10_000, 21),
    ]);
    await store.write(rackSample('r1', T0 + 20_000, 23));

    const all = await store.query({ ...rackQuery, from: T0, to: T0 + 20_000 });
    expect(all).toEqual([
      {
        target: 'r1',
        metric: 'inlet_c',
        points: [
          { ts: T0, value: 20.25 },
          { ts: T0 + 10_000, value: 21.25 },
        ],
      },
      {
        target: 'r1',
        metric: 'power_kw',
        points: [
          { ts: T0, value: 7.75 },
          { ts: T0 + 10_000, value: 7.75 },
        ],
      },
      { target: 'r2', metric: 'inlet_c', points: [{ ts: T0, value: 22.25 }] },
      { target: 'r2', metric: 'power_kw', points: [{ ts: T0, value: 7.75 }] },
    ]);
    const r1 = await store.query({
      ...rackQuery,
      metrics: ['outlet_c'],
      targets: ['r1'],
      from: T0 + 1,
      to: T0 + 60_000,
    });
    expect(r1).toEqual([
      {
        target: 'r1',
        metric: 'outlet_c',
        points: [
          { ts: T0 + 10_000, value: 33.5 },
          { ts: T0 + 20_000, value: 35.5 },
        ],
      },
    ]);
    expect(await store.query({ ...rackQuery, targets: [], from: T0, to: T0 + 60_000 })).toEqual([]);
    expect(await store.query({ ...rackQuery, site: 'other', from: T0, to: T0 + 60_000 })).toEqual([]);
  });

  it('answers windowed queries with the mean per window', async () => {
    const store = makeStore();
    await store.start();
    const batch: Reading[] = [];
    // inlet 20, 21, …, 29 at 10 s steps from T0 (T0 is a whole minute).
    for (let i = 0; i < 10; i++)
      batch.push({
        kind: 'rack',
        site: 'lab',
        target: 'r3',
        metric: 'inlet_c',
        value: 20 + i,
        ts: T0 + i * 10_000,
      });
    await store.write(batch);
    const [series] = await store.query({
      ...rackQuery,
      metrics: ['inlet_c'],
      from: T0,
      to: T0 + 100_000,
      windowMs: 60_000,
    });
    expect(series?.points).toEqual([
      { ts: T0, value: 22.5 },
      { ts: T0 + 60_000, value: 27.5 },
    ]);
  });

  it('reloads its segments on start, ignoring a record cut off by a crash', async () => {
    const first = makeStore();
    await first.start();
    await first.write([...rackSample('r1', T0, 20), ...rackSample('r2', T0, 22)]);
    await first.write(rackSample('r1', T0 + 10_000, 21));
    await first.write([
      { kind: 'cooling', site: 'lab', target: 'crac1', metric: 'supply_c', value: 17.5, ts: T0 },
    ]);
    const before = await first.query({ ...rackQuery, from: T0, to: T0 + DAY });
    await first.stop();
    const [segment] = (await readdir(join(dir, 'store'))).sort();
    // Half a samples record: type 2, count 1000, then nothing.
    await appendFile(join(dir, 'store', segment!), Buffer.from([2, 0xe8, 0x03, 0, 0, 1, 2, 3]));

    const second = makeStore();
    await second.start();
    expect(await second.query({ ...rackQuery, from: T0, to: T0 + DAY })).toEqual(before);
    expect(
      await second.query({ kind: 'cooling', site: 'lab', metrics: ['supply_c'], from: T0, to: T0 + 1 }),
    ).toEqual([{ target: 'crac1', metric: 'supply_c', points: [{ ts: T0, value: 17.5 }] }]);
    // Writes after a restart land in a new segment and survive the next restart too.
    await second.write(rackSample('r1', T0 + 20_000, 25));
    await second.stop();
    const third = makeStore();
    await third.start();
    const [inlet] = await third.query({
      ...rackQuery,
      metrics: ['inlet_c'],
      targets: ['r1'],
      from: T0,
      to: T0 + DAY,
    });
    expect(inlet?.points.map((p) => p.value)).toEqual([20.25, 21.25, 25.25]);
  });

  it('drops data past retention, in memory and on disk', async () => {
    const store = makeStore(2);
    await store.start();
    await store.write(rackSample('r1', T0, 20));
    now = T0 + DAY + 1; // the next write rolls to a new segment (segments last a day)
    await store.write(rackSample('r1', now, 21));
    expect(await readdir(join(dir, 'store'))).toHaveLength(2);

    now = T0 + 2 * DAY + 10;
    await store.prune();
    const [inlet] = await store.query({ ...rackQuery, metrics: ['inlet_c'], from: 0, to: now + 1 });
    expect(inlet?.points.map((p) => p.value)).toEqual([21.25]);
    expect(await readdir(join(dir, 'store'))).toHaveLength(1);
    await store.stop();

    // A restart after the rest expired loads nothing and removes the old segment.
    now = T0 + 4 * DAY;
    const later = makeStore(2);
    await later.start();
    expect(await later.query({ ...rackQuery, from: 0, to: now })).toEqual([]);
    expect(later.memoryBytes()).toBe(0);
  });
});
