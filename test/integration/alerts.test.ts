/**
 * AlertsModule without an Agent: a small context, a real Mosquitto and a real Prometheus
 * Alertmanager (Debian package prometheus-alertmanager) on free loopback ports. A breach is published
 * to hotaisle/<site>/alerts and is visible through Alertmanager's GET /api/v2/alerts; recovery
 * resolves it in both. A restart of the module does not page again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentContext } from '../../src/agent.ts';
import { AlertsModule } from '../../src/alerts/alertsModule.ts';
import type { GroupPayload } from '../../src/alerts/payloads.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { type AlertmanagerHandle, alertmanagerAlerts, startAlertmanager } from '../helpers/alertmanager.ts';
import { alertsContext, labInlet } from '../helpers/alertsFixtures.ts';
import { type MosquittoHandle, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/poll.ts';
import { alertsLabSite } from '../helpers/sites.ts';

describe('alerts to MQTT and a real Alertmanager', () => {
  let broker: MosquittoHandle;
  let am: AlertmanagerHandle;
  let dataDir: string;
  let listener: MqttClient;
  const received: GroupPayload[] = [];

  beforeAll(async () => {
    [broker, am] = await Promise.all([startMosquitto(), startAlertmanager()]);
    dataDir = await mkdtemp(join(tmpdir(), 'hotaisle-alerts-it-'));
    listener = await mqtt.connectAsync(broker.url, { clientId: 'alerts-it-listener' });
    await listener.subscribeAsync('hotaisle/lab/alerts', { qos: 1 });
    listener.on('message', (_topic, payload) =>
      received.push(JSON.parse(payload.toString()) as GroupPayload),
    );
  });

  afterAll(async () => {
    await listener?.endAsync();
    await Promise.all([broker?.dispose(), am?.stop()]);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  function context(): AgentContext {
    const site = alertsLabSite({
      api: { port: 0 },
      alerts: {
        forSeconds: 0,
        resolveSeconds: 0,
        readingIntervalSeconds: 1,
        receivers: [
          { name: 'mqtt', kind: 'mqtt' },
          { name: 'am', kind: 'alertmanager', url: am.url },
        ],
        routes: [
          { receiver: 'mqtt', continue: true },
          { receiver: 'am', severities: ['warning', 'critical'] },
        ],
      },
    });
    return alertsContext(site, broker.url);
  }

  const inlet = (value: number): Reading => labInlet('r1', value, Date.now());
  // Long interval: the test drives evaluations itself.
  const moduleOpts = () => ({ dataDir, evaluateMs: 3_600_000, retryBaseMs: 50 });

  it('publishes a breach to MQTT and Alertmanager, resolves it in both, and does not re-page after a restart', async () => {
    const first = new AlertsModule(moduleOpts());
    await first.start(context());
    try {
      first.observe([inlet(33)]);
      await first.evaluateNow();
      const firing = await waitFor(
        () =>
          received
            .flatMap((g) => g.alerts)
            .find((a) => a.alertname === 'InletBreach' && a.status === 'firing'),
        { what: 'firing InletBreach on hotaisle/lab/alerts' },
      );
      expect(firing.severity).toBe('critical');
      expect(firing.labels).toMatchObject({ site: 'lab', room: 'hall1', row: 'row1', rack: 'r1' });
      expect(received[0]!.groupKey).toBe('site=lab/room=hall1/row=row1');

      const inAm = await waitFor(
        async () => (await alertmanagerAlerts(am)).find((a) => a.labels.alertname === 'InletBreach'),
        {
          what: 'InletBreach in Alertmanager',
        },
      );
      expect(inAm.labels).toMatchObject({ rack: 'r1', severity: 'critical', site: 'lab' });
      expect(inAm.annotations.summary).toMatch(/r1 inlet 33/);
      expect(inAm.status.state).toBe('active');
      expect(first.stats().receivers.am!.sent).toBeGreaterThanOrEqual(1);
    } finally {
      await first.stop();
    }

    // Restart on the same state file: still firing, nothing sent again.
    const before = received.length;
    const second = new AlertsModule(moduleOpts());
    await second.start(context());
    try {
      expect(second.alerts().map((a) => `${a.rule}:${a.state}`)).toEqual(['InletBreach:firing']);
      second.observe([inlet(33.2)]);
      await second.evaluateNow();
      expect(second.stats().dispatch.delivered).toBe(0);

      // Recovery: below warn minus hysteresis. resolveSeconds is 0, but the warm-up after start
      // (3 reading intervals) holds resolution back; wait it out with real readings.
      await waitFor(
        async () => {
          second.observe([inlet(22)]);
          await second.evaluateNow();
          return second.alerts().some((a) => a.state === 'resolved');
        },
        { timeoutMs: 10_000, intervalMs: 200, what: 'alert resolved after warm-up' },
      );
      const resolved = await waitFor(
        () =>
          received
            .slice(before)
            .flatMap((g) => g.alerts)
            .find((a) => a.alertname === 'InletBreach' && a.status === 'resolved'),
        { what: 'resolved InletBreach on MQTT' },
      );
      expect(resolved.endsAt).not.toBeNull();
      // Only the resolution went out after the restart, no second "firing". (The drop from 33 °C to
      // 22 °C between two readings is itself reported as an implausible jump.)
      const after = received.slice(before).flatMap((g) => g.alerts);
      expect(after.filter((a) => a.alertname === 'InletBreach').map((a) => a.status)).toEqual(['resolved']);
      expect(
        after.filter((a) => a.alertname === 'SensorImplausible').map((a) => `${a.status}:${a.labels.check}`),
      ).toEqual(['firing:jump']);
      // Alertmanager drops it from the active list once endsAt has passed.
      await waitFor(
        async () =>
          (await alertmanagerAlerts(am)).every(
            (a) => a.labels.alertname !== 'InletBreach' || a.status.state !== 'active',
          ),
        {
          what: 'InletBreach no longer active in Alertmanager',
        },
      );
    } finally {
      await second.stop();
    }
  });
});
