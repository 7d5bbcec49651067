/**
 * `hotaisle train --site FILE [--from ISO --to ISO | --days N] [--influx URL] [--data-dir DIR] [--models-dir DIR]`:
 * fit a forecast model from the site's stored history, validate it on the held-back tail against
 * persistence and the model in service, and save it as the next version — promoted when it passed
 * the gate, else a candidate. Progress on stderr; the metrics table and the decision on stdout.
 */
import { parseArgs } from 'node:util';
import { buildSiteIndex } from '../config/siteIndex.ts';
import {
  TrainingAbortedError,
  type TrainingProgress,
  trainSiteInBackground,
} from '../forecast/backgroundTraining.ts';
import { ModelRepository } from '../forecast/modelStore.ts';
import type { TrainSiteResult } from '../forecast/pipeline.ts';
import { errorMessage } from '../store/errors.ts';
import {
  cliLogger,
  describeStore,
  fmt,
  formatTable,
  interruptOnCtrlC,
  loadSiteWithFlags,
  modelsRoot,
  openHistoryStore,
  parseTimeFlag,
  SITE_OPTIONS,
  STORE_OPTIONS,
} from './forecastCommon.ts';
import { ProgressLine } from './progress.ts';

const DAY_MS = 86_400_000;

export async function runTrainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...SITE_OPTIONS,
      ...STORE_OPTIONS,
      from: { type: 'string' },
      to: { type: 'string' },
      days: { type: 'string' },
    },
  });
  const site = loadSiteWithFlags(values);
  if ((values.from === undefined) !== (values.to === undefined))
    throw new Error('--from and --to go together');
  if (values.from !== undefined && values.days !== undefined)
    throw new Error('give --from/--to or --days, not both');
  let from: number;
  let to: number;
  if (values.from !== undefined && values.to !== undefined) {
    from = parseTimeFlag(values.from, '--from');
    to = parseTimeFlag(values.to, '--to');
  } else {
    const days = values.days === undefined ? site.forecast.historyDays : Number(values.days);
    if (!(days > 0)) throw new Error(`--days expects a positive number of days, not "${values.days}"`);
    to = Date.now();
    from = to - days * DAY_MS;
  }
  if (!(to > from)) throw new Error('--to must be after --from');

  const log = cliLogger(values['log-level']);
  const index = buildSiteIndex(site);
  const repo = new ModelRepository(modelsRoot(values, site), site.site.id);
  const err = process.stderr;
  err.write(
    `train: site ${site.site.id}, ${index.rackIds.length} racks, history ${iso(from)} → ${iso(to)} ` +
      `(${((to - from) / DAY_MS).toFixed(1)} days) from the ${describeStore(site)}; models in ${repo.dir}\n`,
  );
  const store = await openHistoryStore(site, index, log);
  const ctrlC = interruptOnCtrlC('train');
  const progress = new ProgressLine(err, 2000);
  const started = performance.now();
  let result: TrainSiteResult;
  try {
    result = await trainSiteInBackground(store, index, repo, {
      from,
      to,
      horizonsMin: site.forecast.horizonsMin,
      signal: ctrlC.signal,
      onProgress: (p) => progress.update(describeProgress(p, performance.now() - started)),
    });
    progress.done(describeProgress({ phase: 'save', done: 1, total: 1 }, performance.now() - started));
  } catch (e) {
    progress.break();
    if (e instanceof TrainingAbortedError) {
      err.write(`train: ${e.message}\n`);
      return 130;
    }
    throw new Error(`training failed: ${errorMessage(e)}`);
  } finally {
    ctrlC.dispose();
    await store.stop();
  }

  for (const r of result.refused) err.write(`train: warning: model file refused: ${r.file}: ${r.error}\n`);
  process.stdout.write(`${trainReport(result)}\n`);
  return 0;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/:00\.000Z$/, 'Z');

function describeProgress(p: TrainingProgress, wallMs: number): string {
  const secs = `${(wallMs / 1000).toFixed(1)} s`;
  if (p.phase === 'query') return `train: reading history ${p.done}/${p.total} queries  ${secs}`;
  if (p.phase === 'fit') return `train: fitting and validating${p.done ? ' done' : ''}  ${secs}`;
  return `train: ${p.done ? 'saved' : 'saving'}  ${secs}`;
}

/** The validation table and the gate's decision (pure, for tests). */
export function trainReport(result: TrainSiteResult): string {
  const m = result.saved.model;
  const w = m.trainingWindow;
  const hasCurrent = m.validation.horizons.some((h) => h.current);
  const header = ['horizon', 'MAE °C', 'RMSE', 'max', 'persistence MAE', 'RMSE', 'max', 'vs persistence'];
  if (hasCurrent) header.push(`in service v${result.previous?.version ?? '?'} MAE`);
  const rows = m.validation.horizons.map((h) => {
    const gain = h.persistence.mae > 0 ? (1 - h.model.mae / h.persistence.mae) * 100 : Number.NaN;
    const row = [
      `${h.horizonMin} min`,
      fmt(h.model.mae),
      fmt(h.model.rmse),
      fmt(h.model.maxError, 2),
      fmt(h.persistence.mae),
      fmt(h.persistence.rmse),
      fmt(h.persistence.maxError, 2),
      Number.isFinite(gain) ? `${gain >= 0 ? '-' : '+'}${Math.abs(gain).toFixed(0)}%` : '–',
    ];
    if (hasCurrent) row.push(fmt(h.current?.mae));
    return row;
  });
  const c = m.counts;
  return [
    `Validation on the held-back window ${w.holdoutFrom} → ${w.to} (${c.holdoutRows} rows; trained on ${c.trainRows} rows, ` +
      `${c.rackModels} racks with their own fit, ${c.pooledRacks} on a pooled fit):`,
    formatTable(header, rows),
    '',
    `Model v${m.version} saved to ${result.saved.file} (fit in ${(result.durationMs / 1000).toFixed(1)} s).`,
    result.promoted
      ? `PROMOTED: ${result.reason}. A running agent switches to it after its own training, or on reload (systemctl reload hotaisle, or kill -HUP).`
      : `KEPT AS CANDIDATE: ${result.reason}. \`hotaisle models promote ${m.version}\` puts it in service anyway.`,
  ].join('\n');
}
