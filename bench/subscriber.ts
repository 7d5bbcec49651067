/**
 * End-to-end ingest through a real Mosquitto at QoS 1: compact JSON samples → TelemetrySubscriber
 * → sink. Two figures: draining a queue built up while the agent was away (subscriber-bound), and
 * live publishing while subscribed (publisher, broker and subscriber share the cores).
 * The publisher writes raw MQTT 3.1.1 frames in large chunks with a window of unacked messages,
 * so it is not the bottleneck (an MQTT.js publisher tops out near 20k msgs/s here).
 *   npx tsx bench/subscriber.ts [messages, default 200000]
 */
import { connect, type Socket } from 'node:net';
import { loadSiteFile } from '../src/config/loader.ts';
import { buildSiteIndex } from '../src/config/siteIndex.ts';
import { silentLogger } from '../src/log.ts';
import { TelemetrySubscriber } from '../src/telemetry/subscriber.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';

const total = Number(process.argv[2] ?? 200_000);
const loaded = loadSiteFile('sites/lab.yaml');
if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
const site = loaded.config;
const racks = buildSiteIndex(site).rackIds;
const broker = await startMosquitto();

let readings = 0;
const subscriber = () =>
  new TelemetrySubscriber({
    site,
    url: broker.url,
    clientId: 'bench-agent',
    sink: (batch) => {
      readings += batch.length;
    },
    log: silentLogger(),
    env: {},
  });

function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function connectFrame(clientId: string): Buffer {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 0]), str(clientId)]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

function publishFrame(topic: string, id: number, payload: Buffer): Buffer {
  const pid = Buffer.alloc(2);
  pid.writeUInt16BE(id);
  const body = Buffer.concat([str(topic), pid, payload]);
  return Buffer.concat([Buffer.from([0x32]), remainingLength(body.length), body]);
}

/** Publishes n QoS 1 messages, at most `window` unacked; resolves when all are acked. */
async function publishAll(n: number, window = 1000): Promise<void> {
  const socket: Socket = connect({ host: '127.0.0.1', port: broker.port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const now = Date.now();
  const samples = racks.map((rack, i) => ({
    topic: `hotaisle/ingest/${site.site.id}/${rack}`,
    payload: Buffer.from(JSON.stringify({ ts: now, inlet: 21.3 + i / 10, outlet: 33.1, power: 8.42 })),
  }));
  let sent = 0;
  let acked = -1; // the CONNACK counts as one 4-byte frame, like each PUBACK
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      const frames: Buffer[] = [];
      while (sent < n && sent - acked < window) {
        const s = samples[sent % samples.length]!;
        frames.push(publishFrame(s.topic, (sent % 65535) + 1, s.payload));
        sent++;
      }
      if (frames.length > 0) socket.write(Buffer.concat(frames));
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      const frames = Math.floor(received / 4);
      received -= frames * 4;
      acked += frames;
      if (acked >= n) resolve();
      else pump();
    });
    socket.once('error', reject);
    socket.write(connectFrame(`bench-pub-${process.pid}`));
  });
  socket.end(Buffer.from([0xe0, 0x00]));
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const rate = (n: number, ms: number) =>
  `${n} msgs in ${(ms / 1000).toFixed(2)} s = ${Math.round(n / (ms / 1000)).toLocaleString('en-US')} msgs/s`;

try {
  // 1. Queue while the agent is away, then measure the drain.
  let sub = subscriber();
  await sub.start();
  await sub.stop();
  let start = performance.now();
  await publishAll(total);
  console.log(`publish only  ${rate(total, performance.now() - start)} (agent offline, broker queues)`);
  readings = 0;
  sub = subscriber();
  start = performance.now();
  await sub.start();
  await until(() => readings >= total * 3, 120_000);
  console.log(`drain queued  ${rate(total, performance.now() - start)}`);

  // 2. Live: publish while subscribed.
  readings = 0;
  start = performance.now();
  await publishAll(total);
  await until(() => readings >= total * 3, 120_000);
  console.log(`live          ${rate(total, performance.now() - start)}`);
  const stats = sub.stats();
  const rejects = Object.entries(stats.rejectsByReason).filter(([, v]) => v > 0);
  console.log(
    `received ${stats.messagesReceived}, readings ${stats.readingsAccepted}, rejects ${JSON.stringify(rejects)}`,
  );
  await sub.stop();
} finally {
  await broker.dispose();
}
