/**
 * The simulator as a data source, end to end: SimPublisher → a real Mosquitto → the agent → a real
 * InfluxDB, in every payload format the lab site maps; and `hotaisle simulate` as a process.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent.ts';
import { loadSiteFile } from '../../src/config/loader.ts';
import { applyOverrides } from '../../src/config/overrides.ts';
import type { SiteConfig } from '../../src/config/schema.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { SimPublisher } from '../../src/sim/publisher.ts';
import { parseScenario } from '../../src/sim/scenario.ts';
import { DataCenterSim } from '../../src/sim/simulator.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { type InfluxdHandle, startInfluxd } from '../helpers/influxd.ts';
import { type MosquittoHandle, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/poll.ts';

let mosquitto: MosquittoHandle;
let influxd: InfluxdHandle;
let influx: InfluxDB;
let work: string;
let spy: MqttClient;
/** Messages seen on the broker, by the first topic level (dc, telegraf, hotaisle, bms). */
const seen = new Map<string, number>();
const DB = 'hotaisle_sim_it';
const REPORT_EVERY_MS = 5000;

function labSite(dataDir: string): SiteConfig {
  const loaded = loadSiteFile('sites/lab.yaml');
  if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
  const site = applyOverrides(loaded.config, {
    brokerUrl: mosquitto.url,
    influxUrl: `http://127.0.0.1:${influxd.port}/${DB}`,
    apiPort: 0,
    dataDir,
  });
  return {
    ...site,
    broker: { ...site.broker, clientId: 'hotaisle-sim-it' },
    storage: { ...site.storage, flushIntervalMs: 50 },
  };
}

async function points(q: string): Promise<Array<Record<string, number> & { time: Date }>> {
  return (await influx.query(q)) as unknown as Array<Record<string, number> & { time: Date }>;
}

async function metric(agent: Agent, name: string): Promise<number> {
  const text = await (await fetch(`${agent.apiUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hotaisle-sim-it-'));
  [mosquitto, influxd] = await Promise.all([startMosquitto(), startInfluxd()]);
  influx = new InfluxDB({ host: '127.0.0.1', port: influxd.port, database: DB });
  spy = await mqtt.connectAsync(mosquitto.url, { clientId: 'sim-it-spy' });
  spy.on('message', (topic) => {
    const family = topic.split('/')[0] ?? '';
    seen.set(family, (seen.get(family) ?? 0) + 1);
  });
  await spy.subscribeAsync('#', { qos: 1 });
});

afterAll(async () => {
  await spy?.endAsync();
  await mosquitto?.dispose();
  await influxd?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('simulator → Mosquitto → agent → InfluxDB', () => {
  it('lands every rack, cooling unit and site reading of the lab, in all three payload formats, with the simulated values', async () => {
    const site = labSite(join(work, 'agent'));
    const scenario = parseScenario({
      name: 'it-short',
      duration: '30m',
      workload: { utilization: 0.7, meanJobMinutes: 20 },
      events: [{ kind: 'cooling-failure', at: '10m', unit: 'cu1', recoverAfter: '10m' }],
    });
    const agent = new Agent({ site, log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
    await agent.start();
    seen.clear();
    const publisher = new SimPublisher({
      site,
      brokerUrl: mosquitto.url,
      log: silentLogger(),
      scenario,
      seed: 7,
      speed: 600,
      reportEveryMs: REPORT_EVERY_MS,
      stopAtEnd: true,
      clientId: 'sim-it-publisher',
    });
    try {
      await publisher.start();
      await waitFor(() => publisher.stats().ended, {
        timeoutMs: 15_000,
        what: 'the 30-minute scenario to play at 600x',
      });
      await publisher.stop();
      const stats = publisher.stats();
      expect(stats.publishErrors).toBe(0);
      expect(stats.events).toEqual(['cooling unit cu1 failed', 'cooling unit cu1 back in service']);

      // The same seed, start and scenario replayed without a broker: what the sensors reported.
      const replay = new DataCenterSim(site, { seed: 7, startTs: stats.startTs, scenario });
      const expected: Reading[] = [];
      for (let ts = stats.startTs; ts <= stats.endTs!; ts += REPORT_EVERY_MS) {
        replay.advanceTo(ts);
        expected.push(...replay.readings());
      }
      const reports = 30 * 12 + 1;
      expect(expected.length).toBe(reports * (8 * 3 + 2 * 4 + 2)); // no dropouts in this scenario

      await waitFor(
        async () => (await metric(agent, 'hotaisle_store_readings_written_total')) >= expected.length,
        {
          timeoutMs: 15_000,
          what: `${expected.length} readings written by the agent`,
        },
      );
      expect(await metric(agent, 'hotaisle_readings_accepted_total')).toBe(expected.length);
      expect(await metric(agent, 'hotaisle_readings_rejected_total')).toBe(0);
      // Every rack mapping carried traffic: value topics (dc/), Telegraf line protocol, compact JSON; BMS JSON.
      for (const family of ['dc', 'telegraf', 'hotaisle', 'bms'])
        expect(seen.get(family) ?? 0).toBeGreaterThan(0);

      // Every rack has inlet, outlet and power stored.
      const perRack = await points(
        'SELECT COUNT(inlet_c) AS inlet, COUNT(outlet_c) AS outlet, COUNT(power_kw) AS power FROM rack GROUP BY rack',
      );
      const racks = (
        perRack as unknown as {
          groupRows: Array<{ tags: { rack: string }; rows: Array<Record<string, number>> }>;
        }
      ).groupRows;
      expect(racks.map((g) => g.tags.rack).sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4']);
      for (const g of racks) {
        const row = g.rows[0]!;
        // value payloads carry no timestamp: stamped on arrival, a burst can share a millisecond.
        for (const n of [row.inlet!, row.outlet!, row.power!]) expect(n).toBeGreaterThan(0);
        expect(row.inlet).toBeLessThanOrEqual(reports);
      }

      // Timestamped formats keep the simulated time and value: Telegraf line protocol (a2), compact JSON (a3).
      const byKey = new Map(expected.map((r) => [`${r.target}|${r.metric}|${r.ts}`, r.value]));
      for (const rack of ['a2', 'a3']) {
        const rows = await points(`SELECT inlet_c, outlet_c, power_kw FROM rack WHERE rack = '${rack}'`);
        expect(rows).toHaveLength(reports);
        for (const row of rows) {
          const ts = row.time.getTime();
          expect(row.inlet_c).toBeCloseTo(byKey.get(`${rack}|inlet_c|${ts}`)!, 2);
          expect(row.outlet_c).toBeCloseTo(byKey.get(`${rack}|outlet_c|${ts}`)!, 2);
          expect(row.power_kw).toBeCloseTo(byKey.get(`${rack}|power_kw|${ts}`)!, 2);
        }
      }
      // BMS JSON in °F comes back in °C; the failed unit's zone ran warm.
      const cooling = await points(
        `SELECT supply_c, return_c, fan_pct, power_kw FROM cooling WHERE unit = 'cu1'`,
      );
      expect(cooling).toHaveLength(reports);
      for (const row of cooling)
        expect(row.supply_c).toBeCloseTo(byKey.get(`cu1|supply_c|${row.time.getTime()}`)!, 2);
      const site0 = await points(`SELECT power_kw, outdoor_c FROM site`);
      expect(site0).toHaveLength(reports);
      for (const row of site0)
        expect(row.power_kw).toBeCloseTo(byKey.get(`lab|power_kw|${row.time.getTime()}`)!, 2);
      const hottest = await points(`SELECT MAX(inlet_c) AS max FROM rack WHERE rack = 'a2'`);
      const coldest = await points(`SELECT MIN(inlet_c) AS min FROM rack WHERE rack = 'a2'`);
      expect(hottest[0]!.max! - coldest[0]!.min!).toBeGreaterThan(1);
    } finally {
      await publisher.stop();
      await agent.stop();
    }
  });
});

describe('hotaisle simulate (process)', () => {
  function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'simulate', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('error', reject);
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('publishes a scenario to the end over MQTT and reports what it sent', async () => {
    const file = join(work, 'ten-minutes.yaml');
    await writeFile(
      file,
      'name: ten-minutes\nduration: 10m\nworkload: { utilization: 0.5 }\nevents:\n  - { at: 5m, kind: load-surge, duration: 2m }\n',
    );
    seen.clear();
    const res = await run([
      '--site',
      'sites/lab.yaml',
      '--scenario',
      file,
      '--speed',
      '300',
      '--broker',
      mosquitto.url,
      '--report-every',
      '10s',
    ]);
    expect(res.stderr).toContain('scenario ten-minutes');
    expect(res.code).toBe(0);
    const sent = Number(
      /([\d,]+) messages published, 2 events applied, 0 publish errors/
        .exec(res.stdout)?.[1]
        ?.replace(/,/g, ''),
    );
    // 61 reports of 17 messages: 3 racks × 3 value topics, 3 line-protocol racks, 2 JSON racks, 2 units, the site.
    expect(sent).toBe(61 * 17);
    await waitFor(() => [...seen.values()].reduce((a, b) => a + b, 0) >= sent, {
      timeoutMs: 5000,
      what: `${sent} messages at the spy`,
    });
  });
});
