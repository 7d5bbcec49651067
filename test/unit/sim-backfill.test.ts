/**
 * backfill(): simulated history straight into a store. Counts in the store match what an independent
 * run of the simulator produced; an interrupt keeps what was produced; a store that refuses stops the
 * run with the reason and how far it got.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSiteFile } from '../../src/config/loader.ts';
import type { SiteConfig } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { silentLogger } from '../../src/log.ts';
import { backfill } from '../../src/sim/backfill.ts';
import { loadScenarioFile } from '../../src/sim/scenario.ts';
import { DataCenterSim } from '../../src/sim/simulator.ts';
import { EmbeddedStore } from '../../src/store/embeddedStore.ts';
import { StoreWriteError } from '../../src/store/errors.ts';
import type { HistorySeries, TelemetryStore } from '../../src/store/store.ts';
import type { Reading } from '../../src/telemetry/reading.ts';

const HOUR = 3_600_000;
const TO = Math.floor(Date.now() / 60_000) * 60_000;
const FROM = TO - 6 * HOUR;
const scenario = loadScenarioFile('sites/scenarios/normal-week.yaml');

function lab(): SiteConfig {
  const loaded = loadSiteFile('sites/lab.yaml');
  if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
  return loaded.config;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotaisle-backfill-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function embedded(site: SiteConfig): EmbeddedStore {
  return new EmbeddedStore({ index: buildSiteIndex(site), log: silentLogger(), dataDir: dir });
}

/** Points per target|metric over the whole site. */
async function storedCounts(
  store: TelemetryStore,
  site: SiteConfig,
  from = FROM,
  to = TO + 1,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const queries: Array<[HistorySeries[], string]> = [
    [
      await store.query({
        kind: 'rack',
        site: 'lab',
        metrics: ['inlet_c', 'outlet_c', 'power_kw'],
        from,
        to,
      }),
      'rack',
    ],
    [
      await store.query({
        kind: 'cooling',
        site: 'lab',
        metrics: ['supply_c', 'return_c', 'fan_pct', 'power_kw'],
        from,
        to,
      }),
      'cooling',
    ],
    [
      await store.query({ kind: 'site', site: site.site.id, metrics: ['power_kw', 'outdoor_c'], from, to }),
      'site',
    ],
  ];
  for (const [series, kind] of queries)
    for (const s of series) out.set(`${kind}|${s.target}|${s.metric}`, s.points.length);
  return out;
}

describe('backfill', () => {
  it('writes six hours of the lab into the embedded store, and what is stored is what the simulator produced', async () => {
    const site = lab();
    const store = embedded(site);
    await store.start();
    const progress: number[] = [];
    const result = await backfill({
      site,
      store,
      scenario,
      seed: 3,
      fromTs: FROM,
      toTs: TO,
      everyMs: 60_000,
      stepMs: 10_000,
      batchSize: 1000,
      progressEveryMs: 0,
      onProgress: (p) => progress.push(p.simTs),
    });
    await store.stop();

    // The same run, by hand.
    const sim = new DataCenterSim(site, { seed: 3, startTs: FROM, stepMs: 10_000, scenario });
    const expected = new Map<string, number>();
    let produced = 0;
    for (let ts = FROM; ts <= TO; ts += 60_000) {
      sim.advanceTo(ts);
      for (const r of sim.readings()) {
        const key = `${r.kind}|${r.target}|${r.metric}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
        produced++;
      }
    }
    expect(result).toMatchObject({
      complete: true,
      interrupted: false,
      snapshots: 6 * 60 + 1,
      readingsProduced: produced,
      readingsWritten: produced,
    });
    expect(result.error).toBeUndefined();
    expect(result.writtenThroughTs).toBe(TO);
    expect(expected.size).toBe(8 * 3 + 2 * 4 + 2);
    expect(progress.at(-1)).toBe(TO);
    expect(progress.length).toBeGreaterThan(2);

    // Read back from disk by a fresh store: the agent's view after it starts.
    const reopened = embedded(site);
    await reopened.start();
    try {
      expect(await storedCounts(reopened, site)).toEqual(expected);
      const [inlet] = await reopened.query({
        kind: 'rack',
        site: 'lab',
        targets: ['a2'],
        metrics: ['inlet_c'],
        from: FROM,
        to: TO + 1,
      });
      const values = inlet!.points.map((p) => p.value);
      // Physically sensible, and not a flat line: load follows jobs.
      expect(Math.min(...values)).toBeGreaterThan(15);
      expect(Math.max(...values)).toBeLessThan(35);
      expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(0.3);
    } finally {
      await reopened.stop();
    }
  });

  it('stops when aborted and still writes everything it produced', async () => {
    const site = lab();
    const store = embedded(site);
    await store.start();
    const abort = new AbortController();
    const result = await backfill({
      site,
      store,
      scenario,
      fromTs: FROM - 18 * HOUR,
      toTs: TO,
      batchSize: 500,
      progressEveryMs: 0,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.simTs >= FROM - 12 * HOUR) abort.abort();
      },
    });
    await store.stop();
    expect(result.interrupted).toBe(true);
    expect(result.complete).toBe(false);
    expect(result.simTs).toBeLessThan(TO);
    expect(result.readingsWritten).toBe(result.readingsProduced);
    expect(result.writtenThroughTs).toBe(result.simTs);
    const reopened = embedded(site);
    await reopened.start();
    const total = [...(await storedCounts(reopened, site, FROM - 24 * HOUR)).values()].reduce(
      (a, b) => a + b,
      0,
    );
    await reopened.stop();
    expect(total).toBe(result.readingsWritten);
  });

  it('retries a store that fails now and then, and stops with the reason when it refuses a batch outright', async () => {
    const site = lab();
    const taken: Reading[] = [];
    let calls = 0;
    const flaky: TelemetryStore = {
      name: 'flaky',
      start: async () => undefined,
      stop: async () => undefined,
      ping: async () => true,
      health: () => ({ connected: true }),
      query: async () => [],
      write: async (readings) => {
        calls++;
        if (calls % 3 === 0) throw new Error('ECONNRESET');
        taken.push(...readings);
        return undefined;
      },
    };
    const ok = await backfill({
      site,
      store: flaky,
      scenario,
      fromTs: FROM,
      toTs: FROM + HOUR,
      batchSize: 200,
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
    });
    expect(ok.complete).toBe(true);
    expect(taken.length).toBe(ok.readingsProduced);
    expect(calls).toBeGreaterThan(ok.readingsProduced / 200);

    let writes = 0;
    const refusing: TelemetryStore = {
      ...flaky,
      name: 'refusing',
      write: async () => {
        if (++writes >= 3) throw new StoreWriteError('field type conflict', false);
        return undefined;
      },
    };
    const failed = await backfill({
      site,
      store: refusing,
      scenario,
      fromTs: FROM,
      toTs: TO,
      batchSize: 200,
      maxInFlight: 1,
    });
    expect(failed.complete).toBe(false);
    expect(failed.interrupted).toBe(false);
    expect(failed.error).toMatch(/refusing did not take a batch of \d+ readings: field type conflict/);
    expect(failed.readingsWritten).toBeLessThan(failed.readingsProduced);
    expect(failed.simTs).toBeLessThan(TO - HOUR);
  });
});
