/**
 * A rack added by a live reload is stored in InfluxDB with its room and row tags at once, not only
 * site/rack until the next restart: a real Mosquitto, a real influxd and the Agent.
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
import { type SiteConfig, SiteSchema } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { type InfluxdHandle, startInfluxd } from '../helpers/influxd.ts';
import { type MosquittoHandle, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/poll.ts';

const DB = 'hotaisle_reload_tags';
const NEW_RACK = 'a9';

let mosquitto: MosquittoHandle;
let influxd: InfluxdHandle;
let influx: InfluxDB;
let work: string;
let publisher: MqttClient;

function labSite(): SiteConfig {
  const loaded = loadSiteFile('sites/lab.yaml');
  if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
  const site = applyOverrides(loaded.config, {
    brokerUrl: mosquitto.url,
    influxUrl: `http://127.0.0.1:${influxd.port}/${DB}`,
    apiPort: 0,
    dataDir: join(work, 'agent'),
  });
  return {
    ...site,
    broker: { ...site.broker, clientId: 'hotaisle-it-reload-tags' },
    storage: { ...site.storage, flushIntervalMs: 50 },
  };
}

/** The same site with one more rack at the end of row `a` (a copy of its first rack). */
function withNewRack(site: SiteConfig): SiteConfig {
  const next = structuredClone(site);
  const row = next.rooms[0]?.rows.find((r) => r.id === 'a');
  const first = row?.racks[0];
  if (!row || !first) throw new Error('sites/lab.yaml has no row a');
  row.racks.push({
    ...structuredClone(first),
    id: NEW_RACK,
    position: Math.max(...row.racks.map((r) => r.position)) + 1,
    nodes: first.nodes.map((n, i) => ({ ...n, name: `gpu-${NEW_RACK}-${i + 1}` })),
  });
  return SiteSchema.parse(next);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hotaisle-reload-tags-it-'));
  [mosquitto, influxd] = await Promise.all([startMosquitto(), startInfluxd()]);
  influx = new InfluxDB({ host: '127.0.0.1', port: influxd.port, database: DB });
  publisher = await mqtt.connectAsync(mosquitto.url, { clientId: 'it-reload-tags-publisher' });
});

afterAll(async () => {
  await publisher?.endAsync();
  await Promise.all([mosquitto?.dispose(), influxd?.dispose()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('InfluxDB tags after a live reload', () => {
  it('stores a rack added by a reload with its room and row tags', async () => {
    const site = labSite();
    expect(site.storage.kind).toBe('influx');
    const agent = new Agent({ site, log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
    await agent.start();
    try {
      // A known rack first: the encoder has built its tag cache before the reload.
      const ts = Date.now() - 10_000;
      await publisher.publishAsync('hotaisle/ingest/lab/a1', JSON.stringify({ ts, inlet: 22.5 }), { qos: 1 });
      await waitFor(
        async () => (await influx.query(`SELECT inlet_c FROM rack WHERE rack = 'a1'`)).length > 0,
        {
          timeoutMs: 15_000,
          what: 'a1 stored',
        },
      );

      const result = await agent.reload(withNewRack(site));
      expect(result.ok).toBe(true);
      expect(agent.index.racks.get(NEW_RACK)).toMatchObject({ room: 'lab', row: 'a' });

      await publisher.publishAsync(
        `hotaisle/ingest/lab/${NEW_RACK}`,
        JSON.stringify({ ts: ts + 1000, inlet: 23.25 }),
        { qos: 1 },
      );
      const rows = await waitFor(
        async () => {
          const r = await influx.query<{
            inlet_c: number;
            site: string;
            room: string | null;
            row: string | null;
          }>(`SELECT inlet_c, site, room, "row" FROM rack WHERE rack = '${NEW_RACK}'`);
          return r.length > 0 ? r : undefined;
        },
        { timeoutMs: 15_000, what: `${NEW_RACK} stored` },
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ inlet_c: 23.25, site: 'lab', room: 'lab', row: 'a' });
    } finally {
      await agent.stop();
    }
  }, 60_000);
});
