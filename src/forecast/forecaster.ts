/**
 * RackForecaster: holds the promoted model and a rolling window of recent readings, and on each
 * cycle forecasts every rack's inlet at every horizon with an interval, the degradation reason when
 * inputs are missing, and the hotspots. The cycle works on flat typed arrays (no per-rack objects
 * except for hotspots), so 10,000 racks take a few milliseconds.
 *
 * Agent use: construct at start (with the model from `ModelRepository.loadPromoted`), `observe()`
 * every reading batch, `forecast(now)` every cycle, `setModel()` after training or promotion.
 */
import type { SiteIndex } from '../config/siteIndex.ts';
import type { Reading } from '../telemetry/reading.ts';
import {
  buildFeatures,
  createFrame,
  deriveAggregates,
  F,
  GROUP,
  IMPUTABLE_GROUPS,
  imputeMissing,
  type LagSlots,
  lagSlots,
  MASKS,
  type SignalFrame,
  T,
} from './features.ts';
import { DEGRADED, type ForecastSet } from './forecastSet.ts';
import { DEFAULT_STEP_MS } from './history.ts';
import { detectHotspot, type Hotspot } from './hotspots.ts';
import { buildForecastLayout, type ForecastLayout } from './layout.ts';
import type { ModelFile } from './modelFile.ts';
import { type CompiledModel, compileModel, predictDelta, selectTier, TIER_REQUIRED } from './models.ts';
import { riseScenarioPath, risingSupplySlope } from './riseScenario.ts';
import { type ObserveCounts, RollingState } from './rollingState.ts';
import {
  headroomKw,
  type RackSensitivity,
  rackSensitivity,
  type WhatIfEffect,
  whatIfAdd,
} from './sensitivity.ts';
import { DEFAULT_HORIZONS_MIN } from './training.ts';

export interface ForecasterOptions {
  /** Slot length of the rolling state; must equal the model's. Default 60 s. */
  stepMs?: number;
  /** A signal with no reading for longer than this counts as missing. Default 3 slots. */
  staleAfterMs?: number;
  /** Default: the site's thresholds. */
  warnC?: number;
  criticalC?: number;
  /** Horizons forecast (by persistence) while no model is loaded. */
  horizonsMin?: readonly number[];
  /** Interval multiplier when a minor input was filled with its training mean. */
  imputedWiden?: number;
  /** How far ahead of the forecast time readings may be stamped (clock skew); default 5 min, as ingest allows. */
  maxAheadMs?: number;
}

export class ModelRefusedError extends Error {
  readonly code = 'FORECAST_MODEL_REFUSED';
}

const INLET_NOW = GROUP.inletNow;
const MISSING_BITS: Array<[number, number]> = [
  [GROUP.inletHistory, DEGRADED.no_inlet_history],
  [GROUP.power, DEGRADED.no_power],
  [GROUP.supply, DEGRADED.no_supply_temp],
  [GROUP.coolingState, DEGRADED.no_cooling_state],
  [GROUP.siteLoad, DEGRADED.no_site_load],
  [GROUP.outdoor, DEGRADED.no_outdoor_temp],
];
/** For each availability mask: DEGRADED bits for what is missing, and the best tier the inputs allow. */
const MISSING_BY_MASK = Uint16Array.from({ length: MASKS }, (_, m) =>
  MISSING_BITS.reduce((bits, [g, d]) => ((m & g) === 0 ? bits | d : bits), 0),
);
const IDEAL_TIER = Int8Array.from({ length: MASKS }, (_, m) => {
  for (let k = 0; k < T; k++) if ((TIER_REQUIRED[k]! & ~m) === 0) return k;
  return -1;
});

export class RackForecaster {
  readonly layout: ForecastLayout;
  readonly stepMs: number;
  readonly counts: ObserveCounts = { accepted: 0, ignored: 0, late: 0, future: 0 };
  private readonly state: RollingState;
  private readonly lags: LagSlots;
  private readonly maxFill: number;
  private readonly frame: SignalFrame;
  private readonly x = new Float64Array(F + 1);
  private readonly delta = new Float64Array(16);
  private readonly warnC: number;
  private readonly criticalC: number;
  private readonly idleHorizons: readonly number[];
  private readonly imputedWiden: number;
  private readonly maxAheadMs: number;
  private compiled: CompiledModel | undefined;
  /** Supply-rise scenario paths, [rack * H + h]; reused across cycles. */
  private risePath = new Float64Array(0);

  constructor(index: SiteIndex, opts: ForecasterOptions = {}, model?: ModelFile) {
    this.layout = buildForecastLayout(index);
    this.stepMs = opts.stepMs ?? model?.stepMs ?? DEFAULT_STEP_MS;
    this.lags = lagSlots(this.stepMs);
    this.maxFill = Math.floor((opts.staleAfterMs ?? 3 * this.stepMs) / this.stepMs);
    const width = this.lags.lookback + 1;
    // Room for the window, its fill-in, and readings stamped a few slots ahead (clock skew) that
    // must not overwrite a slot still in the window.
    this.maxAheadMs = opts.maxAheadMs ?? 5 * 60_000;
    const aheadSlots = Math.ceil(this.maxAheadMs / this.stepMs);
    this.state = new RollingState(this.layout, this.stepMs, width + this.maxFill + aheadSlots + 2);
    this.frame = createFrame(this.layout, width, 0, this.stepMs);
    this.warnC = opts.warnC ?? index.site.thresholds.inletWarnC;
    this.criticalC = opts.criticalC ?? index.site.thresholds.inletCriticalC;
    this.idleHorizons = opts.horizonsMin ?? DEFAULT_HORIZONS_MIN;
    this.imputedWiden = opts.imputedWiden ?? 1.5;
    if (model) this.setModel(model);
  }

  /**
   * Put a model in service. A model for another site or slot length is refused (ModelRefusedError)
   * and the model in service stays; file-level checks happen in ModelRepository.
   */
  setModel(file: ModelFile): void {
    if (file.site !== this.layout.site) {
      throw new ModelRefusedError(
        `model v${file.version} is for site "${file.site}", not "${this.layout.site}"`,
      );
    }
    if (file.stepMs !== this.stepMs) {
      throw new ModelRefusedError(
        `model v${file.version} uses ${file.stepMs} ms slots; this forecaster runs ${this.stepMs} ms`,
      );
    }
    if (file.horizonsMin.length > this.delta.length) {
      throw new ModelRefusedError(`model v${file.version} has more than ${this.delta.length} horizons`);
    }
    this.compiled = compileModel(file, this.layout);
  }

  get model(): ModelFile | undefined {
    return this.compiled?.file;
  }

  get modelVersion(): number | null {
    return this.compiled?.file.version ?? null;
  }

  /**
   * Feed readings as they arrive (any order within the window; other sites and metrics are ignored).
   * `now` (default the clock) bounds how far ahead a reading may be stamped.
   */
  observe(readings: readonly Reading[], now: number = Date.now()): ObserveCounts {
    const before = { ...this.counts };
    this.state.observe(readings, this.counts, now + this.maxAheadMs);
    return {
      accepted: this.counts.accepted - before.accepted,
      ignored: this.counts.ignored - before.ignored,
      late: this.counts.late - before.late,
      future: this.counts.future - before.future,
    };
  }

  /** Forecast every rack at every horizon as of `now`. */
  forecast(now: number = Date.now()): ForecastSet {
    const started = performance.now();
    const { layout, lags, x, delta } = this;
    const model = this.compiled;
    const horizonsMin = model?.horizonsMin ?? this.idleHorizons;
    const H = horizonsMin.length;
    const n = layout.n;
    const W = this.frame.stride;
    const lastSlot = Math.floor(now / this.stepMs);
    this.state.render(this.frame, lastSlot, this.maxFill);
    const frame: SignalFrame = { ...this.frame, t0: (lastSlot - W + 1) * this.stepMs };
    deriveAggregates(frame, layout);

    const current = new Float64Array(n);
    const predicted = new Float64Array(n * H).fill(Number.NaN);
    const lo = new Float64Array(n * H).fill(Number.NaN);
    const hi = new Float64Array(n * H).fill(Number.NaN);
    const tier = new Int8Array(n).fill(-1);
    const degraded = new Uint16Array(n);
    const hotspots: Hotspot[] = [];
    const warnC = this.warnC;
    if (this.risePath.length !== n * H) this.risePath = new Float64Array(n * H);
    const risePath = this.risePath;

    for (let r = 0; r < n; r++) {
      const mask = buildFeatures(frame, layout, r, W - 1, lags, x);
      const cur = x[0]!;
      current[r] = cur;
      if ((mask & INLET_NOW) === 0) {
        degraded[r] = DEGRADED.no_inlet | (model ? 0 : DEGRADED.no_model);
        continue;
      }
      let bits = MISSING_BY_MASK[mask]!;
      const o = r * H;
      if (!model) {
        bits |= DEGRADED.no_model;
        for (let h = 0; h < H; h++) predicted[o + h] = cur;
      } else {
        imputeMissing(x, mask, model.means);
        const k = selectTier(model, r, mask);
        tier[r] = k;
        if (k > IDEAL_TIER[mask]!) bits |= DEGRADED.simpler_model;
        predictDelta(model, r, k, x, delta);
        const widen = (mask & IMPUTABLE_GROUPS) === IMPUTABLE_GROUPS ? 1 : this.imputedWiden;
        const q = (r * T + k) * H;
        let peak = cur;
        for (let h = 0; h < H; h++) {
          const p = cur + delta[h]!;
          predicted[o + h] = p;
          lo[o + h] = p + model.qlo[q + h]! * widen;
          hi[o + h] = p + model.qhi[q + h]! * widen;
          if (p > peak) peak = p;
        }
        const slope = risingSupplySlope(model, k, x);
        let risePeak = peak;
        if (slope > 0) {
          riseScenarioPath(model, slope, predicted, risePath, o, H);
          for (let h = 0; h < H; h++) risePeak = Math.max(risePeak, risePath[o + h]!);
        }
        if (peak >= warnC || risePeak >= warnC) {
          const spot = detectHotspot(
            layout.rackIds[r]!,
            cur,
            horizonsMin,
            predicted,
            o,
            warnC,
            this.criticalC,
            slope > 0 ? { path: risePath, slopeCPerMin: slope } : undefined,
          );
          if (spot) hotspots.push(spot);
        }
      }
      degraded[r] = bits;
    }
    if (!model) {
      for (let r = 0; r < n; r++) {
        if (current[r]! >= warnC) {
          const spot = detectHotspot(
            layout.rackIds[r]!,
            current[r]!,
            horizonsMin,
            predicted,
            r * H,
            warnC,
            this.criticalC,
          );
          if (spot) hotspots.push(spot);
        }
      }
    }
    hotspots.sort(
      (a, b) => (a.warnInMin ?? Number.POSITIVE_INFINITY) - (b.warnInMin ?? Number.POSITIVE_INFINITY),
    );
    return {
      site: layout.site,
      ts: now,
      modelVersion: this.modelVersion,
      horizonsMin,
      rackIds: layout.rackIds,
      current,
      predicted,
      lo,
      hi,
      tier,
      degraded,
      hotspots,
      elapsedMs: performance.now() - started,
    };
  }

  /** dT_in/dP of a rack (own and per neighbour), from the model or, failing that, the layout. */
  sensitivity(rackId: string): RackSensitivity | undefined {
    const i = this.layout.rackIndex.get(rackId);
    return i === undefined ? undefined : rackSensitivity(this.compiled, this.layout, i);
  }

  /** Steady inlet rise on each affected rack if `addKw` more ran on `rackId`. */
  whatIf(rackId: string, addKw: number): WhatIfEffect[] | undefined {
    const j = this.layout.rackIndex.get(rackId);
    return j === undefined ? undefined : whatIfAdd(this.compiled, this.layout, j, addKw);
  }

  /** kW each rack could take before it or a neighbour is forecast to reach `limitC` (default: warn). */
  headroom(set: ForecastSet, limitC = this.warnC): Float64Array {
    const H = set.horizonsMin.length;
    const peak = new Float64Array(this.layout.n);
    for (let r = 0; r < peak.length; r++) {
      let p = set.current[r]!;
      for (let h = 0; h < H; h++) p = Math.max(p, set.predicted[r * H + h]!);
      peak[r] = p;
    }
    return headroomKw(this.compiled, this.layout, peak, limitC);
  }
}
