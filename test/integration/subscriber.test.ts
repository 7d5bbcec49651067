/**
 * TelemetrySubscriber against a real Mosquitto: formats end to end, a malformed flood, persistent
 * sessions across agent and broker restarts, first-connect failure.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SiteInput, SiteSchema } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/log.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { type DeadLetter, TelemetrySubscriber } from '../../src/telemetry/subscriber.ts';
import { freePort, type MosquittoHandle, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/poll.ts';

function labSite(broker: SiteInput['broker'] = {}) {
  return SiteSchema.parse({
    site: { id: 'lab', name: 'Lab' },
    powerCapKw: 200,
    rooms: [
      {
        id: 'hall',
        rows: [
          {
            id: 'a',
            zone: 'z1',
            racks: [
              { id: 'r01', position: 1, powerCapKw: 30, feeds: { a: 'fa' } },
              { id: 'r02', position: 2, powerCapKw: 30, feeds: { a: 'fa' } },
            ],
          },
        ],
      },
    ],
    coolingUnits: [{ id: 'cu1', room: 'hall', zone: 'z1', capacityKw: 100 }],
    telemetry: [
      {
        topic: 'dc/{site}/{room}/{row}/{rack}/{metric}',
        format: 'value',
        fields: { inlet: 'inlet_c', outlet: 'outlet_c', power: { metric: 'power_kw', unit: 'W' } },
      },
      {
        topic: 'telegraf/{host}/{measurement}',
        format: 'influx-line',
        idField: 'rack',
        precision: 'ns',
        fields: {
          inlet_temp: 'inlet_c',
          exhaust_temp: 'outlet_c',
          power_w: { metric: 'power_kw', unit: 'W' },
        },
      },
      {
        topic: 'bms/{site}/cooling/{unit}',
        format: 'json',
        target: 'cooling',
        timestampField: 'ts',
        precision: 'ms',
        fields: { supplyTempF: { metric: 'supply_c', unit: 'F' }, fanPct: 'fan_pct' },
      },
      {
        topic: 'hotaisle/ingest/{site}/{rack}',
        format: 'json',
        timestampField: 'ts',
        precision: 'ms',
        fields: { inlet: 'inlet_c', outlet: 'outlet_c', power: 'power_kw' },
      },
    ],
    broker: { kind: 'external', ...broker },
  });
}

let broker: MosquittoHandle;
const running: TelemetrySubscriber[] = [];
const publishers: MqttClient[] = [];

beforeAll(async () => {
  broker = await startMosquitto({ persistence: true });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  await Promise.all(publishers.splice(0).map((p) => p.endAsync()));
});

afterAll(async () => {
  await broker?.dispose();
});

function subscriber(opts: {
  clientId: string;
  broker?: SiteInput['broker'];
  url?: string;
  connectTimeoutMs?: number;
  backpressure?: { saturated(): boolean; whenRelieved(): Promise<void> };
}) {
  const readings: Reading[] = [];
  const sub = new TelemetrySubscriber({
    site: labSite(opts.broker),
    url: opts.url ?? broker.url,
    clientId: opts.clientId,
    sink: (batch) => readings.push(...batch),
    log: silentLogger(),
    env: {},
    ...(opts.connectTimeoutMs ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
    ...(opts.backpressure ? { backpressure: opts.backpressure } : {}),
  });
  running.push(sub);
  return { sub, readings };
}

async function publisher(): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, {
    clientId: `pub-${Math.random().toString(16).slice(2)}`,
    log: () => {},
  });
  publishers.push(client);
  return client;
}

/**
 * Publishes a marker until the subscriber sees it (its subscriptions are active), waits for every
 * marker sent so none arrives late, then clears the readings.
 */
async function untilSubscribed(pub: MqttClient, readings: Reading[]): Promise<void> {
  const marker = 25.125;
  const markers = () => readings.filter((r) => r.target === 'r02' && r.value === marker).length;
  let sent = 0;
  await waitFor(
    async () => {
      await pub.publishAsync('dc/lab/hall/a/r02/inlet', String(marker), { qos: 1 });
      sent++;
      return markers() > 0;
    },
    { timeoutMs: 5000, intervalMs: 100, what: 'subscriber receives the marker' },
  );
  await waitFor(() => markers() === sent, { what: 'every marker delivered' });
  readings.length = 0;
}

describe('TelemetrySubscriber with Mosquitto', () => {
  it('turns all three formats into readings', async () => {
    const { sub, readings } = subscriber({ clientId: 'it-formats' });
    await sub.start();
    expect(sub.isConnected()).toBe(true);
    const pub = await publisher();
    await untilSubscribed(pub, readings);

    const now = Date.now();
    const t1 = now - 3000;
    const t2 = now - 2000;
    await Promise.all([
      pub.publishAsync('dc/lab/hall/a/r01/power', '12500', { qos: 1 }),
      pub.publishAsync(
        'telegraf/node-1/rack_env',
        `rack_env,host=node-1,rack=r01 inlet_temp=22.5,power_w=9800i,uptime=5i ${t1}000000\nrack_env,host=node-2,rack=r02 exhaust_temp=35 ${t2}000000\n`,
        { qos: 1 },
      ),
      pub.publishAsync('bms/lab/cooling/cu1', JSON.stringify({ ts: t2, supplyTempF: 64.4, fanPct: 40 }), {
        qos: 1,
      }),
      pub.publishAsync(
        'hotaisle/ingest/lab/r02',
        JSON.stringify({ ts: t1, inlet: 21, outlet: 33, power: 7.5 }),
        { qos: 1 },
      ),
    ]);
    await waitFor(() => readings.length >= 9, { what: '9 readings' });

    const seen = readings
      .map((r) => `${r.kind}/${r.target}/${r.metric}=${Number(r.value.toFixed(6))}`)
      .sort();
    expect(seen).toEqual(
      [
        'rack/r01/power_kw=12.5',
        'rack/r01/inlet_c=22.5',
        'rack/r01/power_kw=9.8',
        'rack/r02/outlet_c=35',
        'cooling/cu1/supply_c=18',
        'cooling/cu1/fan_pct=40',
        'rack/r02/inlet_c=21',
        'rack/r02/outlet_c=33',
        'rack/r02/power_kw=7.5',
      ].sort(),
    );
    expect(readings.every((r) => r.site === 'lab')).toBe(true);
    expect(readings.find((r) => r.metric === 'inlet_c' && r.target === 'r01')?.ts).toBe(t1);
    expect(readings.find((r) => r.kind === 'cooling')?.ts).toBe(t2);
    const valueReading = readings.find((r) => r.metric === 'power_kw' && r.value === 12.5);
    expect(Math.abs((valueReading?.ts ?? 0) - now)).toBeLessThan(5000);
    expect(sub.stats().rejectsByReason.unknown_field).toBe(1); // Telegraf's uptime field
  });

  it('survives a flood of malformed messages and keeps every good reading', async () => {
    const { sub, readings } = subscriber({
      clientId: 'it-flood',
      broker: { deadLetterTopic: 'hotaisle/lab/deadletter' },
    });
    await sub.start();
    const pub = await publisher();
    await untilSubscribed(pub, readings);
    const before = sub.stats();
    const deadLetters: DeadLetter[] = [];
    await pub.subscribeAsync('hotaisle/lab/deadletter', { qos: 0 });
    pub.on('message', (topic, payload) => {
      if (topic === 'hotaisle/lab/deadletter') deadLetters.push(JSON.parse(payload.toString()) as DeadLetter);
    });

    const N = 400;
    const now = Date.now();
    const bad: Array<[string, string | Buffer]> = [
      ['hotaisle/ingest/lab/r01', '{"inlet": 21,'], // bad JSON
      ['hotaisle/ingest/lab/r01', '{"inlet": "warm"}'], // wrong type
      ['dc/lab/hall/a/r01/inlet', 'NaN'],
      ['hotaisle/ingest/lab/r77', '{"inlet": 21}'], // unknown rack
      ['hotaisle/ingest/lab/r01', Buffer.alloc(1024 * 1024, 0x41)], // 1 MB
      ['hotaisle/ingest/lab/r01', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x10])], // binary
      ['hotaisle/ingest/lab/r01', '{"inlet": 400}'], // absurd
    ];
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const sample = { ts: now - i, inlet: 20 + i / 1000, outlet: 30, power: 5 };
      sends.push(
        pub.publishAsync(`hotaisle/ingest/lab/r0${(i % 2) + 1}`, JSON.stringify(sample), { qos: 1 }),
      );
      const [topic, payload] = bad[i % bad.length]!;
      sends.push(pub.publishAsync(topic, payload, { qos: 1 }));
    }
    await Promise.all(sends);
    await waitFor(() => readings.length >= 3 * N, { timeoutMs: 20_000, what: `${3 * N} readings` });

    const inlets = new Set(readings.filter((r) => r.metric === 'inlet_c').map((r) => r.value));
    expect(inlets.size).toBe(N);
    for (let i = 0; i < N; i++) expect(inlets.has(20 + i / 1000)).toBe(true);
    const per = (k: number) => Math.floor(N / bad.length) + (k < N % bad.length ? 1 : 0);
    await waitFor(() => sub.stats().messagesReceived - before.messagesReceived >= 2 * N, {
      what: 'all messages counted',
    });
    expect(sub.stats().messagesReceived - before.messagesReceived).toBe(2 * N);
    expect(sub.stats().rejectsByReason).toMatchObject({
      malformed_payload: per(0) + per(5),
      not_a_number: per(1) + per(2),
      unknown_target: per(3),
      payload_too_large: per(4),
      implausible_value: per(6),
      unknown_field: 0,
    });
    expect(sub.isConnected()).toBe(true);
    expect(sub.stats().readingsAccepted - before.readingsAccepted).toBe(3 * N);

    await waitFor(() => deadLetters.length >= N, { what: 'one dead letter per bad message' });
    const big = deadLetters.find((d) => d.reason === 'payload_too_large');
    expect(big).toMatchObject({
      bytes: 1024 * 1024,
      truncated: true,
      encoding: 'utf8',
      topic: 'hotaisle/ingest/lab/r01',
    });
    expect(big?.payload.length).toBe(1024);
    const binary = deadLetters.find((d) => d.encoding === 'base64');
    expect(Buffer.from(binary?.payload ?? '', 'base64')).toEqual(
      Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x10]),
    );
    expect(deadLetters.find((d) => d.reason === 'unknown_target')?.detail).toContain('r77');
  });

  it('publishes a retained online status and "offline" on stop', async () => {
    const { sub } = subscriber({ clientId: 'it-status' });
    const pub = await publisher();
    const statuses: string[] = [];
    pub.on('message', (topic, payload) => {
      if (topic === 'hotaisle/lab/status') statuses.push(payload.toString());
    });
    await sub.start();
    await pub.subscribeAsync('hotaisle/lab/status', { qos: 1 });
    await waitFor(() => statuses.includes('online'), { what: 'online status' });
    // A clean disconnect is quick; a hung one would hit stop()'s 3 s fallback.
    const stopping = Date.now();
    await sub.stop();
    expect(Date.now() - stopping).toBeLessThan(1500);
    await waitFor(() => statuses.at(-1) === 'offline', { what: 'offline status' });
  });

  it('receives QoS 1 messages published while it was stopped (persistent session)', async () => {
    const first = subscriber({ clientId: 'it-persist' });
    await first.sub.start();
    const pub = await publisher();
    await untilSubscribed(pub, first.readings);
    await first.sub.stop();

    const M = 250;
    const now = Date.now();
    await Promise.all(
      Array.from({ length: M }, (_, i) =>
        pub.publishAsync('hotaisle/ingest/lab/r01', JSON.stringify({ ts: now - i, inlet: 18 + i / 1000 }), {
          qos: 1,
        }),
      ),
    );
    const second = subscriber({ clientId: 'it-persist' });
    await second.sub.start();
    await waitFor(() => second.readings.length >= M, { timeoutMs: 10_000, what: `${M} queued readings` });
    expect(new Set(second.readings.map((r) => r.value)).size).toBe(M);
    expect(first.readings).toHaveLength(0);
  });

  it('stops taking messages while the sink is saturated and resumes without losing any', async () => {
    let saturated = false;
    let relieve: () => void = () => {};
    const backpressure = {
      saturated: () => saturated,
      whenRelieved: () => new Promise<void>((resolve) => (relieve = resolve)),
    };
    const { sub, readings } = subscriber({ clientId: 'it-pressure', backpressure });
    await sub.start();
    const pub = await publisher();
    await untilSubscribed(pub, readings);

    saturated = true;
    const M = 200;
    const now = Date.now();
    await Promise.all(
      Array.from({ length: M }, (_, i) =>
        pub.publishAsync('hotaisle/ingest/lab/r01', JSON.stringify({ ts: now - i, inlet: 18 + i / 1000 }), {
          qos: 1,
        }),
      ),
    );
    // The broker has every message; the subscriber took the first and holds it unacked, asking for no more.
    await waitFor(() => sub.stats().pauses === 1, { what: 'the subscriber pauses' });
    await new Promise((r) => setTimeout(r, 300));
    expect(readings.length).toBe(1);
    expect(sub.stats().messagesReceived).toBeLessThan(M);

    saturated = false;
    relieve();
    await waitFor(() => readings.length >= M, { timeoutMs: 10_000, what: `all ${M} readings after relief` });
    expect(new Set(readings.map((r) => r.value)).size).toBe(M);
    expect(sub.stats().pauses).toBe(1);
  });

  it('keeps queued messages across a broker restart, and reconnects by itself', async () => {
    const first = subscriber({ clientId: 'it-restart' });
    await first.sub.start();
    const pub = await publisher();
    await untilSubscribed(pub, first.readings);
    await first.sub.stop();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        pub.publishAsync('hotaisle/ingest/lab/r02', JSON.stringify({ inlet: 19 + i / 100 }), { qos: 1 }),
      ),
    );
    await pub.endAsync();
    publishers.splice(publishers.indexOf(pub), 1);
    await broker.stop();
    await broker.start();

    const second = subscriber({ clientId: 'it-restart' });
    await second.sub.start();
    await waitFor(() => second.readings.length >= 50, {
      timeoutMs: 10_000,
      what: 'queued readings after restart',
    });

    // Broker goes away under a running subscriber: it reconnects, resubscribes and goes on.
    await broker.stop();
    await waitFor(() => !second.sub.isConnected(), { what: 'disconnect noticed' });
    await broker.start();
    await waitFor(() => second.sub.isConnected(), { timeoutMs: 10_000, what: 'reconnected' });
    expect(second.sub.stats().reconnects).toBe(1);
    const pub2 = await publisher();
    await pub2.publishAsync('hotaisle/ingest/lab/r02', JSON.stringify({ inlet: 26.5 }), { qos: 1 });
    await waitFor(() => second.readings.some((r) => r.value === 26.5), { what: 'reading after reconnect' });
  });

  it('splits a site between agents of one shared group (MQTT 5)', async () => {
    const shared = { sharedGroup: 'hotaisle' };
    const a = subscriber({ clientId: 'it-shared-a', broker: shared });
    const b = subscriber({ clientId: 'it-shared-b', broker: shared });
    await Promise.all([a.sub.start(), b.sub.start()]);
    const pub = await publisher();
    // Both members subscribed: markers until each has received one.
    await waitFor(
      async () => {
        await pub.publishAsync('hotaisle/ingest/lab/r01', JSON.stringify({ inlet: 15 }), { qos: 1 });
        return a.readings.length > 0 && b.readings.length > 0;
      },
      { intervalMs: 50, what: 'both group members receive' },
    );
    const markersSent = a.sub.stats().messagesReceived + b.sub.stats().messagesReceived;
    await waitFor(() => a.sub.stats().messagesReceived + b.sub.stats().messagesReceived >= markersSent);
    a.readings.length = 0;
    b.readings.length = 0;

    const N = 200;
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        pub.publishAsync('hotaisle/ingest/lab/r02', JSON.stringify({ inlet: 16 + i / 1000 }), { qos: 1 }),
      ),
    );
    await waitFor(() => a.readings.length + b.readings.length >= N, {
      what: `${N} readings across the group`,
    });
    const values = [...a.readings, ...b.readings].map((r) => r.value);
    expect(new Set(values).size).toBe(N); // each message went to exactly one member
    expect(values).toHaveLength(N);
    expect(a.readings.length).toBeGreaterThan(0);
    expect(b.readings.length).toBeGreaterThan(0);
  });

  it('rejects start() naming the URL when the broker is unreachable', async () => {
    const port = await freePort();
    const { sub } = subscriber({
      clientId: 'it-down',
      url: `mqtt://127.0.0.1:${port}`,
      connectTimeoutMs: 1500,
    });
    const started = Date.now();
    await expect(sub.start()).rejects.toThrow(
      `cannot connect to the MQTT broker at mqtt://127.0.0.1:${port}`,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(sub.isConnected()).toBe(false);
  });
});
