/**
 * The alerting path as deployed, on a simulated cooling failure: SimPublisher → a real Mosquitto →
 * the Agent (ForecastModule with a model trained on simulated history, AlertsModule) → MQTT and a
 * real Prometheus Alertmanager. Facilities staff should get one grouped cooling alert for the zone
 * (the rack alerts grouped under it, none paged on its own), rack hotspot warnings from the forecast
 * before the inlets actually cross the warn threshold, and resolve notices after recovery; Alertmanager
 * shows the zone alert active during the failure and no longer active after.
 *
 * Time: the simulator plays at 200× and stamps every reading with simulated time; forecasts and
 * alerts run on a data clock (the newest reading the agent accepted), so hold times, rates and
 * staleness are judged in simulated time and the assertions never depend on wall-clock speed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent.ts';
import type { AlertView } from '../../src/alerts/alertRoutes.ts';
import { AlertsModule } from '../../src/alerts/alertsModule.ts';
import type { AlertPayload, GroupPayload } from '../../src/alerts/payloads.ts';
import { loadSiteFile } from '../../src/config/loader.ts';
import { applyOverrides } from '../../src/config/overrides.ts';
import { AlertSettingsSchema, type SiteConfig } from '../../src/config/schema.ts';
import { ForecastModule } from '../../src/forecast/forecastModule.ts';
import { FrameAccumulator } from '../../src/forecast/history.ts';
import { buildForecastLayout } from '../../src/forecast/layout.ts';
import { ModelRepository } from '../../src/forecast/modelStore.ts';
import { trainForecastModel } from '../../src/forecast/training.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { DataClock } from '../../src/sim/dataClock.ts';
import { DataCenterSim, loadScenarioFile } from '../../src/sim/index.ts';
import { SimPublisher } from '../../src/sim/publisher.ts';
import { parseScenario } from '../../src/sim/scenario.ts';
import {
  type AlertmanagerHandle,
  alertmanagerAlerts,
  type GettableAlert,
  startAlertmanager,
} from '../helpers/alertmanager.ts';
import { type MosquittoHandle, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/poll.ts';

const MIN = 60_000;
const SPEED = 200;
const REPORT_EVERY_MS = 5000;
const SEED = 7;
const THERMAL_RACK_RULES = new Set(['InletBreach', 'InletRiseRate', 'PredictedHotspot']);

/**
 * Steady load (no daily cycle, no weekend dip, flat outdoor temperature) so the run does not depend
 * on the wall-clock hour it starts at; cu1 (zone z1, row a) trips at 40 min and is back at 80 min.
 */
const scenario = parseScenario({
  name: 'it-cooling-failure',
  duration: '2h',
  workload: {
    utilization: 0.65,
    diurnalAmplitude: 0,
    weekendFactor: 1,
    meanJobMinutes: 90,
    jobGpus: [2, 4, 8, 8, 8, 16, 32],
  },
  outdoor: { meanC: 22, amplitudeC: 0 },
  events: [{ kind: 'cooling-failure', at: '40m', unit: 'cu1', recoverAfter: '40m' }],
});

let mosquitto: MosquittoHandle;
let am: AlertmanagerHandle;
let work: string;
let modelsDir: string;
let listener: MqttClient;
const notifications: AlertPayload[] = [];

function labSite(): SiteConfig {
  const loaded = loadSiteFile('sites/lab.yaml');
  if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
  const site = applyOverrides(loaded.config, {
    brokerUrl: mosquitto.url,
    apiPort: 0,
    dataDir: join(work, 'agent'),
  });
  return {
    ...site,
    broker: { ...site.broker, clientId: 'hotaisle-alerts-sim-it' },
    // `value` payloads carry no timestamp (the agent stamps them on arrival, in wall time); keep the
    // mappings whose payloads carry the simulated time.
    telemetry: site.telemetry.filter((m) => m.format !== 'value'),
    alerts: AlertSettingsSchema.parse({
      receivers: [
        { name: 'mqtt', kind: 'mqtt' },
        { name: 'am', kind: 'alertmanager', url: am.url },
      ],
      routes: [
        { receiver: 'mqtt', continue: true },
        { receiver: 'am', severities: ['warning', 'critical'] },
      ],
    }),
  };
}

/** Train on 30 simulated hours of a normal week, as `hotaisle train` would from the store. */
async function trainModel(site: SiteConfig, dir: string): Promise<void> {
  const week = loadScenarioFile('sites/scenarios/normal-week.yaml');
  const start = Date.parse(week.start!);
  const end = start + 30 * 3_600_000;
  const sim = new DataCenterSim(site, { seed: 11, startTs: start, scenario: week, stepMs: 15_000 });
  const layout = buildForecastLayout(sim.index);
  const acc = new FrameAccumulator(layout, { from: start, to: end, stepMs: MIN });
  while (sim.now < end) {
    sim.step();
    acc.add(sim.readings());
  }
  const trained = trainForecastModel(layout, acc.finish(), { holdoutMs: 6 * 3_600_000 });
  if (!trained.promoted) throw new Error(`test model not promoted: ${trained.reason}`);
  await new ModelRepository(dir, site.site.id).save(trained.model);
}

/** Polls a source in the background, keeping the latest sample per key; errors count as "no sample". */
function collect<T>(
  fetchAll: () => Promise<T[]>,
  keyOf: (item: T) => string,
): { seen: Map<string, T[]>; stop: () => Promise<void> } {
  const seen = new Map<string, T[]>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        for (const item of await fetchAll()) {
          const list = seen.get(keyOf(item)) ?? [];
          list.push(item);
          seen.set(keyOf(item), list);
        }
      } catch {
        // the agent is starting or stopping
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hotaisle-alerts-sim-it-'));
  modelsDir = join(work, 'models');
  [mosquitto, am] = await Promise.all([startMosquitto(), startAlertmanager()]);
  await trainModel(labSite(), modelsDir);
  listener = await mqtt.connectAsync(mosquitto.url, { clientId: 'alerts-sim-it-listener' });
  listener.on('message', (_topic, payload) =>
    notifications.push(...(JSON.parse(payload.toString()) as GroupPayload).alerts),
  );
  await listener.subscribeAsync('hotaisle/lab/alerts', { qos: 1 });
});

afterAll(async () => {
  await listener?.endAsync();
  await Promise.all([mosquitto?.dispose(), am?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a simulated cooling failure through Mosquitto, the agent and Alertmanager', () => {
  it('pages one grouped zone alert, warns of rack hotspots before the crossing, resolves after recovery', async () => {
    const site = labSite();
    // The publisher starts after the agent: before its first reading there is no simulated "now".
    const clock = new DataClock({ before: () => 0 });
    const now = clock.now;
    const forecast = new ForecastModule({ modelsDir, now, cycleMs: 150, trainCron: 'off' });
    // Every 75 ms of wall time is 15 s simulated (the site's default evaluation period); forecasts every 30 s.
    const alerts = new AlertsModule({ hotspots: forecast, now, evaluateMs: 75, retryBaseMs: 50 });
    const agent = new Agent({
      site,
      log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      modules: [clock, forecast, alerts],
    });
    const publisher = new SimPublisher({
      site,
      brokerUrl: mosquitto.url,
      log: silentLogger(),
      scenario,
      seed: SEED,
      speed: SPEED,
      reportEveryMs: REPORT_EVERY_MS,
      clientId: 'alerts-sim-it-publisher',
    });
    await agent.start();
    const agentAlerts = collect(
      async () => {
        const res = await fetch(`${agent.apiUrl}/v1/alerts`);
        const body = (await res.json()) as Record<
          'firing' | 'pending' | 'silenced' | 'resolved',
          AlertView[]
        >;
        return [...body.firing, ...body.pending, ...body.silenced, ...body.resolved];
      },
      (a) => `${a.fingerprint}@${a.activeAt}`,
    );
    const inAlertmanager = collect(
      () => alertmanagerAlerts(am),
      (a: GettableAlert) => a.fingerprint,
    );
    let failedAt = 0;
    let backAt = 0;
    try {
      expect(forecast.status().mode).toBe('model');
      await publisher.start();
      const resolvedNotice = (rule: string) =>
        notifications.find((n) => n.alertname === rule && n.status === 'resolved' && n.labels.zone === 'z1');
      await waitFor(() => resolvedNotice('CoolingZoneWarming') && resolvedNotice('CoolingSupplyDrift'), {
        timeoutMs: 100_000,
        intervalMs: 100,
        what: 'resolve notices for the zone and unit alerts after cu1 is back',
      });
      // Alertmanager stops listing it as active once it got the resolution.
      await waitFor(
        async () =>
          !(await alertmanagerAlerts(am)).some(
            (a) => a.labels.alertname === 'CoolingZoneWarming' && a.status.state === 'active',
          ),
        { timeoutMs: 10_000, what: 'the zone alert no longer active in Alertmanager' },
      );
      const applied = publisher.simulation()!.appliedEvents;
      expect(applied.map((e) => e.label)).toEqual([
        'cooling unit cu1 failed',
        'cooling unit cu1 back in service',
      ]);
      failedAt = applied[0]!.ts;
      backAt = applied[1]!.ts;
    } finally {
      await publisher.stop();
      await Promise.all([agentAlerts.stop(), inAlertmanager.stop()]);
      await agent.stop();
    }
    const z1Racks = agent.index.rackIds.filter((r) => agent.index.racks.get(r)?.zone === 'z1');
    expect(z1Racks.sort()).toEqual(['a1', 'a2', 'a3', 'a4']);

    // --- What was paged (MQTT): one zone alert, no rack pages for the zone, then resolutions.
    const firing = notifications.filter((n) => n.status === 'firing' && n.reason !== 'sync');
    const zonePages = firing.filter((n) => n.alertname === 'CoolingZoneWarming');
    expect(zonePages.map((n) => n.labels.zone)).toEqual(['z1']);
    const zonePage = zonePages[0]!;
    expect(zonePage.annotations.summary).toMatch(/likely a cooling fault/);
    expect(zonePage.annotations.racks!.split(',').sort()).toEqual(z1Racks);
    expect(zonePage.annotations.drifting_units).toBe('cu1');
    expect(firing.filter((n) => n.alertname === 'CoolingSupplyDrift').map((n) => n.labels.unit)).toEqual([
      'cu1',
    ]);
    expect(
      firing.filter((n) => THERMAL_RACK_RULES.has(n.alertname) && z1Racks.includes(n.labels.rack ?? '')),
    ).toEqual([]);
    const zoneStart = Date.parse(zonePage.startsAt);
    expect(zoneStart).toBeGreaterThanOrEqual(failedAt);
    expect(zoneStart - failedAt).toBeLessThan(5 * MIN);
    const resolutions = notifications.filter((n) => n.status === 'resolved' && n.labels.zone === 'z1');
    expect(resolutions.map((n) => n.alertname).sort()).toEqual(['CoolingSupplyDrift', 'CoolingZoneWarming']);
    for (const r of resolutions) expect(Date.parse(r.endsAt!)).toBeGreaterThan(backAt);

    // --- The agent's view: rack hotspot warnings, grouped under the zone alert, ahead of the breach.
    const views = [...agentAlerts.seen.values()].map((list) => list.at(-1)!);
    const zoneView = views.find((v) => v.alertname === 'CoolingZoneWarming' && v.labels.zone === 'z1')!;
    expect(zoneView.fingerprint).toBe(zonePage.fingerprint);
    // The true crossing of the warn threshold, from the same simulation replayed without a broker.
    const crossings = trueCrossings(site, publisher.stats().startTs, failedAt, z1Racks);
    for (const rack of z1Racks) {
      const episodes = (rule: string) =>
        views.filter(
          (v) => v.alertname === rule && v.labels.rack === rack && Date.parse(v.activeAt) >= failedAt,
        );
      const hotspot = episodes('PredictedHotspot')[0];
      const breach = episodes('InletBreach')[0];
      expect(hotspot, `PredictedHotspot for ${rack}`).toBeDefined();
      expect(breach, `InletBreach for ${rack}`).toBeDefined();
      expect(hotspot!.groupedUnder).toBe(zoneView.fingerprint);
      expect(breach!.groupedUnder).toBe(zoneView.fingerprint);
      const warnedAt = Date.parse(hotspot!.firingAt!);
      expect(warnedAt).toBeLessThan(Date.parse(breach!.activeAt));
      expect(warnedAt).toBeLessThan(crossings.get(rack)!);
      expect(Number(hotspot!.annotations.lead_minutes)).toBeGreaterThan(0);
      expect(Date.parse(hotspot!.annotations.expected_crossing_at!)).toBeGreaterThan(warnedAt);
    }

    // --- Alertmanager: the zone and unit alerts were active with our labels and start time; no rack
    // alert of the zone ever reached it; the zone alert is no longer active now.
    const amSeen = [...inAlertmanager.seen.values()];
    const amZone = amSeen.find((l) => l[0]!.labels.alertname === 'CoolingZoneWarming')!;
    expect(amZone.some((a) => a.status.state === 'active')).toBe(true);
    expect(amZone[0]!.labels).toMatchObject({ site: 'lab', room: 'lab', zone: 'z1' });
    expect(['warning', 'critical']).toContain(amZone[0]!.labels.severity);
    expect(Date.parse(amZone[0]!.startsAt)).toBe(zoneStart);
    expect(amZone[0]!.annotations.racks!.split(',').sort()).toEqual(z1Racks);
    const amUnit = amSeen.find((l) => l[0]!.labels.alertname === 'CoolingSupplyDrift')!;
    expect(amUnit.some((a) => a.status.state === 'active')).toBe(true);
    expect(amUnit[0]!.labels.unit).toBe('cu1');
    expect(amSeen.filter((l) => z1Racks.includes(l[0]!.labels.rack ?? ''))).toEqual([]);
  }, 150_000);
});

/** Per rack: the first report at or above the warn threshold after the failure (what the sensors said). */
function trueCrossings(
  site: SiteConfig,
  startTs: number,
  failedAt: number,
  racks: readonly string[],
): Map<string, number> {
  const replay = new DataCenterSim(site, { seed: SEED, startTs, scenario });
  const warn = site.thresholds.inletWarnC;
  const out = new Map<string, number>();
  for (let ts = startTs; out.size < racks.length && ts < startTs + 2 * 3_600_000; ts += REPORT_EVERY_MS) {
    replay.advanceTo(ts);
    if (ts < failedAt) continue;
    for (const r of replay.readings()) {
      if (r.metric === 'inlet_c' && racks.includes(r.target) && r.value >= warn && !out.has(r.target))
        out.set(r.target, r.ts);
    }
  }
  return out;
}
