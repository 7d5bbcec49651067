/**
 * A real influxd (1.x) for integration tests: temp data dir, free loopback ports, quiet logs.
 * A missing binary throws (never skips) so CI fails loudly instead of passing an empty suite.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const INFLUXD_BIN = process.env.INFLUXD_BIN ?? '/usr/bin/influxd';
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
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

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startInfluxd(opts: { database?: string } = {}): Promise<InfluxdHandle> {
  if (!existsSync(INFLUXD_BIN)) {
    throw new Error(
      `influxd not found at ${INFLUXD_BIN}: install InfluxDB 1.x (apt install influxdb) or set INFLUXD_BIN; integration tests need a real server`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'hotaisle-influxd-'));
  const httpPort = await freePort();
  const rpcPort = await freePort();
  const configFile = join(dir, 'influxdb.conf');
  await writeFile(configFile, configText(dir, httpPort, rpcPort));

  let child: ChildProcess | undefined;
  let stderrTail = '';

  const launch = async (): Promise<void> => {
    stderrTail = '';
    const proc = spawn(INFLUXD_BIN, ['-config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    // If the test process exits without stop() (a crash, an uncaught error), take influxd with it.
    const killOnExit = () => proc.kill('SIGKILL');
    process.once('exit', killOnExit);
    proc.once('exit', () => process.off('exit', killOnExit));
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`influxd exited during start-up (code ${proc.exitCode}): ${stderrTail}`);
      }
      if (await pingOnce(httpPort)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    proc.kill('SIGKILL');
    throw new Error(`influxd did not answer /ping within ${READY_TIMEOUT_MS} ms: ${stderrTail}`);
  };

  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = waitExit(proc, STOP_TIMEOUT_MS);
    proc.kill(signal);
    await exited;
  };

  // A test process that dies without dispose() leaves no data directory behind either.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  await launch();
  return {
    host: '127.0.0.1',
    port: httpPort,
    dir,
    ...(opts.database !== undefined ? { database: opts.database } : {}),
    stop: () => stop('SIGTERM'),
    start: async () => {
      if (child && child.exitCode === null && child.signalCode === null) return;
      await launch();
    },
    kill: () => stop('SIGKILL'),
    dispose: async () => {
      await stop('SIGTERM');
      process.off('exit', removeDir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
