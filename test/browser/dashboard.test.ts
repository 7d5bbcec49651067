/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a running
 * agent: the example site (100 racks, two rooms) on a real Mosquitto and the embedded store, with
 * forecasts, alerts, recommendations and the dashboard modules. Telemetry is published over MQTT
 * like a gateway would. Checks every rack is drawn, a hotspot turns its rack red without a reload,
 * the rack panel charts its history, and an alert can be acknowledged from the page; saves a
 * screenshot to test-artifacts/dashboard.png.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent.ts';
import { AlertsModule } from '../../src/alerts/alertsModule.ts';
import { loadSiteFile } from '../../src/config/loader.ts';
import { applyOverrides } from '../../src/config/overrides.ts';
import type { SiteConfig } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { DashboardModule } from '../../src/dashboard/module.ts';
import { ForecastModule } from '../../src/forecast/forecastModule.ts';
import { createLogger } from '../../src/log.ts';
import { RecommendModule } from '../../src/recommend/module.ts';
import { type MosquittoHandle, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/poll.ts';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const SCREENSHOT = 'test-artifacts/dashboard.png';
const RED = '#d7191c';
/** Page-side expressions are strings: this project compiles without the DOM library. */
const NAVIGATIONS = "performance.getEntriesByType('navigation').length";
const attributeIs = (selector: string, name: string, value: string) =>
  `document.querySelector(${JSON.stringify(selector)})?.getAttribute(${JSON.stringify(name)}) === ${JSON.stringify(value)}`;

let mosquitto: MosquittoHandle;
let work: string;
let agent: Agent;
let publisher: MqttClient;
let browser: Browser;
let page: Page;
let site: SiteConfig;

function exampleSite(dataDir: string): SiteConfig {
  const loaded = loadSiteFile('sites/example-gpu-hall.yaml');
  if (!loaded.ok) throw new Error('sites/example-gpu-hall.yaml does not load');
  const s = applyOverrides(loaded.config, { brokerUrl: mosquitto.url, apiPort: 0, dataDir });
  return {
    ...s,
    broker: { ...s.broker, clientId: 'hotaisle-dashboard-test' },
    storage: { ...s.storage, flushIntervalMs: 50 },
    // Fire at once, so the alert list has something to acknowledge within the test.
    alerts: { ...s.alerts, forSeconds: 0 },
  };
}

/** One compact JSON sample per rack (the site's hotaisle/ingest mapping), as a gateway would publish. */
function publishRack(rack: string, ts: number, inlet: number, power: number): Promise<unknown> {
  const body = JSON.stringify({ ts, inlet, outlet: inlet + 11, power });
  return publisher.publishAsync(`hotaisle/ingest/${site.site.id}/${rack}`, body, { qos: 1 });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hotaisle-dashboard-'));
  mosquitto = await startMosquitto();
  site = exampleSite(join(work, 'data'));
  const forecast = new ForecastModule({ modelsDir: join(work, 'models'), cycleMs: 1000, trainCron: 'off' });
  const alerts = new AlertsModule({ hotspots: forecast, evaluateMs: 500 });
  const recommend = new RecommendModule({ forecast: () => (forecast.latest() ? forecast : undefined) });
  const dashboard = new DashboardModule({
    forecast,
    alerts,
    plan: () => recommend.recommendations?.plan.list() ?? [],
    snapshotEveryMs: 500,
    alertCheckEveryMs: 200,
  });
  agent = new Agent({
    site,
    log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    modules: [forecast, alerts, recommend, dashboard],
  });
  await agent.start();
  publisher = await mqtt.connectAsync(mosquitto.url, { clientId: 'dashboard-test-publisher' });

  // Half an hour of history per rack, one sample a minute, ending now: a cool, steady hall at 40 %
  // of each rack's cap, with the cooling units reporting too (the BMS mapping, in °F).
  const now = Date.now();
  const sends: Array<Promise<unknown>> = [];
  agent.index.rackIds.forEach((rack, i) => {
    const kw = agent.index.racks.get(rack)!.rack.powerCapKw * 0.4;
    for (let k = 30; k >= 0; k--)
      sends.push(publishRack(rack, now - k * 60_000, 21 + (i % 5) * 0.4 + Math.sin(k / 5) * 0.3, kw));
  });
  for (const unit of site.coolingUnits) {
    const body = { ts: now, supplyTempF: 66.2, returnTempF: 82.4, fanPct: 55, powerKw: 18 };
    sends.push(
      publisher.publishAsync(`bms/${site.site.id}/cooling/${unit.id}`, JSON.stringify(body), { qos: 1 }),
    );
  }
  await Promise.all(sends);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${agent.apiUrl}/`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await publisher?.endAsync();
  await agent?.stop();
  await mosquitto?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('dashboard in Chromium', () => {
  it('draws every rack of the example site, each with its id, and colours them from live readings', async () => {
    const ids = buildSiteIndex(site).rackIds;
    expect(ids.length).toBe(100);
    await page.waitForFunction(
      `document.querySelectorAll('[data-rack]').length === ${ids.length}`,
      undefined,
      {
        timeout: 20_000,
      },
    );
    const drawn = await page.$$eval('[data-rack]', (els) => els.map((e) => e.getAttribute('data-rack')));
    expect([...drawn].sort()).toEqual([...ids].sort());
    const rooms = await page.$$eval('[data-room]', (els) => els.map((e) => e.getAttribute('data-room')));
    expect(rooms).toEqual(site.rooms.map((r) => r.id));
    const units = await page.$$eval('[data-unit]', (els) => els.length);
    expect(units).toBe(site.coolingUnits.length);

    // Every rack gets a reading through MQTT → agent → snapshot stream: none stays without data.
    await page.waitForFunction(
      `[...document.querySelectorAll('[data-rack]')].every((e) => e.getAttribute('data-level') === 'ok')`,
      undefined,
      { timeout: 30_000 },
    );
  });

  it('turns a rack red when its inlet goes above critical, without reloading the page', async () => {
    const hot = 'h05';
    const critical = site.thresholds.inletCriticalC;
    const rect = `[data-rack="${hot}"] rect.rack-body`;
    expect(await page.getAttribute(rect, 'fill')).not.toBe(RED);
    const navigations = await page.evaluate(NAVIGATIONS);

    await publishRack(hot, Date.now(), critical + 4, agent.index.racks.get(hot)!.rack.powerCapKw * 0.6);
    await page.waitForFunction(attributeIs(rect, 'fill', RED), undefined, { timeout: 20_000 });
    expect(await page.getAttribute(`[data-rack="${hot}"]`, 'data-level')).toBe('critical');
    // A neighbour that stayed cool is not red.
    expect(await page.getAttribute('[data-rack="h04"] rect.rack-body', 'fill')).not.toBe(RED);
    expect(await page.evaluate(NAVIGATIONS)).toBe(navigations);

    // The firing InletBreach marks the rack on the map.
    await page.waitForFunction(attributeIs(`[data-rack="${hot}"]`, 'data-mark', 'critical'), undefined, {
      timeout: 20_000,
    });
  });

  it('opens the rack panel with its charts when a rack is clicked', async () => {
    await page.click('[data-rack="h05"]');
    await page.waitForSelector('#rack-panel:not([hidden]) h2');
    expect(await page.textContent('#rack-panel h2')).toContain('h05');
    // The inlet history is drawn as a path through many points (30 minutes of stored readings).
    const inlet = '#rack-panel [data-chart="temperature"] path.line.inlet';
    // 'attached', not visible: a flat line has an empty bounding box, which playwright calls hidden.
    await page.waitForSelector(inlet, { state: 'attached', timeout: 20_000 });
    const points = Number(await page.getAttribute(inlet, 'data-points'));
    expect(points).toBeGreaterThan(10);
    const d = (await page.getAttribute(inlet, 'd')) ?? '';
    expect(d.split('L').length).toBe(points);
    await page.waitForSelector('#rack-panel [data-chart="power"] path.line.power', { state: 'attached' });
    // Thresholds are drawn as lines, and the forecast ahead of now once a cycle has run.
    expect(await page.$$eval('#rack-panel [data-chart="temperature"] line.hline', (l) => l.length)).toBe(2);
    await page.waitForSelector('#rack-panel [data-chart="temperature"] path.line.forecast', {
      state: 'attached',
      timeout: 20_000,
    });
    expect(await page.textContent('#rack-panel .facts')).toMatch(/Power headroom.*kW below the cap/);

    await mkdir('test-artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
  });

  it('shows the +15 min forecast on the map when toggled', async () => {
    await page.click('#forecast-toggle');
    expect(await page.textContent('#legend-title')).toContain('forecast +15 min');
    // The hot rack now shows what the agent forecasts for it, coloured by that value's level.
    const { inletWarnC: warnC, inletCriticalC: criticalC } = site.thresholds;
    await waitFor(
      async () => {
        const snap = (await (await fetch(`${agent.apiUrl}/v1/dashboard/snapshot`)).json()) as {
          racks: { forecastC: Array<number | null> };
        };
        const forecast = snap.racks.forecastC[agent.index.rackIds.indexOf('h05')];
        if (forecast === null || forecast === undefined) return false;
        const level = forecast >= criticalC ? 'critical' : forecast >= warnC ? 'warn' : 'ok';
        const label = await page.getAttribute('[data-rack="h05"]', 'aria-label');
        return (
          label === `rack h05, forecast ${forecast.toFixed(1)} °C, ${level}` &&
          (await page.getAttribute('[data-rack="h05"]', 'data-level')) === level
        );
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'h05 shows its forecast' },
    );
    await page.click('#forecast-toggle');
    expect(await page.getAttribute('[data-rack="h05"]', 'aria-label')).toBe(
      'rack h05, inlet 36.0 °C, critical',
    );
  });

  it('acknowledges the firing alert from the alerts list', async () => {
    const item = '[data-group="firing"] li.alert:has-text("h05")';
    await page.waitForSelector(item, { timeout: 20_000 });
    await page.click(`${item} button:has-text("Acknowledge")`);
    await page.waitForSelector(`${item} :text("acknowledged by")`, { timeout: 10_000 });
    const fingerprint = await page.getAttribute(item, 'data-fingerprint');
    const list = (await (await fetch(`${agent.apiUrl}/v1/alerts`)).json()) as {
      firing: Array<{ fingerprint: string; acknowledged: { by: string } | null }>;
    };
    expect(list.firing.find((a) => a.fingerprint === fingerprint)?.acknowledged?.by).toBe('dashboard');
  });

  it('silences an alert from the list and ends the silence again', async () => {
    const firing = '[data-group="firing"] li.alert:has-text("h05")';
    const silenced = '[data-group="silenced"] li.alert:has-text("h05")';
    await page.click(`${firing} button:has-text("Silence 60 min")`);
    await page.waitForSelector(silenced, { timeout: 10_000 });
    const silences = (await (await fetch(`${agent.apiUrl}/v1/silences`)).json()) as {
      silences: Array<{ status: string; matchers: Array<{ name: string; value: string }> }>;
    };
    const active = silences.silences.filter((x) => x.status === 'active');
    expect(active).toHaveLength(1);
    expect(active[0]!.matchers).toContainEqual(expect.objectContaining({ name: 'rack', value: 'h05' }));
    await page.click(`${silenced} button:has-text("End silence")`);
    await page.waitForSelector(firing, { timeout: 10_000 });
  });

  it('shows placement recommendations', async () => {
    await waitFor(async () => (await page.$$('#recommendations tbody tr')).length > 0, {
      timeoutMs: 20_000,
      what: 'placement candidates listed',
    });
    expect(await page.textContent('#recommendations')).not.toContain('placements:');
  });
});

describe('dashboard with API tokens', () => {
  const token = 'dashboard-viewer-token-0123456789';
  let secured: Agent;
  let viewer: Page;

  beforeAll(async () => {
    const base = exampleSite(join(work, 'secured'));
    secured = new Agent({
      site: { ...base, broker: { ...base.broker, clientId: 'hotaisle-dashboard-secured' } },
      log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      modules: [new DashboardModule({ snapshotEveryMs: 500 })],
      env: { HOTAISLE_API_TOKENS: `viewer:${token}` },
    });
    await secured.start();
    viewer = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 60_000);

  afterAll(async () => {
    await viewer?.close();
    await secured?.stop();
  });

  it('says a token is needed when opened without one', async () => {
    await viewer.goto(`${secured.apiUrl}/`);
    await viewer.waitForFunction(
      `document.getElementById('notice').textContent.includes('?token=')`,
      undefined,
      {
        timeout: 10_000,
      },
    );
    expect(await viewer.$$('[data-rack]')).toHaveLength(0);
  });

  it('sends the token given as ?token= on every call, keeps it, and drops it from the address bar', async () => {
    await viewer.goto(`${secured.apiUrl}/?token=${token}`);
    await viewer.waitForFunction(`document.querySelectorAll('[data-rack]').length === 100`, undefined, {
      timeout: 20_000,
    });
    expect(viewer.url()).not.toContain(token);
    // The stream is authorised too: a new reading reaches the map.
    await waitFor(
      async () => {
        await publishRack('k03', Date.now(), 24, 10);
        return (await viewer.getAttribute('[data-rack="k03"]', 'data-level')) === 'ok';
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'k03 coloured through the authorised stream' },
    );
    // This agent heard nothing from the other racks: they are shaded stale, k03 is not.
    expect(await viewer.getAttribute('[data-rack="k03"]', 'class')).not.toContain('stale');
    expect(await viewer.getAttribute('[data-rack="k04"]', 'class')).toContain('stale');
    expect(await viewer.$$('[data-rack].stale')).toHaveLength(99);
    // Reopened without the parameter: the stored token still works.
    await viewer.goto(`${secured.apiUrl}/`);
    await viewer.waitForFunction(`document.querySelectorAll('[data-rack]').length === 100`, undefined, {
      timeout: 20_000,
    });
  });
});
