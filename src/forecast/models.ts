/**
 * Model maths. Fits are linear (multivariate, with intercept) with a ridge penalty, solved in closed
 * form from accumulated normal equations with ml-matrix (the linear algebra under ml-regression).
 * Why not ml-regression's MultivariateLinearRegression on the raw rows: it costs ~66 ms per
 * 10,000-row fit, minutes for a 1,000-rack site, while one streaming pass that accumulates XᵀX makes
 * every fit — per rack, per fallback tier, pooled per zone — a tiny solve, and pooling is a sum.
 * A compiled model is flat typed arrays the hot loops index without allocating.
 */
import { CholeskyDecomposition, Matrix, solve } from 'ml-matrix';
import { F, FEATURE_INDEX, GROUP, T, TIERS, tierFeatures, tierHasSupply, tierRequired } from './features.ts';
import type { ForecastLayout } from './layout.ts';
import type { ModelFile, RackModel } from './modelFile.ts';
import { gapFactors, trendFactors, undampedTrendExtra } from './physics.ts';
import { blendPowerLevel, POWER_LEVEL_COEFS, writePowerLevel } from './powerLevel.ts';

// Local copies: hot loops read these millions of times.
const NF = F;
const NT = T;
const D = F + 1;
const SUPPLY_SLOPE = FEATURE_INDEX.supply_slope10m;
const GAP = FEATURE_INDEX.supply_gap_c;
const UNCLOSED = FEATURE_INDEX.supply_unclosed_c;

/** XᵀX and XᵀY of standardized features with a trailing intercept column, for H outputs. */
export class NormalEquations {
  readonly d: number;
  readonly xtx: Float64Array;
  readonly xty: Float64Array;
  n = 0;

  constructor(
    readonly p: number,
    readonly h: number,
  ) {
    this.d = p + 1;
    this.xtx = new Float64Array(this.d * this.d);
    this.xty = new Float64Array(this.d * h);
  }

  /** Add one row; `z` holds p features and z[p] must be 1 (the intercept). Upper triangle only. */
  add(z: Float64Array, y: Float64Array): void {
    const d = this.d;
    const h = this.h;
    const xtx = this.xtx;
    const xty = this.xty;
    for (let a = 0; a < d; a++) {
      const za = z[a]!;
      if (za === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) xtx[row + b]! += za * z[b]!;
      const yr = a * h;
      for (let k = 0; k < h; k++) xty[yr + k]! += za * y[k]!;
    }
    this.n++;
  }

  /**
   * Add `count` rows stored column-major (z[a * stride + row], y[o * stride + row]); a block turns the
   * accumulation into contiguous dot products, several times faster than row by row.
   */
  addBlock(z: Float64Array, y: Float64Array, stride: number, count: number): void {
    const d = this.d;
    const h = this.h;
    const xtx = this.xtx;
    const xty = this.xty;
    for (let a = 0; a < d; a++) {
      const za = a * stride;
      for (let b = a; b < d; b++) {
        const zb = b * stride;
        let s = 0;
        for (let i = 0; i < count; i++) s += z[za + i]! * z[zb + i]!;
        xtx[a * d + b]! += s;
      }
      for (let o = 0; o < h; o++) {
        const yo = o * stride;
        let s = 0;
        for (let i = 0; i < count; i++) s += z[za + i]! * y[yo + i]!;
        xty[a * h + o]! += s;
      }
    }
    this.n += count;
  }

  merge(other: NormalEquations): void {
    for (let i = 0; i < this.xtx.length; i++) this.xtx[i]! += other.xtx[i]!;
    for (let i = 0; i < this.xty.length; i++) this.xty[i]! += other.xty[i]!;
    this.n += other.n;
  }

  /**
   * Solve for the coefficients of feature subset `cols` (+ intercept) for each output, minimizing
   * ‖Xβ − y‖² + λn‖β‖² + w‖β − prior‖² (intercept unpenalized); `lambda` is one value for every
   * output or one per output. Returns [H][cols.length + 1].
   */
  solve(
    cols: readonly number[],
    lambda: number | ArrayLike<number>,
    prior?: readonly (Float64Array | undefined)[],
    priorWeight = 0,
  ): Float64Array[] {
    const out = new Array<Float64Array>(this.h);
    const lambdaOf = (o: number) => (typeof lambda === 'number' ? lambda : lambda[o]!);
    // One factorization per distinct penalty: outputs that share it share the matrix.
    const groups = new Map<number, number[]>();
    for (let o = 0; o < this.h; o++) {
      const l = lambdaOf(o);
      const g = groups.get(l);
      if (g) g.push(o);
      else groups.set(l, [o]);
    }
    for (const [l, outputs] of groups) {
      const X = this.solveOutputs(cols, l, outputs, prior, priorWeight);
      outputs.forEach((o, c) => {
        out[o] = Float64Array.from(X.getColumn(c));
      });
    }
    return out;
  }

  private solveOutputs(
    cols: readonly number[],
    lambda: number,
    outputs: readonly number[],
    prior: readonly (Float64Array | undefined)[] | undefined,
    priorWeight: number,
  ): Matrix {
    const k = cols.length + 1;
    const idx = [...cols, this.p];
    const A = new Matrix(k, k);
    const B = new Matrix(k, outputs.length);
    const ridge = lambda * this.n + priorWeight;
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < k; c++) {
        const a = Math.min(idx[r]!, idx[c]!);
        const b = Math.max(idx[r]!, idx[c]!);
        A.set(r, c, this.xtx[a * this.d + b]! + (r === c && r < k - 1 ? ridge : 0));
      }
      outputs.forEach((o, c) => {
        const po = prior?.[o];
        const pr = po && r < k - 1 ? priorWeight * po[r]! : 0;
        B.set(r, c, this.xty[idx[r]! * this.h + o]! + pr);
      });
    }
    const chol = new CholeskyDecomposition(A);
    // Collinear inputs without a penalty make A singular: fall back to the SVD least-norm solution.
    return chol.isPositiveDefinite() ? chol.solve(B) : solve(A, B, true);
  }
}

/** Per-feature centring and scaling so one ridge penalty fits features of very different units. */
export interface Scaler {
  mean: Float64Array;
  scale: Float64Array;
  /** Range seen in training: fitted features are clipped to it, so a linear fit never extrapolates far. */
  lo: Float64Array;
  hi: Float64Array;
}

/** Coefficients on standardized features → raw-unit coefficients (intercept last). */
export function unscale(beta: Float64Array, cols: readonly number[], scaler: Scaler): number[] {
  const out = new Array<number>(cols.length + 1);
  let intercept = beta[cols.length]!;
  cols.forEach((j, c) => {
    const w = beta[c]! / scaler.scale[j]!;
    out[c] = w;
    intercept -= w * scaler.mean[j]!;
  });
  out[cols.length] = intercept;
  return out;
}

/**
 * Ordinary (lambda 0) or ridge least squares with an intercept on plain rows, for small fits and
 * tests: the same solver training uses.
 */
export function fitLinearRegression(
  x: readonly (readonly number[])[],
  y: readonly number[],
  opts: { lambda?: number } = {},
): { coefficients: number[]; intercept: number } {
  const p = x[0]?.length ?? 0;
  const n = x.length;
  const scaler: Scaler = {
    mean: new Float64Array(p),
    scale: new Float64Array(p).fill(1),
    lo: new Float64Array(p).fill(Number.NEGATIVE_INFINITY),
    hi: new Float64Array(p).fill(Number.POSITIVE_INFINITY),
  };
  for (const row of x) for (let j = 0; j < p; j++) scaler.mean[j]! += row[j]! / n;
  for (let j = 0; j < p; j++) {
    let v = 0;
    for (const row of x) v += (row[j]! - scaler.mean[j]!) ** 2;
    scaler.scale[j] = Math.sqrt(v / n) || 1;
  }
  const ne = new NormalEquations(p, 1);
  const z = new Float64Array(p + 1);
  const t = new Float64Array(1);
  x.forEach((row, i) => {
    for (let j = 0; j < p; j++) z[j] = (row[j]! - scaler.mean[j]!) / scaler.scale[j]!;
    z[p] = 1;
    t[0] = y[i]!;
    ne.add(z, t);
  });
  const cols = Array.from({ length: p }, (_, j) => j);
  const raw = unscale(ne.solve(cols, opts.lambda ?? 0)[0]!, cols, scaler);
  return { coefficients: raw.slice(0, p), intercept: raw[p]! };
}

/** Feature indices per tier, precomputed for the hot loops. */
export const TIER_FEATURES: readonly Int32Array[] = TIERS.map((_, k) => Int32Array.from(tierFeatures(k)));
export const TIER_REQUIRED: Int32Array = Int32Array.from(TIERS.map((_, k) => tierRequired(k)));
const TIER_PHYSICS: Uint8Array = Uint8Array.from(TIERS.map((_, k) => (tierHasSupply(k) ? 1 : 0)));
/** Tiers whose inputs include power, and so the power-level blend. */
const TIER_POWER: Uint8Array = Uint8Array.from(TIERS.map((t) => ((t.groups & GROUP.power) !== 0 ? 1 : 0)));

export const SOURCE_CODE = { rack: 0, zone: 1, site: 2 } as const;

/** A model file laid out against one site's rack order. */
export interface CompiledModel {
  readonly file: ModelFile;
  readonly H: number;
  readonly horizonsMin: readonly number[];
  /** [((rack * T + tier) * H + h) * (F + 1) + feature]; intercept at feature index F. Raw units. */
  readonly coef: Float64Array;
  /** [rack * T + tier]: 1 when the tier was fitted for the rack. */
  readonly fitted: Uint8Array;
  /** [(rack * T + tier) * H + h]: residual quantiles added to the prediction for the interval. */
  readonly qlo: Float64Array;
  readonly qhi: Float64Array;
  readonly means: Float64Array;
  /** Training range per feature; fitted features are clipped to it. */
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  /** Per rack: 0 own fit, 1 zone pool, 2 site pool. */
  readonly source: Uint8Array;
  /** Per rack [own, neighbour, aisle mean, zone mean] steady °C per kW, NaN when the model has none. */
  readonly level: Float64Array;
  /** Physics (see physics.ts): per rack gap offset; per horizon gap and trend factors. */
  readonly offset: Float64Array;
  readonly gapDeadband: number;
  readonly unclosedDeadband: number;
  readonly gapFactor: Float64Array;
  readonly trend: Float64Array;
  readonly trendMinSlope: number;
  /** Per horizon: extra inlet °C per °C/min of supply slope if the rise does not damp (riseScenario.ts). */
  readonly riseExtra: Float64Array;
  /**
   * Power-level blend (powerLevel.ts): coefficients [(rack * H + h) * POWER_LEVEL_COEFS + c] (NaN where
   * none), weight and band per horizon.
   */
  readonly powerLevel: Float64Array;
  readonly blendWeights: Float64Array;
  readonly blendBands: Float64Array;
}

/** Lay a model file out against `layout`; racks the file does not know fall back to their zone's or the site's pool. */
export function compileModel(file: ModelFile, layout: ForecastLayout): CompiledModel {
  const H = file.horizonsMin.length;
  const n = layout.n;
  const coef = new Float64Array(n * T * H * D);
  const fitted = new Uint8Array(n * T);
  const qlo = new Float64Array(n * T * H);
  const qhi = new Float64Array(n * T * H);
  const source = new Uint8Array(n);
  const offset = new Float64Array(n);
  const level = new Float64Array(n * 4).fill(Number.NaN);
  const powerLevel = new Float64Array(n * H * POWER_LEVEL_COEFS).fill(Number.NaN);
  const tierIndex = new Map<string, number>(TIERS.map((t, k) => [t.name, k]));
  for (let r = 0; r < n; r++) {
    const id = layout.rackIds[r]!;
    const zoneId = layout.zoneIds[layout.zone[r]!]!;
    const rm: RackModel = file.racks[id] ?? file.pooled.zones[zoneId] ?? file.pooled.site;
    source[r] = SOURCE_CODE[file.racks[id] ? rm.source : file.pooled.zones[zoneId] ? 'zone' : 'site'];
    offset[r] = rm.offsetC;
    if (rm.level) {
      level[r * 4] = rm.level.ownCPerKw;
      level[r * 4 + 1] = rm.level.neighbourCPerKw;
      level[r * 4 + 2] = rm.level.aisleMeanCPerKw;
      level[r * 4 + 3] = rm.level.zoneMeanCPerKw;
    }
    writePowerLevel(rm.powerLevel, H, r, powerLevel);
    for (const [name, fit] of Object.entries(rm.tiers)) {
      const k = tierIndex.get(name);
      if (k === undefined) continue;
      fitted[r * T + k] = 1;
      const cols = TIER_FEATURES[k]!;
      for (let h = 0; h < H; h++) {
        const row = fit.coef[h]!;
        const base = ((r * T + k) * H + h) * D;
        for (let c = 0; c < cols.length; c++) coef[base + cols[c]!] = row[c]!;
        coef[base + F] = row[cols.length]!;
        const q = fit.q[h]!;
        qlo[(r * T + k) * H + h] = q[0];
        qhi[(r * T + k) * H + h] = q[1];
      }
    }
  }
  return {
    file,
    H,
    horizonsMin: file.horizonsMin,
    coef,
    fitted,
    qlo,
    qhi,
    means: Float64Array.from(file.featureMeans),
    lo: Float64Array.from(file.featureRanges, (r) => r[0]),
    hi: Float64Array.from(file.featureRanges, (r) => r[1]),
    source,
    offset,
    level,
    gapDeadband: file.form.physics.gapDeadbandC,
    unclosedDeadband: file.form.physics.unclosedDeadbandC,
    gapFactor: gapFactors(file.horizonsMin, file.form.physics),
    trend: trendFactors(file.horizonsMin, file.form.physics),
    trendMinSlope: file.form.physics.minSlopeCPerMin,
    riseExtra: undampedTrendExtra(file.horizonsMin, file.form.physics),
    powerLevel,
    blendWeights: Float64Array.from(file.horizonsMin, (_, h) => file.form.blend?.weights[h] ?? 0),
    blendBands: Float64Array.from(file.horizonsMin, (_, h) => file.form.blend?.bandsC[h] ?? 0),
  };
}

/** The first tier, in order of preference, that is fitted for the rack and whose inputs are all present; -1 if none. */
export function selectTier(m: CompiledModel, r: number, mask: number): number {
  for (let k = 0; k < NT; k++) {
    if (m.fitted[r * NT + k] === 1 && (TIER_REQUIRED[k]! & ~mask) === 0) return k;
  }
  return -1;
}

/** The level gap (supply − inlet) from the rack's usual offset, clipped to its normal band (what the fit sees). */
export function clipGap(rawGap: number, offset: number, deadband: number): number {
  return Math.min(deadband, Math.max(-deadband, rawGap + offset));
}

/** The part of v beyond ±deadband (0 inside it). */
export function beyondBand(v: number, deadband: number): number {
  return v > deadband ? v - deadband : v < -deadband ? v + deadband : 0;
}

/** Scratch for the clipped features of one prediction (JS runs one prediction at a time). */
const clipped = new Float64Array(F);

/**
 * Predicted inlet change per horizon for rack r with tier k from features x (imputed already): the
 * fitted part on features clipped to their training range (the level gap to its band), plus, for
 * tiers with supply, physics for the unclosed supply change beyond its band and the supply trend;
 * for tiers with power, pulled towards the power-level forecast within its band (powerLevel.ts).
 */
export function predictDelta(
  m: CompiledModel,
  r: number,
  k: number,
  x: Float64Array,
  out: Float64Array,
): void {
  const cols = TIER_FEATURES[k]!;
  const physics = TIER_PHYSICS[k] === 1;
  const lo = m.lo;
  const hi = m.hi;
  for (let c = 0; c < cols.length; c++) {
    const j = cols[c]!;
    const v = x[j]!;
    clipped[j] = Math.min(hi[j]!, Math.max(lo[j]!, v));
  }
  let unclosed = 0;
  let slope = 0;
  if (physics) {
    clipped[GAP] = clipGap(x[GAP]!, m.offset[r]!, m.gapDeadband);
    unclosed = beyondBand(x[UNCLOSED]!, m.unclosedDeadband);
    slope = x[SUPPLY_SLOPE]!;
    if (Math.abs(slope) < m.trendMinSlope) slope = 0;
  }
  for (let h = 0; h < m.H; h++) {
    const base = ((r * NT + k) * m.H + h) * D;
    let s = m.coef[base + NF]!;
    for (let c = 0; c < cols.length; c++) {
      const j = cols[c]!;
      s += m.coef[base + j]! * clipped[j]!;
    }
    out[h] = physics ? s + m.gapFactor[h]! * unclosed + m.trend[h]! * slope : s;
  }
  if (TIER_POWER[k] === 1) blendPowerLevel(m.powerLevel, m.blendWeights, m.blendBands, r, x, out);
}

/** The physics part of `predictDelta` for tiers with supply (training fits the targets without it). */
export function physicsDelta(
  gapFactor: Float64Array,
  trend: Float64Array,
  minSlope: number,
  unclosedBeyond: number,
  slope: number,
  h: number,
): number {
  return gapFactor[h]! * unclosedBeyond + (Math.abs(slope) >= minSlope ? trend[h]! * slope : 0);
}
