/**
 * Scoring a freshly fitted model on the held-back tail: per rack and tier the residual quantiles
 * that become its prediction interval, per horizon the errors of the model (with the tier the
 * forecaster would pick), of persistence and of the model currently in service, and the promotion gate.
 */
import { type SignalFrame, T, TIERS } from './features.ts';
import type { ForecastLayout } from './layout.ts';
import { ErrorAccumulator, quantileSelect } from './metrics.ts';
import type { HorizonValidation, ModelFile, RackModel } from './modelFile.ts';
import { type CompiledModel, compileModel, predictDelta, selectTier, TIER_REQUIRED } from './models.ts';
import { powerLevelDelta } from './powerLevel.ts';
import { loadRow, rowWalk } from './rows.ts';

export interface ValidationResult {
  horizons: HorizonValidation[];
  holdoutRows: number;
  gate: { promoted: boolean; reason: string };
}

/** Below this many held-out residuals a rack's interval comes from the site-wide residuals. */
const MIN_QUANTILE_SAMPLES = 30;
const SITE_RESERVOIR = 20_000;
export const INTERVAL_QUANTILES = [0.1, 0.9] as const;

const NT = T;
const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Fills the model's intervals, validation, holdout count and gate in place; slots [from, to) are scored. */
export function validateModel(
  model: ModelFile,
  layout: ForecastLayout,
  frame: SignalFrame,
  from: number,
  to: number,
  current?: ModelFile,
): ValidationResult {
  const H = model.horizonsMin.length;
  const cm = compileModel(model, layout);
  const walk = rowWalk(frame, layout, model.horizonsMin, cm.means);
  const cur = current ? compileModel(current, layout) : undefined;
  const curWalk = current
    ? rowWalk(frame, layout, current.horizonsMin, Float64Array.from(current.featureMeans))
    : undefined;
  // Model horizon h → index of the same horizon in the current model, or -1.
  const curIndex = model.horizonsMin.map((h) => current?.horizonsMin.indexOf(h) ?? -1);

  const modelErr = model.horizonsMin.map(() => new ErrorAccumulator());
  const persistErr = model.horizonsMin.map(() => new ErrorAccumulator());
  const currentErr = model.horizonsMin.map(() => new ErrorAccumulator());
  const cap = Math.max(0, to - from);
  const res = new Float64Array(T * H * cap);
  const cnt = new Int32Array(T * H);
  const site = new Float64Array(T * H * SITE_RESERVOIR);
  const siteCnt = new Int32Array(T * H);
  const siteStride = Math.max(1, Math.ceil((layout.n * cap) / SITE_RESERVOIR));
  const pred = new Float64Array(H);
  const predCur = new Float64Array(current?.horizonsMin.length ?? 0);
  const pending: Array<{ fit: RackModel['tiers'][string]; k: number; h: number }> = [];
  let holdoutRows = 0;

  for (let r = 0; r < layout.n; r++) {
    cnt.fill(0);
    let seen = 0;
    for (let t = from; t < to; t++) {
      const mask = loadRow(walk, r, t, true);
      if (mask === 0) continue;
      holdoutRows++;
      const sample = seen++ % siteStride === 0;
      const sel = selectTier(cm, r, mask);
      for (let k = 0; k < NT; k++) {
        if (cm.fitted[r * NT + k] !== 1 || (TIER_REQUIRED[k]! & ~mask) !== 0) continue;
        predictDelta(cm, r, k, walk.x, pred);
        for (let h = 0; h < H; h++) {
          const e = walk.y[h]! - pred[h]!;
          const kh = k * H + h;
          res[kh * cap + cnt[kh]!++] = e;
          if (k === sel) modelErr[h]!.add(e);
          if (sample && siteCnt[kh]! < SITE_RESERVOIR) site[kh * SITE_RESERVOIR + siteCnt[kh]!++] = e;
        }
      }
      for (let h = 0; h < H; h++) persistErr[h]!.add(walk.y[h]!);
      if (cur && curWalk) {
        const m2 = loadRow(curWalk, r, t, true);
        const sc = m2 === 0 ? -1 : selectTier(cur, r, m2);
        if (sc >= 0) {
          predictDelta(cur, r, sc, curWalk.x, predCur);
          for (let h = 0; h < H; h++) {
            const c = curIndex[h]!;
            if (c >= 0) currentErr[h]!.add(walk.y[h]! - predCur[c]!);
          }
        }
      }
    }
    const rm = model.racks[layout.rackIds[r]!]!;
    TIERS.forEach((tier, k) => {
      const fit = rm.tiers[tier.name];
      if (!fit) return;
      for (let h = 0; h < H; h++) {
        const kh = k * H + h;
        if (cnt[kh]! < MIN_QUANTILE_SAMPLES) {
          pending.push({ fit, k, h });
          continue;
        }
        fit.q[h] = quantiles(res.subarray(kh * cap), cnt[kh]!);
      }
    });
  }

  // Site-wide residual quantiles: for pooled fits and racks with too few held-out rows.
  const siteQ = (k: number, h: number): [number, number] => {
    const kh = k * H + h;
    return siteCnt[kh]! > 0 ? quantiles(site.subarray(kh * SITE_RESERVOIR), siteCnt[kh]!) : [0, 0];
  };
  const siteQuantiles = Array.from({ length: T * H }, (_, kh) => siteQ(Math.floor(kh / H), kh % H));
  for (const p of pending) p.fit.q[p.h] = siteQuantiles[p.k * H + p.h]!;
  for (const rm of [model.pooled.site, ...Object.values(model.pooled.zones)]) {
    TIERS.forEach((tier, k) => {
      const fit = rm.tiers[tier.name];
      if (fit) for (let h = 0; h < H; h++) fit.q[h] = siteQuantiles[k * H + h]!;
    });
  }

  const horizons: HorizonValidation[] = model.horizonsMin.map((horizonMin, h) => ({
    horizonMin,
    model: modelErr[h]!.result(),
    persistence: persistErr[h]!.result(),
    ...(current && curIndex[h]! >= 0 ? { current: currentErr[h]!.result() } : {}),
  }));
  const gate = promotionGate(horizons, holdoutRows, current);
  model.validation = { horizons };
  model.counts.holdoutRows = holdoutRows;
  model.gate = gate;
  return { horizons, holdoutRows, gate };
}

function quantiles(values: Float64Array, n: number): [number, number] {
  const v = values.subarray(0, n);
  return [r4(quantileSelect(v, INTERVAL_QUANTILES[0])), r4(quantileSelect(v, INTERVAL_QUANTILES[1]))];
}

/**
 * Promote only when, on the held-back window, the candidate's MAE is below persistence at every
 * horizon and its mean MAE (over the horizons both share) is below the current model's.
 */
export function promotionGate(
  horizons: readonly HorizonValidation[],
  holdoutRows: number,
  current?: Pick<ModelFile, 'version'>,
): { promoted: boolean; reason: string } {
  if (holdoutRows === 0 || horizons.length === 0) {
    return { promoted: false, reason: 'no usable rows in the held-back window to validate on' };
  }
  const fails: string[] = [];
  for (const v of horizons) {
    if (!(v.model.mae < v.persistence.mae)) {
      fails.push(
        `${v.horizonMin} min: MAE ${v.model.mae} °C is not below persistence ${v.persistence.mae} °C`,
      );
    }
  }
  const shared = horizons.filter((v) => v.current && v.current.n > 0);
  const mean = (xs: number[]) => r4(xs.reduce((a, b) => a + b, 0) / xs.length);
  const candMean = shared.length ? mean(shared.map((v) => v.model.mae)) : Number.NaN;
  const curMean = shared.length ? mean(shared.map((v) => v.current!.mae)) : Number.NaN;
  if (current && shared.length && !(candMean < curMean)) {
    fails.push(`mean MAE ${candMean} °C is not below the current model v${current.version} (${curMean} °C)`);
  }
  if (fails.length) return { promoted: false, reason: `kept as candidate: ${fails.join('; ')}` };
  const maes = horizons
    .map((v) => `${v.horizonMin} min ${v.model.mae} vs ${v.persistence.mae} °C`)
    .join(', ');
  const vsCurrent = !current
    ? 'no model was in service'
    : shared.length
      ? `beats current model v${current.version} (mean MAE ${candMean} vs ${curMean} °C)`
      : `current model v${current.version} shares no horizon to compare`;
  return { promoted: true, reason: `beats persistence (${maes}); ${vsCurrent}` };
}

/** Blend weights tried per horizon on the held-back window. */
export const BLEND_WEIGHTS = [0, 0.25, 0.5, 0.75, 1] as const;
/** Bands tried: the share of held-back |level − delta| inside them. */
export const BAND_QUANTILES = [0.5, 0.8, 0.9, 0.95, 0.99] as const;
/** Held-back rows sampled for the choice (enough for two decimals of MAE, bounded memory). */
const SAMPLE_ROWS = 100_000;

/**
 * Choose the power-level blend on the held-back slots [from, to) of the training frame: per horizon
 * the weight and band (a quantile of |level − delta| there) with the lowest MAE; weight 0 (no blend)
 * is always a candidate. The model must not carry a blend yet (its predictions are the delta model's).
 */
export function chooseBlend(
  model: ModelFile,
  layout: ForecastLayout,
  frame: SignalFrame,
  from: number,
  to: number,
): { weights: number[]; bandsC: number[] } {
  const H = model.horizonsMin.length;
  const cm: CompiledModel = compileModel(model, layout);
  const walk = rowWalk(frame, layout, model.horizonsMin, cm.means);
  const stride = Math.max(1, Math.ceil((layout.n * Math.max(0, to - from)) / SAMPLE_ROWS));
  // Per horizon, per sampled row: the target less the delta forecast, and level − delta.
  const miss = Array.from({ length: H }, () => [] as number[]);
  const gap = Array.from({ length: H }, () => [] as number[]);
  const delta = new Float64Array(H);
  let row = 0;
  for (let r = 0; r < layout.n; r++) {
    for (let t = from; t < to; t++) {
      if (row++ % stride !== 0) continue;
      const mask = loadRow(walk, r, t, true);
      if (mask === 0) continue;
      const k = selectTier(cm, r, mask);
      if (k < 0) continue;
      predictDelta(cm, r, k, walk.x, delta);
      for (let h = 0; h < H; h++) {
        const level = powerLevelDelta(cm.powerLevel, H, r, h, walk.x);
        if (Number.isNaN(level) || Number.isNaN(walk.y[h]!)) continue;
        miss[h]!.push(walk.y[h]! - delta[h]!);
        gap[h]!.push(level - delta[h]!);
      }
    }
  }
  const weights: number[] = [];
  const bandsC: number[] = [];
  for (let h = 0; h < H; h++) {
    const m = miss[h]!;
    const g = gap[h]!;
    let best = { err: m.reduce((a, v) => a + Math.abs(v), 0), w: 0, band: 0 };
    if (g.length > 0) {
      const spread = Float64Array.from(g, Math.abs);
      for (const q of BAND_QUANTILES) {
        const band = Math.round(quantileSelect(spread, q) * 1e4) / 1e4;
        for (const w of BLEND_WEIGHTS) {
          if (w === 0) continue;
          let err = 0;
          for (let i = 0; i < m.length; i++)
            err += Math.abs(m[i]! - w * Math.min(band, Math.max(-band, g[i]!)));
          if (err < best.err) best = { err, w, band };
        }
      }
    }
    weights.push(best.w);
    bandsC.push(best.band);
  }
  return { weights, bandsC };
}
