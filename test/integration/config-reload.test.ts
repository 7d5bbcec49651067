/**
 * Live configuration end to end: a real agent (embedded broker and store on free loopback ports, temp
 * dirs) runs from a site file in a temp dir that the test edits like an operator would. A valid
 * change is applied without a restart (a new rack ingests over MQTT into the store, a lower threshold
 * raises an alert); an invalid one is refused with `hotaisle validate`'s exact problems, the last good
 * config stays in force and ConfigReloadRejected fires; the fixed file applies and it resolves.
 * The SIGHUP path is driven through the run command's handler, never a real signal.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type AgentContext, type AgentModule } from '../../src/agent.ts';
import { AlertsModule } from '../../src/alerts/alertsModule.ts';
import { sighupHandler } from '../../src/cli/run.ts';
import { runValidate } from '../../src/cli/validate.ts';
import type { RuntimeOverrides } from '../../src/config/overrides.ts';
import { ConfigReloadModule } from '../../src/config/reloadModule.ts';
import { loadSiteWithOverrides } from '../../src/config/watcher.ts';
import { ForecastModule } from '../../src/forecast/forecastModule.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { RecommendModule } from '../../src/recommend/module.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { waitFor } from '../helpers/poll.ts';
import { freePort } from '../helpers/ports.ts';

/** Sees what the agent accepts, and the context modules get (the store, the current site). */
class Probe implements AgentModule {
  readonly name = 'probe';
  ctx: AgentContext | undefined;
  readonly seen: Reading[] = [];
  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
  }
  async stop(): Promise<void> {}
  observe(readings: readonly Reading[]): void {
    this.seen.push(...readings);
  }
  reconfigure(ctx: AgentContext): void {
    this.ctx = ctx;
  }
  count(rack: string): number {
    return this.seen.filter((r) => r.target === rack).length;
  }
}

interface SiteText {
  brokerPort: number;
  racks: string[];
  warnC: number;
  /** Appended to the r1 rack line's map, e.g. a broken field. */
  r1Extra?: string;
  /** Topic of the JSON mapping; default hotaisle/ingest/{site}/{rack}. */
  topic?: string;
}

function siteYaml(s: SiteText): string {
  const racks = s.racks
    .map(
      (id, i) =>
        `          - { id: ${id}, position: ${i + 1}, powerCapKw: 30, feeds: { a: fa }${id === 'r1' && s.r1Extra ? `, ${s.r1Extra}` : ''} }`,
    )
    .join('\n');
  return `site: { id: t, name: Reload test }
rooms:
  - id: hall
    rows:
      - id: a
        zone: z1
        racks:
${racks}
coolingUnits: [{ id: cu1, room: hall, zone: z1, capacityKw: 100 }]
powerFeeds: [{ id: fa, capacityKw: 200 }]
thresholds: { inletWarnC: ${s.warnC}, inletCriticalC: 35 }
telemetry:
  - topic: ${s.topic ?? 'hotaisle/ingest/{site}/{rack}'}
    format: json
    timestampField: ts
    precision: ms
    fields: { inlet: inlet_c, power: power_kw }
broker: { kind: embedded, host: 127.0.0.1, port: ${s.brokerPort} }
storage: { kind: embedded, flushIntervalMs: 50 }
alerts: { forSeconds: 0, resolveSeconds: 600, readingIntervalSeconds: 1 }
forecast: { trainCron: 'off' }
`;
}

/** The way editors save: write a temporary file beside it, rename it over the original. */
function save(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

interface Running {
  agent: Agent;
  probe: Probe;
  alerts: AlertsModule;
  forecast: ForecastModule;
  config: ConfigReloadModule;
  publisher: MqttClient;
  file: string;
  brokerPort: number;
  stop(): Promise<void>;
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'hotaisle-reload-it-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** `editWhileStarting`: rewrite the file after it was loaded, before the agent starts (a late edit). */
async function startAgent(
  name: string,
  watch: boolean,
  editWhileStarting?: (file: string, brokerPort: number) => void,
): Promise<Running> {
  const dir = join(work, name);
  const file = join(dir, 'site.yaml');
  const brokerPort = await freePort();
  const overrides: RuntimeOverrides = { apiPort: 0, dataDir: join(dir, 'data') };
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, siteYaml({ brokerPort, racks: ['r1', 'r2'], warnC: 27 }));
  const loaded = loadSiteWithOverrides(file, [overrides]);
  if (!loaded.ok) throw new Error(`test site does not load: ${JSON.stringify(loaded.problems)}`);
  editWhileStarting?.(file, brokerPort);

  const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const probe = new Probe();
  const forecast = new ForecastModule({
    modelsDir: join(dir, 'models'),
    cycleMs: 3_600_000,
    trainCron: 'off',
  });
  // Long period: the test runs evaluations itself.
  const alerts = new AlertsModule({ hotspots: forecast, evaluateMs: 3_600_000 });
  const config = new ConfigReloadModule({
    file,
    overrides: [overrides],
    watch,
    debounceMs: 50,
    operatorAlerts: alerts,
    ...(loaded.hash !== undefined ? { loadedHash: loaded.hash } : {}),
  });
  const agent = new Agent({
    site: loaded.config,
    log,
    modules: [probe, forecast, alerts, new RecommendModule(), config],
  });
  await agent.start();
  const publisher = await mqtt.connectAsync(agent.brokerUrl, { clientId: `reload-it-pub-${name}` });
  return {
    agent,
    probe,
    alerts,
    forecast,
    config,
    publisher,
    file,
    brokerPort,
    async stop() {
      await publisher.endAsync();
      await agent.stop();
    },
  };
}

const INGEST = 'hotaisle/ingest/t';

async function publishInlet(r: Running, rack: string, inletC: number, prefix = INGEST): Promise<void> {
  await r.publisher.publishAsync(`${prefix}/${rack}`, JSON.stringify({ ts: Date.now(), inlet: inletC }), {
    qos: 1,
  });
}

/** Publish `rack` (under `prefix`), then a marker reading on r1 under a topic the agent routes. */
async function publishThenMarker(
  r: Running,
  rack: string,
  inletC: number,
  prefix = INGEST,
  markerPrefix = prefix,
): Promise<void> {
  const before = r.probe.count('r1');
  await publishInlet(r, rack, inletC, prefix);
  await publishInlet(r, 'r1', 21, markerPrefix);
  await waitFor(() => r.probe.count('r1') > before + (rack === 'r1' ? 1 : 0), {
    what: 'the r1 marker reading',
  });
}

function validateLines(file: string): string[] {
  const out: string[] = [];
  expect(runValidate([file], (line) => out.push(line))).toBe(1);
  return out.flatMap((l) => l.split('\n'));
}

/** A sample's value from GET /metrics: the line of `name` that carries every label in `labels`. */
async function metric(r: Running, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${r.agent.apiUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) &&
        Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

const reloadRejected = (r: Running) => r.alerts.alerts().find((a) => a.rule === 'ConfigReloadRejected');

describe('live configuration on a running agent', () => {
  let r: Running;
  beforeAll(async () => {
    r = await startAgent('watch', true);
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('applies a new rack from the watched file: its readings are then accepted and stored', async () => {
    await publishThenMarker(r, 'r9', 22);
    expect(r.probe.count('r9')).toBe(0); // unknown rack before the change

    save(r.file, siteYaml({ brokerPort: r.brokerPort, racks: ['r1', 'r2', 'r9'], warnC: 27 }));
    await waitFor(() => r.config.status().lastReload?.ok, { what: 'the change is applied' });
    expect(r.config.status().lastReload?.changes).toEqual(['racks added: r9']);
    expect(r.agent.index.rackIds).toContain('r9');

    await publishThenMarker(r, 'r9', 22.5);
    expect(r.probe.count('r9')).toBe(1);
    const store = r.probe.ctx!.store;
    const stored = await waitFor(
      async () => {
        const series = await store.query({
          kind: 'rack',
          site: 't',
          targets: ['r9'],
          metrics: ['inlet_c'],
          from: Date.now() - 60_000,
          to: Date.now() + 1000,
        });
        return series[0]?.points.length ? series[0].points : undefined;
      },
      { what: 'r9 in the store' },
    );
    expect(stored.map((p) => p.value)).toEqual([22.5]);

    // The forecaster was rebuilt for the new layout: r9 is forecast.
    r.forecast.cycle();
    expect(r.forecast.latest()?.rackIds).toContain('r9');
  });

  it('applies a lower threshold: the same inlet now raises InletBreach, and GET /v1/config says so', async () => {
    const breach = () => r.alerts.alerts().find((a) => a.rule === 'InletBreach' && a.labels.rack === 'r2');
    await publishThenMarker(r, 'r2', 25.5);
    await r.alerts.evaluateNow();
    expect(breach()).toBeUndefined();

    save(r.file, siteYaml({ brokerPort: r.brokerPort, racks: ['r1', 'r2', 'r9'], warnC: 24 }));
    await waitFor(() => r.config.status().lastReload?.changes.includes('changed: thresholds'), {
      what: 'the threshold change is applied',
    });
    await publishThenMarker(r, 'r2', 25.5);
    await r.alerts.evaluateNow();
    expect(breach()).toMatchObject({ state: 'firing', severity: 'warning' });

    const res = await fetch(`${r.agent.apiUrl}/v1/config`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      site: string;
      file: string;
      version: string;
      watching: boolean;
      lastReload: { ok: boolean; trigger: string; changes: string[] };
    };
    expect(body).toMatchObject({ site: 't', file: r.file, watching: true });
    expect(body.version).toMatch(/^[0-9a-f]{16}$/);
    expect(body.lastReload).toMatchObject({ ok: true, trigger: 'watch', changes: ['changed: thresholds'] });
  });

  it('refuses an invalid file with validate’s exact problems, keeps the last good config and raises an operator alert', async () => {
    save(
      r.file,
      siteYaml({
        brokerPort: r.brokerPort,
        racks: ['r1', 'r2'],
        warnC: 24,
        r1Extra: 'airflowM3s: -1, powerCapKW: 3',
      }),
    );
    await waitFor(() => r.config.status().lastReload?.ok === false, { what: 'the change is refused' });
    const expected = validateLines(r.file);
    expect(expected.length).toBeGreaterThan(0);
    expect(r.config.status().lastReload?.problems).toEqual(expected);
    expect(expected).toHaveLength(2);
    expect(expected.join('\n')).toMatch(/rooms\[0\]\.rows\[0\]\.racks\[0\]\.airflowM3s/);

    const alert = await waitFor(
      () => {
        const a = reloadRejected(r);
        return a?.state === 'firing' ? a : undefined;
      },
      { what: 'ConfigReloadRejected firing' },
    );
    expect(alert.severity).toBe('warning');
    expect(alert.description).toBe(expected.join('\n'));

    // The last good config stays in force: r9 (absent from the broken file) still ingests, warn is 24.
    await publishThenMarker(r, 'r9', 23);
    expect(r.probe.count('r9')).toBe(2);
    expect(r.agent.site.thresholds.inletWarnC).toBe(24);

    expect(await metric(r, 'hotaisle_config_last_reload_successful')).toBe(0);
    expect(await metric(r, 'hotaisle_config_reloads_total', { result: 'refused' })).toBe(1);

    // The API refuses the same way, in the shared error shape.
    const res = await fetch(`${r.agent.apiUrl}/v1/config/reload`, { method: 'POST' });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string; fields: unknown[] } };
    expect(body.error.code).toBe('HOTAISLE_CONFIG_INVALID');
    expect(body.error.message).toContain(expected[0]);
    expect(body.error.fields.length).toBe(expected.length);
  });

  it('applies the fixed file (r9 removed) and resolves the operator alert', async () => {
    save(r.file, siteYaml({ brokerPort: r.brokerPort, racks: ['r1', 'r2'], warnC: 24 }));
    await waitFor(() => r.config.status().lastReload?.ok, { what: 'the fixed file is applied' });
    expect(r.config.status().lastReload?.changes).toEqual(['racks removed: r9']);
    // Resolved at once, not after resolveSeconds (600 here); only the alerts' start-up warm-up
    // (3 reading intervals), when nothing may resolve yet, can hold it back.
    await waitFor(
      async () => {
        await r.alerts.evaluateNow();
        return reloadRejected(r)?.state === 'resolved';
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'ConfigReloadRejected resolved' },
    );
    expect(await metric(r, 'hotaisle_config_last_reload_successful')).toBe(1);
    expect(await metric(r, 'hotaisle_config_reloads_total', { result: 'applied' })).toBe(3);
    // Reloading on request with nothing new: 200, nothing changed.
    const res = await fetch(`${r.agent.apiUrl}/v1/config/reload`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, trigger: 'api', changes: [], problems: [] });
    // A removed rack is unknown again.
    const before = r.probe.count('r9');
    await publishThenMarker(r, 'r9', 23);
    expect(r.probe.count('r9')).toBe(before);
  });
});

describe('SIGHUP reload (the run command’s handler, no real signal)', () => {
  it('reloads the file when watching is off, reports restart-only fields, then reloads the model', async () => {
    const r = await startAgent('sighup', false);
    let modelReloads = 0;
    const onSighup = sighupHandler({
      config: r.config,
      forecast: {
        reloadModel: async () => {
          modelReloads++;
          return undefined;
        },
      },
      log: silentLogger(),
    });
    try {
      expect(r.config.status().watching).toBe(false);
      const otherPort = await freePort();
      writeFileSync(r.file, siteYaml({ brokerPort: otherPort, racks: ['r1', 'r2', 'r3'], warnC: 26 }));
      await onSighup();
      const last = r.config.status().lastReload;
      expect(last).toMatchObject({
        ok: true,
        trigger: 'signal',
        changes: ['racks added: r3', 'changed: thresholds'],
      });
      expect(last?.restartRequired.map((x) => x.path)).toEqual(['broker']);
      expect(await metric(r, 'hotaisle_config_restart_required')).toBe(1);
      // The broker keeps its running port until a restart; the rest is in service.
      expect(r.agent.site.broker.port).toBe(r.brokerPort);
      expect(r.agent.site.thresholds.inletWarnC).toBe(26);
      expect(modelReloads).toBe(1);
      await publishThenMarker(r, 'r3', 22);
      expect(r.probe.count('r3')).toBe(1);

      // A new topic for the mapping: subscribed at once, the old one dropped.
      writeFileSync(
        r.file,
        siteYaml({
          brokerPort: otherPort,
          racks: ['r1', 'r2', 'r3'],
          warnC: 26,
          topic: 'sensors/{site}/{rack}',
        }),
      );
      await onSighup();
      expect(r.config.status().lastReload?.changes).toEqual(['changed: telemetry']);
      await publishThenMarker(r, 'r3', 22.5, 'sensors/t', 'sensors/t');
      expect(r.probe.count('r3')).toBe(2);
      await publishThenMarker(r, 'r3', 23, INGEST, 'sensors/t');
      expect(r.probe.count('r3')).toBe(2);

      // A broken file through SIGHUP: refused, the model still reloaded.
      writeFileSync(r.file, 'site: { id: t }\nrooms: []\n');
      await onSighup();
      expect(r.config.status().lastReload).toMatchObject({ ok: false, trigger: 'signal' });
      expect(r.config.status().lastReload?.problems).toEqual(validateLines(r.file));
      expect(r.agent.index.rackIds).toEqual(['r1', 'r2', 'r3']);
      expect(modelReloads).toBe(3);
    } finally {
      await r.stop();
    }
  });
});

describe('an edit while the agent starts', () => {
  it('is applied as soon as the agent is up, though no file event comes after the watch began', async () => {
    const r = await startAgent('late-edit', true, (file, brokerPort) =>
      writeFileSync(file, siteYaml({ brokerPort, racks: ['r1', 'r2', 'r4'], warnC: 27 })),
    );
    try {
      await waitFor(() => r.config.status().lastReload?.ok, { what: 'the late edit is applied' });
      expect(r.config.status().lastReload?.changes).toEqual(['racks added: r4']);
      expect(r.agent.index.rackIds).toContain('r4');
    } finally {
      await r.stop();
    }
  });
});
