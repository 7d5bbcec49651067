/**
 * A real server process for integration tests (Mosquitto, influxd, Alertmanager): spawned from a
 * config in a temp dir, ready when `ready()` says so, stopped by signal, and reaped if the test
 * process dies first. Each service helper adds only its config and its readiness probe.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export { freePort } from './ports.ts';

export interface ServiceSpec {
  /** For messages: "mosquitto", "influxd". */
  name: string;
  bin: string;
  args: string[];
  /** How to install it, for the missing-binary error. */
  installHint: string;
  /** Resolves true once the service answers. */
  ready(): Promise<boolean>;
  readyTimeoutMs: number;
  /** Extra text for start-up failures (e.g. the service's own log file). */
  diagnostics?(): Promise<string>;
}

export interface ServiceProcess {
  /** Start (again); a no-op while running. */
  start(): Promise<void>;
  /** Signal and wait for exit (SIGKILL after 10 s). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const STOP_TIMEOUT_MS = 10_000;

/** Throws (never skips) when the binary is missing, so CI fails loudly instead of passing an empty suite. */
export function requireBinary(spec: Pick<ServiceSpec, 'name' | 'bin' | 'installHint'>): void {
  if (!existsSync(spec.bin)) {
    throw new Error(
      `${spec.name} not found at ${spec.bin}: ${spec.installHint}; integration tests need the real server`,
    );
  }
}

function running(proc: ChildProcess | undefined): boolean {
  return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
}

function waitExit(proc: ChildProcess, timeoutMs: number): Promise<void> {
  if (!running(proc)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function serviceProcess(spec: ServiceSpec): ServiceProcess {
  requireBinary(spec);
  let child: ChildProcess | undefined;
  let stderrTail = '';
  const details = async () => `${stderrTail}${(await spec.diagnostics?.()) ?? ''}`;

  const launch = async (): Promise<void> => {
    stderrTail = '';
    const proc = spawn(spec.bin, spec.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    // A test process that exits without stop() (a crash, a failed hook) must not leave a server behind.
    const reap = () => proc.kill('SIGKILL');
    process.once('exit', reap);
    proc.once('exit', () => process.off('exit', reap));
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + spec.readyTimeoutMs;
    while (Date.now() < deadline) {
      if (!running(proc))
        throw new Error(`${spec.name} exited during start-up (code ${proc.exitCode}): ${await details()}`);
      if (await spec.ready()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`${spec.name} was not ready within ${spec.readyTimeoutMs} ms: ${await details()}`);
  };

  return {
    start: async () => {
      if (!running(child)) await launch();
    },
    stop: async (signal = 'SIGTERM') => {
      const proc = child;
      child = undefined;
      if (!proc || !running(proc)) return;
      const exited = waitExit(proc, STOP_TIMEOUT_MS);
      proc.kill(signal);
      await exited;
    },
  };
}
