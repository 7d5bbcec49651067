/**
 * `hotaisle backtest --site FILE --from ISO --to ISO [--model N] [--influx URL] [--data-dir DIR]
 *  [--hw-every 15m] [--hw-window 2h] [--threshold C]`: score forecasts issued in [from, to) against
 * what the store says happened — per horizon MAE, RMSE, max error, hotspot recall / precision /
 * median lead — for the promoted model (or --model N), persistence, and InfluxDB's own HOLT_WINTERS()
 * run on the same data in the same InfluxDB (not available on the embedded store: it says so).
 */
import { parseArgs } from 'node:util';
import { buildSiteIndex } from '../config/siteIndex.ts';
import type { GridScore, HotspotScore } from '../forecast/backtest.ts';
import { scoreGrid } from '../forecast/backtest.ts';
import { lagSlots } from '../forecast/features.ts';
import { type HoltWintersResult, holtWintersGrid } from '../forecast/holtWinters.ts';
import type { ErrorMetrics, ModelFile } from '../forecast/modelFile.ts';
import { ModelRepository } from '../forecast/modelStore.ts';
import { backtestSite } from '../forecast/pipeline.ts';
import { DEFAULT_HORIZONS_MIN } from '../forecast/training.ts';
import { parseDuration } from '../sim/scenario.ts';
import { InfluxStore } from '../store/influxStore.ts';
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

export interface PredictorScore {
  name: string;
  horizons: Array<{ horizonMin: number; errors: ErrorMetrics; hotspots: HotspotScore }>;
  combined: HotspotScore;
  note?: string;
}

function durationFlag(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new Error(`${flag} expects a duration such as 5m, 15m or 2h, not "${text}"`);
  return ms;
}

export async function runBacktestCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...SITE_OPTIONS,
      ...STORE_OPTIONS,
      from: { type: 'string' },
      to: { type: 'string' },
      model: { type: 'string' },
      threshold: { type: 'string' },
      'hw-every': { type: 'string', default: '15m' },
      'hw-window': { type: 'string', default: '2h' },
    },
  });
  if (values.from === undefined || values.to === undefined)
    throw new Error('--from and --to are required (ISO 8601 times)');
  const site = loadSiteWithFlags(values);
  const stepMs = 60_000;
  // Whole minutes, so the frame's slots line up with InfluxDB's GROUP BY time() buckets.
  const from = Math.floor(parseTimeFlag(values.from, '--from') / stepMs) * stepMs;
  const to = Math.floor(parseTimeFlag(values.to, '--to') / stepMs) * stepMs;
  if (!(to > from)) throw new Error('--to must be after --from');
  const thresholdC = values.threshold !== undefined ? Number(values.threshold) : site.thresholds.inletWarnC;
  if (!Number.isFinite(thresholdC)) throw new Error(`--threshold expects °C, not "${values.threshold}"`);
  const hwEvery = durationFlag(values['hw-every'], '--hw-every');
  const hwWindow = durationFlag(values['hw-window'], '--hw-window');

  const log = cliLogger(values['log-level']);
  const index = buildSiteIndex(site);
  const repo = new ModelRepository(modelsRoot(values, site), site.site.id);
  let model: ModelFile | undefined;
  if (values.model !== undefined) {
    model = await repo.read(Number(values.model));
  } else {
    const loaded = await repo.loadPromoted();
    for (const r of loaded.refused)
      process.stderr.write(`backtest: warning: model file refused: ${r.file}: ${r.error}\n`);
    model = loaded.model;
    if (!model)
      process.stderr.write(`backtest: no promoted model in ${repo.dir}; scoring the baselines only\n`);
  }
  const horizonsMin = model?.horizonsMin ?? site.forecast.horizonsMin ?? DEFAULT_HORIZONS_MIN;
  process.stderr.write(
    `backtest: site ${site.site.id}, forecasts issued ${new Date(from).toISOString()} → ${new Date(to).toISOString()}, ` +
      `threshold ${thresholdC} °C, ${model ? `model v${model.version}` : 'no model'}, ${describeStore(site)}\n`,
  );

  const store = await openHistoryStore(site, index, log);
  const ctrlC = interruptOnCtrlC('backtest');
  try {
    process.stderr.write('backtest: reading history and scoring the model and persistence\n');
    const { report, frame, layout } = await backtestSite(store, index, model, {
      from,
      to,
      thresholdC,
      horizonsMin,
    });
    // That step takes no signal: a Ctrl-C during it is honoured here, before the long HOLT_WINTERS part.
    if (ctrlC.signal.aborted) {
      process.stderr.write('backtest: interrupted\n');
      return 130;
    }
    const scores: PredictorScore[] = [];
    if (report.horizons[0]?.model) {
      scores.push({
        name: `model v${report.modelVersion}`,
        horizons: report.horizons.map((h) => ({ horizonMin: h.horizonMin, ...h.model! })),
        combined: report.combined.model!,
      });
    }
    scores.push({
      name: 'persistence',
      horizons: report.horizons.map((h) => ({ horizonMin: h.horizonMin, ...h.persistence })),
      combined: report.combined.persistence,
    });

    const slotOf = (ms: number) => Math.floor((ms - frame.t0) / frame.stepMs);
    const fromSlot = Math.max(lagSlots(frame.stepMs).lookback, slotOf(from));
    const toSlot = Math.min(frame.stride, slotOf(to));
    let hwNote: string;
    if (store instanceof InfluxStore) {
      const progress = new ProgressLine(process.stderr, 2000);
      const hw: HoltWintersResult = await holtWintersGrid(
        (q) => store.rawQuery(q),
        layout,
        frame,
        horizonsMin,
        {
          database: store.database,
          retentionPolicy: store.retentionPolicy,
          fromSlot,
          toSlot,
          refitEveryMs: hwEvery,
          fitWindowMs: hwWindow,
          signal: ctrlC.signal,
          onProgress: (done, total) => progress.update(`backtest: HOLT_WINTERS ${done}/${total} queries`),
        },
      );
      progress.done(`backtest: HOLT_WINTERS ${hw.queries} queries in ${(hw.elapsedMs / 1000).toFixed(1)} s`);
      if (ctrlC.signal.aborted) {
        process.stderr.write('backtest: interrupted\n');
        return 130;
      }
      const score: GridScore = scoreGrid(hw.grid, frame, { thresholdC, fromSlot, toSlot });
      hwNote =
        `HOLT_WINTERS(mean(inlet_c), N, 0) on a trailing ${values['hw-window']} of 1-minute means, refitted every ${values['hw-every']} ` +
        `(${hw.issued} issue times scored; model and persistence are scored every minute, so hotspot lead and recall favour them)` +
        (hw.failed > 0 ? `; ${hw.failed} of ${hw.queries} queries failed: ${hw.firstError}` : '');
      scores.push({ name: 'HOLT_WINTERS', horizons: score.horizons, combined: score.combined, note: hwNote });
    } else {
      hwNote = `HOLT_WINTERS not run: it is an InfluxDB function and the history is in the ${describeStore(site)}; pass --influx URL`;
    }
    process.stdout.write(`${backtestTable(report.from, report.to, thresholdC, scores)}\n${hwNote}\n`);
    return 0;
  } finally {
    ctrlC.dispose();
    await store.stop();
  }
}

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(0)}%`);

/** The per-horizon table of every predictor, then hotspots over all horizons (pure, for tests). */
export function backtestTable(
  from: string,
  to: string,
  thresholdC: number,
  scores: readonly PredictorScore[],
): string {
  const header = [
    'horizon',
    'predictor',
    'n',
    'MAE °C',
    'RMSE',
    'max',
    'breaches',
    'recall',
    'precision',
    'median lead min',
  ];
  const rows: string[][] = [];
  const horizons = scores[0]?.horizons.map((h) => h.horizonMin) ?? [];
  for (const hm of horizons) {
    for (const s of scores) {
      const h = s.horizons.find((x) => x.horizonMin === hm);
      if (!h) continue;
      rows.push([
        `${hm} min`,
        s.name,
        String(h.errors.n),
        fmt(h.errors.mae),
        fmt(h.errors.rmse),
        fmt(h.errors.maxError, 2),
        `${h.hotspots.breachesPredicted}/${h.hotspots.breaches}`,
        pct(h.hotspots.recall),
        pct(h.hotspots.precision),
        fmt(h.hotspots.medianLeadMin, 1),
      ]);
    }
  }
  const combined = scores.map((s) => [
    s.name,
    `${s.combined.breachesPredicted}/${s.combined.breaches}`,
    pct(s.combined.recall),
    pct(s.combined.precision),
    `${s.combined.falseFlags}/${s.combined.flags}`,
    fmt(s.combined.medianLeadMin, 1),
    fmt(s.combined.minLeadMin, 1),
  ]);
  return [
    `Backtest ${from} → ${to}, hotspot threshold ${thresholdC} °C:`,
    formatTable(header, rows),
    '',
    'Hotspots flagged at any horizon (as the agent raises them):',
    formatTable(
      ['predictor', 'breaches', 'recall', 'precision', 'false flags', 'median lead min', 'min lead min'],
      combined,
    ),
  ].join('\n');
}
