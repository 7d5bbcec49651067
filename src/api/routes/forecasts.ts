/**
 * GET /v1/forecasts (every rack of the site) and GET /v1/forecasts/:rack (one rack, with its thermal
 * sensitivity and headroom): the latest forecast cycle, never computed on request.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  DEGRADED,
  type DegradedReason,
  type ForecastSet,
  forecastRows,
  type RackForecastRow,
} from '../../forecast/forecastSet.ts';
import type { RackSensitivity } from '../../forecast/sensitivity.ts';
import { ApiErrorSchema, HttpError } from '../errors.ts';

/** What the routes read; the ForecastModule provides it. */
export interface ForecastSource {
  /** The latest cycle's forecasts; undefined before the first cycle. */
  latest(): ForecastSet | undefined;
  status(): ForecastStatus;
  sensitivity(rack: string): RackSensitivity | undefined;
  /** kW the rack could take before it or a neighbour is forecast to reach the warn threshold. */
  headroomKw(rack: string): number | undefined;
}

export interface ForecastStatus {
  mode: 'model' | 'persistence';
  modelVersion: number | null;
  /** Why forecasts are persistence, or what else needs attention; null when all is well. */
  reason: string | null;
  cycleSeconds: number;
  warnC: number;
  criticalC: number;
}

const reasons = Object.keys(DEGRADED) as [DegradedReason, ...DegradedReason[]];
const DegradedReasonSchema = z.enum(reasons);

export const HotspotSchema = z.object({
  rack: z.string(),
  severity: z.enum(['warn', 'critical']),
  warnInMin: z
    .number()
    .nullable()
    .describe('minutes until the forecast reaches the warn threshold; 0: already there'),
  criticalInMin: z.number().nullable(),
  peakC: z.number(),
  peakHorizonMin: z.number(),
  currentC: z.number(),
  basis: z
    .enum(['forecast', 'supply_rise'])
    .optional()
    .describe(
      'what reached the threshold: the forecast, or only the scenario that the zone supply keeps rising at its current slope',
    ),
  supplySlopeCPerMin: z.number().optional().describe('basis supply_rise: zone supply slope assumed, °C/min'),
  scenarioPeakC: z.number().optional().describe('basis supply_rise: peak inlet of that scenario, °C'),
});

const HorizonSchema = z.object({
  horizonMin: z.number(),
  at: z.string().describe('time the forecast is for (ISO 8601)'),
  inletC: z.number().nullable(),
  loC: z.number().nullable().describe('10 % bound of the prediction interval'),
  hiC: z.number().nullable().describe('90 % bound of the prediction interval'),
});

export const RackForecastSchema = z.object({
  rack: z.string(),
  currentC: z.number().nullable(),
  horizons: z.array(HorizonSchema),
  degraded: DegradedReasonSchema.nullable().describe(
    'headline reason the forecast is less trustworthy; null when every input was there',
  ),
  reasons: z.array(DegradedReasonSchema),
  hotspot: HotspotSchema.nullable(),
});

const ModelStatusSchema = z.object({
  mode: z.enum(['model', 'persistence']),
  version: z.number().nullable(),
  reason: z.string().nullable(),
});

const HeaderSchema = {
  site: z.string(),
  issuedAt: z.string(),
  ageSeconds: z.number(),
  cycleSeconds: z.number(),
  model: ModelStatusSchema,
  thresholds: z.object({ warnC: z.number(), criticalC: z.number() }),
  horizonsMin: z.array(z.number()),
};

export const SiteForecastsSchema = z.object({
  ...HeaderSchema,
  hotspots: z.array(HotspotSchema).describe('racks forecast to reach the warn threshold, soonest first'),
  racks: z.array(RackForecastSchema),
});

export const RackForecastDetailSchema = z.object({
  ...HeaderSchema,
  ...RackForecastSchema.shape,
  headroomKw: z
    .number()
    .nullable()
    .describe('kW more this rack could take before it or a neighbour is forecast to reach warn'),
  sensitivity: z.object({
    source: z.enum(['model', 'layout']),
    ownCPerKw: z.number(),
    neighbours: z.array(z.object({ rack: z.string(), cPerKw: z.number() })),
    aisleCPerKw: z.number(),
    zoneCPerKw: z.number(),
  }),
});

export type SiteForecasts = z.infer<typeof SiteForecastsSchema>;
export type RackForecastDetail = z.infer<typeof RackForecastDetailSchema>;

function header(set: ForecastSet, status: ForecastStatus, now: number) {
  return {
    site: set.site,
    issuedAt: new Date(set.ts).toISOString(),
    ageSeconds: Math.max(0, Math.round((now - set.ts) / 100) / 10),
    cycleSeconds: status.cycleSeconds,
    model: { mode: status.mode, version: status.modelVersion, reason: status.reason },
    thresholds: { warnC: status.warnC, criticalC: status.criticalC },
    horizonsMin: [...set.horizonsMin],
  };
}

function rackBody(row: RackForecastRow) {
  return {
    ...row,
    horizons: row.horizons.map(({ ts, ...h }) => ({ ...h, at: new Date(ts).toISOString() })),
  };
}

const notReady = () =>
  new HttpError(
    503,
    'HOTAISLE_FORECAST_NOT_READY',
    'no forecast cycle has run yet; try again in a few seconds',
  );

export function forecastRoutes(source: ForecastSource, now: () => number = Date.now) {
  return (root: FastifyInstance) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/forecasts',
      { config: { role: 'viewer' }, schema: { response: { 200: SiteForecastsSchema, 503: ApiErrorSchema } } },
      async () => {
        const set = source.latest();
        if (!set) throw notReady();
        return {
          ...header(set, source.status(), now()),
          hotspots: set.hotspots,
          racks: forecastRows(set).map(rackBody),
        };
      },
    );
    app.get(
      '/v1/forecasts/:rack',
      {
        config: { role: 'viewer' },
        schema: {
          params: z.object({ rack: z.string().min(1) }),
          response: { 200: RackForecastDetailSchema, 404: ApiErrorSchema, 503: ApiErrorSchema },
        },
      },
      async (req) => {
        const set = source.latest();
        const { rack } = req.params;
        if (set && !set.rackIds.includes(rack)) {
          throw new HttpError(
            404,
            'HOTAISLE_NOT_FOUND',
            `no rack "${rack}" in site ${set.site}; GET /v1/forecasts lists the racks`,
          );
        }
        if (!set) throw notReady();
        const row = forecastRows(set, [rack])[0]!;
        const sensitivity = source.sensitivity(rack)!;
        const headroom = source.headroomKw(rack);
        const { rack: _, ...sens } = sensitivity;
        return {
          ...header(set, source.status(), now()),
          ...rackBody(row),
          headroomKw:
            headroom !== undefined && Number.isFinite(headroom) ? Math.round(headroom * 100) / 100 : null,
          sensitivity: sens,
        };
      },
    );
  };
}
