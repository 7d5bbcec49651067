/** The `forecast` measurement in the stores: line protocol, embedded series, and the read-only embedded store. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { EmbeddedStore } from '../../src/store/embeddedStore.ts';
import { encodeForecastLines } from '../../src/store/points.ts';
import type { ForecastRecord } from '../../src/store/store.ts';
import { rackSample, storeIndex } from '../helpers/storeFixtures.ts';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const record = (rack: string, horizonMin: number, inletC: number): ForecastRecord => ({
  site: 'lab',
  rack,
  horizonMin,
  model: 'v3',
  ts: T0 + horizonMin * 60_000,
  inletC,
  loC: inletC - 0.5,
  hiC: inletC + 0.75,
});

describe('encodeForecastLines', () => {
  it('writes tags site, rack, horizon_min, model and fields inlet_c, lo_c, hi_c; skips non-finite values', () => {
    const { body, points, skipped } = encodeForecastLines([
      record('r 1', 15, 24.5),
      { ...record('r2', 5, 22), inletC: Number.NaN },
    ]);
    expect(points).toBe(1);
    expect(skipped).toBe(1);
    expect(body).toBe(
      `forecast,horizon_min=15,model=v3,rack=r\\ 1,site=lab inlet_c=24.5,lo_c=24,hi_c=25.25 ${T0 + 15 * 60_000}`,
    );
  });
});

describe('EmbeddedStore forecasts', () => {
  let dir: string;
  const stores: EmbeddedStore[] = [];
  const make = (readOnly = false) => {
    const s = new EmbeddedStore({
      index: storeIndex(),
      log: silentLogger(),
      dataDir: dir,
      now: () => T0,
      readOnly,
    });
    stores.push(s);
    return s;
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hotaisle-fcstore-'));
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps forecasts apart from telemetry and reloads them from disk', async () => {
    const store = make();
    await store.start();
    await store.write(rackSample('r1', T0 - 60_000));
    await store.writeForecasts([record('r1', 5, 21.5), record('r1', 15, 22.25)]);
    const range = { site: 'lab', from: T0 - 3_600_000, to: T0 + 3_600_000 };
    const telemetry = await store.query({ ...range, kind: 'rack', metrics: ['inlet_c'] });
    expect(telemetry.map((s) => s.points.length)).toEqual([1]);
    await store.stop();

    const again = make(true);
    await again.start();
    const got = await again.queryForecasts({ ...range, metrics: ['h15.inlet_c', 'h15.hi_c', 'h5.lo_c'] });
    expect(got).toEqual([
      { target: 'r1', metric: 'h15.inlet_c', points: [{ ts: T0 + 15 * 60_000, value: 22.25 }] },
      { target: 'r1', metric: 'h15.hi_c', points: [{ ts: T0 + 15 * 60_000, value: 23 }] },
      { target: 'r1', metric: 'h5.lo_c', points: [{ ts: T0 + 5 * 60_000, value: 21 }] },
    ]);
  });

  it('read only: loads and queries, opens no segment of its own and refuses writes', async () => {
    const writer = make();
    await writer.start();
    await writer.write(rackSample('r1', T0 - 60_000));
    const before = await readdir(join(dir, 'store'));

    const reader = make(true);
    await reader.start();
    expect(await readdir(join(dir, 'store'))).toEqual(before);
    const got = await reader.query({
      kind: 'rack',
      site: 'lab',
      metrics: ['power_kw'],
      from: T0 - 120_000,
      to: T0,
    });
    expect(got[0]?.points).toEqual([{ ts: T0 - 60_000, value: 7.75 }]);
    await expect(reader.write(rackSample('r1', T0))).rejects.toThrow(/read only/);
  });
});
