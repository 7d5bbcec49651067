/**
 * A sensor reporting out-of-range values, through a real Mosquitto and the Agent: the values are
 * refused at ingest (counted on /metrics, never stored), yet the alerts module names the rack in a
 * SensorImplausible alert instead of letting it go stale; the other racks' data is stored meanwhile;
 * plausible values resolve the alert.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type AgentContext, type AgentModule } from '../../src/agent.ts';
import { AlertsModule } from '../../src/alerts/alertsModule.ts';
import { loadSiteFile } from '../../src/config/loader.ts';
import { applyOverrides } from '../../src/config/overrides.ts';
import { AlertSettingsSchema, type SiteConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { type MosquittoHandle, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/poll.ts';

const RACKS = ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4'];
const BAD_RACK = 'a3';
const PUBLISH_EVERY_MS = 200;

let mosquitto: MosquittoHandle;
let work: string;
let publisher: MqttClient;

function site(): SiteConfig {
  const loaded = loadSiteFile('sites/lab.yaml');
  if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
  const s = applyOverrides(loaded.config, {
    brokerUrl: mosquitto.url,
    apiPort: 0,
    dataDir: join(work, 'agent'),
  });
  return {
    ...s,
    broker: { ...s.broker, clientId: 'hotaisle-it-implausible' },
    storage: { ...s.storage, flushIntervalMs: 50 },
    // Seconds instead of minutes: a reading every second, stale after 3, one-second holds.
    alerts: AlertSettingsSchema.parse({
      readingIntervalSeconds: 1,
      staleIntervals: 3,
      forSeconds: 1,
      resolveSeconds: 1,
    }),
  };
}

/** Keeps the context, so the test can read the agent's store. */
class StoreProbe implements AgentModule {
  readonly name = 'probe';
  ctx: AgentContext | undefined;
  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
  }
  async stop(): Promise<void> {}
}

/** Every rack's compact JSON sample each tick; the bad rack's inlet comes from `badInlet()`. */
function publishLoop(badInlet: () => number): () => void {
  const timer = setInterval(() => {
    const ts = Date.now();
    for (const rack of RACKS) {
      const inlet = rack === BAD_RACK ? badInlet() : 22 + RACKS.indexOf(rack) / 10;
      publisher.publish(`hotaisle/ingest/lab/${rack}`, JSON.stringify({ ts, inlet, outlet: 34, power: 8 }), {
        qos: 1,
      });
    }
  }, PUBLISH_EVERY_MS);
  return () => clearInterval(timer);
}

function metricValue(text: string, name: string, label: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(label));
  return line ? Number(line.split(' ').pop()) : 0;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hotaisle-implausible-it-'));
  mosquitto = await startMosquitto();
  publisher = await mqtt.connectAsync(mosquitto.url, { clientId: 'it-implausible-publisher' });
});

afterAll(async () => {
  await publisher?.endAsync();
  await mosquitto?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('out-of-range sensor values through Mosquitto and the agent', () => {
  it('raises SensorImplausible naming the rack, stores the other racks, counts the rejects, resolves on good values', async () => {
    const probe = new StoreProbe();
    const alerts = new AlertsModule({ evaluateMs: 100 });
    const agent = new Agent({
      site: site(),
      log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      modules: [probe, alerts],
    });
    await agent.start();
    let inlet = 23;
    const stopPublishing = publishLoop(() => inlet);
    try {
      // The bad rack's sensor worked at first, so its inlet series is known (and could go stale).
      const store = probe.ctx!.store;
      const inletPoints = async (racks: string[], from: number) =>
        store.query({
          kind: 'rack',
          site: 'lab',
          targets: racks,
          metrics: ['inlet_c'],
          from,
          to: Date.now() + 1000,
        });
      await waitFor(async () => ((await inletPoints([BAD_RACK], 0))[0]?.points.length ?? 0) >= 3, {
        timeoutMs: 10_000,
        what: `good ${BAD_RACK} samples stored`,
      });
      inlet = 150; // °C: a thermocouple gone open, or °F read as °C
      const startedAt = Date.now();
      const active = (rule: string) =>
        alerts
          .alerts()
          .filter((a) => a.rule === rule && a.labels.rack === BAD_RACK && a.state !== 'resolved');

      const firing = await waitFor(
        () =>
          active('SensorImplausible').find((a) => a.state === 'firing' && a.labels.check === 'out_of_range'),
        { timeoutMs: 15_000, what: `SensorImplausible firing for ${BAD_RACK}` },
      );
      expect(firing.labels).toMatchObject({
        site: 'lab',
        room: 'lab',
        row: 'a',
        rack: BAD_RACK,
        metric: 'inlet_c',
      });
      expect(firing.value).toBe(150);
      expect(firing.description).toContain(`rack ${BAD_RACK}`);
      expect(firing.description).toContain('-20…90 °C');

      // Well past the stale threshold (3 s) with no accepted inlet from the bad rack: not stale, still named.
      await waitFor(() => Date.now() - startedAt > 4500, { timeoutMs: 10_000 });
      expect(active('SensorStale')).toEqual([]);
      expect(alerts.alerts().filter((a) => a.rule === 'TelemetrySilent')).toEqual([]);
      expect(active('SensorImplausible').map((a) => a.state)).toEqual(['firing']);

      // The refused values are counted and were never stored; the other racks' data was.
      const text = await (await fetch(`${agent.apiUrl}/metrics`)).text();
      expect(
        metricValue(text, 'hotaisle_readings_rejected_total', 'reason="implausible_value"'),
      ).toBeGreaterThanOrEqual(10);
      const stored = await waitFor(
        async () => {
          const series = await inletPoints(RACKS, startedAt + 1000);
          return series.filter((s) => s.points.length >= 10).length >= RACKS.length - 1 ? series : undefined;
        },
        { timeoutMs: 10_000, what: 'the good racks stored' },
      );
      const pointsOf = (rack: string) => stored.find((s) => s.target === rack)?.points.length ?? 0;
      expect(RACKS.filter((r) => pointsOf(r) >= 10).sort()).toEqual(
        RACKS.filter((r) => r !== BAD_RACK).sort(),
      );
      expect(pointsOf(BAD_RACK)).toBe(0);

      // The sensor is fixed: plausible values resolve the alert after the resolve hold.
      inlet = 23;
      await waitFor(
        () =>
          alerts
            .alerts()
            .some(
              (a) => a.rule === 'SensorImplausible' && a.labels.rack === BAD_RACK && a.state === 'resolved',
            ),
        { timeoutMs: 15_000, what: 'SensorImplausible resolved' },
      );
      expect(active('SensorImplausible')).toEqual([]);
      expect(active('SensorStale')).toEqual([]);
    } finally {
      stopPublishing();
      await agent.stop();
    }
  }, 60_000);
});
