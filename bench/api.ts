/**
 * Placement API latency under a steady open-loop load: a real server on 127.0.0.1 for the example
 * hall (sites/example-gpu-hall.yaml, layout thermal model, readings for every rack), requests sent
 * at a fixed rate whether or not earlier ones have answered, so queueing shows in the tail.
 * Client and server share this process (and its event loop); a separate client would only lower
 * the numbers. Last line: {"rps", "p50Ms", "p99Ms", "errors"}.
 *   npx tsx bench/api.ts [rate per second, default 500] [seconds, default 10]
 */
import http from 'node:http';
import { buildApiApp } from '../src/api/server.ts';
import { loadSiteFile } from '../src/config/loader.ts';
import { buildSiteIndex } from '../src/config/siteIndex.ts';
import { silentLogger } from '../src/log.ts';
import { recommendRoutes } from '../src/recommend/routes.ts';
import { RecommendService } from '../src/recommend/service.ts';
import type { Reading } from '../src/telemetry/reading.ts';

const rate = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 10);
const loaded = loadSiteFile('sites/example-gpu-hall.yaml');
if (!loaded.ok) throw new Error('sites/example-gpu-hall.yaml does not load');
const site = loaded.config;
const index = buildSiteIndex(site);
const service = new RecommendService({ index });
const now = Date.now();
const readings: Reading[] = [];
index.rackIds.forEach((rack, i) => {
  const cap = index.racks.get(rack)!.rack.powerCapKw;
  readings.push({
    kind: 'rack',
    site: site.site.id,
    target: rack,
    metric: 'power_kw',
    value: cap * (0.3 + ((i * 37) % 40) / 100),
    ts: now,
  });
  readings.push({
    kind: 'rack',
    site: site.site.id,
    target: rack,
    metric: 'inlet_c',
    value: 21 + ((i * 53) % 45) / 10,
    ts: now,
  });
});
service.state.observe(readings);

const app = await buildApiApp({ log: silentLogger(), routes: [recommendRoutes({ service })] });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

const tiers = ['realtime', 'internal', 'batch'] as const;
const bodies = Array.from({ length: 48 }, (_, i) =>
  JSON.stringify({
    job: {
      gpus: 1 + (i % 16),
      durationMin: 30 + i,
      tier: tiers[i % 3],
      ...(i % 8 === 0 ? { spread: 'row', replicas: 2 } : {}),
    },
  }),
);

function request(body: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/placements',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      },
    );
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

// Warm up (JIT, sockets), then measure.
for (let i = 0; i < 200; i++) await request(bodies[i % bodies.length]!);

const total = Math.round(rate * seconds);
const latencies: number[] = [];
let errors = 0;
const t0 = performance.now();
const pending: Array<Promise<void>> = [];
for (let i = 0; i < total; i++) {
  const due = t0 + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  const sent = performance.now();
  pending.push(
    request(bodies[i % bodies.length]!).then((ok) => {
      latencies.push(performance.now() - sent);
      if (!ok) errors++;
    }),
  );
}
await Promise.all(pending);
const elapsed = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
const round = (v: number) => Math.round(v * 100) / 100;
console.log(
  `site ${site.site.id}: ${index.rackIds.length} racks; ${total} placement requests at ${rate}/s target`,
);
console.log(
  `p50 ${round(pct(50))} ms · p90 ${round(pct(90))} ms · p99 ${round(pct(99))} ms · max ${round(latencies.at(-1) ?? 0)} ms · errors ${errors}`,
);
agent.destroy();
await app.close();
console.log(
  JSON.stringify({ rps: round(total / elapsed), p50Ms: round(pct(50)), p99Ms: round(pct(99)), errors }),
);
