/**
 * Backtesting: any predictor's forecasts laid out on a history frame (a PredictionGrid) are scored
 * against what happened — MAE, RMSE, max error per horizon, and hotspot recall, precision and lead
 * time. The trained model and persistence fill grids here; other baselines (InfluxDB HOLT_WINTERS)
 * fill one through `PredictionGrid.set` and go through the same scoring.
 */
import { lagSlots, type SignalFrame, T } from './features.ts';
import type { ForecastLayout } from './layout.ts';
import { ErrorAccumulator, median } from './metrics.ts';
import type { ErrorMetrics, ModelFile } from './modelFile.ts';
import { compileModel, predictDelta, selectTier } from './models.ts';
import { risingSupplySlope } from './riseScenario.ts';
import { horizonSlots, loadRow, rowWalk } from './rows.ts';
import { DEFAULT_HORIZONS_MIN } from './training.ts';

/** value at [(rack * H + h) * length + t]: the forecast issued at slot t for slot t + horizon. */
export class PredictionGrid {
  readonly values: Float64Array;
  readonly hSlots: Int32Array;
  /**
   * What hotspot scoring compares with the threshold, same layout as `values`, when it differs from
   * the forecast: the model's supply-rise scenario (riseScenario.ts), as the forecaster flags.
   */
  flagValues?: Float64Array;

  constructor(
    readonly layout: ForecastLayout,
    readonly horizonsMin: readonly number[],
    readonly t0: number,
    readonly stepMs: number,
    readonly length: number,
  ) {
    this.values = new Float64Array(layout.n * horizonsMin.length * length).fill(Number.NaN);
    this.hSlots = Int32Array.from(horizonsMin, (h) => horizonSlots(h, stepMs));
  }

  static forFrame(
    frame: SignalFrame,
    layout: ForecastLayout,
    horizonsMin: readonly number[],
  ): PredictionGrid {
    return new PredictionGrid(layout, horizonsMin, frame.t0, frame.stepMs, frame.stride);
  }

  /** Record a forecast issued at `issuedTs` (rounded down to its slot); unknown racks, horizons and times are ignored. */
  set(rack: string | number, horizonMin: number, issuedTs: number, value: number): boolean {
    const r = typeof rack === 'number' ? rack : this.layout.rackIndex.get(rack);
    const h = this.horizonsMin.indexOf(horizonMin);
    const t = Math.floor((issuedTs - this.t0) / this.stepMs);
    if (r === undefined || h < 0 || t < 0 || t >= this.length) return false;
    this.values[(r * this.horizonsMin.length + h) * this.length + t] = value;
    return true;
  }
}

export interface HotspotScore {
  /** Upward crossings of the threshold (after at least `rearmMin` below it). */
  breaches: number;
  /** Breaches flagged by a forecast before they happened. */
  breachesPredicted: number;
  recall: number | null;
  /** (rack, issue slot) pairs where a rack below the threshold was forecast to reach it. */
  flags: number;
  falseFlags: number;
  precision: number | null;
  medianLeadMin: number | null;
  minLeadMin: number | null;
}

/** What `scoreHotspots` counted, event by event (for diagnostics: which racks were late, which flags false). */
export interface HotspotEvents {
  /** Each breach: the rack, when it crossed, and the lead of its earliest flag (null: not predicted). */
  breaches: Array<{ rack: string; ts: number; leadMin: number | null }>;
  /** Each false flag: the rack, when it was issued, and the farthest horizon that reached the threshold. */
  falseFlags: Array<{ rack: string; ts: number; reachMin: number }>;
}

export interface ScoreOptions {
  thresholdC: number;
  /** Issue slots scored: [fromSlot, toSlot). Default: the whole grid. */
  fromSlot?: number;
  toSlot?: number;
  /** A flag still counts as true if the crossing comes this late after its horizon. Default 5. */
  slackMin?: number;
  /** Minutes below the threshold before a new crossing counts as a new breach. Default 30. */
  rearmMin?: number;
}

export interface GridScore {
  horizons: Array<{ horizonMin: number; errors: ErrorMetrics; hotspots: HotspotScore }>;
  /** Hotspots flagged at any horizon, as the forecaster raises them. */
  combined: HotspotScore;
}

/** Score a grid against the frame's actual inlets. */
export function scoreGrid(grid: PredictionGrid, frame: SignalFrame, opts: ScoreOptions): GridScore {
  const L = Math.min(grid.length, frame.stride);
  const from = Math.max(0, opts.fromSlot ?? 0);
  const to = Math.min(L, opts.toSlot ?? L);
  const H = grid.horizonsMin.length;
  const horizons = grid.horizonsMin.map((horizonMin, h) => {
    const acc = new ErrorAccumulator();
    for (let r = 0; r < grid.layout.n; r++) {
      const row = (r * H + h) * grid.length;
      const base = r * frame.stride;
      for (let t = from; t < to; t++) {
        const s = t + grid.hSlots[h]!;
        if (s >= frame.stride) break;
        const p = grid.values[row + t]!;
        const a = frame.inlet[base + s]!;
        if (!Number.isNaN(p) && !Number.isNaN(a)) acc.add(a - p);
      }
    }
    return { horizonMin, errors: acc.result(), hotspots: scoreHotspots(grid, frame, [h], from, to, opts) };
  });
  const all = grid.horizonsMin.map((_, h) => h);
  return { horizons, combined: scoreHotspots(grid, frame, all, from, to, opts) };
}

function scoreHotspots(
  grid: PredictionGrid,
  frame: SignalFrame,
  hs: readonly number[],
  from: number,
  to: number,
  opts: ScoreOptions,
  events?: HotspotEvents,
): HotspotScore {
  const thr = opts.thresholdC;
  const H = grid.horizonsMin.length;
  const perMin = 60_000 / frame.stepMs;
  const slack = Math.round((opts.slackMin ?? 5) * perMin);
  const rearm = Math.max(1, Math.round((opts.rearmMin ?? 30) * perMin));
  const hMax = Math.max(...hs.map((h) => grid.hSlots[h]!));
  const L = frame.stride;
  let breaches = 0;
  let predicted = 0;
  let flags = 0;
  let falseFlags = 0;
  const leads: number[] = [];
  const flagged = new Uint8Array(L);
  const level = grid.flagValues ?? grid.values;

  for (let r = 0; r < grid.layout.n; r++) {
    const a = frame.inlet.subarray(r * L, (r + 1) * L);
    flagged.fill(0);
    for (let t = from; t < to; t++) {
      if (!(a[t]! < thr)) continue;
      let reach = -1;
      for (const h of hs) {
        if (level[(r * H + h) * grid.length + t]! >= thr) reach = Math.max(reach, grid.hSlots[h]!);
      }
      if (reach < 0) continue;
      flagged[t] = 1;
      flags++;
      let hit = false;
      for (let s = t + 1; s <= Math.min(L - 1, t + reach + slack); s++) {
        if (a[s]! >= thr) {
          hit = true;
          break;
        }
      }
      if (!hit) {
        falseFlags++;
        events?.falseFlags.push({
          rack: grid.layout.rackIds[r]!,
          ts: frame.t0 + t * frame.stepMs,
          reachMin: reach / perMin,
        });
      }
    }
    // Breaches whose whole lead window lies in the scored range.
    let below = 0;
    for (let t = 1; t < L; t++) {
      const v = a[t]!;
      if (Number.isNaN(v)) continue;
      if (v < thr) {
        below++;
        continue;
      }
      const isBreach = below >= rearm;
      below = 0;
      if (!isBreach || t < from + hMax + slack || t >= to) continue;
      breaches++;
      let earliest = -1;
      for (let s = t - hMax - slack; s < t; s++) {
        if (flagged[s] === 1) {
          earliest = s;
          break;
        }
      }
      if (earliest >= 0) {
        predicted++;
        leads.push((t - earliest) / perMin);
      }
      events?.breaches.push({
        rack: grid.layout.rackIds[r]!,
        ts: frame.t0 + t * frame.stepMs,
        leadMin: earliest >= 0 ? (t - earliest) / perMin : null,
      });
    }
  }
  const ratio = (x: number, y: number) => (y > 0 ? Math.round((x / y) * 1e4) / 1e4 : null);
  return {
    breaches,
    breachesPredicted: predicted,
    recall: ratio(predicted, breaches),
    flags,
    falseFlags,
    precision: ratio(flags - falseFlags, flags),
    medianLeadMin: leads.length ? median(leads) : null,
    minLeadMin: leads.length ? Math.min(...leads) : null,
  };
}

/** The events behind `scoreGrid(...).combined`: every breach with its lead, every false flag. */
export function hotspotEvents(grid: PredictionGrid, frame: SignalFrame, opts: ScoreOptions): HotspotEvents {
  const L = Math.min(grid.length, frame.stride);
  const from = Math.max(0, opts.fromSlot ?? 0);
  const to = Math.min(L, opts.toSlot ?? L);
  const events: HotspotEvents = { breaches: [], falseFlags: [] };
  const all = grid.horizonsMin.map((_, h) => h);
  scoreHotspots(grid, frame, all, from, to, opts, events);
  return events;
}

/** Persistence: every horizon forecasts the current inlet. */
export function persistenceGrid(
  frame: SignalFrame,
  layout: ForecastLayout,
  horizonsMin: readonly number[],
): PredictionGrid {
  const grid = PredictionGrid.forFrame(frame, layout, horizonsMin);
  const L = frame.stride;
  for (let r = 0; r < layout.n; r++) {
    for (let h = 0; h < horizonsMin.length; h++) {
      grid.values.set(frame.inlet.subarray(r * L, (r + 1) * L), (r * horizonsMin.length + h) * L);
    }
  }
  return grid;
}

/**
 * A model's forecasts at every slot of [fromSlot, toSlot), with the tier choice the forecaster makes,
 * and the supply-rise scenario as `flagValues` (hotspots are scored as the forecaster flags them).
 */
export function modelGrid(
  model: ModelFile,
  layout: ForecastLayout,
  frame: SignalFrame,
  fromSlot = 0,
  toSlot = frame.stride,
): PredictionGrid {
  const cm = compileModel(model, layout);
  const grid = PredictionGrid.forFrame(frame, layout, model.horizonsMin);
  const flag = new Float64Array(grid.values.length).fill(Number.NaN);
  grid.flagValues = flag;
  const walk = rowWalk(frame, layout, model.horizonsMin, cm.means);
  const H = model.horizonsMin.length;
  const delta = new Float64Array(H);
  const from = Math.max(fromSlot, walk.lags.lookback);
  for (let r = 0; r < layout.n; r++) {
    for (let t = from; t < Math.min(toSlot, frame.stride); t++) {
      const mask = loadRow(walk, r, t, false);
      if (mask === 0) continue;
      const k = selectTier(cm, r, mask);
      if (k < 0 || k >= T) continue;
      predictDelta(cm, r, k, walk.x, delta);
      const slope = risingSupplySlope(cm, k, walk.x);
      for (let h = 0; h < H; h++) {
        const i = (r * H + h) * frame.stride + t;
        grid.values[i] = walk.x[0]! + delta[h]!;
        flag[i] = grid.values[i]! + slope * cm.riseExtra[h]!;
      }
    }
  }
  return grid;
}

export interface BacktestReport {
  from: string;
  to: string;
  thresholdC: number;
  modelVersion: number | null;
  horizons: Array<{
    horizonMin: number;
    model: { errors: ErrorMetrics; hotspots: HotspotScore } | null;
    persistence: { errors: ErrorMetrics; hotspots: HotspotScore };
  }>;
  combined: { model: HotspotScore | null; persistence: HotspotScore };
}

/**
 * Backtest a model (or only persistence when none) on a frame, scoring forecasts issued in
 * [from, to) ms. The frame should start `lookbackMs` before `from` and run the longest horizon past `to`.
 */
export function backtest(
  model: ModelFile | undefined,
  layout: ForecastLayout,
  frame: SignalFrame,
  opts: {
    from?: number;
    to?: number;
    thresholdC: number;
    horizonsMin?: readonly number[];
    slackMin?: number;
    rearmMin?: number;
  },
): BacktestReport {
  const horizonsMin = model?.horizonsMin ?? opts.horizonsMin ?? DEFAULT_HORIZONS_MIN;
  const slotOf = (ms: number) => Math.floor((ms - frame.t0) / frame.stepMs);
  // Both predictors are scored from the first slot the features can be built at.
  const fromSlot = Math.max(lagSlots(frame.stepMs).lookback, opts.from === undefined ? 0 : slotOf(opts.from));
  const toSlot = Math.min(frame.stride, opts.to === undefined ? frame.stride : slotOf(opts.to));
  const score: ScoreOptions = {
    thresholdC: opts.thresholdC,
    fromSlot,
    toSlot,
    slackMin: opts.slackMin,
    rearmMin: opts.rearmMin,
  };
  const pers = scoreGrid(persistenceGrid(frame, layout, horizonsMin), frame, score);
  const mod = model ? scoreGrid(modelGrid(model, layout, frame, fromSlot, toSlot), frame, score) : undefined;
  const iso = (slot: number) => new Date(frame.t0 + slot * frame.stepMs).toISOString();
  return {
    from: iso(fromSlot),
    to: iso(toSlot),
    thresholdC: opts.thresholdC,
    modelVersion: model?.version ?? null,
    horizons: horizonsMin.map((horizonMin, h) => ({
      horizonMin,
      model: mod ? { errors: mod.horizons[h]!.errors, hotspots: mod.horizons[h]!.hotspots } : null,
      persistence: { errors: pers.horizons[h]!.errors, hotspots: pers.horizons[h]!.hotspots },
    })),
    combined: { model: mod?.combined ?? null, persistence: pers.combined },
  };
}
