/**
 * `hotaisle slurm weights`: node weights from the running agent's thermal headroom, printed as
 * `scontrol update NodeName=… Weight=… Extra='…'` lines an operator can pipe to sh from cron
 * (or as JSON / slurmrestd bodies). Reads GET /v1/slurm/weights; holds no logic of its own.
 */
import { parseArgs } from 'node:util';

interface WeightRow {
  node: string;
  scontrol: string;
  slurmrestd: { method: string; path: string; body: unknown };
}

export async function runSlurmCommand(
  argv: string[],
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      api: { type: 'string', default: process.env.HOTAISLE_API_URL ?? 'http://127.0.0.1:8080' },
      token: { type: 'string' },
      format: { type: 'string', default: 'scontrol' },
    },
  });
  if (positionals[0] !== 'weights')
    throw new Error(
      'usage: hotaisle slurm weights [--api URL] [--token T (or $HOTAISLE_API_TOKEN)] [--format scontrol|json|slurmrestd]',
    );
  // Any role will do (the weights are viewer-readable); HOTAISLE_RECOMMEND_TOKEN is the deprecated name.
  const token = values.token ?? process.env.HOTAISLE_API_TOKEN ?? process.env.HOTAISLE_RECOMMEND_TOKEN;
  const res = await fetch(`${values.api.replace(/\/$/, '')}/v1/slurm/weights`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`${values.api} answered ${res.status}: ${await res.text()}`);
  const { nodes } = (await res.json()) as { nodes: WeightRow[] };
  if (values.format === 'json') write(JSON.stringify(nodes, null, 2));
  else if (values.format === 'slurmrestd') for (const n of nodes) write(JSON.stringify(n.slurmrestd));
  else if (values.format === 'scontrol') for (const n of nodes) write(n.scontrol);
  else throw new Error(`--format must be scontrol, json or slurmrestd, not "${values.format}"`);
  return 0;
}
