/**
 * The dashboard's pure parts (layout, latest values, snapshot, marks) on small known inputs, and its
 * routes over HTTP with the agent's error handling (SSE included) against an in-memory store.
 */
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentContext } from '../../src/agent.ts';
import { buildApiApp } from '../../src/api/server.ts';
import { type SiteConfig, SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { LatestValues } from '../../src/dashboard/latest.ts';
import { buildDashboardLayout, mapHorizon } from '../../src/dashboard/layout.ts';
import { DashboardModule } from '../../src/dashboard/module.ts';
import { buildSnapshot, type DashboardAlert, rackMarks } from '../../src/dashboard/snapshot.ts';
import type { ForecastSet } from '../../src/forecast/forecastSet.ts';
import { silentLogger } from '../../src/log.ts';
import type { HistoryQuery, TelemetryStore } from '../../src/store/store.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { waitFor } from '../helpers/poll.ts';

const T0 = Date.UTC(2026, 10, 27, 12);

/** Two rooms; row r1 lists its racks out of order; rack b2 has its own thresholds. */
function site(extraRack = false): SiteConfig {
  const rack = (id: string, position: number) => ({ id, position, powerCapKw: 20, feeds: { a: 'f' } });
  return SiteSchema.parse({
    site: { id: 'dc', name: 'Test hall', timezone: 'Europe/Amsterdam' },
    rooms: [
      {
        id: 'r1',
        rows: [
          { id: 'a', zone: 'z1', coldAisle: 'ca', racks: [rack('a2', 2), rack('a1', 1)] },
          { id: 'b', zone: 'z1', coldAisle: 'ca', racks: [rack('b1', 1), rack('b2', 2)] },
        ],
      },
      {
        id: 'r2',
        name: 'Room two',
        rows: [{ id: 'c', zone: 'z2', racks: [rack('c1', 1), ...(extraRack ? [rack('c2', 2)] : [])] }],
      },
    ],
    coolingUnits: [
      { id: 'u1', room: 'r1', zone: 'z1', capacityKw: 100 },
      { id: 'u2', room: 'r2', zone: 'z2', capacityKw: 100 },
    ],
    alerts: { overrides: [{ rack: 'b2', inletWarnC: 25, inletCriticalC: 30 }] },
  });
}

const reading = (
  target: string,
  metric: string,
  value: number,
  ts: number,
  kind: 'rack' | 'cooling' = 'rack',
) => ({ kind, site: 'dc', target, metric, value, ts }) satisfies Reading;

function forecastSet(rackIds: string[], predicted: number[], hotspots: string[] = []): ForecastSet {
  const H = 3;
  const arr = (f: (v: number) => number) => Float64Array.from(predicted.flatMap((v) => [v, f(v), v]));
  return {
    site: 'dc',
    ts: T0,
    modelVersion: 3,
    horizonsMin: [5, 15, 30],
    rackIds,
    current: Float64Array.from(predicted),
    predicted: arr((v) => v + 1),
    lo: arr((v) => v),
    hi: arr((v) => v + 2),
    tier: new Int8Array(rackIds.length),
    degraded: new Uint16Array(rackIds.length * H),
    hotspots: hotspots.map((rack) => ({
      rack,
      severity: 'warn' as const,
      warnInMin: 10,
      criticalInMin: null,
      peakC: 28,
      peakHorizonMin: 15,
      currentC: 24,
    })),
    elapsedMs: 1,
  };
}

const alert = (rack: string, over: Partial<DashboardAlert> = {}): DashboardAlert => ({
  fingerprint: `fp-${rack}-${over.rule ?? 'InletBreach'}`,
  rule: 'InletBreach',
  state: 'firing',
  severity: 'critical',
  labels: { site: 'dc', rack },
  ...over,
});

describe('dashboard layout', () => {
  it('lists rooms, rows and racks in position order with per-rack thresholds and units per room', () => {
    const s = site();
    const layout = buildDashboardLayout(s, buildSiteIndex(s));
    expect(layout.rooms.map((r) => r.id)).toEqual(['r1', 'r2']);
    expect(layout.rooms[0]!.rows[0]!.racks.map((r) => r.id)).toEqual(['a1', 'a2']);
    expect(layout.rooms[0]!.coolingUnits.map((u) => u.id)).toEqual(['u1']);
    expect(layout.rooms[1]!.name).toBe('Room two');
    const b2 = layout.rooms[0]!.rows[1]!.racks.find((r) => r.id === 'b2')!;
    expect([b2.warnC, b2.criticalC]).toEqual([25, 30]);
    const b1 = layout.rooms[0]!.rows[1]!.racks.find((r) => r.id === 'b1')!;
    expect([b1.warnC, b1.criticalC]).toEqual([27, 32]);
    expect(layout.rackIds).toHaveLength(5);
    expect(layout.staleAfterSeconds).toBe(15 * 8);
    expect(layout.forecastHorizonMin).toBe(15);
  });

  it('changes its version when the layout changes, and only then', () => {
    const a = buildDashboardLayout(site(), buildSiteIndex(site()));
    const same = buildDashboardLayout(site(), buildSiteIndex(site()));
    const grown = buildDashboardLayout(site(true), buildSiteIndex(site(true)));
    expect(same.version).toBe(a.version);
    expect(grown.version).not.toBe(a.version);
  });

  it('shows the horizon closest to 15 minutes', () => {
    expect(mapHorizon([5, 15, 30])).toBe(15);
    expect(mapHorizon([10, 30])).toBe(10);
    expect(mapHorizon([60, 120])).toBe(60);
  });
});

describe('latest values', () => {
  it('keeps the newest reading per metric; a late older one does not replace it', () => {
    const latest = new LatestValues();
    latest.observe([reading('a1', 'inlet_c', 24, T0 + 2000), reading('a1', 'power_kw', 9, T0)]);
    latest.observe([reading('a1', 'inlet_c', 21, T0 + 1000)]);
    expect(latest.rack('a1', 'inlet_c')).toEqual({ value: 24, ts: T0 + 2000 });
    expect(latest.rackLastSeen('a1')).toBe(T0 + 2000);
    expect(latest.rackLastSeen('a2')).toBeUndefined();
    latest.observe([reading('u1', 'supply_c', 18, T0, 'cooling')]);
    expect(latest.coolingUnit('u1', 'supply_c')?.value).toBe(18);
    expect(latest.rack('u1', 'supply_c')).toBeUndefined();
  });
});

describe('snapshot', () => {
  const s = site();
  const layout = buildDashboardLayout(s, buildSiteIndex(s));

  it('gives columns in layout order, forecasts mapped by rack id, and ages', () => {
    const latest = new LatestValues();
    latest.observe([
      reading('b1', 'inlet_c', 23.456, T0 - 4000),
      reading('u2', 'fan_pct', 40, T0 - 1000, 'cooling'),
    ]);
    // The forecaster's rack order differs from the layout's.
    const set = forecastSet(['c1', 'b2', 'b1', 'a2', 'a1'], [30, 29, 28, 27, 26]);
    const snap = buildSnapshot({ layout, latest, forecast: set, alerts: [], silenced: () => false, now: T0 });
    const i = layout.rackIds.indexOf('b1');
    expect(snap.racks.inletC[i]).toBe(23.46);
    expect(snap.racks.ageSeconds[i]).toBe(4);
    expect(snap.racks.ageSeconds[layout.rackIds.indexOf('a1')]).toBeNull();
    // horizon 15 is the middle one: predicted v + 1, hi v + 2
    expect(snap.racks.forecastC[i]).toBe(29);
    expect(snap.racks.forecastHiC[layout.rackIds.indexOf('c1')]).toBe(32);
    expect(snap.cooling.fanPct[layout.coolingUnitIds.indexOf('u2')]).toBe(40);
    expect(snap.forecast).toEqual({ issuedAt: new Date(T0).toISOString(), horizonMin: 15, modelVersion: 3 });
    expect(snap.layoutVersion).toBe(layout.version);
  });

  it('marks each rack with its most urgent alert or forecast hotspot', () => {
    const marks = rackMarks(
      ['a1', 'a2', 'b1', 'b2', 'c1'],
      [
        alert('a1', { state: 'pending' }),
        alert('a1'),
        alert('a2', { state: 'pending', severity: 'warning' }),
        alert('b1', { rule: 'PredictedHotspot', severity: 'warning' }),
        alert('c1', { state: 'resolved' }),
      ],
      forecastSet(['b2'], [24], ['b2']),
    );
    expect(marks).toEqual(['critical', 'pending', 'predicted', 'predicted', null]);
  });

  it('counts alerts by list and changes the revision on acknowledge and silence', () => {
    const latest = new LatestValues();
    const base = { layout, latest, forecast: undefined, now: T0 };
    const alerts = [alert('a1'), alert('a2', { state: 'pending' }), alert('b1', { state: 'resolved' })];
    const plain = buildSnapshot({ ...base, alerts, silenced: () => false }).alerts;
    expect(plain).toMatchObject({ firing: 1, pending: 1, silenced: 0, resolved: 1 });
    const acked = buildSnapshot({
      ...base,
      alerts: [{ ...alerts[0]!, acknowledgedAt: T0 }, ...alerts.slice(1)],
      silenced: () => false,
    }).alerts;
    const quiet = buildSnapshot({ ...base, alerts, silenced: (a) => a.labels.rack === 'a1' }).alerts;
    expect(quiet).toMatchObject({ firing: 0, pending: 1, silenced: 1 });
    expect(new Set([plain.revision, acked.revision, quiet.revision]).size).toBe(3);
  });
});

describe('dashboard routes', () => {
  let app: FastifyInstance | undefined;
  let module: DashboardModule | undefined;
  afterEach(async () => {
    await app?.close();
    await module?.stop();
  });

  async function serve(queries: HistoryQuery[] = []) {
    const s = site();
    const index = buildSiteIndex(s);
    const store: TelemetryStore = {
      name: 'memory',
      start: async () => {},
      write: async () => undefined,
      query: async (q) => {
        queries.push(q);
        if (q.kind !== 'rack' || !q.targets) return [];
        return [{ target: 'a1', metric: 'inlet_c', points: [{ ts: T0 - 60_000, value: 22.04 }] }];
      },
      ping: async () => true,
      health: () => ({ connected: true }),
      stop: async () => {},
    };
    const ctx: AgentContext = {
      site: s,
      index,
      log: silentLogger(),
      store,
      brokerUrl: 'mqtt://127.0.0.1:1',
      brokerCredentials: {},
    };
    module = new DashboardModule({ now: () => T0, snapshotEveryMs: 100, alertCheckEveryMs: 50 });
    await module.start(ctx);
    app = await buildApiApp({ log: silentLogger(), routes: module.routes() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    context = ctx;
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }
  let context: AgentContext;

  it('serves the page, its assets, layout and history, with the shared error shape for unknowns', async () => {
    const queries: HistoryQuery[] = [];
    const url = await serve(queries);
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('/dashboard/app.js');
    const js = await fetch(`${url}/dashboard/app.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    const missing = await fetch(`${url}/dashboard/..%2Fmodule.ts`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('HOTAISLE_NOT_FOUND');

    const layout = (await (await fetch(`${url}/v1/layout`)).json()) as { rackIds: string[] };
    expect(layout.rackIds).toHaveLength(5);

    const history = (await (await fetch(`${url}/v1/racks/a1/history?minutes=30`)).json()) as {
      series: Record<string, Array<[number, number]>>;
      windowSeconds: number;
    };
    expect(history.series.inlet_c).toEqual([[T0 - 60_000, 22.04]]);
    expect(history.series.power_kw).toEqual([]);
    const q = queries.at(-1)!;
    expect(q.targets).toEqual(['a1']);
    expect(q.to - q.from).toBe(30 * 60_000);
    expect(history.windowSeconds * 1000).toBe(q.windowMs);

    const unknown = await fetch(`${url}/v1/racks/zz/history`);
    expect(unknown.status).toBe(404);
    const bad = await fetch(`${url}/v1/racks/a1/history?minutes=0`);
    expect(bad.status).toBe(400);
  });

  it('streams snapshots as server-sent events, starting with the current one', async () => {
    const url = await serve();
    // node:http rather than fetch: destroying it closes the socket at once (fetch pools it a while).
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${url}/v1/dashboard/stream`, resolve).on('error', reject),
    );
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
    });
    const events = () => text.split('\n').filter((l) => l.startsWith('event: snapshot')).length;
    // The first event comes at once, the next ones every 100 ms here.
    await waitFor(() => events() >= 3, { timeoutMs: 5000, what: 'three snapshot events' });
    const first = text.split('\n').find((l) => l.startsWith('data: '))!;
    const snap = JSON.parse(first.slice(6)) as { racks: { inletC: unknown[] }; layoutVersion: string };
    expect(snap.racks.inletC).toHaveLength(5);
    expect(module!.streams).toBe(1);
    res.destroy();
    await waitFor(() => module!.streams === 0, { timeoutMs: 2000, what: 'stream closed on the server' });
  });

  it('lets the server close while a page still holds the stream open', async () => {
    const url = await serve();
    const res = await fetch(`${url}/v1/dashboard/stream`);
    const reader = res.body!.getReader();
    await reader.read();
    const started = Date.now();
    await app!.close();
    app = undefined;
    expect(Date.now() - started).toBeLessThan(3000);
    // The client sees the stream end rather than hang.
    await waitFor(async () => (await reader.read()).done, { what: 'stream ended' });
  });

  it('follows a live config change: new layout version, one column per rack of the new site', async () => {
    const url = await serve();
    const before = (await (await fetch(`${url}/v1/dashboard/snapshot`)).json()) as { layoutVersion: string };
    const grown = site(true);
    module!.reconfigure({ ...context, site: grown, index: buildSiteIndex(grown) });
    const layout = (await (await fetch(`${url}/v1/layout`)).json()) as { version: string; rackIds: string[] };
    const after = (await (await fetch(`${url}/v1/dashboard/snapshot`)).json()) as {
      layoutVersion: string;
      racks: { inletC: unknown[] };
    };
    expect(layout.rackIds).toContain('c2');
    expect(after.layoutVersion).toBe(layout.version);
    expect(after.layoutVersion).not.toBe(before.layoutVersion);
    expect(after.racks.inletC).toHaveLength(6);
  });
});
