/**
 * A real Mosquitto for integration tests: free loopback port, temp dir for config, persistence
 * and log. Queues are raised so a slow or absent QoS 1 subscriber loses nothing (Mosquitto's
 * default max_queued_messages of 1000 drops silently). A missing binary throws, never skips.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

export interface MosquittoHandle {
  readonly port: number;
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  /** Holds mosquitto.conf, mosquitto.log and (with persistence) mosquitto.db. */
  readonly dir: string;
  /** Graceful stop (SIGTERM: Mosquitto saves its persistence file), waits for exit. */
  stop(): Promise<void>;
  /** Start again on the same port and directory (queued QoS 1 messages survive with persistence). */
  start(): Promise<void>;
  /** SIGKILL, like a crash; waits for exit. */
  kill(): Promise<void>;
  /** The broker's log so far, for failure messages. */
  log(): Promise<string>;
  /** Stop and delete the directory. */
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

function configText(dir: string, port: number, persistence: boolean): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // Unlimited queue per client (messages and bytes): tests publish floods at QoS 1.
    'max_queued_messages 0',
    'max_queued_bytes 0',
    'max_inflight_messages 1000',
    'message_size_limit 0',
    `log_dest file ${join(dir, 'mosquitto.log')}`,
    'log_type error',
    'log_type warning',
    'log_type notice',
    'connection_messages true',
  ];
  if (persistence) {
    lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 1');
  }
  // As root Mosquitto would switch to the "mosquitto" user, which cannot write the temp dir.
  if (process.getuid?.() === 0) lines.push('user root');
  return `${lines.join('\n')}\n`;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startMosquitto(opts: { persistence?: boolean } = {}): Promise<MosquittoHandle> {
  if (!existsSync(MOSQUITTO_BIN)) {
    throw new Error(
      `mosquitto not found at ${MOSQUITTO_BIN}: install it (apt install mosquitto) or set MOSQUITTO_BIN; integration tests need a real broker`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'hotaisle-mosquitto-'));
  const port = await freePort();
  const configFile = join(dir, 'mosquitto.conf');
  await writeFile(configFile, configText(dir, port, opts.persistence ?? false));
  const logFile = join(dir, 'mosquitto.log');
  const readLog = () => readFile(logFile, 'utf8').catch(() => '');

  let child: ChildProcess | undefined;
  let stderrTail = '';

  const launch = async (): Promise<void> => {
    stderrTail = '';
    const proc = spawn(MOSQUITTO_BIN, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    // A test process that exits without stop() (crash, failed hook) must not leave a broker behind.
    const reap = () => proc.kill('SIGKILL');
    process.once('exit', reap);
    proc.once('exit', () => process.off('exit', reap));
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(
          `mosquitto exited during start-up (code ${proc.exitCode}): ${stderrTail}${await readLog()}`,
        );
      }
      if (await accepts(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(
      `mosquitto did not accept connections on ${port} within ${READY_TIMEOUT_MS} ms: ${stderrTail}`,
    );
  };

  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = waitExit(proc, STOP_TIMEOUT_MS);
    proc.kill(signal);
    await exited;
  };

  await launch();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    stop: () => stop('SIGTERM'),
    start: async () => {
      if (child && child.exitCode === null && child.signalCode === null) return;
      await launch();
    },
    kill: () => stop('SIGKILL'),
    log: readLog,
    dispose: async () => {
      await stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
