/**
 * ForecastModule without servers: persistence mode and its readiness, the store write cadence, a
 * failing store that must not reach the caller, and the CLI report formatters.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import schedule from 'node-schedule';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentContext } from '../../src/agent.ts';
import { backtestTable } from '../../src/cli/backtest.ts';
import { formatTable } from '../../src/cli/forecastCommon.ts';
import { modelsTable } from '../../src/cli/models.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { fitInWorker, TrainingAbortedError } from '../../src/forecast/backgroundTraining.ts';
import { createFrame } from '../../src/forecast/features.ts';
import { ForecastModule } from '../../src/forecast/forecastModule.ts';
import { holtWintersQuery } from '../../src/forecast/holtWinters.ts';
import { buildForecastLayout } from '../../src/forecast/layout.ts';
import { TrainingError } from '../../src/forecast/training.ts';
import { silentLogger } from '../../src/log.ts';
import type { ForecastRecord, TelemetryStore } from '../../src/store/store.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { storeSite } from '../helpers/storeFixtures.ts';

const T0 = Date.UTC(2025, 5, 2, 12, 0, 0);
const site = storeSite({ racks: 4 });
const index = buildSiteIndex(site);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function fakeStore(writeForecasts: (r: readonly ForecastRecord[]) => Promise<void>): TelemetryStore {
  return {
    name: 'fake',
    start: async () => undefined,
    write: async () => undefined,
    query: async () => [],
    writeForecasts,
    ping: async () => true,
    health: () => ({ connected: true }),
    stop: async () => undefined,
  };
}

function readings(ts: number, inlet: number): Reading[] {
  return index.rackIds.map((rack) => ({
    kind: 'rack',
    site: 'lab',
    target: rack,
    metric: 'inlet_c',
    value: inlet,
    ts,
  }));
}

async function startModule(store: TelemetryStore, now: { ts: number }) {
  const dir = await mkdtemp(join(tmpdir(), 'hotaisle-fmod-'));
  dirs.push(dir);
  const m = new ForecastModule({ modelsDir: dir, now: () => now.ts, cycleMs: 3_600_000, trainCron: 'off' });
  const ctx: AgentContext = {
    site,
    index,
    log: silentLogger(),
    store,
    brokerUrl: 'mqtt://127.0.0.1:1',
    brokerCredentials: {},
  };
  await m.start(ctx);
  return m;
}

describe('ForecastModule', () => {
  it('without a model forecasts persistence, says so in readiness, and writes once a minute', async () => {
    const batches: ForecastRecord[][] = [];
    const now = { ts: T0 };
    const m = await startModule(
      fakeStore(async (r) => {
        batches.push([...r]);
      }),
      now,
    );
    expect(schedule.scheduledJobs['hotaisle-train-lab']).toBeUndefined();
    const ready = m.readiness()[0]!.check();
    expect(ready.status).toBe('degraded');
    expect(ready.detail).toMatch(/no promoted model/);

    m.observe(readings(T0 + 1000, 24.5));
    now.ts = T0 + 30_000;
    const set = m.cycle(now.ts);
    expect(set.modelVersion).toBeNull();
    expect(Array.from(set.predicted.slice(0, 3))).toEqual([24.5, 24.5, 24.5]);
    now.ts = T0 + 60_000;
    m.cycle(now.ts);
    await m.stop();
    // Start-up cycle (no readings yet: nothing to write), then one write at +30 s; +60 s is within the minute.
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((p) => [p.rack, p.horizonMin, p.model, p.inletC])).toContainEqual([
      'r1',
      15,
      'persistence',
      24.5,
    ]);
    expect(batches[0]).toHaveLength(4 * set.horizonsMin.length);
    expect(batches[0]!.find((p) => p.horizonMin === 5)!.ts).toBe(T0 + 30_000 + 5 * 60_000);
  });

  it('counts a store that refuses forecasts instead of throwing, and keeps forecasting', async () => {
    const now = { ts: T0 };
    const m = await startModule(
      fakeStore(() => Promise.reject(new Error('database is down'))),
      now,
    );
    m.observe(readings(T0, 22));
    now.ts = T0 + 61_000;
    expect(() => m.cycle(now.ts)).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(m.stats.writesFailed).toBe(1);
    expect(m.lastWriteError).toBe('database is down');
    expect(m.latest()?.current[0]).toBe(22);
    await m.stop();
  });
});

describe('training worker', () => {
  const frame = () => createFrame(buildForecastLayout(index), 600, T0, 60_000);

  it('reports a data problem from the worker as a TrainingError', async () => {
    await expect(fitInWorker({ site, frame: frame(), opts: {} })).rejects.toBeInstanceOf(TrainingError);
  });

  it('stops the worker when aborted', async () => {
    const abort = new AbortController();
    const fit = fitInWorker({ site, frame: frame(), opts: {} }, abort.signal);
    abort.abort();
    await expect(fit).rejects.toBeInstanceOf(TrainingAbortedError);
  });
});

describe('CLI reports', () => {
  it('lays out tables with numbers right-aligned', () => {
    expect(
      formatTable(
        ['a', 'n'],
        [
          ['x', '1.5'],
          ['yy', '10.25'],
        ],
      ),
    ).toBe('a       n\n--  -----\nx     1.5\nyy  10.25');
  });

  it('names every predictor per horizon in the backtest table', () => {
    const errors = { n: 10, mae: 0.1, rmse: 0.2, maxError: 0.5 };
    const hot = {
      breaches: 2,
      breachesPredicted: 1,
      recall: 0.5,
      flags: 4,
      falseFlags: 1,
      precision: 0.75,
      medianLeadMin: 12,
      minLeadMin: 8,
    };
    const score = (name: string) => ({
      name,
      horizons: [{ horizonMin: 15, errors, hotspots: hot }],
      combined: hot,
    });
    const text = backtestTable('a', 'b', 27, [
      score('model v2'),
      score('persistence'),
      score('HOLT_WINTERS'),
    ]);
    const lines = text.split('\n').filter((l) => l.startsWith('15 min'));
    expect(lines.map((l) => l.split(/\s{2,}/)[1])).toEqual(['model v2', 'persistence', 'HOLT_WINTERS']);
    expect(text).toMatch(/1\/2\s+50%\s+75%/);
  });

  it('lists refused model files after the table', () => {
    expect(
      modelsTable('models/lab', [], [{ file: 'models/lab/model-000002.json', error: 'not valid JSON' }]),
    ).toMatch(/refused.*\n {2}models\/lab\/model-000002\.json: not valid JSON/);
  });

  it('asks InfluxDB for HOLT_WINTERS per rack on a trailing window', () => {
    const q = holtWintersQuery(
      { database: 'hotaisle', retentionPolicy: 'hotaisle_90d', site: "o'hare", stepMs: 60_000, n: 30 },
      1000,
      7_201_000,
    );
    expect(q).toBe(
      `SELECT HOLT_WINTERS(mean("inlet_c"), 30, 0) FROM "hotaisle"."hotaisle_90d"."rack" WHERE "site" = 'o\\'hare' AND time >= 1000ms AND time < 7201000ms GROUP BY time(60000ms), "rack"`,
    );
  });
});
