/**
 * The site file schema: one source of truth for types and defaults (STYLE.md §7).
 * Every field a person may get wrong carries a message that says what is expected.
 */
import { z } from 'zod';

const id = (what: string) =>
  z.string({ error: `expected a ${what} id (text)` }).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
    error: `a ${what} id may hold only letters, digits, '-', '_' and '.', and must start with a letter or digit`,
  });

const positiveKw = (what: string) =>
  z
    .number({ error: `expected ${what} in kW as a number` })
    .positive({ error: `${what} must be above 0 kW` })
    .max(10_000, {
      error: `${what} above 10,000 kW is not plausible for one item; check the unit (kW, not W)`,
    });

const celsius = (what: string) =>
  z
    .number({ error: `expected ${what} in °C as a number` })
    .min(-40, { error: `${what} below -40 °C is not plausible; check the unit (°C)` })
    .max(90, { error: `${what} above 90 °C is not plausible; check the unit (°C)` });

/** Name of an environment variable that holds a secret; secrets never live in site files. */
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, {
  error: 'expected the NAME of an environment variable (upper case, digits, _), not the secret itself',
});

export const NodeSchema = z.strictObject({
  name: z.string({ error: 'expected the node (host) name, as the scheduler knows it' }).min(1),
  gpus: z.number().int().min(0).max(64).default(0),
  /** Power of one GPU at full load, kW. */
  gpuKw: z.number().positive().max(3).default(0.7),
  /** Power of the node without GPUs (CPUs, fans, NICs) at load, kW. */
  baseKw: z.number().min(0).max(20).default(0.8),
  labels: z.record(z.string(), z.string()).default({}),
});

export const RackSchema = z.strictObject({
  id: id('rack'),
  /** 1-based slot along the row; neighbours are position ± 1. */
  position: z.number({ error: 'expected the rack position in its row (1, 2, …)' }).int().min(1),
  /** Cooling zone; defaults to the row's zone. */
  zone: id('zone').optional(),
  powerCapKw: positiveKw('powerCapKw'),
  feeds: z
    .strictObject({ a: id('power feed'), b: id('power feed').optional() })
    .describe('A (and optional B) power feed ids'),
  nodes: z.array(NodeSchema).default([]),
  /** Rated airflow through the rack in m³/s; defaults from the cap (≈ 0.09 m³/s per kW at ΔT 10 K). */
  airflowM3s: z.number().positive().max(20).optional(),
});

export const RowSchema = z.strictObject({
  id: id('row'),
  zone: id('zone'),
  /** Cold aisle this row draws from; rows sharing an aisle recirculate heat into each other. */
  coldAisle: id('aisle').optional(),
  racks: z.array(RackSchema).min(1, { error: 'a row needs at least one rack' }),
});

export const RoomSchema = z.strictObject({
  id: id('room'),
  name: z.string().optional(),
  containment: z.enum(['none', 'cold-aisle', 'hot-aisle']).default('none'),
  rows: z.array(RowSchema).min(1, { error: 'a room needs at least one row' }),
});

export const CoolingUnitSchema = z.strictObject({
  id: id('cooling unit'),
  room: id('room'),
  zone: id('zone'),
  capacityKw: positiveKw('capacityKw'),
  supplySetpointC: celsius('supplySetpointC').default(18),
});

export const PowerFeedSchema = z.strictObject({
  id: id('power feed'),
  /** Breaker rating of the feed, kW. */
  capacityKw: positiveKw('capacityKw'),
});

export const ThresholdsSchema = z.strictObject({
  /** ASHRAE recommended upper limit. */
  inletWarnC: celsius('inletWarnC').default(27),
  /** ASHRAE class A1 allowable upper limit. */
  inletCriticalC: celsius('inletCriticalC').default(32),
  /** Power at this share of a cap raises a warning. */
  powerWarnPct: z.number().min(1).max(100).default(90),
});

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, { error: 'expected a time as HH:MM' });
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

export const TariffPeriodSchema = z.strictObject({
  name: z.string(),
  days: z.array(weekday).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']),
  from: hhmm,
  to: hhmm,
  /** Months (1–12) the period applies in; all when absent. */
  months: z.array(z.number().int().min(1).max(12)).optional(),
  pricePerKwh: z.number().min(0).max(10),
});

export const TariffSchema = z.strictObject({
  currency: z.string().length(3).default('EUR'),
  /** Price when no period matches. */
  basePricePerKwh: z.number().min(0).max(10),
  periods: z.array(TariffPeriodSchema).default([]),
  /** Charge per kW of the month's peak demand. */
  demandChargePerKw: z.number().min(0).default(0),
  /** Optional carbon intensity by hour of day (24 values, gCO2/kWh). */
  carbonByHour: z.array(z.number().min(0)).length(24).optional(),
});

/** Canonical metrics inside the agent; units are fixed by the suffix. */
export const METRICS = {
  rack: ['inlet_c', 'outlet_c', 'power_kw', 'humidity_pct'],
  cooling: ['supply_c', 'return_c', 'fan_pct', 'power_kw'],
  site: ['power_kw', 'outdoor_c'],
} as const;
export type TargetKind = keyof typeof METRICS;
export const ALL_METRICS = [...new Set(Object.values(METRICS).flat())] as const;

export const SourceUnitSchema = z.enum(['C', 'F', 'K', 'W', 'kW', 'MW', 'pct', 'ratio']);
export type SourceUnit = z.infer<typeof SourceUnitSchema>;

/** A source field (JSON key, line-protocol field, or the {metric} topic segment) and what it means. */
export const FieldMapSchema = z.union([
  z.enum(ALL_METRICS as unknown as [string, ...string[]]),
  z.strictObject({
    metric: z.enum(ALL_METRICS as unknown as [string, ...string[]]),
    unit: SourceUnitSchema.optional(),
  }),
]);

/**
 * One way MQTT messages become readings; a message goes to the FIRST mapping whose topic matches.
 * Rules enforced by crossChecks.ts:
 * - `{site}` is filled with site.id when subscribing; `{rack}` (target rack) / `{unit}` (target cooling)
 *   name the target; json and influx-line may instead read the id from `idField`; value must use the topic.
 * - format value: the payload is one bare number. With a `{metric}` level, `fields` maps that level's
 *   values to metrics (levels not listed are ignored); without one, `fields` has exactly one entry and
 *   every message on the topic is that metric (the entry's key is only a label).
 * - json / influx-line: `fields` maps payload keys / line-protocol fields to metrics; `{metric}` is not allowed.
 * - every metric must belong to the target kind (METRICS), and a unit must suit the metric (°C: C/F/K, kW: W/kW/MW).
 */
export const TelemetryMappingSchema = z.strictObject({
  /** Topic pattern with named wildcards, e.g. dc/{site}/{room}/{row}/{rack}/{metric}; `#` may end it. */
  topic: z.string().min(1),
  format: z.enum(['json', 'influx-line', 'value']),
  /** What the readings describe. */
  target: z.enum(['rack', 'cooling', 'site']).default('rack'),
  /** Source field name → metric. Names not listed are ignored (counted), not guessed. */
  fields: z.record(z.string(), FieldMapSchema).default({}),
  /** json/influx-line: take the target id from this key/tag when the topic has no {rack}/{unit}. */
  idField: z.string().optional(),
  /** json: key holding the timestamp. */
  timestampField: z.string().optional(),
  /** Timestamp unit for json numbers and line protocol; Telegraf writes nanoseconds. */
  precision: z.enum(['ns', 'us', 'ms', 's']).optional(),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
});

export const InfluxSettingsSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(1).max(65535).default(8086),
  protocol: z.enum(['http', 'https']).default('http'),
  database: z.string().default('hotaisle'),
  retentionDays: z.number().int().min(1).default(90),
  usernameEnv: envName.optional(),
  passwordEnv: envName.optional(),
});

export const StorageSchema = z.strictObject({
  kind: z.enum(['embedded', 'influx']).default('embedded'),
  influx: InfluxSettingsSchema.default(InfluxSettingsSchema.parse({})),
  /** Directory for the embedded store and the write spool. */
  dataDir: z.string().default('data'),
  batchSize: z.number().int().min(1).max(100_000).default(5000),
  flushIntervalMs: z.number().int().min(10).max(60_000).default(1000),
  /** Bound of the on-disk spool kept while the store is unreachable. */
  spoolMaxMb: z.number().min(1).default(512),
});

export const BrokerSchema = z.strictObject({
  kind: z.enum(['embedded', 'external']).default('embedded'),
  /** external: broker URL. */
  url: z.string().default('mqtt://127.0.0.1:1883'),
  /** embedded: port the in-process broker listens on (loopback unless host is set). */
  port: z.number().int().min(0).max(65535).default(1883),
  host: z.string().default('127.0.0.1'),
  clientId: z.string().optional(),
  usernameEnv: envName.optional(),
  passwordEnv: envName.optional(),
  /** MQTT 5 shared-subscription group, so several agents split one site. */
  sharedGroup: id('shared group').optional(),
  /** Topic that rejected messages are republished to, with the reason; off when absent. */
  deadLetterTopic: z.string().optional(),
});

/**
 * Bearer-token authentication of the HTTP API (src/api/auth.ts). No tokens anywhere: the API stays
 * open and the agent warns. Token values never live here: only a file path and a variable name.
 */
export const ApiAuthSchema = z.strictObject({
  /** YAML or JSON list of { name, role, token } (token clear or `sha256:<hex>`); $HOTAISLE_API_TOKENS_FILE overrides. */
  tokensFile: z.string().min(1).optional(),
  /** Variable holding `role:token,role:token`; HOTAISLE_API_TOKENS when absent. */
  tokensEnv: envName.optional(),
  /** Let GET requests to viewer routes through without a token (read-only dashboards); $HOTAISLE_API_OPEN_READ overrides. */
  openRead: z.boolean({ error: 'openRead is true or false' }).optional(),
});

export const ApiSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  auth: ApiAuthSchema.optional(),
});

export const IngestLimitsSchema = z.strictObject({
  /** Readings stamped further ahead than this are refused (clock skew). */
  maxFutureMs: z
    .number()
    .int()
    .min(0)
    .default(5 * 60_000),
  /** Readings older than this are refused. */
  maxAgeMs: z
    .number()
    .int()
    .min(0)
    .default(7 * 24 * 3_600_000),
  maxPayloadBytes: z
    .number()
    .int()
    .min(64)
    .default(256 * 1024),
});

/** Rack inlet forecasts: cycle, horizons and the training schedule (models/README.md). */
export const ForecastSettingsSchema = z.strictObject({
  /** Seconds between forecast cycles. */
  cycleSeconds: z.number().int().min(1).max(3600).default(30),
  /** Forecast horizons in minutes, ascending; the models are trained for these. */
  horizonsMin: z
    .array(
      z
        .number()
        .int()
        .min(1)
        .max(24 * 60),
    )
    .min(1)
    .max(16)
    .refine((h) => h.every((v, i) => i === 0 || v > h[i - 1]!), {
      error: 'horizonsMin must be ascending without repeats, e.g. [5, 15, 30]',
    })
    // 60/120 min: hotspot lead on a slowly degrading zone (src/forecast/training.ts DEFAULT_HORIZONS_MIN).
    .default([5, 15, 30, 60, 120]),
  /** When to retrain: a cron expression (minute hour day month weekday, in site.timezone), or "off". */
  trainCron: z
    .string()
    .regex(/^off$|^\S+( \S+){4,5}$/, {
      error: 'expected a cron expression with 5 or 6 fields, e.g. "30 2 * * *", or "off"',
    })
    .default('30 2 * * *'),
  /** Days of stored history each training run uses. */
  historyDays: z.number().min(1).max(365).default(7),
  /** Directory holding models/<site>/; the --models-dir flag (default "models") wins when given. */
  modelsDir: z.string().optional(),
});

/** One place alerts can go; URLs may come from the environment, secrets always do (tokenEnv). */
export const AlertReceiverSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    name: id('receiver'),
    kind: z.literal('mqtt'),
    /** Defaults to hotaisle/<site>/alerts. */
    topic: z.string().min(1).optional(),
  }),
  z.strictObject({
    name: id('receiver'),
    kind: z.literal('webhook'),
    url: z.url({ error: 'expected the webhook URL, e.g. https://hooks.example.com/hotaisle' }).optional(),
    /** Read the URL from this environment variable instead (for URLs that embed a secret). */
    urlEnv: envName.optional(),
    /** Sent as "Authorization: Bearer <value>". */
    tokenEnv: envName.optional(),
    maxAttempts: z.number().int().min(1).max(10).default(4),
    timeoutMs: z.number().int().min(100).max(60_000).default(5000),
  }),
  z.strictObject({
    name: id('receiver'),
    kind: z.literal('alertmanager'),
    /** Alertmanager base URL, e.g. http://alertmanager:9093 (the agent posts to /api/v2/alerts). */
    url: z.url({ error: 'expected the Alertmanager base URL, e.g. http://127.0.0.1:9093' }).optional(),
    urlEnv: envName.optional(),
    tokenEnv: envName.optional(),
    maxAttempts: z.number().int().min(1).max(10).default(3),
    timeoutMs: z.number().int().min(100).max(60_000).default(5000),
  }),
]);

/** Sends alerts matching severity and labels to a receiver, or to `fallback` when the receiver fails. */
export const AlertRouteSchema = z.strictObject({
  receiver: id('receiver'),
  fallback: id('receiver').optional(),
  /** Only these severities; all when absent. */
  severities: z
    .array(z.enum(['info', 'warning', 'critical']))
    .min(1)
    .optional(),
  /** Label name → exact value the alert must carry, e.g. { room: hall-1 }. */
  match: z.record(z.string(), z.string()).default({}),
  /** Keep looking at later routes after this one matched. */
  continue: z.boolean().default(false),
});

/** Thresholds for part of the site; the most specific match wins (rack over row over room). */
export const ThresholdOverrideSchema = z.strictObject({
  room: id('room').optional(),
  row: id('row').optional(),
  rack: id('rack').optional(),
  inletWarnC: celsius('inletWarnC').optional(),
  inletCriticalC: celsius('inletCriticalC').optional(),
  powerWarnPct: z.number().min(1).max(100).optional(),
});

/** Alert rules, lifecycle and routing (src/alerts/). */
export const AlertSettingsSchema = z.strictObject({
  evaluateSeconds: z.number().int().min(1).max(3600).default(15),
  /** A condition must hold this long before it fires (pending → firing). */
  forSeconds: z.number().int().min(0).max(86_400).default(60),
  /** A firing alert resolves only after its condition has been clear this long. */
  resolveSeconds: z.number().int().min(0).max(86_400).default(180),
  /** Re-notify a still-firing, unacknowledged alert this often. */
  repeatMinutes: z
    .number()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
  /** Resolved alerts stay listed (and re-sent to Alertmanager) this long. */
  resolvedRetentionMinutes: z
    .number()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
  /** Alertmanager expects active alerts re-sent at least this often. */
  alertmanagerResendSeconds: z.number().int().min(5).max(3600).default(60),
  /** A temperature must fall this far below a threshold to clear it. */
  hysteresisC: z.number().min(0).max(10).default(0.5),
  /** A power share must fall this many percentage points below a threshold to clear it. */
  hysteresisPct: z.number().min(0).max(50).default(2),
  /** Inlet rise faster than this raises a rate-of-change alert. */
  rateLimitCPerHour: z.number().positive().max(200).default(10),
  /** Window the rate of change is measured over. */
  rateWindowMinutes: z.number().min(1).max(120).default(10),
  /** Expected time between readings of one sensor; stale after staleIntervals of them. */
  readingIntervalSeconds: z.number().min(1).max(3600).default(15),
  staleIntervals: z.number().int().min(2).max(1000).default(8),
  /** A temperature sensor whose value has not moved for this long is reported stuck. */
  stuckMinutes: z
    .number()
    .min(1)
    .max(7 * 24 * 60)
    .default(30),
  /** A change between consecutive readings larger than this is implausible. */
  jumpC: z.number().positive().max(50).default(8),
  /** Cooling supply this far above its setpoint is a drift (twice as far: critical). */
  supplyDriftC: z.number().positive().max(20).default(2),
  /** A zone warms as a whole when at least this share (and zoneMinRacks) of its racks warm together. */
  zoneWarmingShare: z.number().min(0.1).max(1).default(0.5),
  zoneMinRacks: z.number().int().min(2).default(3),
  overrides: z.array(ThresholdOverrideSchema).default([]),
  receivers: z.array(AlertReceiverSchema).default([{ name: 'mqtt', kind: 'mqtt' }]),
  routes: z.array(AlertRouteSchema).default([{ receiver: 'mqtt', match: {}, continue: false }]),
});

/** A webhook the recommendations are POSTed to on every push (retried with backoff). */
export const RecommendWebhookSchema = z
  .strictObject({
    name: id('webhook'),
    url: z.url({ error: 'expected the webhook URL, e.g. https://scheduler.example.com/hotaisle' }).optional(),
    /** Read the URL from this environment variable instead (for URLs that embed a secret). */
    urlEnv: envName.optional(),
    /** Sent as "Authorization: Bearer <value>". */
    tokenEnv: envName.optional(),
    maxAttempts: z.number().int().min(1).max(10).default(4),
    timeoutMs: z.number().int().min(100).max(60_000).default(5000),
  })
  .refine((w) => w.url !== undefined || w.urlEnv !== undefined, {
    error: 'set url (or urlEnv, the environment variable that holds it)',
    path: ['url'],
  });

/** Pushing recommendations to schedulers: retained MQTT messages and webhooks. */
export const RecommendPushSchema = z.strictObject({
  /** Publish retained JSON on MQTT under topicPrefix (…/placement, …/nodes, …/batch-plan). */
  mqtt: z.boolean().default(true),
  /** Defaults to hotaisle/<site>/recommendations. */
  topicPrefix: z
    .string()
    .min(1)
    .regex(/^[^#+]*[^#+/]$/, { error: 'a topic prefix without wildcards (+, #) or a trailing /' })
    .optional(),
  webhooks: z.array(RecommendWebhookSchema).default([]),
  /** Everything is pushed again at least this often, s. */
  intervalSeconds: z.number().int().min(5).max(86_400).default(60),
  /** How often to look for a change (ranking order, node weights, batch plan) and push it at once, s. */
  checkSeconds: z.number().int().min(1).max(3600).default(10),
  /** The job the published ranking answers: a typical request of this site. */
  rankingJob: z
    .strictObject({
      gpus: z.number().int().min(1).max(4096).default(8),
      tier: z.enum(['realtime', 'internal', 'batch']).default('internal'),
      durationMin: z.number().positive().max(86_400).default(60),
    })
    .default({ gpus: 8, tier: 'internal', durationMin: 60 }),
});

export const RecommendSettingsSchema = z.strictObject({
  /** Absent: nothing is pushed; schedulers ask the HTTP API. */
  push: RecommendPushSchema.optional(),
});

export const SiteSchema = z.strictObject({
  site: z.strictObject({
    id: id('site'),
    name: z.string().min(1),
    timezone: z.string().default('UTC'),
  }),
  powerCapKw: positiveKw('powerCapKw').optional(),
  rooms: z.array(RoomSchema).min(1, { error: 'a site needs at least one room' }),
  coolingUnits: z.array(CoolingUnitSchema).default([]),
  powerFeeds: z.array(PowerFeedSchema).default([]),
  thresholds: ThresholdsSchema.default(ThresholdsSchema.parse({})),
  tariff: TariffSchema.optional(),
  telemetry: z.array(TelemetryMappingSchema).default([]),
  ingest: IngestLimitsSchema.default(IngestLimitsSchema.parse({})),
  storage: StorageSchema.default(StorageSchema.parse({})),
  broker: BrokerSchema.default(BrokerSchema.parse({})),
  api: ApiSchema.default(ApiSchema.parse({})),
  forecast: ForecastSettingsSchema.default(ForecastSettingsSchema.parse({})),
  alerts: AlertSettingsSchema.default(AlertSettingsSchema.parse({})),
  recommend: RecommendSettingsSchema.optional(),
});

export type SiteInput = z.input<typeof SiteSchema>;
export type SiteConfig = z.infer<typeof SiteSchema>;
export type RoomConfig = z.infer<typeof RoomSchema>;
export type RowConfig = z.infer<typeof RowSchema>;
export type RackConfig = z.infer<typeof RackSchema>;
export type CoolingUnitConfig = z.infer<typeof CoolingUnitSchema>;
export type TelemetryMapping = z.infer<typeof TelemetryMappingSchema>;
export type FieldMap = z.infer<typeof FieldMapSchema>;
export type StorageConfig = z.infer<typeof StorageSchema>;
export type BrokerConfig = z.infer<typeof BrokerSchema>;
export type ThresholdsConfig = z.infer<typeof ThresholdsSchema>;
export type TariffConfig = z.infer<typeof TariffSchema>;
export type ForecastSettings = z.infer<typeof ForecastSettingsSchema>;
export type AlertSettings = z.infer<typeof AlertSettingsSchema>;
export type AlertReceiverConfig = z.infer<typeof AlertReceiverSchema>;
export type AlertRouteConfig = z.infer<typeof AlertRouteSchema>;
export type ApiAuthConfig = z.infer<typeof ApiAuthSchema>;
export type RecommendPushConfig = z.infer<typeof RecommendPushSchema>;
export type RecommendWebhookConfig = z.infer<typeof RecommendWebhookSchema>;
