/**
 * Long commands as a person runs them: a progress line on stderr, and Ctrl-C (SIGINT) stops them cleanly
 * with exit code 130 and a message — `simulate --backfill` keeps what was written and says how far the
 * history is complete; `train` stops without saving a model.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '../helpers/poll.ts';

let dataDir: string | undefined;
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runCli(args: string[]): Run {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    // Port 0: the command's "is an agent holding this store?" probe must not find another engineer's agent.
    env: { ...process.env, HOTAISLE_API_PORT: '0', HOTAISLE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child: proc, stdout: () => out, stderr: () => err, exit };
}

it('Ctrl-C during a backfill writes what was produced, says how far it got and exits 130', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hotaisle-cli-interrupt-'));
  // 60 days of readings every 10 s: minutes of work, so the interrupt lands mid-run.
  const run = runCli([
    'simulate',
    '--site',
    'sites/lab.yaml',
    '--backfill',
    '60d',
    '--every',
    '10s',
    '--data-dir',
    dataDir,
  ]);
  // A progress bar line, not just the banner: the backfill is under way.
  await waitFor(() => /\[[#.]+\]\s+\d+\.\d%\s+day /.test(run.stderr()), {
    timeoutMs: 60_000,
    what: `a progress line on stderr (so far: ${JSON.stringify(run.stderr().slice(-300))})`,
  });
  expect(run.stderr()).toMatch(/Ctrl-C stops and keeps what was produced/);
  run.child.kill('SIGINT');
  const exit = await Promise.race([
    run.exit,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`no exit 30 s after SIGINT; stderr: ${run.stderr().slice(-500)}`)),
        30_000,
      ),
    ),
  ]);
  expect(exit).toEqual({ code: 130, signal: null });
  expect(run.stderr()).toMatch(/stopping; writing what was produced/);
  expect(run.stdout()).toMatch(/backfill interrupted: [\d,]+ readings written/);
  expect(run.stdout()).toMatch(/history is complete from .* to .* \(day [\d.]+ of 60d\)/);
  // What was written is on disk in the embedded store.
  expect((await readdir(join(dataDir, 'store'))).length).toBeGreaterThan(0);
});

it('Ctrl-C during training stops it with exit code 130 and saves no model', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hotaisle-cli-interrupt-'));
  const site = ['--site', 'sites/example-gpu-hall.yaml', '--data-dir', dataDir];
  // Three days of the 100-rack example hall: enough history that the fit takes seconds.
  const backfill = runCli(['simulate', ...site, '--backfill', '3d', '--every', '60s', '--step', '30s']);
  const filled = await Promise.race([
    backfill.exit,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`backfill did not finish: ${backfill.stderr().slice(-500)}`)),
        120_000,
      ),
    ),
  ]);
  expect(filled, backfill.stderr()).toEqual({ code: 0, signal: null });

  const models = join(dataDir, 'models');
  const train = runCli(['train', ...site, '--models-dir', models, '--days', '3']);
  await waitFor(() => /train: (reading history|fitting)/.test(train.stderr()), {
    timeoutMs: 60_000,
    what: `a training progress line (so far: ${JSON.stringify(train.stderr().slice(-300))})`,
  });
  train.child.kill('SIGINT');
  const exit = await Promise.race([
    train.exit,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`no exit 30 s after SIGINT; stderr: ${train.stderr().slice(-500)}`)),
        30_000,
      ),
    ),
  ]);
  expect(exit, train.stderr()).toEqual({ code: 130, signal: null });
  expect(train.stderr()).toMatch(/train: interrupting/);
  expect(train.stdout()).not.toMatch(/PROMOTED|KEPT AS CANDIDATE/);
  const saved = await readdir(join(models, 'ams-gpu1')).catch(() => [] as string[]);
  expect(saved.filter((f) => /^model-\d+\.json$/.test(f))).toEqual([]);
});
