/**
 * Fit forecast models from a history frame: one streaming pass accumulates normal equations per rack
 * and input-availability pattern; each tier's fit is then a small solve — pooled over the site, over
 * each zone (shrunk towards the site), and per rack with enough history (shrunk towards its zone).
 * The tail of the window is held back: it sets the prediction intervals and decides promotion.
 */
import {
  F,
  FEATURE_INDEX,
  FEATURES,
  GROUP,
  lagSlots,
  PERSISTENCE_TIER,
  type SignalFrame,
  TIERS,
  tierHasSupply,
} from './features.ts';
import type { ForecastLayout } from './layout.ts';
import {
  currentTierSpec,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelFile,
  type RackModel,
} from './modelFile.ts';
import {
  beyondBand,
  clipGap,
  NormalEquations,
  physicsDelta,
  TIER_FEATURES,
  TIER_REQUIRED,
  unscale,
} from './models.ts';
import { DEFAULT_PHYSICS, gapFactors, type PhysicsParams, trendFactors } from './physics.ts';
import { POWER_LEVEL_COLS } from './powerLevel.ts';
import { horizonSlots, loadRow, rowWalk } from './rows.ts';
import { fitScaler, gapOffsets, meanOf } from './trainingPrep.ts';
import { chooseBlend, type ValidationResult, validateModel } from './validation.ts';

/**
 * The site schema's default (forecast.horizonsMin). The long horizons are there for hotspots: a zone
 * whose cooling degrades warms over tens of minutes, and a 30-minute look-ahead flags its racks too
 * late. 120 minutes lets the supply-rise scenario (riseScenario.ts) say "within two hours" for racks a
 * failing unit reaches after more than an hour, instead of a 60-minute claim that comes true too late.
 */
export const DEFAULT_HORIZONS_MIN = [5, 15, 30, 60, 120] as const;

export interface TrainOptions {
  horizonsMin?: readonly number[];
  /** Held-back tail; default one day, or a quarter of the window when it is shorter than four days. */
  holdoutMs?: number;
  /** Ridge penalty per row on standardized features (horizons up to LAMBDA_REFERENCE_MIN; see there). */
  lambda?: number;
  /** Pull of a rack's fit towards its zone's (and a zone's towards the site's), in rows. */
  shrinkRows?: number;
  /** Racks with fewer training rows use their zone's pooled fit. */
  minRackRows?: number;
  /** Pools (and tiers) with fewer rows are not fitted. */
  minPooledRows?: number;
  /** Physical backbone settings (τ, damping, slope threshold); the deadband defaults to the data's spread. */
  physics?: Partial<PhysicsParams>;
  /** Creation time, ms (injected for tests). */
  now?: number;
  version?: number;
}

export interface TrainResult {
  /** Status is `promoted` when the gate passed, else `candidate`; `gate.reason` says why. */
  model: ModelFile;
  promoted: boolean;
  reason: string;
  validation: ValidationResult;
  durationMs: number;
}

export class TrainingError extends Error {
  readonly code = 'FORECAST_TRAINING_DATA';
}

/** Pattern of the groups that decide which tiers a row can train (imputable groups never do). */
const PATTERN_GROUPS = [GROUP.inletHistory, GROUP.power, GROUP.supply] as const;
function patternOf(mask: number): number {
  let p = 0;
  PATTERN_GROUPS.forEach((g, b) => {
    if (mask & g) p |= 1 << b;
  });
  return p;
}
function patternMask(p: number): number {
  let m =
    GROUP.inletNow | GROUP.inletLevel | GROUP.time | GROUP.coolingState | GROUP.siteLoad | GROUP.outdoor;
  PATTERN_GROUPS.forEach((g, b) => {
    if (p & (1 << b)) m |= g;
  });
  return m;
}

/**
 * Horizons past this many minutes get a ridge penalty scaled up in proportion: a longer horizon's
 * target carries more that no feature explains, so the same rows support less fitted detail (the
 * 60-minute fit otherwise chases the daily-cycle terms of a few days' history).
 */
export const LAMBDA_REFERENCE_MIN = 15;

const BLOCK = 256;
/** A prior for one output only (the others, unused, are pulled towards 0 by the same weight). */
const outputPrior = (index: number, prior: Float64Array) =>
  Array.from({ length: index + 1 }, (_, o) => (o === index ? prior : undefined));
/** Penalty per row of the power-level fit (see there). */
const POWER_LEVEL_LAMBDA = 1e-6;
const LEVEL_COLS = [
  FEATURE_INDEX.power_kw,
  FEATURE_INDEX.nbr_power_kw,
  FEATURE_INDEX.aisle_power_kw,
  FEATURE_INDEX.zone_power_kw,
];
const round7 = (v: number) => Number(v.toPrecision(7));

export function trainForecastModel(
  layout: ForecastLayout,
  frame: SignalFrame,
  opts: TrainOptions = {},
  current?: ModelFile,
): TrainResult {
  const started = performance.now();
  const horizonsMin = [...(opts.horizonsMin ?? DEFAULT_HORIZONS_MIN)];
  const H = horizonsMin.length;
  const lambda = opts.lambda ?? 0.05;
  const shrinkRows = opts.shrinkRows ?? 500;
  const minRackRows = opts.minRackRows ?? 720;
  const minPooledRows = opts.minPooledRows ?? 100;
  const step = frame.stepMs;
  const L = frame.stride;

  const first = lagSlots(step).lookback;
  const hMax = Math.max(...horizonsMin.map((h) => horizonSlots(h, step)));
  const span = L - hMax - first;
  const holdoutSlots = Math.round(
    (opts.holdoutMs ?? (span * step >= 4 * 86_400_000 ? 86_400_000 : (span * step) / 4)) / step,
  );
  const holdoutStart = L - hMax - holdoutSlots;
  const trainEnd = holdoutStart - hMax; // purge: no training target reaches into the held-back window
  if (trainEnd - first < 1 || holdoutSlots < 1) {
    throw new TrainingError(
      `not enough history to train: ${L} slots of ${step / 60_000} min; need the feature look-back (${first}), ` +
        `the longest horizon (${hMax}) and a held-back window`,
    );
  }

  const bands = gapOffsets(frame, layout, first, trainEnd);
  const offsets = bands.offsets;
  const physics: PhysicsParams = {
    ...DEFAULT_PHYSICS,
    gapDeadbandC: round7(bands.gapDeadband),
    unclosedDeadbandC: round7(bands.unclosedDeadband),
    ...opts.physics,
  };
  const scaler = fitScaler(frame, layout, offsets, physics.gapDeadbandC, trainEnd);
  const walk = rowWalk(frame, layout, horizonsMin, scaler.mean);

  // Pass 1: normal equations per rack and availability pattern over the training rows.
  // Rows are standardized into column-major blocks, one per pattern, flushed as dot products.
  const nF = F; // local copy: imported bindings are slower in the hot loop
  const { mean, scale, lo, hi } = scaler;
  const nPatterns = 1 << PATTERN_GROUPS.length;
  const blockZ = Array.from({ length: nPatterns }, () => new Float64Array((nF + 1) * BLOCK));
  // Outputs 0..H-1: the inlet change; H..2H-1: the same less the physics terms, for the tiers that
  // add them at prediction time (both share XᵀX).
  const H2 = 2 * H;
  // Output 2H: the inlet level over supply, for the steady-state sensitivity fit on power (LEVEL_COLS).
  // Outputs 2H+1..3H: the inlet level at each horizon, for the power-level forecast (powerLevel.ts).
  const PL = H2 + 1;
  const NO = PL + H;
  const gapF = gapFactors(horizonsMin, physics);
  const trendF = trendFactors(horizonsMin, physics);
  const minSlope = physics.minSlopeCPerMin;
  const GAP = FEATURE_INDEX.supply_gap_c;
  const SLOPE = FEATURE_INDEX.supply_slope10m;
  const UNCLOSED = FEATURE_INDEX.supply_unclosed_c;
  const blockY = Array.from({ length: nPatterns }, () => new Float64Array(NO * BLOCK));
  const blockN = new Int32Array(nPatterns);
  const perRack: (NormalEquations | undefined)[][] = [];
  let trainRows = 0;
  for (let r = 0; r < layout.n; r++) {
    const patterns: (NormalEquations | undefined)[] = new Array(nPatterns);
    const flush = (p: number) => {
      let ne = patterns[p];
      if (!ne) patterns[p] = ne = new NormalEquations(nF, NO);
      ne.addBlock(blockZ[p]!, blockY[p]!, BLOCK, blockN[p]!);
      blockN[p] = 0;
    };
    for (let t = first; t < trainEnd; t++) {
      const mask = loadRow(walk, r, t, true);
      if (mask === 0) continue;
      const p = patternOf(mask);
      const z = blockZ[p]!;
      const y = blockY[p]!;
      const i = blockN[p]!;
      const x = walk.x;
      let unclosed = 0;
      y[H2 * BLOCK + i] = 0;
      if ((mask & GROUP.supply) !== 0) {
        y[H2 * BLOCK + i] = -x[GAP]!;
        x[GAP] = clipGap(x[GAP]!, offsets[r]!, physics.gapDeadbandC);
        unclosed = beyondBand(x[UNCLOSED]!, physics.unclosedDeadbandC);
      }
      for (let j = 0; j < nF; j++) {
        const v = x[j]!;
        // As at forecast time: clipped to the range the scaler pass saw (GAP is within its band already).
        z[j * BLOCK + i] = !Number.isNaN(v)
          ? (Math.min(hi[j]!, Math.max(lo[j]!, v)) - mean[j]!) / scale[j]!
          : 0;
      }
      z[nF * BLOCK + i] = 1;
      for (let h = 0; h < H; h++) {
        y[h * BLOCK + i] = walk.y[h]!;
        y[(PL + h) * BLOCK + i] = walk.y[h]! + x[0]!;
        const phys =
          (mask & GROUP.supply) === 0 ? 0 : physicsDelta(gapF, trendF, minSlope, unclosed, x[SLOPE]!, h);
        y[(H + h) * BLOCK + i] = walk.y[h]! - phys;
      }
      if (++blockN[p]! === BLOCK) flush(p);
      trainRows++;
    }
    for (let p = 0; p < nPatterns; p++) if (blockN[p]! > 0) flush(p);
    perRack.push(patterns);
  }
  if (trainRows < minPooledRows) {
    throw new TrainingError(
      `only ${trainRows} usable training rows (need ${minPooledRows}); check that inlet telemetry is stored`,
    );
  }

  // Per rack and tier: the sum of the patterns that carry every input the tier requires.
  const rackTier = perRack.map((patterns) =>
    TIERS.map((_, k) => {
      if (k === PERSISTENCE_TIER) return undefined;
      let acc: NormalEquations | undefined;
      patterns.forEach((ne, p) => {
        if (!ne || (TIER_REQUIRED[k]! & ~patternMask(p)) !== 0) return;
        acc ??= new NormalEquations(F, NO);
        acc.merge(ne);
      });
      return acc;
    }),
  );
  const pool = (racks: number[], k: number) => {
    const acc = new NormalEquations(F, NO);
    for (const r of racks) {
      const ne = rackTier[r]![k];
      if (ne) acc.merge(ne);
    }
    return acc;
  };

  // Per output: the horizons' penalties (for both target forms), the base one for the level fit.
  const lambdaH = horizonsMin.map((h) => lambda * Math.max(1, h / LAMBDA_REFERENCE_MIN));
  // The power-level outputs are solved along (unused here) and need a penalty too.
  const outputLambda = Float64Array.from([...lambdaH, ...lambdaH, lambda, ...lambdaH]);
  const solveTier = (ne: NormalEquations | undefined, k: number, prior?: Float64Array[]) => {
    const cols = [...TIER_FEATURES[k]!];
    return ne!.solve(cols, outputLambda, prior, prior ? shrinkRows : 0);
  };
  // Steady state: inlet − supply on own / neighbour / aisle / zone power, from the rows with supply and power.
  const levelFit = (ne: NormalEquations, prior?: Float64Array) =>
    ne.n >= minPooledRows
      ? ne.solve(LEVEL_COLS, lambda, prior && outputPrior(H2, prior), prior ? shrinkRows : 0)[H2]
      : prior;
  // The power-level forecast: near-plain least squares (the tiny penalty only keeps racks whose power
  // never changes solvable); its pull is clipped at forecast time, so it needs no shrinkage for safety.
  const plLambda = Float64Array.from({ length: NO }, () => POWER_LEVEL_LAMBDA);
  const powerLevelFit = (ne: NormalEquations | undefined): number[][] | undefined => {
    if (!ne || ne.n < minPooledRows) return undefined;
    const beta = ne.solve(POWER_LEVEL_COLS, plLambda);
    return horizonsMin.map((_, h) => unscale(beta[PL + h]!, POWER_LEVEL_COLS, scaler).map(round7));
  };
  const levelTerms = (beta: Float64Array | undefined): RackModel['level'] => {
    if (!beta) return undefined;
    const [own, neighbour, aisle, zone] = unscale(beta, LEVEL_COLS, scaler).map(round7);
    return { ownCPerKw: own!, neighbourCPerKw: neighbour!, aisleMeanCPerKw: aisle!, zoneMeanCPerKw: zone! };
  };
  const toRackModel = (
    source: RackModel['source'],
    rows: number,
    offsetC: number,
    betas: (Float64Array[] | undefined)[],
    level: Float64Array | undefined,
    powerLevel: number[][] | undefined,
  ): RackModel => {
    const tiers: RackModel['tiers'] = {};
    betas.forEach((beta, k) => {
      if (!beta) return;
      const cols = [...TIER_FEATURES[k]!];
      const outputs = tierHasSupply(k) ? beta.slice(H, H2) : beta.slice(0, H);
      tiers[TIERS[k]!.name] = {
        coef: outputs.map((b) => unscale(b, cols, scaler).map(round7)),
        q: horizonsMin.map(() => [0, 0] as [number, number]),
      };
    });
    tiers[TIERS[PERSISTENCE_TIER]!.name] = {
      coef: horizonsMin.map(() => [0]),
      q: horizonsMin.map(() => [0, 0] as [number, number]),
    };
    const terms = levelTerms(level);
    return {
      source,
      trainRows: rows,
      offsetC: round7(offsetC),
      ...(terms ? { level: terms } : {}),
      tiers,
      ...(powerLevel ? { powerLevel } : {}),
    };
  };

  const allRacks = Array.from({ length: layout.n }, (_, r) => r);
  const siteBeta = TIERS.map((_, k) => {
    if (k === PERSISTENCE_TIER) return undefined;
    const ne = pool(allRacks, k);
    return ne.n >= minPooledRows ? solveTier(ne, k) : undefined;
  });
  const siteFull = pool(allRacks, 0);
  const siteLevel = levelFit(siteFull);
  const sitePowerLevel = powerLevelFit(siteFull);
  const zonePowerLevel: (number[][] | undefined)[] = [];
  const zoneLevel: (Float64Array | undefined)[] = [];
  const zoneBeta: (Float64Array[] | undefined)[][] = [];
  const zoneModels: Record<string, RackModel> = {};
  layout.zoneIds.forEach((zoneId, zi) => {
    const racks = allRacks.filter((r) => layout.zone[r] === zi);
    let rows = 0;
    const betas = TIERS.map((_, k) => {
      if (k === PERSISTENCE_TIER) return undefined;
      const ne = pool(racks, k);
      rows = Math.max(rows, ne.n);
      if (ne.n < minPooledRows) return siteBeta[k];
      return siteBeta[k] ? solveTier(ne, k, siteBeta[k]) : solveTier(ne, k);
    });
    zoneBeta.push(betas);
    const zoneFull = pool(racks, 0);
    zoneLevel.push(levelFit(zoneFull, siteLevel));
    zonePowerLevel.push(powerLevelFit(zoneFull) ?? sitePowerLevel);
    zoneModels[zoneId] = toRackModel(
      'zone',
      rows,
      meanOf(racks.map((r) => offsets[r]!)),
      betas,
      zoneLevel[zi],
      zonePowerLevel[zi],
    );
  });

  const racks: Record<string, RackModel> = {};
  let rackModels = 0;
  for (let r = 0; r < layout.n; r++) {
    const zb = zoneBeta[layout.zone[r]!]!;
    let rows = 0;
    let own = false;
    const betas = TIERS.map((_, k) => {
      if (k === PERSISTENCE_TIER) return undefined;
      const ne = rackTier[r]![k];
      rows = Math.max(rows, ne?.n ?? 0);
      if (!ne || ne.n < minRackRows) return zb[k];
      own = true;
      return zb[k] ? solveTier(ne, k, zb[k]) : solveTier(ne, k);
    });
    if (own) rackModels++;
    const zl = zoneLevel[layout.zone[r]!];
    const full = rackTier[r]![0];
    const level = full && full.n >= minRackRows ? levelFit(full, zl) : zl;
    const zpl = zonePowerLevel[layout.zone[r]!];
    const powerLevel = full && full.n >= minRackRows ? (powerLevelFit(full) ?? zpl) : zpl;
    racks[layout.rackIds[r]!] = toRackModel(
      own ? 'rack' : 'zone',
      rows,
      offsets[r]!,
      betas,
      level,
      powerLevel,
    );
  }

  const iso = (ms: number) => new Date(ms).toISOString();
  const model: ModelFile = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    site: layout.site,
    version: opts.version ?? 1,
    created: iso(opts.now ?? Date.now()),
    status: 'candidate',
    form: { kind: 'linear-delta', fit: 'ridge', lambda, shrinkRows, physics },
    stepMs: step,
    horizonsMin,
    features: [...FEATURES],
    tiers: currentTierSpec(),
    featureMeans: Array.from(scaler.mean, round7),
    featureRanges: Array.from(scaler.lo, (lo, j) => [round7(lo), round7(scaler.hi[j]!)] as [number, number]),
    trainingWindow: {
      from: iso(frame.t0 + first * step),
      to: iso(frame.t0 + L * step),
      holdoutFrom: iso(frame.t0 + holdoutStart * step),
    },
    counts: { racks: layout.n, rackModels, pooledRacks: layout.n - rackModels, trainRows, holdoutRows: 0 },
    validation: { horizons: [] },
    gate: { promoted: false, reason: '' },
    pooled: {
      site: toRackModel('site', trainRows, meanOf(Array.from(offsets)), siteBeta, siteLevel, sitePowerLevel),
      zones: zoneModels,
    },
    racks,
  };

  // Pass 2: the held-back window chooses the power-level blend, then sets intervals, metrics and the
  // promotion decision for the blended forecast.
  const blend = chooseBlend(model, layout, frame, holdoutStart, L - hMax);
  if (blend.weights.some((w) => w > 0)) model.form.blend = blend;
  const validation = validateModel(model, layout, frame, holdoutStart, L - hMax, current);
  const { promoted, reason } = validation.gate;
  model.status = promoted ? 'promoted' : 'candidate';
  if (promoted) model.promotedAt = model.created;
  return { model, promoted, reason, validation, durationMs: performance.now() - started };
}
