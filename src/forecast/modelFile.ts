/**
 * The model file format (JSON under models/<site>/), typed once with zod. A file is usable only if
 * it has this format version, this site and exactly this build's feature list and tiers; anything
 * else is refused with a message that names the file and what to do.
 */
import { z } from 'zod';
import { FEATURES, TIERS, tierFeatures } from './features.ts';

export const MODEL_FORMAT = 'hotaisle-forecast-model';
export const MODEL_FORMAT_VERSION = 1;

export const ErrorMetricsSchema = z.object({
  n: z.number().int().min(0),
  mae: z.number(),
  rmse: z.number(),
  maxError: z.number(),
});
export type ErrorMetrics = z.infer<typeof ErrorMetricsSchema>;

/** One tier's fit: per horizon the coefficients of the tier's features (raw units) then the intercept. */
export const TierFitSchema = z.object({
  coef: z.array(z.array(z.number())),
  /** Per horizon the 10 % / 90 % quantiles of held-out errors (actual − predicted), °C. */
  q: z.array(z.tuple([z.number(), z.number()])),
});
export type TierFit = z.infer<typeof TierFitSchema>;

export const RackModelSchema = z.object({
  /** Fitted on this rack's own history, or the pooled fit of its zone / the whole site. */
  source: z.enum(['rack', 'zone', 'site']),
  trainRows: z.number().int().min(0),
  /** Usual inlet rise over the zone's supply air, °C (the physics gap is measured from it). */
  offsetC: z.number(),
  /**
   * Steady inlet rise over supply per kW: of own power, of layout-weighted neighbour power, of the
   * aisle's and the zone's mean rack power (thermal sensitivity for placement). Absent without supply data.
   */
  level: z
    .object({
      ownCPerKw: z.number(),
      neighbourCPerKw: z.number(),
      aisleMeanCPerKw: z.number(),
      zoneMeanCPerKw: z.number(),
    })
    .optional(),
  /** Tier name → fit; a tier absent here had too little data and is skipped at forecast time. */
  tiers: z.record(z.string(), TierFitSchema),
  /**
   * The power-level forecast (powerLevel.ts): per horizon the inlet at t + h from own, neighbour,
   * aisle-mean and zone-mean power and the 20-minute mean supply at t, then the intercept. Absent
   * without power and supply data.
   */
  powerLevel: z.array(z.array(z.number()).length(6)).optional(),
});
export type RackModel = z.infer<typeof RackModelSchema>;

export const HorizonValidationSchema = z.object({
  horizonMin: z.number(),
  model: ErrorMetricsSchema,
  persistence: ErrorMetricsSchema,
  /** The model in service when this one was trained, on the same held-back window. */
  current: ErrorMetricsSchema.optional(),
});
export type HorizonValidation = z.infer<typeof HorizonValidationSchema>;

export const ModelStatusSchema = z.enum(['promoted', 'candidate', 'retired']);
export type ModelStatus = z.infer<typeof ModelStatusSchema>;

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'expected an ISO date-time' });

export const ModelFileSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  formatVersion: z.literal(MODEL_FORMAT_VERSION),
  site: z.string().min(1),
  version: z.number().int().min(1),
  created: iso,
  status: ModelStatusSchema,
  /** Set each time the model is put in service; rollback walks back through these. */
  promotedAt: iso.optional(),
  /** Set when a rollback took the model out of service, so the next rollback skips it. */
  rolledBackAt: iso.optional(),
  form: z.object({
    kind: z.literal('linear-delta'),
    fit: z.literal('ridge'),
    /** Ridge penalty per training row on standardized features. */
    lambda: z.number().min(0),
    /** Weight (in rows) of the pull of a rack's fit towards its zone's pooled fit. */
    shrinkRows: z.number().min(0),
    /**
     * Blend of the power-level forecast into the fitted one (powerLevel.ts), chosen on the held-back
     * window: per horizon its weight, and the band its pull is clipped to (°C).
     */
    blend: z
      .object({ weights: z.array(z.number().min(0).max(1)), bandsC: z.array(z.number().min(0)) })
      .optional(),
    /** The physical backbone: gap beyond the deadband and supply trend (see physics.ts). */
    physics: z.object({
      tauMin: z.number().positive(),
      gapDeadbandC: z.number().min(0),
      unclosedDeadbandC: z.number().min(0),
      dampingPerMin: z.number().min(0).max(1),
      minSlopeCPerMin: z.number().min(0),
    }),
  }),
  stepMs: z.number().int().positive(),
  horizonsMin: z.array(z.number().positive()).min(1),
  features: z.array(z.string()),
  tiers: z.array(z.object({ name: z.string(), features: z.array(z.string()) })),
  /** Training means, used for a missing imputable input (cooling state, site load, outdoor). */
  featureMeans: z.array(z.number()),
  /** Range of each feature in training; fitted features are clipped to it at forecast time. */
  featureRanges: z.array(z.tuple([z.number(), z.number()])),
  trainingWindow: z.object({ from: iso, to: iso, holdoutFrom: iso }),
  counts: z.object({
    racks: z.number().int().min(0),
    rackModels: z.number().int().min(0),
    pooledRacks: z.number().int().min(0),
    trainRows: z.number().int().min(0),
    holdoutRows: z.number().int().min(0),
  }),
  validation: z.object({ horizons: z.array(HorizonValidationSchema) }),
  gate: z.object({ promoted: z.boolean(), reason: z.string() }),
  pooled: z.object({ site: RackModelSchema, zones: z.record(z.string(), RackModelSchema) }),
  racks: z.record(z.string(), RackModelSchema),
});
export type ModelFile = z.infer<typeof ModelFileSchema>;

/** The tier list this build writes and expects. */
export function currentTierSpec(): ModelFile['tiers'] {
  return TIERS.map((t, k) => ({ name: t.name, features: tierFeatures(k).map((j) => FEATURES[j]!) }));
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Parse and check a model file's text. Returns the model or a message a person can act on
 * (without the file name; the caller prefixes it).
 */
export function parseModelFile(
  text: string,
  expectSite?: string,
): { ok: true; model: ModelFile } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      error: `not valid JSON (${(e as Error).message}); the file is corrupt, delete it or retrain`,
    };
  }
  if (typeof raw !== 'object' || raw === null || (raw as { format?: unknown }).format !== MODEL_FORMAT) {
    return { ok: false, error: `not a Hotaisle forecast model (expected "format": "${MODEL_FORMAT}")` };
  }
  const head = raw as { formatVersion?: unknown; site?: unknown; features?: unknown; tiers?: unknown };
  if (head.formatVersion !== MODEL_FORMAT_VERSION) {
    return {
      ok: false,
      error: `format version ${String(head.formatVersion)} is not supported by this build (expects ${MODEL_FORMAT_VERSION}); retrain with \`hotaisle train\``,
    };
  }
  if (expectSite !== undefined && head.site !== expectSite) {
    return { ok: false, error: `model is for site "${String(head.site)}", not "${expectSite}"` };
  }
  if (!Array.isArray(head.features) || !sameList(head.features as string[], FEATURES)) {
    return {
      ok: false,
      error: `feature list does not match this build (file: ${JSON.stringify(head.features)}; expected: ${JSON.stringify(FEATURES)}); retrain with \`hotaisle train\``,
    };
  }
  const parsed = ModelFileSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? first.path.join('.') || '(root)' : '(root)';
    return { ok: false, error: `invalid model file at ${where}: ${first?.message ?? 'unknown error'}` };
  }
  const model = parsed.data;
  const expected = currentTierSpec();
  if (
    model.tiers.length !== expected.length ||
    model.tiers.some((t, k) => t.name !== expected[k]!.name || !sameList(t.features, expected[k]!.features))
  ) {
    return { ok: false, error: 'tier definitions do not match this build; retrain with `hotaisle train`' };
  }
  if (model.featureMeans.length !== FEATURES.length || model.featureRanges.length !== FEATURES.length) {
    return { ok: false, error: `featureMeans and featureRanges need ${FEATURES.length} entries each` };
  }
  const shapeError = checkShapes(model);
  return shapeError ? { ok: false, error: shapeError } : { ok: true, model };
}

/** Every fit must have one coefficient row per horizon of the right length, and finite numbers. */
function checkShapes(model: ModelFile): string | null {
  const H = model.horizonsMin.length;
  const tierLen = new Map(model.tiers.map((t) => [t.name, t.features.length + 1]));
  const check = (label: string, rm: RackModel): string | null => {
    for (const [name, fit] of Object.entries(rm.tiers)) {
      const len = tierLen.get(name);
      if (len === undefined) return `${label}: unknown tier "${name}"`;
      if (fit.coef.length !== H || fit.q.length !== H) return `${label}.${name}: expected ${H} horizons`;
      for (const row of fit.coef) {
        if (row.length !== len) return `${label}.${name}: expected ${len} coefficients, found ${row.length}`;
        if (!row.every(Number.isFinite)) return `${label}.${name}: coefficients must be finite numbers`;
      }
    }
    return null;
  };
  const problems = [
    check('pooled.site', model.pooled.site),
    ...Object.entries(model.pooled.zones).map(([z, rm]) => check(`pooled.zones.${z}`, rm)),
    ...Object.entries(model.racks).map(([r, rm]) => check(`racks.${r}`, rm)),
  ];
  return problems.find((p) => p !== null) ?? null;
}
