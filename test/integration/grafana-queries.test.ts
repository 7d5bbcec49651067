/**
 * Every query of deploy/grafana/hotaisle-dashboard.json, with the dashboard variables filled in as
 * Grafana would, runs against a real influxd holding data written by InfluxStore and returns data.
 * The unit test checks names; this one checks that InfluxQL accepts the queries and that they find
 * what the agent actually writes (tags, retention policy, forecast time stamps).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadSiteFile } from '../../src/config/loader.ts';
import { applyOverrides } from '../../src/config/overrides.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { silentLogger } from '../../src/log.ts';
import { InfluxStore } from '../../src/store/influxStore.ts';
import type { ForecastRecord } from '../../src/store/store.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { dashboardQueries, readDashboard, substitute } from '../helpers/grafanaDashboard.ts';
import { type InfluxdHandle, startInfluxd } from '../helpers/influxd.ts';

const MINUTE = 60_000;
let influxd: InfluxdHandle;
let store: InfluxStore;
let rackIds: readonly string[] = [];
const now = Math.floor(Date.now() / MINUTE) * MINUTE;
const from = now - 2 * 60 * MINUTE;

beforeAll(async () => {
  influxd = await startInfluxd();
  const lab = loadSiteFile('sites/lab.yaml');
  if (!lab.ok) throw new Error('sites/lab.yaml does not load');
  const site = applyOverrides(lab.config, { influxUrl: `http://127.0.0.1:${influxd.port}/grafana` });
  const index = buildSiteIndex(site);
  rackIds = index.rackIds;
  store = new InfluxStore({ index, log: silentLogger() });
  await store.start();

  // Two hours of a minute-by-minute lab hall: racks, cooling units and the site meter.
  const readings: Reading[] = [];
  const forecasts: ForecastRecord[] = [];
  const id = site.site.id;
  for (let ts = from; ts <= now; ts += MINUTE) {
    const k = (ts - from) / MINUTE;
    index.rackIds.forEach((rack, i) => {
      const inlet = 22 + i * 0.5 + Math.sin(k / 20);
      readings.push(
        { kind: 'rack', site: id, target: rack, metric: 'inlet_c', value: inlet, ts },
        { kind: 'rack', site: id, target: rack, metric: 'outlet_c', value: inlet + 12, ts },
        { kind: 'rack', site: id, target: rack, metric: 'power_kw', value: 10 + i, ts },
      );
      for (const horizonMin of site.forecast.horizonsMin) {
        const at = ts + horizonMin * MINUTE;
        forecasts.push({
          site: id,
          rack,
          horizonMin,
          model: 'v1',
          ts: at,
          inletC: inlet,
          loC: inlet - 1,
          hiC: inlet + 1,
        });
      }
    });
    for (const unit of index.coolingUnits.keys()) {
      readings.push(
        { kind: 'cooling', site: id, target: unit, metric: 'supply_c', value: 18, ts },
        { kind: 'cooling', site: id, target: unit, metric: 'return_c', value: 30, ts },
      );
    }
    readings.push({ kind: 'site', site: id, target: id, metric: 'power_kw', value: 150, ts });
  }
  await store.write(readings);
  await store.writeForecasts(forecasts);
  const alert = {
    site: id,
    rule: 'InletHigh',
    severity: 'warning',
    target: 'a1',
    value: 28,
    fingerprint: 'f1',
  };
  await store.writeAlertEvents([
    { ...alert, state: 'firing', message: 'a1 inlet 28 °C', ts: now - 30 * MINUTE },
    { ...alert, state: 'resolved', message: 'a1 inlet back to 26 °C', ts: now - 10 * MINUTE },
  ]);
});

afterAll(async () => {
  await store?.stop();
  await influxd?.dispose();
});

it('every panel, variable and annotation query returns data', async () => {
  const queries = dashboardQueries(readDashboard());
  expect(queries.length).toBeGreaterThan(10);
  const vars = { site: 'lab', room: 'lab', rack: 'a1', horizon: '15', cap_kw: '200' };
  const empty: string[] = [];
  for (const q of queries) {
    const text = substitute(q.query, { vars, fromMs: from, toMs: now + 30 * MINUTE, interval: '1m' });
    expect(text, q.where).not.toMatch(/\$[a-z_{]/);
    const raw = await store.rawQuery(text);
    const result = raw.results?.[0];
    expect(raw.error ?? result?.error, `${q.where}: ${text}`).toBeUndefined();
    const values = (result?.series ?? [])
      .flatMap((s) => s.values)
      .filter((row) => row.slice(1).some((v) => v !== null));
    if (values.length === 0) empty.push(`${q.where}: ${text}`);
  }
  expect(empty).toEqual([]);
});

it('the forecast panel finds forecasts ahead of now, and the variables list what was written', async () => {
  const queries = dashboardQueries(readDashboard());
  const forecast = queries.find((q) => /FROM "forecast"/.test(q.query) && q.where.startsWith('panel'));
  expect(forecast).toBeDefined();
  const vars = { site: 'lab', room: 'lab', rack: 'b2', horizon: '30', cap_kw: '200' };
  const ahead = substitute(forecast!.query, {
    vars,
    fromMs: now + MINUTE,
    toMs: now + 30 * MINUTE,
    interval: '1m',
  });
  const rows = (await store.rawQuery(ahead)).results?.[0]?.series?.[0]?.values ?? [];
  expect(rows.length).toBeGreaterThanOrEqual(29);

  const rackVariable = queries.find((q) => q.where === 'variable rack')!;
  const listed = await store.rawQuery(
    substitute(rackVariable.query, { vars, fromMs: from, toMs: now, interval: '1m' }),
  );
  const racks = (listed.results?.[0]?.series?.[0]?.values ?? []).map((row) => row[1]);
  expect(racks).toEqual([...rackIds].sort());
  expect(racks.length).toBeGreaterThan(1);
});
