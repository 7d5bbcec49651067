/**
 * `hotaisle run --sim --speed 60`, in process: the modules buildRunModules gives the agent, the
 * example site on its embedded broker. The simulation starts days in the past and catches up at 60×;
 * forecasts and alerts run on the data clock, so no sensor looks stale and the telemetry is not
 * reported silent while it does (on the wall clock every timestamped sensor would be days old).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent.ts';
import { buildRunModules, DEFAULT_SITE, loadSiteOrExplain } from '../../src/cli/run.ts';
import { applyOverrides } from '../../src/config/overrides.ts';
import type { SiteConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { loadScenarioFile } from '../../src/sim/scenario.ts';
import { DEFAULT_SCENARIO_FILE } from '../../src/sim/simulatorModule.ts';
import { waitFor } from '../helpers/poll.ts';
import { freePort } from '../helpers/ports.ts';

const SPEED = 60;
const MIN = 60_000;
let work: string;

async function exampleSite(): Promise<SiteConfig> {
  const site = applyOverrides(loadSiteOrExplain(DEFAULT_SITE), { apiPort: 0, dataDir: join(work, 'data') });
  if (site.broker.kind !== 'embedded') throw new Error('the example site should use the embedded broker');
  return { ...site, broker: { ...site.broker, port: await freePort() } };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hotaisle-run-speed-it-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('hotaisle run --sim --speed 60', () => {
  it('runs forecasts and alerts on simulated time: no TelemetrySilent or SensorStale while catching up', async () => {
    const site = await exampleSite();
    const { modules, alerts, forecast, clock } = buildRunModules({
      site,
      modelsDir: join(work, 'models'),
      sim: { speed: SPEED, scenario: loadScenarioFile(DEFAULT_SCENARIO_FILE) },
    });
    expect(clock).toBeDefined();
    const agent = new Agent({
      site,
      log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      modules,
    });
    const wallStart = Date.now();
    await agent.start();
    const seen = new Set<string>();
    try {
      // The data clock follows the simulation, laid days in the past (well behind the wall clock).
      const first = await waitFor(() => (clock!.now() < wallStart - 3_600_000 ? clock!.now() : undefined), {
        timeoutMs: 10_000,
        what: 'readings in simulated time',
      });
      // Evaluate (the site's period is 15 s of wall time) until 8 simulated minutes have passed:
      // four times the time a sensor takes to go stale (8 × 15 s).
      await waitFor(
        async () => {
          await alerts.evaluateNow();
          for (const a of alerts.alerts())
            seen.add(`${a.rule}:${a.labels.rack ?? a.labels.unit ?? a.labels.site}`);
          return clock!.now() - first >= 8 * MIN;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: '8 simulated minutes' },
      );
      expect(alerts.stats().evaluations).toBeGreaterThan(10);
      const sensorHealth = [...seen].filter((k) => /^(TelemetrySilent|SensorStale):/.test(k));
      expect(sensorHealth).toEqual([]);
      // Forecasts run on the same clock: their issue time is simulated time too.
      const set = await waitFor(() => forecast.latest(), { timeoutMs: 30_000, what: 'a forecast cycle' });
      expect(set.ts).toBeLessThan(wallStart - 3_600_000);
      expect(Math.abs(set.ts - clock!.now())).toBeLessThan(5 * MIN);
    } finally {
      await agent.stop();
    }
  }, 90_000);
});
