/**
 * Simulator throughput: simulated rack-seconds per wall second with 1 s steps, for the example
 * hall and a generated 10,000-rack hall, physics alone and with sensor readings encoded into MQTT
 * messages every simulated second (what `hotaisle simulate` does). Target: the 10,000-rack hall at
 * ≥ 60× real time on one core. Last line: {"racks": 10000, "speedup": n} for the 10,000-rack hall.
 *
 *   npx tsx bench/sim.ts
 */
import { join } from 'node:path';
import { loadSiteFile } from '../src/config/loader.ts';
import type { SiteConfig } from '../src/config/schema.ts';
import { TelemetryEncoder } from '../src/sim/encode.ts';
import { generateHall } from '../src/sim/hall.ts';
import { DataCenterSim } from '../src/sim/simulator.ts';
import { DEFAULT_WORKLOAD } from '../src/sim/workload.ts';

const START = Date.UTC(2025, 5, 3, 12, 0, 0);

interface Row {
  name: string;
  racks: number;
  mode: string;
  simulatedS: number;
  wallS: number;
}

function measure(name: string, site: SiteConfig, seconds: number, withTelemetry: boolean): Row {
  const sim = new DataCenterSim(site, { seed: 1, startTs: START, workload: DEFAULT_WORKLOAD });
  const encoder = withTelemetry ? new TelemetryEncoder(site, { rackMappings: 'spread' }) : undefined;
  for (let k = 0; k < 30; k++) sim.step(); // warm up the JIT
  let messages = 0;
  const t0 = performance.now();
  for (let k = 0; k < seconds; k++) {
    sim.step(1000);
    if (encoder) messages += encoder.encode(sim.readings()).length;
  }
  const wallS = (performance.now() - t0) / 1000;
  if (encoder && messages === 0) throw new Error('the encoder produced no messages');
  return {
    name,
    racks: sim.layout.n,
    mode: withTelemetry ? 'step + readings + encode' : 'physics step',
    simulatedS: seconds,
    wallS,
  };
}

const loaded = loadSiteFile(join(import.meta.dirname, '../sites/example-gpu-hall.yaml'));
if (!loaded.ok)
  throw new Error(`cannot load the example hall: ${loaded.problems.map((p) => p.message).join('; ')}`);
const big = generateHall({ racks: 10_000 });

const rows: Row[] = [
  measure('example-gpu-hall', loaded.config, 3600, false),
  measure('example-gpu-hall', loaded.config, 600, true),
  measure('generated hall', big, 600, false),
  measure('generated hall', big, 20, true),
];

const pad = (s: string, n: number) => s.padEnd(n);
const num = (x: number, n: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 }).padStart(n);
console.log(
  `${pad('site', 18)}${pad('racks', 7)}${pad('mode', 26)}${'sim s'.padStart(7)}${'wall s'.padStart(9)}${'speedup'.padStart(10)}${'rack-s / wall s'.padStart(18)}`,
);
for (const r of rows) {
  const speedup = r.simulatedS / r.wallS;
  console.log(
    `${pad(r.name, 18)}${pad(String(r.racks), 7)}${pad(r.mode, 26)}${num(r.simulatedS, 7)}${r.wallS.toFixed(2).padStart(9)}${num(speedup, 9)}×${num(speedup * r.racks, 18)}`,
  );
}
const target = rows[2]!;
console.log(JSON.stringify({ racks: target.racks, speedup: Math.round(target.simulatedS / target.wallS) }));
