/**
 * A real influxd (1.x) for integration tests: temp data dir, free loopback ports, quiet logs.
 * A missing binary throws (never skips) so CI fails loudly instead of passing an empty suite.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, serviceProcess } from './service.ts';

export { freePort };

export const INFLUXD_BIN = process.env.INFLUXD_BIN ?? '/usr/bin/influxd';
const READY_TIMEOUT_MS = 20_000;

export interface InfluxdHandle {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Data directory (meta, data, wal) kept across stop()/start(). */
  readonly dir: string;
  readonly database?: string;
  /** Graceful stop (SIGTERM), waits for the process to exit. */
  stop(): Promise<void>;
  /** Start again on the same data directory and ports. */
  start(): Promise<void>;
  /** SIGKILL, like a crash; waits for the process to exit. */
  kill(): Promise<void>;
  /** Stop and delete the data directory. */
  dispose(): Promise<void>;
}

function configText(dir: string, httpPort: number, rpcPort: number): string {
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${join(dir, 'meta')}"
  logging-enabled = false

[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  query-log-enabled = false
  trace-logging-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
`;
}

async function pingOnce(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(1000) });
    return res.status === 204;
  } catch {
    return false;
  }
}

export async function startInfluxd(opts: { database?: string } = {}): Promise<InfluxdHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'hotaisle-influxd-'));
  const httpPort = await freePort();
  const rpcPort = await freePort();
  const configFile = join(dir, 'influxdb.conf');
  await writeFile(configFile, configText(dir, httpPort, rpcPort));

  const service = serviceProcess({
    name: 'influxd',
    bin: INFLUXD_BIN,
    args: ['-config', configFile],
    installHint: 'install InfluxDB 1.x (apt install influxdb) or set INFLUXD_BIN',
    ready: () => pingOnce(httpPort),
    readyTimeoutMs: READY_TIMEOUT_MS,
  });

  // A test process that dies without dispose() leaves no data directory behind either.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  await service.start();
  return {
    host: '127.0.0.1',
    port: httpPort,
    dir,
    ...(opts.database !== undefined ? { database: opts.database } : {}),
    stop: () => service.stop('SIGTERM'),
    start: () => service.start(),
    kill: () => service.stop('SIGKILL'),
    dispose: async () => {
      await service.stop('SIGTERM');
      process.off('exit', removeDir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
