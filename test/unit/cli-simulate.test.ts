/** `hotaisle simulate` flag errors (raised before any I/O) and the progress line formatting. */
import { describe, expect, it } from 'vitest';
import { formatBackfillProgress, formatDuration, ProgressLine } from '../../src/cli/progress.ts';
import { parseDurationFlag, runSimulateCommand } from '../../src/cli/simulate.ts';

describe('hotaisle simulate flags', () => {
  it('names the missing scenario file with the ScenarioError text', async () => {
    await expect(runSimulateCommand(['--scenario', 'sites/scenarios/no-such.yaml'])).rejects.toThrow(
      'sites/scenarios/no-such.yaml: file not found; scenarios live in sites/scenarios/',
    );
  });

  it('lists the accepted duration forms for a bad duration', async () => {
    await expect(runSimulateCommand(['--site', 'sites/lab.yaml', '--backfill', '2 weeks'])).rejects.toThrow(
      /--backfill expects a duration such as 500ms, 90s, 45m, 2h30m or 14d.*not "2 weeks"/,
    );
    expect(() => parseDurationFlag('0s', '--every')).toThrow(/--every expects a duration/);
    expect(parseDurationFlag('2h30m', '--x')).toBe(9_000_000);
  });

  it('refuses flags of the other mode and a bad speed or seed', async () => {
    await expect(runSimulateCommand(['--backfill', '1d', '--speed', '60'])).rejects.toThrow(
      '--speed applies to live publishing, not to --backfill',
    );
    await expect(runSimulateCommand(['--every', '30s', '--influx', 'http://127.0.0.1:8086'])).rejects.toThrow(
      '--every, --influx apply only with --backfill DURATION',
    );
    await expect(runSimulateCommand(['--site', 'sites/lab.yaml', '--speed', '0'])).rejects.toThrow(
      /--speed expects a positive number/,
    );
    await expect(runSimulateCommand(['--seed', 'x'])).rejects.toThrow('--seed expects an integer, not "x"');
    await expect(runSimulateCommand(['--sped', '60'])).rejects.toThrow(/Unknown option '--sped'/);
  });
});

describe('progress line', () => {
  const DAY = 86_400_000;

  it('shows percent, simulated day, rate and ETA', () => {
    const text = formatBackfillProgress(
      {
        fromTs: 0,
        toTs: 14 * DAY,
        simTs: 3.5 * DAY,
        readingsProduced: 2e6,
        readingsWritten: 1e6,
        wallMs: 4000,
      },
      20,
    );
    expect(text).toBe('[#####...............]   25.0%  day 3.5/14  1,000,000 readings  250.0k/s  ETA 12s');
  });

  it('formats durations with at most two units', () => {
    expect(
      [45_000, 725_000, 3 * 3_600_000, 10_920_000, 14 * DAY, 6 * DAY + 4 * 3_600_000].map(formatDuration),
    ).toEqual(['45s', '12m05s', '3h', '3h02m', '14d', '6d04h']);
  });

  it('redraws one line on a terminal and writes plain lines at most every interval elsewhere', () => {
    const tty: string[] = [];
    const onTty = new ProgressLine({ write: (t: string) => tty.push(t), isTTY: true, columns: 80 });
    onTty.update('a');
    onTty.update('b');
    onTty.done('c');
    expect(tty).toEqual(['\ra\x1b[K', '\rb\x1b[K', '\rc\x1b[K\n']);

    const log: string[] = [];
    let now = 0;
    const plain = new ProgressLine({ write: (t: string) => log.push(t) }, 5000, () => now);
    plain.update('1');
    now = 1000;
    plain.update('2');
    now = 6000;
    plain.update('3');
    plain.done('4');
    expect(log).toEqual(['1\n', '3\n', '4\n']);
  });
});
