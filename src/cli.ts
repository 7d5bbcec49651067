/**
 * `hotaisle <command>`: the command line. Each command parses its own flags and returns an exit code;
 * nothing here holds logic a test would want to reach without a process.
 */
import { parseArgs } from 'node:util';
import { runBacktestCommand } from './cli/backtest.ts';
import { runModelsCommand } from './cli/models.ts';
import { runAgentCommand } from './cli/run.ts';
import { runSimulateCommand } from './cli/simulate.ts';
import { runSlurmCommand } from './cli/slurm.ts';
import { runTrainCommand } from './cli/train.ts';
import { runValidate } from './cli/validate.ts';

const USAGE = `hotaisle — data-center thermal and energy agent

Usage:
  hotaisle run [--site FILE] [--sim [--scenario FILE] [--speed N] | --no-sim] [--broker URL] [--influx URL] [--api-port N] [--data-dir DIR] [--models-dir DIR] [--no-watch]
  hotaisle validate [FILE...]          check site files; every problem as file: field: message
  hotaisle simulate [--site FILE] [--scenario FILE] [--speed N] [--broker URL] [--seed N]   publish simulated telemetry over MQTT
  hotaisle simulate --backfill 14d [--every 60s] [--influx URL] [--data-dir DIR]               write simulated history into the store
  hotaisle train [--site FILE] [--from ISO --to ISO | --days N] [--influx URL] [--data-dir DIR] [--models-dir DIR]
                                       fit a forecast model from stored history; promoted if it passes the gate
  hotaisle backtest [--site FILE] --from ISO --to ISO [--model N] [--influx URL] [--hw-every 15m]
                                       score the model, persistence and InfluxDB HOLT_WINTERS() on stored history
  hotaisle models list|promote <version>|rollback [--site FILE] [--models-dir DIR]
  hotaisle slurm weights [--api URL] [--format scontrol|json|slurmrestd]   node weights from the running agent
  hotaisle help

Environment: HOTAISLE_BROKER_URL, HOTAISLE_INFLUX_URL, HOTAISLE_STORAGE, HOTAISLE_API_HOST, HOTAISLE_API_PORT,
HOTAISLE_DATA_DIR, HOTAISLE_MQTT_CLIENT_ID, HOTAISLE_LOG_LEVEL, HOTAISLE_API_TOKENS / HOTAISLE_API_TOKENS_FILE (API bearer tokens with roles),
HOTAISLE_API_TOKEN (the token 'hotaisle slurm' sends); credentials from the variables the site file names
(default HOTAISLE_MQTT_USERNAME/PASSWORD, HOTAISLE_INFLUX_USERNAME/PASSWORD).
`;

type Command = (argv: string[]) => Promise<number> | number;

const commands: Record<string, Command> = {
  run: runAgentCommand,
  simulate: runSimulateCommand,
  train: runTrainCommand,
  backtest: runBacktestCommand,
  models: runModelsCommand,
  slurm: runSlurmCommand,
  validate: (argv) => {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    return runValidate(positionals, (line) => process.stdout.write(`${line}\n`));
  },
  help: () => {
    process.stdout.write(USAGE);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [name = 'help', ...rest] = argv;
  const command = commands[name === '--help' || name === '-h' ? 'help' : name];
  if (!command) {
    process.stderr.write(`hotaisle: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    // Flag errors from parseArgs and start-up failures end here: one line a person can act on.
    process.stderr.write(`hotaisle ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
