/** Alert notifications are kept as `alert` events in a real InfluxDB, beside the telemetry they were about. */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AlertsModule } from '../../src/alerts/alertsModule.ts';
import { buildApiApp } from '../../src/api/server.ts';
import { SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { silentLogger } from '../../src/log.ts';
import { InfluxStore } from '../../src/store/influxStore.ts';
import { type InfluxdHandle, startInfluxd } from '../helpers/influxd.ts';
import { waitFor } from '../helpers/poll.ts';

let influxd: InfluxdHandle;
let dataDir: string;
// A receiver that takes every notification: history records what was sent.
let webhook: Server;
let webhookUrl: string;

beforeAll(async () => {
  webhook = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const address = webhook.address();
  webhookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  influxd = await startInfluxd();
  dataDir = await mkdtemp(join(tmpdir(), 'hotaisle-alert-history-'));
});

afterAll(async () => {
  await influxd?.dispose();
  await new Promise((resolve) => webhook?.close(resolve));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('writes a firing and a resolved event, with rule, severity, target and message, to the alert measurement', async () => {
  const site = SiteSchema.parse({
    site: { id: 'lab', name: 'Lab' },
    rooms: [
      {
        id: 'hall1',
        rows: [
          { id: 'row1', zone: 'z1', racks: [{ id: 'r1', position: 1, powerCapKw: 20, feeds: { a: 'fa' } }] },
        ],
      },
    ],
    storage: { kind: 'influx', influx: { port: influxd.port, database: 'alert_history' } },
    alerts: {
      forSeconds: 0,
      resolveSeconds: 0,
      readingIntervalSeconds: 1,
      receivers: [{ name: 'hook', kind: 'webhook', url: webhookUrl }],
      routes: [{ receiver: 'hook' }],
    },
  });
  const index = buildSiteIndex(site);
  const store = new InfluxStore({ index, log: silentLogger() });
  await store.start();
  let now = Date.now();
  const alerts = new AlertsModule({ dataDir, evaluateMs: 3_600_000, now: () => now });
  await alerts.start({
    site,
    index,
    log: silentLogger(),
    store,
    brokerUrl: 'mqtt://127.0.0.1:1',
    brokerCredentials: {},
  });
  const influx = new InfluxDB({ host: '127.0.0.1', port: influxd.port, database: 'alert_history' });
  type Row = {
    state: string;
    rule: string;
    severity: string;
    target: string;
    message: string;
    fingerprint: string;
  };
  // influxd answers SELECT * with one iterator per field, so a query racing the write can see a point
  // with some fields still null; wait for whole rows.
  const wholeRows = async (): Promise<Row[]> =>
    (await influx.query<Row>(`SELECT * FROM alert WHERE rule = 'InletBreach'`)).filter(
      (r) => r.state != null && r.severity != null && r.message != null,
    );
  try {
    alerts.observe([{ kind: 'rack', site: 'lab', target: 'r1', metric: 'inlet_c', value: 33, ts: now }]);
    await alerts.evaluateNow();
    const firing = await waitFor(async () => (await wholeRows())[0], {
      timeoutMs: 10_000,
      what: 'firing event in InfluxDB',
    });
    expect(firing).toMatchObject({ state: 'firing', severity: 'critical', target: 'r1' });
    expect(firing.message).toMatch(/r1/);

    // Recovery after the warm-up that follows start.
    now += 10_000;
    alerts.observe([{ kind: 'rack', site: 'lab', target: 'r1', metric: 'inlet_c', value: 22, ts: now }]);
    await alerts.evaluateNow();
    const states = await waitFor(
      async () => {
        const rows = await wholeRows();
        return rows.length >= 2 ? rows.map((r) => r.state) : undefined;
      },
      { timeoutMs: 10_000, what: 'resolved event in InfluxDB' },
    );
    expect(states).toEqual(['firing', 'resolved']);
    expect(alerts.stats().history.errors).toBe(0);

    // Read back through the API: newest first, filtered in InfluxQL.
    const app = await buildApiApp({ log: silentLogger(), routes: alerts.routes() });
    try {
      const from = now - 60_000;
      const res = await app.inject({
        method: 'GET',
        url: `/v1/alerts/history?alertname=InletBreach&rack=r1&from=${from}&to=${new Date(now + 1).toISOString()}`,
      });
      expect(res.statusCode).toBe(200);
      const body = res.json() as {
        events: Array<{ at: string; alertname: string; severity: string; target: string; state: string }>;
      };
      expect(body.events.map((e) => [e.alertname, e.severity, e.target, e.state])).toEqual([
        ['InletBreach', 'critical', 'r1', 'resolved'],
        ['InletBreach', 'critical', 'r1', 'firing'],
      ]);
      expect(Date.parse(body.events[0]!.at)).toBe(now);
      const newest = await app.inject({
        method: 'GET',
        url: `/v1/alerts/history?alertname=InletBreach&limit=1&from=${from}`,
      });
      expect((newest.json() as { events: Array<{ state: string }> }).events.map((e) => e.state)).toEqual([
        'resolved',
      ]);
      // Values are string literals, escaped: a quote in a filter matches nothing and breaks nothing.
      for (const rack of ["r1' OR rule = 'InletBreach", 'r1\\', 'r2']) {
        const other = await app.inject({
          method: 'GET',
          url: `/v1/alerts/history?from=${from}&rack=${encodeURIComponent(rack)}`,
        });
        expect(other.statusCode, rack).toBe(200);
        expect(other.json(), rack).toMatchObject({ events: [] });
      }
    } finally {
      await app.close();
    }
  } finally {
    await alerts.stop();
    await store.stop();
  }
});
