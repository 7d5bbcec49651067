/**
 * Scenario files (sites/scenarios/*.yaml): how long to run, what load to generate, the weather,
 * sensor quality, and a timeline of events at offsets such as "2h30m" from the start.
 * Targets are named by id, or `auto` (a sensible deterministic choice for the event) or `random`
 * (a seeded choice), so one scenario runs against any site.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|d|h|m|s))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds in "1d", "2h30m", "90s", "500ms"; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!DURATION.test(compact)) return undefined;
  let ms = 0;
  for (const m of compact.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.round(ms);
}

const duration = z
  .string({ error: 'expected a duration such as "90s", "45m", "2h30m" or "1d"' })
  .refine((s) => parseDuration(s) !== undefined, {
    error: 'expected a duration such as "90s", "45m", "2h30m" or "1d"',
  })
  .transform((s) => parseDuration(s)!);

const hhmm = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, { error: 'expected a local time as "HH:MM"' });
const share = (what: string) =>
  z
    .number({ error: `expected ${what} as a number from 0 to 1` })
    .min(0)
    .max(1);
const pct = (what: string) =>
  z
    .number({ error: `expected ${what} as a percentage (0–100)` })
    .min(0)
    .max(100);
/** An id, `auto` or `random`. */
const selector = (what: string) => z.string({ error: `expected a ${what} id, "auto" or "random"` }).min(1);
const gpuSizes = z
  .array(z.number().int().min(1).max(1024))
  .min(1, { error: 'list at least one job width in GPUs' });

export const WorkloadSchema = z.strictObject({
  utilization: share('the mean share of GPUs busy').default(0.55),
  diurnalAmplitude: share('the relative swing of the daily cycle').default(0.35),
  peakHour: z.number().min(0).max(24).default(15),
  weekendFactor: z.number().min(0).max(2).default(0.7),
  meanJobMinutes: z.number().positive().default(60),
  jobGpus: gpuSizes.default([1, 2, 4, 8, 8, 8, 16]),
  deadlineSlack: z
    .number()
    .min(1, { error: 'deadlineSlack is a multiple of the run time, at least 1' })
    .optional(),
  batchNight: z
    .strictObject({
      from: hhmm,
      to: hhmm,
      utilization: share('the share of GPUs batch jobs keep busy'),
      meanJobMinutes: z.number().positive().default(240),
      jobGpus: gpuSizes.default([8, 16, 16, 32]),
    })
    .optional(),
});

export const OutdoorSchema = z.strictObject({
  meanC: z.number().min(-40).max(50).default(15),
  amplitudeC: z.number().min(0).max(25).default(5),
  peakHour: z.number().min(0).max(24).default(15),
  /** σ of a per-day shift, so days differ. */
  dayToDayC: z.number().min(0).max(10).default(1.5),
});

export const SensorsSchema = z.strictObject({
  noiseC: z.number().min(0).max(5).default(0.1),
  powerNoisePct: z.number().min(0).max(20).default(0.5),
  fanNoisePct: z.number().min(0).max(20).default(0.5),
  dropoutRate: share('the chance a reading is missing').default(0),
});

const at = duration.describe('offset from the scenario start');
const unit = selector('cooling unit').default('auto');

const eventSchemas = [
  z.strictObject({ kind: z.literal('cooling-failure'), at, unit, recoverAfter: duration.optional() }),
  z.strictObject({ kind: z.literal('cooling-recovery'), at, unit }),
  z.strictObject({
    kind: z.literal('cooling-degradation'),
    at,
    unit,
    /** The capacity falls linearly over this time. */
    over: duration,
    /** Capacity left at the end, % of rated. */
    toPct: pct('the capacity left'),
    recoverAfter: duration.optional(),
  }),
  z.strictObject({
    kind: z.literal('fan-degradation'),
    at,
    unit,
    over: duration,
    /** Airflow left at the end, % of rated. */
    toPct: pct('the airflow left'),
    recoverAfter: duration.optional(),
  }),
  z.strictObject({
    kind: z.literal('containment-door-open'),
    at,
    /** Cold-aisle id, row id, or auto (the first contained aisle). */
    aisle: selector('aisle').default('auto'),
    /** Share of uncontained recirculation while the door is open, %. */
    recirculationPct: pct('recirculation while open').default(80),
    closeAfter: duration.optional(),
  }),
  z.strictObject({ kind: z.literal('containment-door-close'), at, aisle: selector('aisle').default('auto') }),
  z.strictObject({
    kind: z.literal('load-surge'),
    at,
    /** Racks affected; all racks when empty. */
    scope: z
      .strictObject({
        room: z.string().optional(),
        zone: z.string().optional(),
        row: z.string().optional(),
        racks: z.array(z.string()).optional(),
      })
      .default({}),
    /** Idle GPUs in scope run at this utilisation, %. */
    utilizationPct: pct('the utilisation of idle GPUs').default(100),
    duration,
  }),
  z.strictObject({
    kind: z.literal('sensor-fault'),
    at,
    fault: z.enum(['stuck', 'dropout', 'offset', 'noise'], {
      error: 'expected fault: stuck, dropout, offset or noise',
    }),
    target: z.enum(['rack', 'cooling', 'site']).default('rack'),
    id: selector('target').default('random'),
    /** How many targets (chosen by `id: random`) get the fault. */
    count: z.number().int().min(1).default(1),
    /** One metric, or `all` of the target's metrics; default inlet_c, supply_c or power_kw by target. */
    metric: z.string().optional(),
    /** offset: added to the value; noise: σ of the extra noise (metric units). */
    offset: z.number().optional(),
    sigma: z.number().positive().optional(),
    duration,
  }),
  z.strictObject({
    kind: z.literal('setpoint-change'),
    at,
    unit: selector('cooling unit').default('all'),
    setpointC: z.number().min(5).max(35),
  }),
] as const;

const KINDS = eventSchemas.map((s) => s.shape.kind.value);

export const ScenarioEventSchema = z.discriminatedUnion('kind', eventSchemas, {
  error: (issue) =>
    issue.code === 'invalid_union' ? `expected kind: one of ${KINDS.join(', ')}` : undefined,
});

export const ScenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  /** How long the scenario runs; open-ended when absent. */
  duration: duration.optional(),
  /** Default start (ISO 8601); callers may override. */
  start: z
    .string()
    .refine((s) => Number.isFinite(Date.parse(s)), {
      error: 'expected an ISO 8601 time such as 2025-06-02T06:00:00Z',
    })
    .optional(),
  seed: z.number().int().optional(),
  stepMs: z.number().int().min(10).max(600_000).optional(),
  workload: WorkloadSchema.optional(),
  outdoor: OutdoorSchema.default(OutdoorSchema.parse({})),
  /** Rack inlet time constant, s. */
  tauSec: z.number().min(0).max(7200).optional(),
  sensors: SensorsSchema.default(SensorsSchema.parse({})),
  events: z.array(ScenarioEventSchema).default([]),
});

export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type ScenarioEvent = z.infer<typeof ScenarioEventSchema>;
export type OutdoorOptions = z.infer<typeof OutdoorSchema>;

export class ScenarioError extends Error {
  readonly code = 'HOTAISLE_SCENARIO_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`invalid scenario:\n${problems.join('\n')}`);
    this.name = 'ScenarioError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

/** Validate scenario data; throws ScenarioError listing every problem as `source: path: message`. */
export function parseScenario(data: unknown, source = 'scenario'): Scenario {
  const parsed = ScenarioSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new ScenarioError(
    parsed.error.issues.map(
      (i) => `${source}: ${i.path.length > 0 ? `${formatPath(i.path)}: ` : ''}${i.message}`,
    ),
  );
}

export function parseScenarioYaml(text: string, source = 'scenario'): Scenario {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new ScenarioError([`${source}: YAML syntax error: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (data === null || data === undefined)
    throw new ScenarioError([`${source}: the file is empty; expected name: and events:`]);
  return parseScenario(data, source);
}

export function loadScenarioFile(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ScenarioError([
      `${file}: ${code === 'ENOENT' ? 'file not found; scenarios live in sites/scenarios/' : `cannot read (${code})`}`,
    ]);
  }
  return parseScenarioYaml(text, file);
}
