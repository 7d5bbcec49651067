/** InfluxStore against a real influxd: schema, tags, merged points, history queries, error classes. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { EmbeddedStore } from '../../src/store/embeddedStore.ts';
import { StoreWriteError } from '../../src/store/errors.ts';
import { InfluxStore } from '../../src/store/influxStore.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { type InfluxdHandle, startInfluxd } from '../helpers/influxd.ts';
import { rackSample, storeIndex } from '../helpers/storeFixtures.ts';

let influxd: InfluxdHandle;
let store: InfluxStore;
// Recent, whole-minute timestamps: inside the 14-day retention policy, windows line up.
const T0 = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;

async function rows(
  q: string,
): Promise<Array<{ tags: Record<string, string>; columns: string[]; values: unknown[][] }>> {
  const res = await store.rawQuery(q);
  const result = res.results?.[0];
  if (result?.error) throw new Error(result.error);
  return (result?.series ?? []).map((s) => ({ tags: s.tags ?? {}, columns: s.columns, values: s.values }));
}

beforeAll(async () => {
  influxd = await startInfluxd();
  store = new InfluxStore({
    index: storeIndex({ influxPort: influxd.port, database: 'it_store' }),
    log: silentLogger(),
  });
  await store.start();
}, 30_000);

afterAll(async () => {
  await store?.stop();
  await influxd?.dispose();
});

describe('InfluxStore on a real influxd', () => {
  it('creates the database and a default retention policy, and start() can be repeated', async () => {
    const again = new InfluxStore({
      index: storeIndex({ influxPort: influxd.port, database: 'it_store' }),
      log: silentLogger(),
    });
    await again.start();
    await again.stop();
    const [policies] = await rows('SHOW RETENTION POLICIES ON "it_store"');
    const cols = policies!.columns;
    const mine = policies!.values.find((v) => v[cols.indexOf('name')] === 'hotaisle_14d');
    expect(mine?.[cols.indexOf('duration')]).toBe('336h0m0s');
    expect(mine?.[cols.indexOf('default')]).toBe(true);
    expect(policies!.values.filter((v) => String(v[0]).startsWith('hotaisle_'))).toHaveLength(1);
    expect(await store.ping()).toBe(true);
    expect(store.health().connected).toBe(true);
  });

  it('writes one point per target and timestamp, with site/room/row/rack tags and float fields', async () => {
    const batch: Reading[] = [
      ...rackSample('r1', T0, 20),
      ...rackSample('r2', T0, 22),
      ...rackSample('r1', T0 + 10_000, 21),
      { kind: 'cooling', site: 'lab', target: 'crac1', metric: 'supply_c', value: 17.5, ts: T0 },
      { kind: 'cooling', site: 'lab', target: 'crac1', metric: 'fan_pct', value: 60, ts: T0 },
      { kind: 'site', site: 'lab', target: 'lab', metric: 'power_kw', value: 420, ts: T0 },
    ];
    await store.write(batch);

    const rack = await rows(
      'SELECT * FROM "it_store"."hotaisle_14d"."rack" WHERE time >= ' +
        T0 +
        'ms AND time < ' +
        (T0 + 60_000) +
        'ms',
    );
    const [series] = rack;
    expect(series!.columns).toEqual([
      'time',
      'inlet_c',
      'outlet_c',
      'power_kw',
      'rack',
      'room',
      'row',
      'site',
    ]);
    expect(series!.values).toHaveLength(3);
    expect(series!.values[0]).toEqual([T0, 20.25, 32.5, 7.75, 'r1', 'hall1', 'row1', 'lab']);

    const [cooling] = await rows(`SELECT * FROM "it_store"."hotaisle_14d"."cooling" WHERE time = ${T0}ms`);
    expect(cooling!.columns).toEqual(['time', 'fan_pct', 'room', 'site', 'supply_c', 'unit']);
    expect(cooling!.values).toEqual([[T0, 60, 'hall1', 'lab', 17.5, 'crac1']]);
    const [site] = await rows(`SELECT * FROM "it_store"."hotaisle_14d"."site" WHERE time = ${T0}ms`);
    expect(site!.values).toEqual([[T0, 420, 'lab']]);
    // Integers were written as floats: a later 60.5 must not be a type conflict.
    await store.write([
      { kind: 'cooling', site: 'lab', target: 'crac1', metric: 'fan_pct', value: 60.5, ts: T0 + 1000 },
    ]);
  });

  it('answers raw and windowed history queries the same way as the embedded store', async () => {
    const batch: Reading[] = [];
    for (let i = 0; i < 18; i++) {
      batch.push(...rackSample('r3', T0 + 3_600_000 + i * 10_000, 20 + i / 4));
      if (i % 2 === 0) batch.push(...rackSample('r4', T0 + 3_600_000 + i * 10_000 + 5_000, 25 - i / 8));
    }
    await store.write(batch);
    const dir = await mkdtemp(join(tmpdir(), 'hotaisle-it-emb-'));
    const embedded = new EmbeddedStore({
      index: storeIndex(),
      log: silentLogger(),
      dataDir: dir,
      now: () => T0 + 3_700_000,
    });
    try {
      await embedded.start();
      await embedded.write(batch);
      const from = T0 + 3_600_000;
      const to = from + 180_000;
      const q = {
        kind: 'rack' as const,
        site: 'lab',
        targets: ['r3', 'r4'],
        metrics: ['inlet_c', 'power_kw'],
        from,
        to,
      };
      const raw = await store.query(q);
      expect(raw.map((s) => [s.target, s.metric, s.points.length])).toEqual([
        ['r3', 'inlet_c', 18],
        ['r3', 'power_kw', 18],
        ['r4', 'inlet_c', 9],
        ['r4', 'power_kw', 9],
      ]);
      expect(raw).toEqual(await embedded.query(q));

      const windowed = await store.query({ ...q, windowMs: 60_000 });
      expect(windowed[0]).toEqual({
        target: 'r3',
        metric: 'inlet_c',
        points: [
          { ts: from, value: 20.25 + 2.5 / 4 },
          { ts: from + 60_000, value: 20.25 + 8.5 / 4 },
          { ts: from + 120_000, value: 20.25 + 14.5 / 4 },
        ],
      });
      const fromEmbedded = await embedded.query({ ...q, windowMs: 60_000 });
      expect(fromEmbedded.map((s) => s.points.map((p) => p.ts))).toEqual(
        windowed.map((s) => s.points.map((p) => p.ts)),
      );
      for (const [i, s] of windowed.entries()) {
        for (const [j, p] of s.points.entries())
          expect(fromEmbedded[i]!.points[j]!.value).toBeCloseTo(p.value, 5);
      }
    } finally {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps hostile ids inside string literals', async () => {
    const base = { kind: 'rack' as const, site: 'lab', metrics: ['inlet_c'], from: T0, to: T0 + 60_000 };
    expect(await store.query({ ...base, targets: ["r1' OR rack =~ /.*/ OR rack = '"] })).toEqual([]);
    expect(await store.query({ ...base, targets: ['r1\\'] })).toEqual([]);
    expect(await store.query({ ...base, site: "lab'--" })).toEqual([]);
    expect(await store.query({ ...base, metrics: ['inlet_c" FROM x --'] })).toEqual([]);
    expect((await store.query({ ...base, targets: ['r1'] }))[0]?.points).toHaveLength(2);
  });

  it('marks a batch InfluxDB refuses as not retryable', async () => {
    // Make inlet_c a string field in a new shard (far past), then write a float there.
    const past = T0 - 10 * 86_400_000;
    const res = await fetch(
      `http://127.0.0.1:${influxd.port}/write?db=it_store&rp=hotaisle_14d&precision=ms`,
      {
        method: 'POST',
        body: `rack,site=lab,rack=r9 inlet_c="hot" ${past}`,
      },
    );
    expect(res.status).toBe(204);
    const err = await store
      .write([{ kind: 'rack', site: 'lab', target: 'r9', metric: 'inlet_c', value: 30, ts: past + 1 }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreWriteError);
    expect((err as StoreWriteError).retryable).toBe(false);
    expect(store.health().connected).toBe(true);
  });

  it('reports an unreachable server in ping(), health() and a retryable write error', async () => {
    await influxd.stop();
    try {
      expect(await store.ping()).toBe(false);
      const err = await store.write(rackSample('r1', T0 + 30_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreWriteError);
      expect((err as StoreWriteError).retryable).toBe(true);
      expect(store.health()).toMatchObject({
        connected: false,
        lastError: expect.stringMatching(/ECONNREFUSED|socket|connect/i),
      });
    } finally {
      await influxd.start();
    }
    expect(await store.ping()).toBe(true);
    await store.write(rackSample('r1', T0 + 30_000));
    expect(store.health().connected).toBe(true);
  });
});
