/**
 * The embedded store's alert history (`<dataDir>/store/alerts.jsonl`): write, filtered queries
 * newest first, reload on start, retention, damaged lines; and GET /v1/alerts/history on top of it
 * through a real AlertsModule.
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertsModule } from '../../src/alerts/alertsModule.ts';
import { buildApiApp } from '../../src/api/server.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { silentLogger } from '../../src/log.ts';
import { selectAlertEvents } from '../../src/store/alertEventLog.ts';
import { EmbeddedStore } from '../../src/store/embeddedStore.ts';
import type { AlertEventRecord } from '../../src/store/store.ts';
import { alertsContext, labInlet } from '../helpers/alertsFixtures.ts';
import { waitFor } from '../helpers/poll.ts';
import { alertsLabSite } from '../helpers/sites.ts';
import { storeIndex } from '../helpers/storeFixtures.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

let dir: string;
let now = T0;
const cleanups: Array<() => Promise<unknown>> = [];

function makeStore(opts: { retentionDays?: number; readOnly?: boolean } = {}): EmbeddedStore {
  const s = new EmbeddedStore({
    index: storeIndex(),
    log: silentLogger(),
    dataDir: dir,
    now: () => now,
    ...opts,
  });
  cleanups.push(() => s.stop());
  return s;
}

function event(over: Partial<AlertEventRecord> & { ts: number }): AlertEventRecord {
  return {
    site: 'lab',
    rule: 'InletBreach',
    severity: 'critical',
    target: 'r1',
    state: 'firing',
    value: 33.5,
    message: 'r1 inlet 33.5 °C',
    fingerprint: 'fp-r1',
    ...over,
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotaisle-emb-alerts-'));
  now = T0;
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

const allOfLab = { site: 'lab', from: T0 - DAY, to: T0 + DAY };

describe('EmbeddedStore alert events', () => {
  it('answers newest first, filtered by time, site, rack and alertname, up to the limit', async () => {
    const store = makeStore();
    await store.start();
    await store.writeAlertEvents([
      event({ ts: T0 - 3000 }),
      event({ ts: T0 - 2000, target: 'r2', fingerprint: 'fp-r2', message: 'r2 inlet' }),
      event({ ts: T0 - 1000, rule: 'RackPowerHigh', severity: 'warning', value: 19 }),
      event({ ts: T0, site: 'other' }),
    ]);
    await store.writeAlertEvents([event({ ts: T0 + 1000, state: 'resolved', value: 22 })]);

    const all = await store.queryAlertEvents(allOfLab);
    expect(all.map((e) => e.ts)).toEqual([T0 + 1000, T0 - 1000, T0 - 2000, T0 - 3000]);
    expect(all[0]).toEqual(event({ ts: T0 + 1000, state: 'resolved', value: 22 }));

    const r1 = await store.queryAlertEvents({ ...allOfLab, rack: 'r1', alertname: 'InletBreach' });
    expect(r1.map((e) => [e.ts, e.state])).toEqual([
      [T0 + 1000, 'resolved'],
      [T0 - 3000, 'firing'],
    ]);
    const r2 = await store.queryAlertEvents({ ...allOfLab, rack: 'r2' });
    expect(r2.map((e) => e.message)).toEqual(['r2 inlet']);
    // from inclusive, to exclusive
    const window = await store.queryAlertEvents({ site: 'lab', from: T0 - 2000, to: T0 + 1000 });
    expect(window.map((e) => e.ts)).toEqual([T0 - 1000, T0 - 2000]);
    const newestTwo = await store.queryAlertEvents({ ...allOfLab, limit: 2 });
    expect(newestTwo.map((e) => e.ts)).toEqual([T0 + 1000, T0 - 1000]);
  });

  it('reloads the events on start, and keeps appending after a reload', async () => {
    const first = makeStore();
    await first.start();
    await first.writeAlertEvents([event({ ts: T0 - 1000 }), event({ ts: T0, value: Number.NaN })]);
    await first.stop();

    const second = makeStore();
    await second.start();
    const reloaded = await second.queryAlertEvents(allOfLab);
    expect(reloaded.map((e) => e.ts)).toEqual([T0, T0 - 1000]);
    expect(reloaded[0]?.value).toBeNaN();
    await second.writeAlertEvents([event({ ts: T0 + 5000, state: 'resolved' })]);
    await second.stop();

    const third = makeStore();
    await third.start();
    expect((await third.queryAlertEvents(allOfLab)).map((e) => e.state)).toEqual([
      'resolved',
      'firing',
      'firing',
    ]);
  });

  it('drops events past retention from queries, memory and the file', async () => {
    const store = makeStore({ retentionDays: 2 });
    await store.start();
    await store.writeAlertEvents([event({ ts: T0 }), event({ ts: T0 + DAY, fingerprint: 'fp-later' })]);
    now = T0 + 2 * DAY + 1;
    const wide = { site: 'lab', from: 0, to: T0 + 10 * DAY };
    // Expired for readers at once, before any prune ran.
    expect((await store.queryAlertEvents(wide)).map((e) => e.fingerprint)).toEqual(['fp-later']);
    await store.prune();
    expect(store.alertHistoryStats().events).toBe(1);
    const file = await readFile(join(store.dir, 'alerts.jsonl'), 'utf8');
    expect(file.trim().split('\n')).toHaveLength(1);
    expect(file).toContain('fp-later');
    // Appends go to the rewritten file.
    await store.writeAlertEvents([event({ ts: now, fingerprint: 'fp-new' })]);
    await store.stop();
    const again = makeStore({ retentionDays: 2 });
    await again.start();
    expect((await again.queryAlertEvents(wide)).map((e) => e.fingerprint)).toEqual(['fp-new', 'fp-later']);
  });

  it('skips and counts lines that do not parse, including one cut off by a crash', async () => {
    const store = makeStore();
    await store.start();
    await store.writeAlertEvents([event({ ts: T0 - 2000 })]);
    await store.stop();
    const path = join(store.dir, 'alerts.jsonl');
    await appendFile(path, 'not json\n{"ts":1,"site":"lab"}\n');
    await appendFile(path, JSON.stringify(event({ ts: T0 - 1000, fingerprint: 'fp-2' })));
    await appendFile(path, '\n{"ts":');

    const reopened = makeStore();
    await reopened.start();
    expect(reopened.alertHistoryStats()).toEqual({ events: 2, skippedLines: 3 });
    await reopened.writeAlertEvents([event({ ts: T0, fingerprint: 'fp-3' })]);
    expect((await reopened.queryAlertEvents(allOfLab)).map((e) => e.fingerprint)).toEqual([
      'fp-3',
      'fp-2',
      'fp-r1',
    ]);
    await reopened.stop();
    const last = makeStore();
    await last.start();
    expect(last.alertHistoryStats()).toEqual({ events: 3, skippedLines: 0 });
  });

  it('starts a new line after a last line cut off without a newline', async () => {
    const store = makeStore();
    await store.start();
    await store.writeAlertEvents([event({ ts: T0 - 1000 })]);
    await store.stop();
    // A whole record whose newline never reached the disk: kept, and the next append is not glued to it.
    const path = join(store.dir, 'alerts.jsonl');
    const text = await readFile(path, 'utf8');
    await rm(path);
    await appendFile(path, text.trimEnd());
    const reopened = makeStore();
    await reopened.start();
    await reopened.writeAlertEvents([event({ ts: T0, fingerprint: 'fp-after' })]);
    await reopened.stop();
    const last = makeStore();
    await last.start();
    expect(last.alertHistoryStats()).toEqual({ events: 2, skippedLines: 0 });
  });

  it('serializes appends so concurrent writes never interleave', async () => {
    const store = makeStore();
    await store.start();
    const long = 'x'.repeat(20_000);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.writeAlertEvents([event({ ts: T0 + i, message: long, fingerprint: `fp-${i}` })]),
      ),
    );
    await store.stop();
    const again = makeStore();
    await again.start();
    expect(again.alertHistoryStats()).toEqual({ events: 20, skippedLines: 0 });
  });

  it('refuses writes when opened read only, and reads what the writer left', async () => {
    const writer = makeStore();
    await writer.start();
    await writer.writeAlertEvents([event({ ts: T0 })]);
    const reader = makeStore({ readOnly: true });
    await reader.start();
    expect(await reader.queryAlertEvents(allOfLab)).toHaveLength(1);
    await expect(reader.writeAlertEvents([event({ ts: T0 + 1 })])).rejects.toThrow(/read only/);
  });
});

describe('selectAlertEvents', () => {
  it('defaults to the newest 200', () => {
    const sorted = Array.from({ length: 250 }, (_, i) => event({ ts: i }));
    const got = selectAlertEvents(sorted, { site: 'lab', from: 0, to: 1000 });
    expect(got).toHaveLength(200);
    expect(got[0]?.ts).toBe(249);
    expect(got.at(-1)?.ts).toBe(50);
  });
});

describe('GET /v1/alerts/history on the embedded store', () => {
  async function setup() {
    const site = alertsLabSite({
      racks: 2,
      storage: { dataDir: dir },
      // No receivers: nothing to reach (no MQTT wait); history records notifications all the same.
      alerts: { forSeconds: 0, resolveSeconds: 0, readingIntervalSeconds: 1, receivers: [], routes: [] },
    });
    const store = new EmbeddedStore({ index: buildSiteIndex(site), log: silentLogger() });
    await store.start();
    cleanups.push(() => store.stop());
    const clock = { now: Date.now() };
    const module = new AlertsModule({ dataDir: dir, evaluateMs: 3_600_000, now: () => clock.now });
    await module.start({ ...alertsContext(site), store });
    cleanups.push(() => module.stop());
    const app = await buildApiApp({ log: silentLogger(), routes: module.routes() });
    cleanups.push(() => app.close());
    return { app, module, clock, store };
  }

  it('returns the notifications the module stored, newest first, filtered by rack', async () => {
    const { app, module, clock } = await setup();
    const start = clock.now;
    module.observe([labInlet('r1', 33, clock.now), labInlet('r2', 22, clock.now)]);
    await module.evaluateNow();
    clock.now += 10_000; // past the warm-up that follows start
    module.observe([labInlet('r1', 22, clock.now), labInlet('r2', 22, clock.now)]);
    await module.evaluateNow();
    // recordHistory does not wait for the store: poll the route until both events are in.
    const url = `/v1/alerts/history?rack=r1&alertname=InletBreach&from=${start - 1000}&to=${new Date(clock.now + 1000).toISOString()}`;
    const res = await waitFor(
      async () => {
        const r = await app.inject({ method: 'GET', url });
        return r.statusCode !== 200 || (r.json() as { events: unknown[] }).events.length >= 2 ? r : undefined;
      },
      { what: 'firing and resolved InletBreach events' },
    );
    expect(res.statusCode).toBe(200);
    const body = res.json() as { events: Array<{ alertname: string; state: string; target: string }> };
    expect(body.events.map((e) => [e.alertname, e.state, e.target])).toEqual([
      ['InletBreach', 'resolved', 'r1'],
      ['InletBreach', 'firing', 'r1'],
    ]);
    const r2 = await app.inject({ method: 'GET', url: `/v1/alerts/history?rack=r2&from=${start - 1000}` });
    expect(r2.json()).toMatchObject({ events: [] });
    expect(module.stats().history.errors).toBe(0);
  });

  it('answers 400 naming the field for bad input', async () => {
    const { app } = await setup();
    for (const [query, field] of [
      ['from=yesterday', 'querystring.from'],
      ['limit=5001', 'querystring.limit'],
      ['limit=0', 'querystring.limit'],
      ['from=2000&to=1000', 'querystring.from'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: `/v1/alerts/history?${query}` });
      expect(res.statusCode, query).toBe(400);
      const body = res.json() as { error: { code: string; fields?: Array<{ path: string }> } };
      expect(body.error.code).toBe('HOTAISLE_BAD_REQUEST');
      expect(body.error.fields?.map((f) => f.path)).toContain(field);
    }
  });

  it('answers 501 HOTAISLE_NOT_SUPPORTED when the store keeps no history', async () => {
    const site = alertsLabSite({ alerts: { receivers: [], routes: [] } });
    const module = new AlertsModule({ dataDir: dir, evaluateMs: 3_600_000 });
    await module.start(alertsContext(site));
    cleanups.push(() => module.stop());
    const app = await buildApiApp({ log: silentLogger(), routes: module.routes() });
    cleanups.push(() => app.close());
    const res = await app.inject({ method: 'GET', url: '/v1/alerts/history' });
    expect(res.statusCode).toBe(501);
    expect(res.json()).toMatchObject({ error: { code: 'HOTAISLE_NOT_SUPPORTED' } });
  });
});
