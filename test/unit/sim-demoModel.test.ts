/**
 * The simulated demo's first model (sim/demoModel.ts): with no model it writes simulated history
 * into the store before the forecast module starts, the forecast module then trains and promotes
 * a model from it; with a promoted model, or history already stored, it writes nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentContext } from '../../src/agent.ts';
import { loadSiteFile } from '../../src/config/loader.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { ForecastModule } from '../../src/forecast/forecastModule.ts';
import { silentLogger } from '../../src/log.ts';
import { DemoModelModule } from '../../src/sim/demoModel.ts';
import { EmbeddedStore } from '../../src/store/embeddedStore.ts';

const loaded = loadSiteFile('sites/lab.yaml');
if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
const site = loaded.config;
const index = buildSiteIndex(site);
/** Fixed, so the simulated history is the same every run. */
const NOW = Date.UTC(2026, 2, 10, 12, 0, 0);
const DAY = 86_400_000;

let dir: string;
let store: EmbeddedStore;
let ctx: AgentContext;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotaisle-demo-model-'));
  store = new EmbeddedStore({ index, log: silentLogger(), dataDir: dir, now: () => NOW });
  await store.start();
  ctx = { site, index, log: silentLogger(), store, brokerUrl: 'mqtt://127.0.0.1:1', brokerCredentials: {} };
});

afterEach(async () => {
  await store.stop();
  await rm(dir, { recursive: true, force: true });
});

async function storedInlet(): Promise<number> {
  const series = await store.query({
    kind: 'rack',
    site: 'lab',
    metrics: ['inlet_c'],
    from: NOW - 4 * DAY,
    to: NOW + 1,
  });
  return series.reduce((n, s) => n + s.points.length, 0);
}

describe('DemoModelModule', () => {
  it('writes simulated history when there is no model, and the forecast module promotes one from it', async () => {
    const modelsDir = join(dir, 'models');
    const demo = new DemoModelModule({ modelsDir, days: 3, now: () => NOW });
    await demo.start(ctx);
    expect(demo.wantsTraining).toBe(true);
    // 8 racks, one reading a minute, 3 days.
    expect(await storedInlet()).toBeGreaterThanOrEqual(8 * 3 * 1440 * 0.99);

    const forecast = new ForecastModule({
      modelsDir,
      now: () => NOW,
      trainCron: 'off',
      inlineTraining: true,
    });
    await forecast.start(ctx);
    let outcome: Awaited<ReturnType<ForecastModule['train']>> | undefined;
    demo.trainInBackground(async () => {
      outcome = await forecast.train();
      return outcome;
    });
    expect(demo.wantsTraining).toBe(false);
    for (let i = 0; i < 600 && !outcome; i++) await new Promise((r) => setTimeout(r, 50));
    expect(outcome?.ok).toBe(true);
    expect(outcome?.promoted).toBe(true);
    expect(forecast.latest()?.modelVersion ?? forecast.cycle(NOW).modelVersion).toBe(1);
    await forecast.stop();
    await demo.stop();

    // A second start finds the promoted model: nothing written, nothing to train.
    const again = new DemoModelModule({ modelsDir, days: 3, now: () => NOW + DAY });
    await again.start(ctx);
    expect(again.wantsTraining).toBe(false);
    expect(await storedInlet()).toBeLessThan(8 * 4 * 1440);
  });

  it('trains on history already in the store instead of writing it again', async () => {
    const modelsDir = join(dir, 'models');
    await new DemoModelModule({ modelsDir, days: 3, now: () => NOW }).start(ctx);
    const before = await storedInlet();
    const demo = new DemoModelModule({ modelsDir, days: 3, now: () => NOW });
    await demo.start(ctx);
    expect(demo.wantsTraining).toBe(true);
    expect(await storedInlet()).toBe(before);
  });
});
