/**
 * One forecast cycle's output: flat arrays over racks × horizons (cheap to produce for 10,000 racks),
 * the hotspots found, and converters to per-rack rows for the API and points for the store.
 */
import type { Hotspot } from './hotspots.ts';

/** Why a forecast is less trustworthy than usual; bits of `ForecastSet.degraded`. */
export const DEGRADED = {
  no_model: 1,
  no_inlet: 2,
  no_supply_temp: 4,
  no_power: 8,
  no_inlet_history: 16,
  /** The model had no fit for the richer tier the inputs allowed (too little training data). */
  simpler_model: 32,
  no_cooling_state: 64,
  no_site_load: 128,
  no_outdoor_temp: 256,
} as const;
export type DegradedReason = keyof typeof DEGRADED;
/** Most important first: the first present is the rack's headline reason. */
const REASON_ORDER = Object.keys(DEGRADED) as DegradedReason[];

export function degradedReasons(bits: number): DegradedReason[] {
  return REASON_ORDER.filter((r) => (bits & DEGRADED[r]) !== 0);
}

export interface ForecastSet {
  site: string;
  /** Issue time, ms. */
  ts: number;
  modelVersion: number | null;
  horizonsMin: readonly number[];
  rackIds: readonly string[];
  /** Current inlet per rack (°C, NaN when unknown). */
  current: Float64Array;
  /** [rack * H + h]: central forecast and interval, °C; NaN when no forecast. */
  predicted: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  /** Model tier used per rack (index into TIERS), -1 when none. */
  tier: Int8Array;
  /** DEGRADED bits per rack. */
  degraded: Uint16Array;
  hotspots: Hotspot[];
  /** Cycle time, ms. */
  elapsedMs: number;
}

export interface RackForecastRow {
  rack: string;
  currentC: number | null;
  horizons: Array<{
    horizonMin: number;
    ts: number;
    inletC: number | null;
    loC: number | null;
    hiC: number | null;
  }>;
  /** Headline reason, null when the forecast used every input. */
  degraded: DegradedReason | null;
  reasons: DegradedReason[];
  hotspot: Hotspot | null;
}

const num = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? null : Math.round(v * 100) / 100;

/** Per-rack rows (for the API); `racks` narrows to some rack ids. */
export function forecastRows(set: ForecastSet, racks?: readonly string[]): RackForecastRow[] {
  const H = set.horizonsMin.length;
  const hot = new Map(set.hotspots.map((h) => [h.rack, h]));
  const wanted = racks ? new Set(racks) : undefined;
  const rows: RackForecastRow[] = [];
  set.rackIds.forEach((rack, r) => {
    if (wanted && !wanted.has(rack)) return;
    const reasons = degradedReasons(set.degraded[r]!);
    rows.push({
      rack,
      currentC: num(set.current[r]),
      horizons: set.horizonsMin.map((horizonMin, h) => ({
        horizonMin,
        ts: set.ts + horizonMin * 60_000,
        inletC: num(set.predicted[r * H + h]),
        loC: num(set.lo[r * H + h]),
        hiC: num(set.hi[r * H + h]),
      })),
      degraded: reasons[0] ?? null,
      reasons,
      hotspot: hot.get(rack) ?? null,
    });
  });
  return rows;
}

/** A forecast point for the store's `forecast` measurement, stamped at the time it forecasts. */
export interface ForecastPoint {
  site: string;
  rack: string;
  horizonMin: number;
  model: string;
  /** Target time (issue time + horizon), ms. */
  ts: number;
  issuedTs: number;
  inletC: number;
  loC: number;
  hiC: number;
}

/** Store points of racks [fromRack, toRack) (default all; a range lets a caller write a large site in chunks). */
export function forecastPoints(set: ForecastSet, fromRack = 0, toRack = set.rackIds.length): ForecastPoint[] {
  const H = set.horizonsMin.length;
  const model = set.modelVersion === null ? 'persistence' : `v${set.modelVersion}`;
  const out: ForecastPoint[] = [];
  for (let r = Math.max(0, fromRack); r < Math.min(toRack, set.rackIds.length); r++) {
    const rack = set.rackIds[r]!;
    for (let h = 0; h < H; h++) {
      const v = set.predicted[r * H + h]!;
      if (Number.isNaN(v)) continue;
      out.push({
        site: set.site,
        rack,
        horizonMin: set.horizonsMin[h]!,
        model,
        ts: set.ts + set.horizonsMin[h]! * 60_000,
        issuedTs: set.ts,
        inletC: v,
        // Without a model (persistence) there is no interval: the bounds collapse onto the value.
        loC: Number.isNaN(set.lo[r * H + h]!) ? v : set.lo[r * H + h]!,
        hiC: Number.isNaN(set.hi[r * H + h]!) ? v : set.hi[r * H + h]!,
      });
    }
  }
  return out;
}
