/**
 * A real Mosquitto for integration tests: free loopback port, temp dir for config, persistence
 * and log. Queues are raised so a slow or absent QoS 1 subscriber loses nothing (Mosquitto's
 * default max_queued_messages of 1000 drops silently). A missing binary throws, never skips.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, serviceProcess } from './service.ts';

export { freePort };

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
const READY_TIMEOUT_MS = 10_000;

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

export async function startMosquitto(opts: { persistence?: boolean } = {}): Promise<MosquittoHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'hotaisle-mosquitto-'));
  const port = await freePort();
  const configFile = join(dir, 'mosquitto.conf');
  await writeFile(configFile, configText(dir, port, opts.persistence ?? false));
  const logFile = join(dir, 'mosquitto.log');
  const readLog = () => readFile(logFile, 'utf8').catch(() => '');

  const service = serviceProcess({
    name: 'mosquitto',
    bin: MOSQUITTO_BIN,
    args: ['-c', configFile],
    installHint: 'install it (apt install mosquitto) or set MOSQUITTO_BIN',
    ready: () => accepts(port),
    readyTimeoutMs: READY_TIMEOUT_MS,
    diagnostics: readLog,
  });

  await service.start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    stop: () => service.stop('SIGTERM'),
    start: () => service.start(),
    kill: () => service.stop('SIGKILL'),
    log: readLog,
    dispose: async () => {
      await service.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
