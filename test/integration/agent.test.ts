/**
 * The whole ingest path as deployed: a real Mosquitto → the agent → a real InfluxDB.
 * Formats and units, a malformed-message flood, an InfluxDB outage and an agent restart mid-stream.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent.ts';
import { loadSiteFile } from '../../src/config/loader.ts';
import { applyOverrides } from '../../src/config/overrides.ts';
import type { SiteConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { type InfluxdHandle, startInfluxd } from '../helpers/influxd.ts';
import { type MosquittoHandle, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/poll.ts';

let mosquitto: MosquittoHandle;
let influxd: InfluxdHandle;
let influx: InfluxDB;
let work: string;
let publisher: MqttClient;
const DB = 'hotaisle_it';

function labSite(dataDir: string, clientId: string): SiteConfig {
  const loaded = loadSiteFile('sites/lab.yaml');
  if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
  const site = applyOverrides(loaded.config, {
    brokerUrl: mosquitto.url,
    influxUrl: `http://127.0.0.1:${influxd.port}/${DB}`,
    apiPort: 0,
    dataDir,
  });
  // Short flushes keep the test quick; each agent in this file has its own persistent session.
  return { ...site, broker: { ...site.broker, clientId }, storage: { ...site.storage, flushIntervalMs: 50 } };
}

async function startAgent(name: string, dataDir = join(work, name)): Promise<Agent> {
  const agent = new Agent({
    site: labSite(dataDir, `hotaisle-it-${name}`),
    log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  });
  await agent.start();
  return agent;
}

async function rows<T>(q: string): Promise<T[]> {
  return (await influx.query<T>(q)) as T[];
}

async function count(field: string, where: string): Promise<number> {
  const r = await rows<{ count: number }>(`SELECT COUNT(${field}) AS count FROM ${where}`);
  return r[0]?.count ?? 0;
}

async function metrics(agent: Agent): Promise<string> {
  return (await fetch(`${agent.apiUrl}/metrics`)).text();
}

function metricValue(text: string, name: string, label?: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name) && (!label || l.includes(label)));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hotaisle-agent-it-'));
  [mosquitto, influxd] = await Promise.all([startMosquitto({ persistence: true }), startInfluxd()]);
  influx = new InfluxDB({ host: '127.0.0.1', port: influxd.port, database: DB });
  publisher = await mqtt.connectAsync(mosquitto.url, { clientId: 'it-publisher', reconnectPeriod: 200 });
});

afterAll(async () => {
  await publisher?.endAsync();
  await mosquitto?.dispose();
  await influxd?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('agent: MQTT → InfluxDB', () => {
  it('stores all three payload formats with site/room/row/rack tags and units converted at the edge', async () => {
    const agent = await startAgent('formats');
    try {
      const ts = Date.now() - 60_000;
      // value: one topic per metric, power in W
      await publisher.publishAsync('dc/lab/lab/a/a1/inlet', '23.5', { qos: 1 });
      await publisher.publishAsync('dc/lab/lab/a/a1/power', '31500', { qos: 1 });
      // influx-line as Telegraf writes it: rack in a tag, ns timestamp, power in W
      await publisher.publishAsync(
        'telegraf/gpu-a2-01/rack_sensors',
        `rack_sensors,host=gpu-a2-01,rack=a2 inlet_temp=24.25,exhaust_temp=38.5,power_w=28000i ${ts}000000`,
        { qos: 1 },
      );
      // json from the BMS: °F converted to °C
      await publisher.publishAsync(
        'bms/lab/cooling/cu1',
        JSON.stringify({ ts, supplyTempF: 64.4, returnTempF: 86, fanPct: 72, powerKw: 11.5 }),
        { qos: 1 },
      );

      await waitFor(
        async () => (await count('inlet_c', 'rack')) >= 2 && (await count('supply_c', 'cooling')) >= 1,
        {
          timeoutMs: 15_000,
          what: 'rack and cooling points in InfluxDB',
        },
      );
      const a1 = await rows<{ inlet_c: number; room: string; row: string }>(
        `SELECT inlet_c, room, "row" FROM rack WHERE rack = 'a1' AND inlet_c > 0`,
      );
      expect(a1[0]).toMatchObject({ inlet_c: 23.5, room: 'lab', row: 'a' });
      const a1power = await rows<{ power_kw: number }>(
        `SELECT power_kw FROM rack WHERE rack = 'a1' AND power_kw > 0`,
      );
      expect(a1power[0]?.power_kw).toBeCloseTo(31.5, 6);

      const a2 = await rows<{
        time: Date;
        inlet_c: number;
        outlet_c: number;
        power_kw: number;
        site: string;
      }>(`SELECT inlet_c, outlet_c, power_kw, site FROM rack WHERE rack = 'a2'`);
      expect(a2).toHaveLength(1);
      expect(a2[0]).toMatchObject({ inlet_c: 24.25, outlet_c: 38.5, site: 'lab' });
      expect(a2[0]?.power_kw).toBeCloseTo(28, 6);
      expect(a2[0]?.time.getTime()).toBe(ts);

      const cu1 = await rows<{ supply_c: number; return_c: number; fan_pct: number; power_kw: number }>(
        `SELECT supply_c, return_c, fan_pct, power_kw FROM cooling WHERE unit = 'cu1'`,
      );
      expect(cu1[0]?.supply_c).toBeCloseTo(18, 6);
      expect(cu1[0]?.return_c).toBeCloseTo(30, 6);
      expect(cu1[0]).toMatchObject({ fan_pct: 72, power_kw: 11.5 });
    } finally {
      await agent.stop();
    }
  });

  it('counts and refuses a malformed flood while every interleaved good reading is stored', async () => {
    const agent = await startAgent('flood');
    try {
      const base = Date.now() - 120_000;
      const bad: Array<[string, string | Buffer]> = [
        ['hotaisle/ingest/lab/b1', '{"inlet": 22.1, "outlet": '], // truncated JSON
        ['hotaisle/ingest/lab/b1', '{"inlet": "warm"}'], // wrong type
        ['dc/lab/lab/b/b1/inlet', 'NaN'],
        ['hotaisle/ingest/lab/zz9', '{"inlet": 22}'], // unknown rack
        ['hotaisle/ingest/lab/b1', `{"inlet": 22, "pad": "${'x'.repeat(1_100_000)}"}`], // huge
        ['hotaisle/ingest/lab/b1', Buffer.from([0xff, 0x00, 0xfe, 0x13, 0x37])], // binary garbage
        ['hotaisle/ingest/lab/b1', '{"inlet": 4000}'], // absurd
        ['hotaisle/ingest/lab/b1', `{"ts": ${Date.now() + 86_400_000}, "inlet": 22}`], // a day ahead
      ];
      const good = 200;
      for (let i = 0; i < good; i++) {
        const rack = i % 2 === 0 ? 'b2' : 'b3';
        await publisher.publishAsync(
          `hotaisle/ingest/lab/${rack}`,
          JSON.stringify({ ts: base + i * 10, inlet: 20 + (i % 10) / 10, outlet: 33, power: 12 }),
          { qos: 1 },
        );
        const [topic, payload] = bad[i % bad.length]!;
        await publisher.publishAsync(topic, payload, { qos: 1 });
      }
      await waitFor(async () => (await count('inlet_c', `rack WHERE rack = 'b2' OR rack = 'b3'`)) >= good, {
        timeoutMs: 20_000,
        what: `${good} good readings stored`,
      });
      expect(await count('inlet_c', `rack WHERE rack = 'b2' OR rack = 'b3'`)).toBe(good);
      const text = await metrics(agent);
      expect(
        metricValue(text, 'hotaisle_readings_rejected_total', 'reason="malformed_payload"'),
      ).toBeGreaterThanOrEqual(25);
      expect(metricValue(text, 'hotaisle_readings_rejected_total', 'reason="unknown_target"')).toBe(
        good / bad.length,
      );
      expect(metricValue(text, 'hotaisle_readings_rejected_total', 'reason="implausible_value"')).toBe(
        good / bad.length,
      );
      expect(metricValue(text, 'hotaisle_readings_rejected_total', 'reason="timestamp_in_future"')).toBe(
        good / bad.length,
      );
      expect(metricValue(text, 'hotaisle_readings_rejected_total', 'reason="payload_too_large"')).toBe(
        good / bad.length,
      );
      expect(metricValue(text, 'hotaisle_mqtt_connected')).toBe(1);
      // Nothing from the refused messages slipped into the store.
      expect(await count('inlet_c', `rack WHERE rack = 'b1'`)).toBe(0);
    } finally {
      await agent.stop();
    }
  });

  it('loses nothing while InfluxDB is down: readings spool and arrive after it returns', async () => {
    const agent = await startAgent('outage');
    try {
      const base = Date.now() - 300_000;
      const publish = async (from: number, n: number) => {
        for (let i = from; i < from + n; i++) {
          await publisher.publishAsync(
            'hotaisle/ingest/lab/b4',
            JSON.stringify({ ts: base + i * 100, inlet: 21, outlet: 30, power: 5 }),
            { qos: 1 },
          );
        }
      };
      await publish(0, 100);
      await waitFor(async () => (await count('inlet_c', `rack WHERE rack = 'b4'`)) >= 100, {
        timeoutMs: 15_000,
      });
      await influxd.stop();
      await publish(100, 300);
      await waitFor(async () => metricValue(await metrics(agent), 'hotaisle_spool_depth_batches') > 0, {
        timeoutMs: 30_000,
        what: 'batches spooled while influxd is down',
      });
      const ready = (await (await fetch(`${agent.apiUrl}/readyz`)).json()) as { status: string };
      expect(ready.status).toBe('degraded');
      await influxd.start();
      await waitFor(async () => (await count('inlet_c', `rack WHERE rack = 'b4'`)) >= 400, {
        timeoutMs: 60_000,
        what: 'all 400 readings after influxd returns',
      });
      expect(await count('inlet_c', `rack WHERE rack = 'b4'`)).toBe(400);
    } finally {
      await agent.stop();
    }
  });

  it('loses nothing when the agent restarts mid-stream (QoS 1, persistent session)', async () => {
    const dataDir = join(work, 'restart');
    let agent = await startAgent('restart', dataDir);
    const base = Date.now() - 600_000;
    const total = 600;
    let sent = 0;
    const stream = (async () => {
      for (; sent < total; sent++) {
        await publisher.publishAsync(
          'hotaisle/ingest/lab/a4',
          JSON.stringify({ ts: base + sent * 100, inlet: 22, outlet: 35, power: 20 }),
          { qos: 1 },
        );
        if (sent % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitFor(() => sent >= 150, { timeoutMs: 20_000 });
    await agent.stop();
    const stoppedAt = sent;
    await waitFor(() => sent >= stoppedAt + 150 || sent === total, { timeoutMs: 20_000 });
    agent = await startAgent('restart', dataDir);
    try {
      await stream;
      await waitFor(async () => (await count('inlet_c', `rack WHERE rack = 'a4'`)) >= total, {
        timeoutMs: 30_000,
        what: `all ${total} readings across the restart`,
      });
      expect(await count('inlet_c', `rack WHERE rack = 'a4'`)).toBe(total);
    } finally {
      await agent.stop();
    }
  });
});
