/**
 * bench:ingest — end-to-end ingest throughput: real Mosquitto → the agent (a child process, as deployed)
 * → real InfluxDB, against the ceiling of the same broker delivering the same messages to a bare MQTT.js
 * subscriber that only counts them.
 *
 * Method: both consumers drain the same backlog. Each first subscribes with a persistent session
 * (clean=false, QoS 1) and disconnects; the publisher then queues N messages (one rack sample each:
 * inlet, outlet, power as compact JSON) for that session; the consumer reconnects and the clock runs from
 * its first message until the broker has read its last PUBACK (bare, see measureBareSubscriber) or until
 * InfluxDB has acknowledged the last reading (agent; the bench checks the broker is idle then). Draining a
 * backlog keeps the publisher's own cost out of both figures, so the ratio compares consumers only.
 *
 * Usage: npm run bench:ingest [-- --racks 1000 --samples 300 --runs 1]
 * With --runs N, both measurements are repeated N times and the JSON line gives the medians (stored: the
 * lowest of the runs; peak RSS: the highest; shareOfCeiling: the median of each run's agent rate over the
 * ceiling measured in that run), with each run under perRun.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InfluxDB } from 'influx';
import mqtt, { type MqttClient } from 'mqtt';
import { startInfluxd } from '../test/helpers/influxd.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import { waitFor } from '../test/helpers/poll.ts';
import { freePort } from '../test/helpers/ports.ts';
import { generateBenchSite } from './benchSite.ts';

const { values } = parseArgs({
  options: {
    racks: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '300' },
    // Figures on a shared 2-core machine swing by ±15% from run to run: report medians of several.
    runs: { type: 'string', default: '1' },
  },
});
const RACKS = Number(values.racks);
const SAMPLES = Number(values.samples);
const TOTAL = RACKS * SAMPLES;
const RUNS = Math.max(1, Number(values.runs));
const SITE = 'bench';
/** The agent's MQTT client id for this site (broker.clientId unset: hotaisle-<site>). */
const AGENT_CLIENT_ID = `hotaisle-${SITE}`;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function connect(url: string, clientId: string, clean: boolean): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, clean, reconnectPeriod: 0, protocolVersion: 4 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/**
 * Ends a persistent session: a session left subscribed would have the broker queue the next phase's
 * backlog for it too (extra broker work, and a second drain on the next run).
 */
async function clearSession(url: string, clientId: string): Promise<void> {
  const client = await connect(url, clientId, true);
  await client.endAsync();
}

/** Queue TOTAL messages on the broker; resolves when the broker has acknowledged every one. */
async function publishBacklog(url: string): Promise<void> {
  const pub = await connect(url, `bench-pub-${process.pid}`, true);
  const t0 = Date.now();
  const base = Date.now() - SAMPLES * 1000;
  const window = 2000;
  let inFlight = 0;
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (inFlight < window && sent < TOTAL) {
        const sample = Math.floor(sent / RACKS);
        const rack = sent % RACKS;
        const payload = `{"ts":${base + sample * 1000},"inlet":${(22 + (rack % 7) * 0.3).toFixed(2)},"outlet":${(34 + (rack % 5)).toFixed(2)},"power":${(8 + (rack % 30)).toFixed(1)}}`;
        inFlight++;
        sent++;
        pub.publish(`hotaisle/ingest/${SITE}/r${rack}`, payload, { qos: 1 }, (err) => {
          inFlight--;
          if (err) return reject(err);
          if (sent === TOTAL && inFlight === 0) resolve();
          else if (inFlight < window / 2) setImmediate(pump);
        });
      }
    };
    pump();
  });
  await pub.endAsync();
  log(`  queued ${TOTAL} messages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * The ceiling: the same broker delivering the backlog at QoS 1 to a subscriber that only counts. A QoS 1
 * delivery ends when the broker has the PUBACK, and Mosquitto can read a fast subscriber's PUBACKs long
 * after sending its last message (measured: about 1.2 s of unread acks for 200,000 messages, half its
 * work per message). So the clock stops when the broker answers a QoS 1 publish the subscriber sends
 * after its last message: it handles a client's packets in order, so every PUBACK before it was read.
 * The rate at the last message received is printed beside it.
 */
async function measureBareSubscriber(
  url: string,
  mosquittoPid: number | undefined,
): Promise<{ rate: number; lastMessageRate: number; cpu: CpuSplit }> {
  const clientId = 'bench-bare';
  const first = await connect(url, clientId, false);
  await first.subscribeAsync(`hotaisle/ingest/${SITE}/#`, { qos: 1 });
  await first.endAsync();
  await publishBacklog(url);
  let count = 0;
  let start = 0;
  let lastMessage = 0;
  let end = 0;
  const cpuBefore = { mosquitto: await cpuSeconds(mosquittoPid), subscriber: process.cpuUsage() };
  let cpuAfter = cpuBefore;
  const done = new Promise<void>((resolve, reject) => {
    const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 0, protocolVersion: 4 });
    client.on('message', () => {
      if (count === 0) start = performance.now();
      count++;
      if (count !== TOTAL) return;
      lastMessage = performance.now();
      client.publish(`bench-probe/${process.pid}`, '', { qos: 1 }, (err) => {
        if (err) return reject(err);
        end = performance.now();
        void cpuSeconds(mosquittoPid).then((m) => {
          cpuAfter = { mosquitto: m, subscriber: process.cpuUsage() };
        });
        client.end(true, {}, () => resolve());
      });
    });
  });
  await done;
  await waitFor(async () => cpuAfter !== cpuBefore, { timeoutMs: 5000, intervalMs: 5, what: 'cpu sample' });
  await clearSession(url, clientId);
  const subscriberSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
  const cpu = perHundredK(
    { mosquitto: cpuBefore.mosquitto, subscriber: subscriberSeconds(cpuBefore.subscriber) },
    { mosquitto: cpuAfter.mosquitto, subscriber: subscriberSeconds(cpuAfter.subscriber) },
    TOTAL,
  );
  return {
    rate: TOTAL / ((end - start) / 1000),
    lastMessageRate: TOTAL / ((lastMessage - start) / 1000),
    cpu,
  };
}

interface AgentProcess {
  child: ChildProcess;
  apiPort: number;
  /** Epoch ms of the agent's "connected to MQTT broker" log line: the broker starts the drain then. */
  connectedAt(): number | undefined;
  peakRssMb(): Promise<number>;
  stop(): Promise<void>;
}

async function startAgent(
  siteFile: string,
  brokerUrl: string,
  influxUrl: string,
  dataDir: string,
): Promise<AgentProcess> {
  const apiPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      // As deployed (deploy/systemd, deploy/Dockerfile): a larger young generation for ingest's short-lived objects.
      ...(process.env.HOTAISLE_NODE_FLAGS ?? '--max-semi-space-size=64').split(' ').filter(Boolean),
      '--import',
      'tsx',
      'src/cli.ts',
      'run',
      '--site',
      siteFile,
      '--no-sim',
      '--broker',
      brokerUrl,
      '--influx',
      influxUrl,
      '--api-port',
      String(apiPort),
      '--data-dir',
      dataDir,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Info, for the connect line; the agent logs nothing per message at info.
      env: { ...process.env, HOTAISLE_LOG_LEVEL: 'info' },
    },
  );
  let connectedAt: number | undefined;
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (connectedAt === undefined && line.includes('"connected to MQTT broker"'))
        connectedAt = (JSON.parse(line) as { time: number }).time;
    }
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
    if (process.env.HOTAISLE_BENCH_VERBOSE) process.stderr.write(d);
  });
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`agent exited ${child.exitCode}: ${stderr}`);
      const res = await fetch(`http://127.0.0.1:${apiPort}/readyz`);
      return res.status === 200;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'agent ready' },
  );
  return {
    child,
    apiPort,
    connectedAt: () => connectedAt,
    async peakRssMb() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return kb / 1024;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc; 0 when it is gone. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" of the command name: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * When the broker went idle: the start of the first 100 ms in which Mosquitto used at most one clock tick
 * (10 ms) of CPU. The agent's own light traffic (status, recommendations) stays well under that.
 */
async function brokerIdleSince(pid: number | undefined): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const from = Date.now();
    const before = await cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 100));
    if ((await cpuSeconds(pid)) - before <= 0.01) return from;
  }
  throw new Error('the broker did not go idle within 30 s');
}

/** The pid of the process whose command line mentions `needle` (a service's temp config path). */
async function pidOf(needle: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(needle)) return Number(entry);
    } catch {
      // exited while we looked
    }
  }
  return undefined;
}

interface CpuSplit {
  [process: string]: number;
}

/** CPU seconds per 100,000 messages for each process, over an interval. */
function perHundredK(before: CpuSplit, after: CpuSplit, messages: number): CpuSplit {
  const out: CpuSplit = {};
  for (const [name, t] of Object.entries(after)) out[name] = ((t - (before[name] ?? 0)) / messages) * 100_000;
  return out;
}

function formatSplit(split: CpuSplit): string {
  return Object.entries(split)
    .map(([name, s]) => `${name} ${s.toFixed(2)}`)
    .join(', ');
}

async function metric(apiPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function storedCount(influx: InfluxDB): Promise<number> {
  const rows = await influx.query<{ count: number }>(
    `SELECT COUNT(inlet_c) AS count FROM rack WHERE site = '${SITE}'`,
  );
  return rows[0]?.count ?? 0;
}

interface RunResult {
  messagesPerSec: number;
  fromConnectPerSec: number;
  brokerLimitPerSec: number;
  stored: number;
  peakRssMb: number;
}

interface Services {
  work: string;
  mosquittoUrl: string;
  mosquittoPid: number | undefined;
  influxdPid: number | undefined;
  influxUrl: string;
  influx: InfluxDB;
  siteFile: string;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'hotaisle-bench-'));
  const mosquitto = await startMosquitto({ persistence: false });
  const influxd = await startInfluxd();
  try {
    log(`bench:ingest — ${RACKS} racks × ${SAMPLES} samples = ${TOTAL} messages, QoS 1, ${RUNS} run(s)`);
    const siteFile = join(work, 'bench-site.json');
    await writeFile(siteFile, JSON.stringify(generateBenchSite(SITE, RACKS)));
    const services: Services = {
      work,
      mosquittoUrl: mosquitto.url,
      mosquittoPid: await pidOf(mosquitto.dir),
      influxdPid: await pidOf(influxd.dir),
      influxUrl: `http://127.0.0.1:${influxd.port}/hotaisle_bench`,
      influx: new InfluxDB({ host: '127.0.0.1', port: influxd.port, database: 'hotaisle_bench' }),
      siteFile,
    };
    const runs: RunResult[] = [];
    for (let run = 1; run <= RUNS; run++) {
      if (RUNS > 1) log(`run ${run} of ${RUNS}`);
      runs.push(await measureRun(services, run));
    }
    const medianOf = (pick: (r: RunResult) => number) => {
      const sorted = runs.map(pick).sort((x, y) => x - y);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    const median = (pick: (r: RunResult) => number) => Math.round(medianOf(pick));
    // The target compares each run with the ceiling measured in that run: the median of those shares.
    const shareOfCeiling = Number(medianOf((r) => r.messagesPerSec / r.brokerLimitPerSec).toFixed(3));
    const stored = Math.min(...runs.map((r) => r.stored));
    const result = {
      messagesPerSec: median((r) => r.messagesPerSec),
      fromConnectPerSec: median((r) => r.fromConnectPerSec),
      sent: TOTAL,
      stored,
      brokerLimitPerSec: median((r) => r.brokerLimitPerSec),
      peakRssMb: Math.round(Math.max(...runs.map((r) => r.peakRssMb))),
      shareOfCeiling,
      ...(RUNS > 1
        ? {
            runs: RUNS,
            perRun: runs.map((r) => ({
              messagesPerSec: r.messagesPerSec,
              brokerLimitPerSec: r.brokerLimitPerSec,
              share: Number((r.messagesPerSec / r.brokerLimitPerSec).toFixed(3)),
            })),
          }
        : {}),
    };
    if (RUNS > 1)
      log(
        `median of ${RUNS}: ${result.messagesPerSec} messages/s end to end, ceiling ${result.brokerLimitPerSec}/s; median share of the same run's ceiling ${(shareOfCeiling * 100).toFixed(1)}%`,
      );
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (stored !== TOTAL) process.exitCode = 1;
  } finally {
    await mosquitto.dispose();
    await influxd.dispose();
    await rm(work, { recursive: true, force: true });
  }
}

/** One ceiling measurement and one agent drain, on an empty database. */
async function measureRun(services: Services, run: number): Promise<RunResult> {
  const { mosquittoPid, influxdPid, influx } = services;
  await influx.dropDatabase('hotaisle_bench');
  log('reference: bare MQTT.js subscriber');
  const bare = await measureBareSubscriber(services.mosquittoUrl, mosquittoPid);
  const brokerLimit = bare.rate;
  log(
    `  ${Math.round(brokerLimit)} messages/s with every PUBACK read by the broker (${Math.round(bare.lastMessageRate)}/s at the last message received); CPU s per 100k messages: ${formatSplit(bare.cpu)}`,
  );
  const dataDir = join(services.work, `data-${run}`);
  let agent: AgentProcess | undefined;
  try {
    log('agent: register the persistent session');
    agent = await startAgent(services.siteFile, services.mosquittoUrl, services.influxUrl, dataDir);
    // What starting up costs (loading TypeScript, building the site): subtracted from the drain's CPU.
    const startupCpu = await cpuSeconds(agent.child.pid);
    await agent.stop();
    await publishBacklog(services.mosquittoUrl);
    log('agent: drain the backlog into InfluxDB');
    const servicesBefore = {
      mosquitto: await cpuSeconds(mosquittoPid),
      influxd: await cpuSeconds(influxdPid),
    };
    agent = await startAgent(services.siteFile, services.mosquittoUrl, services.influxUrl, dataDir);
    const a = agent;
    // The broker sends the queued session the moment it acknowledges the connection, which can be before
    // the agent's API answers, so the clock starts at the agent's own connect log line.
    const start = await waitFor(async () => a.connectedAt() ?? 0, {
      timeoutMs: 30_000,
      intervalMs: 5,
      what: 'the agent to log its broker connection',
    });
    // Sustained rate: from the moment the agent is fully started (its modules compete for the CPU
    // while they start, which a long-running agent does not pay) to the end of the drain.
    const readyAt = Date.now();
    const writtenAtReady = await metric(a.apiPort, 'hotaisle_store_readings_written_total');
    // The clock stops when InfluxDB has acknowledged every reading (HTTP 204: on its WAL). Counting in
    // InfluxDB at every poll would load the very server being measured, so it is counted once after.
    let peakRss = 0;
    await waitFor(
      async () => {
        peakRss = Math.max(peakRss, await a.peakRssMb());
        return (await metric(a.apiPort, 'hotaisle_store_readings_written_total')) >= TOTAL * 3;
      },
      // Every 100 ms: each scrape costs the agent CPU (a Prometheus scrapes every 15 s), and the clock is
      // at most 2% late on a 5 s drain, which only lowers the figure.
      { timeoutMs: 300_000, intervalMs: 100, what: `all ${TOTAL * 3} readings acknowledged by InfluxDB` },
    ).catch((err: Error) => log(`  ${err.message}`));
    const storedAt = Date.now();
    // Like the ceiling, a QoS 1 delivery ends when the broker has read the PUBACK, and Mosquitto may still
    // be reading the agent's when InfluxDB has the last reading: the clock stops when both are done.
    const end = Math.max(storedAt, await brokerIdleSince(mosquittoPid));
    const agentCpu = perHundredK(
      { ...servicesBefore, agent: startupCpu },
      {
        mosquitto: await cpuSeconds(mosquittoPid),
        agent: await cpuSeconds(a.child.pid),
        influxd: await cpuSeconds(influxdPid),
      },
      TOTAL,
    );
    const stored = await storedCount(influx);
    const seconds = (end - start) / 1000;
    peakRss = Math.max(peakRss, await a.peakRssMb());
    const rejected = await metric(a.apiPort, 'hotaisle_readings_rejected_total');
    const pauses = await metric(a.apiPort, 'hotaisle_ingest_pauses_total');
    await a.stop();
    agent = undefined;
    await clearSession(services.mosquittoUrl, AGENT_CLIENT_ID);
    const fromConnectPerSec = Math.round(TOTAL / seconds);
    const sustainedShare = 1 - writtenAtReady / (TOTAL * 3);
    const messagesPerSec = Math.round((TOTAL * sustainedShare) / ((end - readyAt) / 1000));
    log(
      `  from the broker connect (start-up included): ${fromConnectPerSec} messages/s; started ${((readyAt - start) / 1000).toFixed(2)} s after connecting, with ${(100 * (1 - sustainedShare)).toFixed(0)}% already written`,
    );
    if (sustainedShare < 0.5)
      log(
        '  warning: most of the backlog was drained during start-up; use more --samples for a sustained figure',
      );
    log(
      `  ${messagesPerSec} messages/s end to end, sustained (${((end - readyAt) / 1000).toFixed(2)} s after start-up), stored ${stored}/${TOTAL}, rejected ${rejected}; ingest paused ${pauses} times for InfluxDB`,
    );
    log(
      `  ${((messagesPerSec / brokerLimit) * 100).toFixed(1)}% of the bare-subscriber ceiling; agent peak RSS ${peakRss.toFixed(0)} MB`,
    );
    // Where the two cores went: the ceiling's consumer only counts; ours parses, routes, encodes, and
    // InfluxDB parses and indexes what it is sent, on the same two cores.
    log(
      `  CPU s per 100k messages: ${formatSplit(agentCpu)}; the broker finished reading PUBACKs ${end - storedAt} ms after InfluxDB had every reading`,
    );
    return {
      messagesPerSec,
      fromConnectPerSec,
      brokerLimitPerSec: Math.round(brokerLimit),
      stored,
      peakRssMb: peakRss,
    };
  } finally {
    await agent?.stop();
  }
}

await main();
