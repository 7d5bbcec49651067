/**
 * Router throughput on one core: compact JSON rack samples (the simulator's format), plus the
 * value and Telegraf line formats for comparison. Prints messages per second.
 *   npx tsx bench/router.ts [seconds per case, default 2]
 */
import { loadSiteFile } from '../src/config/loader.ts';
import { buildSiteIndex } from '../src/config/siteIndex.ts';
import { TelemetryRouter } from '../src/telemetry/router.ts';

const seconds = Number(process.argv[2] ?? 2);
const loaded = loadSiteFile('sites/lab.yaml');
if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
const site = loaded.config;
const index = buildSiteIndex(site);
const router = new TelemetryRouter(site, index);
const racks = index.rackIds;
const now = Date.now();

interface Case {
  name: string;
  messages: Array<{ topic: string; payload: Buffer }>;
}

const cases: Case[] = [
  {
    name: 'json compact sample',
    messages: racks.map((rack, i) => ({
      topic: `hotaisle/ingest/${site.site.id}/${rack}`,
      payload: Buffer.from(JSON.stringify({ ts: now - i, inlet: 21.3 + i / 10, outlet: 33.1, power: 8.42 })),
    })),
  },
  {
    name: 'value per topic',
    messages: racks.map((rack) => ({
      topic: `dc/${site.site.id}/${index.racks.get(rack)!.room}/${index.racks.get(rack)!.row}/${rack}/inlet`,
      payload: Buffer.from('22.4'),
    })),
  },
  {
    name: 'telegraf line (1 point)',
    messages: racks.map((rack) => ({
      topic: 'telegraf/node-1/rack_env',
      payload: Buffer.from(
        `rack_env,host=node-1,rack=${rack} inlet_temp=22.5,exhaust_temp=35.1,power_w=8450i ${now}000000\n`,
      ),
    })),
  },
];

let sink = 0;
for (const c of cases) {
  // Warm up so the JIT has compiled the hot path before timing.
  for (let i = 0; i < 200_000; i++) {
    const m = c.messages[i % c.messages.length]!;
    sink += router.route(m.topic, m.payload, now).readings.length;
  }
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 10_000; i++) {
      const m = c.messages[n % c.messages.length]!;
      const out = router.route(m.topic, m.payload, now);
      if (out.rejects.length > 0)
        throw new Error(`${c.name}: unexpected reject ${JSON.stringify(out.rejects[0])}`);
      sink += out.readings.length;
      n++;
    }
    elapsed = process.hrtime.bigint() - start;
  }
  const perSecond = Math.round(n / (Number(elapsed) / 1e9));
  console.log(`${c.name.padEnd(26)} ${perSecond.toLocaleString('en-US').padStart(12)} msgs/s`);
}
if (sink === 0) console.log('no readings');
