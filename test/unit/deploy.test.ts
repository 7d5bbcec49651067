/**
 * deploy/ stays true to the code: every YAML parses, the Kubernetes site file loads, the manifests
 * reference each other correctly, every environment variable they set is one the agent reads, the
 * probe paths are real routes, and the Grafana dashboard only queries what the agent writes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadApiAuth, parseTokensFile } from '../../src/api/authTokens.ts';
import { healthRoutes } from '../../src/api/routes/health.ts';
import { buildApiApp } from '../../src/api/server.ts';
import { loadSiteFile } from '../../src/config/loader.ts';
import { silentLogger } from '../../src/log.ts';
import {
  DASHBOARD_FILE,
  dashboardQueries,
  readDashboard,
  unknownIdentifiers,
  writtenSchema,
} from '../helpers/grafanaDashboard.ts';

const K8S = 'deploy/kubernetes';

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter(keep)
    .sort();
}

// Minimal shapes of the manifests this test reads; anything else stays unknown.
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  env: EnvVar[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: object;
}
interface Deployment extends K8sObject {
  spec: {
    replicas: number;
    strategy: { type: string };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { securityContext: { runAsNonRoot?: boolean }; containers: Container[]; volumes: Volume[] };
    };
  };
}
interface Service extends K8sObject {
  spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string | number }> };
}
interface Kustomization {
  namespace: string;
  resources: string[];
  configMapGenerator: Array<{ name: string; files: string[] }>;
}

function k8sObjects(): K8sObject[] {
  const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as Kustomization;
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((d) => d.toJS() as K8sObject),
  );
}

function one<T extends K8sObject>(objects: K8sObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0] as T;
}

/** HOTAISLE_* names the agent's source reads from an environment (lines that mention env). */
function envNamesTheAgentReads(): Set<string> {
  const names = new Set<string>();
  for (const file of filesUnder('src', (f) => f.endsWith('.ts'))) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!/env/i.test(line)) continue;
      for (const m of line.matchAll(/\bHOTAISLE_[A-Z0-9_]+\b/g)) names.add(m[0]);
    }
  }
  return names;
}

describe('deploy/ files', () => {
  it('every YAML file parses, multi-document files included', () => {
    const files = filesUnder('deploy', (f) => /\.ya?ml$/.test(f));
    expect(files).toContain(join(K8S, 'deployment.yaml'));
    for (const file of files) {
      const docs = parseAllDocuments(readFileSync(file, 'utf8'));
      expect(docs.length, file).toBeGreaterThan(0);
      for (const d of docs) expect(d.errors.map((e) => `${file}: ${e.message}`)).toEqual([]);
    }
  });

  it('the Kubernetes site file passes the site loader and points at in-cluster services', () => {
    const loaded = loadSiteFile(join(K8S, 'site.yaml'));
    if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    const site = loaded.config;
    expect(site.broker.kind).toBe('external');
    expect(site.storage.kind).toBe('influx');
    expect(site.api.host).toBe('0.0.0.0');
    expect(site.broker.url).toMatch(/\.svc(:\d+)?$/);
    expect(site.storage.influx.host).toMatch(/\.svc$/);
  });
});

describe('Kubernetes manifests', () => {
  const objects = k8sObjects();
  const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const deployment = one<Deployment>(objects, 'Deployment');
  const service = one<Service>(objects, 'Service');
  const secret = one<K8sObject & { stringData: Record<string, string> }>(objects, 'Secret');
  const pvc = one(objects, 'PersistentVolumeClaim');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0]!;
  const generated = new Map(kustomization.configMapGenerator.map((g) => [g.name, g.files]));

  it('the Deployment references only the Secret keys, ConfigMaps and claim that are defined', () => {
    for (const e of container.env) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      expect(ref.name, e.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData), e.name).toContain(ref.key);
    }
    for (const v of pod.volumes) {
      if (v.configMap) expect([...generated.keys()]).toContain(v.configMap.name);
      if (v.persistentVolumeClaim) expect(v.persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
      if (v.secret) {
        expect(v.secret.secretName).toBe(secret.metadata.name);
        for (const item of v.secret.items ?? []) expect(Object.keys(secret.stringData)).toContain(item.key);
      }
    }
  });

  it("the Secret's tokens file is the agent's format, and its placeholders are refused until replaced", () => {
    const text = secret.stringData['api-tokens.yaml']!;
    const placeholders = parseTokensFile(text, 'api-tokens.yaml');
    expect(placeholders.entries).toEqual([]);
    expect(placeholders.problems.length).toBeGreaterThan(0);
    let n = 0;
    const replaced = text.replace(/REPLACE-ME-\d+/g, () => `${'0123456789abcdef'.repeat(2)}${n++}`);
    const real = parseTokensFile(replaced, 'api-tokens.yaml');
    expect(real.problems).toEqual([]);
    expect(real.entries.map((e) => e.role).sort()).toEqual(['operator', 'scheduler', 'viewer']);
  });

  it('the tokens file the site file names is mounted from the Secret', () => {
    const loaded = loadSiteFile(join(K8S, 'site.yaml'));
    if (!loaded.ok) throw new Error('site file does not load');
    const file = loaded.config.api.auth?.tokensFile;
    expect(file).toBeDefined();
    const mount = container.volumeMounts.find((m) => dirname(file!) === m.mountPath);
    expect(mount, `a volume mounted at ${dirname(file!)}`).toBeDefined();
    const volume = pod.volumes.find((v) => v.name === mount!.name);
    expect(volume?.secret?.items?.map((i) => i.path)).toContain(file!.split('/').at(-1));
  });

  it('--site names the site file the mounted ConfigMap holds', () => {
    const site = container.args[container.args.indexOf('--site') + 1]!;
    const mount = container.volumeMounts.find((m) => m.mountPath === dirname(site));
    expect(mount, `a volume mounted at ${dirname(site)}`).toBeDefined();
    const volume = pod.volumes.find((v) => v.name === mount!.name);
    expect(generated.get(volume!.configMap!.name)).toContain(site.split('/').at(-1));
  });

  it('runs as non-root on a read-only root filesystem with every path the agent writes on a writable volume', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    const loaded = loadSiteFile(join(K8S, 'site.yaml'));
    if (!loaded.ok) throw new Error('site file does not load');
    const env = new Map(container.env.map((e) => [e.name, e.value]));
    const modelsFlag = container.args.indexOf('--models-dir');
    const writes = [
      env.get('HOTAISLE_DATA_DIR') ?? loaded.config.storage.dataDir,
      modelsFlag >= 0 ? container.args[modelsFlag + 1]! : (loaded.config.forecast.modelsDir ?? 'models'),
      '/tmp',
    ];
    for (const path of writes) {
      const mount = container.volumeMounts.find(
        (m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`),
      );
      expect(mount, `a volume for ${path}`).toBeDefined();
      expect(mount!.readOnly ?? false, `${path} writable`).toBe(false);
    }
    // One agent per volume and broker session.
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe('Recreate');
  });

  it('the Service selects the pods and targets the container port; the scheduler extender calls it', () => {
    const labels = deployment.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) expect(labels[k], k).toBe(v);
    const port = service.spec.ports[0]!;
    expect(container.ports.map((p) => p.name)).toContain(port.targetPort);
    const extender = parse(readFileSync(join(K8S, 'scheduler-extender.yaml'), 'utf8')) as {
      extenders: Array<{ urlPrefix: string }>;
    };
    const url = new URL(extender.extenders[0]!.urlPrefix);
    expect(url.hostname).toBe(`${service.metadata.name}.${kustomization.namespace}.svc`);
    expect(Number(url.port)).toBe(port.port);
  });

  it('probes use paths the API serves without a token, even with tokens configured, on a named port', async () => {
    const probes = [container.startupProbe, container.livenessProbe, container.readinessProbe];
    expect(probes.every((p) => p !== undefined)).toBe(true);
    // Probes send no Authorization header: with auth on they must still get 200.
    const auth = loadApiAuth(undefined, { env: { HOTAISLE_API_TOKENS: `operator:${'a'.repeat(32)}` } });
    expect(auth.tokens.size).toBe(1);
    const app = await buildApiApp({
      log: silentLogger(),
      routes: [healthRoutes({ checks: [], registry: new Registry() })],
      auth,
    });
    try {
      for (const probe of probes) {
        expect(container.ports.map((p) => p.name)).toContain(probe!.httpGet.port);
        const res = await app.inject({ method: 'GET', url: probe!.httpGet.path });
        expect(res.statusCode, probe!.httpGet.path).toBe(200);
      }
      // compose's healthcheck asks the same API.
      const compose = readFileSync('deploy/compose.yaml', 'utf8');
      const healthPath = /fetch\('http:\/\/127\.0\.0\.1:8080(\/[a-z]+)'\)/.exec(compose)?.[1];
      expect(healthPath).toBeDefined();
      expect((await app.inject({ method: 'GET', url: healthPath! })).statusCode, healthPath).toBe(200);
      // The check above would pass for any path if unknown ones answered 200.
      expect((await app.inject({ method: 'GET', url: '/no-such-probe' })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
  it.skipIf(!kubectl)('kubectl kustomize builds every object into the namespace', () => {
    const out = execFileSync(kubectl!, ['kustomize', K8S], { encoding: 'utf8' });
    const built = parseAllDocuments(out).map(
      (d) => d.toJS() as K8sObject & { metadata: { namespace?: string } },
    );
    expect(built.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'Namespace',
        'PersistentVolumeClaim',
        'Secret',
        'Service',
      ].sort(),
    );
    for (const o of built.filter((x) => x.kind !== 'Namespace'))
      expect(o.metadata.namespace, o.kind).toBe(kustomization.namespace);
  });
});

describe('Prometheus metric names in deploy/', () => {
  it('every hotaisle_* metric the guide and the dashboard name is one the agent registers', () => {
    const registered = new Set<string>();
    for (const file of filesUnder('src', (f) => f.endsWith('.ts')))
      for (const m of readFileSync(file, 'utf8').matchAll(/'(hotaisle_[a-z0-9_]+)'/g)) registered.add(m[1]!);
    expect(registered).toContain('hotaisle_spool_depth_batches');
    const named = [DASHBOARD_FILE, 'deploy/OPERATIONS.md'].flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\b(hotaisle_[a-z0-9_]+)\b/g)].map((m) => `${file}: ${m[1]}`),
    );
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((n) => !registered.has(n.split(': ')[1]!))).toEqual([]);
  });
});

describe('environment variables in deploy/', () => {
  const read = envNamesTheAgentReads();

  it('the derived list holds the overrides and credentials (so the checks below can fail)', () => {
    for (const name of ['HOTAISLE_BROKER_URL', 'HOTAISLE_INFLUX_PASSWORD', 'HOTAISLE_MQTT_USERNAME'])
      expect(read).toContain(name);
    expect(read).not.toContain('HOTAISLE_NO_SUCH_SETTING');
  });

  it('every HOTAISLE_* name written anywhere in deploy/ (comments and docs too) is one the agent or compose reads', () => {
    const composeText = readFileSync('deploy/compose.yaml', 'utf8');
    const interpolated = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    const unknown: string[] = [];
    for (const file of filesUnder('deploy', (f) => /\.[a-z]+$|Dockerfile$/.test(f) && !f.endsWith('.json'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bHOTAISLE_[A-Z0-9_]+\b/g)) {
        if (!read.has(m[0]) && !interpolated.has(m[0])) unknown.push(`${file}: ${m[0]}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('the Kubernetes Deployment sets only variables the agent reads', () => {
    const deployment = one<Deployment>(k8sObjects(), 'Deployment');
    const names = deployment.spec.template.spec.containers.flatMap((c) => c.env.map((e) => e.name));
    expect(names.filter((n) => !read.has(n))).toEqual([]);
  });

  it('compose, env.example and the Dockerfile set only variables the agent (or compose itself) reads', () => {
    const composeText = readFileSync('deploy/compose.yaml', 'utf8');
    const compose = parse(composeText) as { services: { hotaisle: { environment: Record<string, string> } } };
    const composeEnv = Object.keys(compose.services.hotaisle.environment);
    expect(composeEnv.filter((n) => !read.has(n))).toEqual([]);
    const interpolated = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    const example = readFileSync('deploy/env.example', 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z]/.test(l))
      .map((l) => l.split('=')[0]!);
    expect(example.length).toBeGreaterThan(0);
    expect(example.filter((n) => !read.has(n) && !interpolated.has(n))).toEqual([]);
    const dockerEnv = [...readFileSync('deploy/Dockerfile', 'utf8').matchAll(/^ENV\s+([A-Z0-9_]+)=/gm)].map(
      (m) => m[1]!,
    );
    expect(dockerEnv.filter((n) => !read.has(n))).toEqual([]);
  });
});

/** Grafana replaces `${DS_INFLUXDB}` with the datasource chosen on import (the dashboard's __inputs). */
const DATASOURCE_INPUT = ['$', '{DS_INFLUXDB}'].join('');

describe('Grafana dashboard', () => {
  const dashboard = readDashboard();
  const schema = writtenSchema();
  const queries = dashboardQueries(dashboard);

  it('parses, uses the DS_INFLUXDB datasource input everywhere and has the site/room/rack variables', () => {
    expect(() => JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'))).not.toThrow();
    expect(queries.length).toBeGreaterThan(10);
    for (const q of queries) expect(q.datasourceUid, q.where).toBe(DATASOURCE_INPUT);
    const vars = dashboard.templating.list.map((v) => v.name);
    for (const name of ['site', 'room', 'rack']) expect(vars).toContain(name);
  });

  it('the written schema is derived from the encoders (forecast and alert included)', () => {
    expect([...schema.keys()].sort()).toEqual(['alert', 'cooling', 'forecast', 'rack', 'site']);
    expect([...schema.get('forecast')!.fields].sort()).toEqual(['hi_c', 'inlet_c', 'lo_c']);
    expect(schema.get('rack')!.tags).toContain('room');
  });

  it('every query references only measurements, tags and fields the agent writes', () => {
    for (const q of queries)
      expect(unknownIdentifiers(q.query, schema), `${q.where}: ${q.query}`).toEqual([]);
    // The check itself catches a wrong field and a measurement the agent does not write.
    expect(unknownIdentifiers('SELECT mean("inlet_temp") FROM "rack"', schema)).toEqual(['inlet_temp']);
    expect(unknownIdentifiers('SELECT "x" FROM "ingest"', schema)).toContain('measurement ingest');
  });

  it('every $variable a query, title or repeat uses is a template variable or a Grafana built-in', () => {
    const defined = new Set(dashboard.templating.list.map((v) => v.name));
    const builtIn = /^(timeFilter|__interval|__interval_ms|__all|col|tag_.+)$/;
    const text = readFileSync(DASHBOARD_FILE, 'utf8');
    const used = [...text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
    expect(used).toContain('rack');
    expect(
      used.filter((name) => !defined.has(name) && !builtIn.test(name) && name !== 'DS_INFLUXDB'),
    ).toEqual([]);
    const repeats = (JSON.parse(text) as { panels: Array<{ repeat?: string }> }).panels.flatMap((p) =>
      p.repeat ? [p.repeat] : [],
    );
    for (const r of repeats) expect(defined).toContain(r);
  });

  it('every panel and variable query filters by site (one dashboard, many sites in one database)', () => {
    for (const q of queries.filter((x) => !x.where.startsWith('variable site')))
      expect(q.query, q.where).toMatch(/"site" =~ \/\^\$site\$\//);
  });
});
