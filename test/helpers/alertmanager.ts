/**
 * A real Prometheus Alertmanager (Debian package prometheus-alertmanager) for integration tests:
 * free loopback port, temp dir for config and storage, no cluster listener. A missing binary throws.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, serviceProcess } from './service.ts';

export const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerHandle {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Stop and delete the directory. */
  stop(): Promise<void>;
}

/** What GET /api/v2/alerts returns per alert (the fields tests read). */
export interface GettableAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

export async function startAlertmanager(): Promise<AlertmanagerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'hotaisle-alertmanager-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir, 'alertmanager.yml');
  await writeFile(config, 'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n');
  const service = serviceProcess({
    name: 'alertmanager',
    bin: ALERTMANAGER_BIN,
    args: [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    installHint: 'apt install prometheus-alertmanager, or set ALERTMANAGER_BIN',
    ready: () => ready(url),
    readyTimeoutMs: 20_000,
  });
  try {
    await service.start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    stop: async () => {
      await service.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function alertmanagerAlerts(am: AlertmanagerHandle): Promise<GettableAlert[]> {
  const res = await fetch(`${am.url}/api/v2/alerts`);
  if (!res.ok) throw new Error(`GET /api/v2/alerts: ${res.status}`);
  return (await res.json()) as GettableAlert[];
}
