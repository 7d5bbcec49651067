/**
 * The compact state the dashboard streams every couple of seconds: per-rack and per-unit columns in
 * the layout's order (one array per metric, so 10,000 racks stay a few hundred kB), the forecast
 * at the map's horizon, and which racks carry alerts. Pure: inputs in, a plain object out.
 */
import { z } from 'zod';
import type { ForecastSet } from '../forecast/forecastSet.ts';
import type { LatestValues } from './latest.ts';
import { type DashboardLayout, digest } from './layout.ts';

/** How a rack is marked on the map, most urgent first. */
export const RACK_MARKS = ['critical', 'warning', 'pending', 'predicted'] as const;
export type RackMark = (typeof RACK_MARKS)[number];

/** The alert fields the dashboard needs; the alerts module's AlertRecord fits as is. */
export interface DashboardAlert {
  fingerprint: string;
  rule: string;
  state: 'pending' | 'firing' | 'resolved';
  severity: 'info' | 'warning' | 'critical';
  labels: Readonly<Record<string, string>>;
  acknowledgedAt?: number;
}

const column = z.array(z.number().nullable());

export const DashboardSnapshotSchema = z.object({
  at: z.string().describe('time the snapshot was taken (ISO 8601)'),
  layoutVersion: z.string().describe('GET /v1/layout again when this differs from the layout held'),
  forecast: z.object({
    issuedAt: z.string().nullable(),
    horizonMin: z.number(),
    modelVersion: z.number().nullable().describe('null: persistence forecasts (no trained model yet)'),
  }),
  racks: z
    .object({
      inletC: column,
      outletC: column,
      powerKw: column,
      ageSeconds: column.describe('seconds since the rack last reported anything; null: never'),
      forecastC: column.describe('inlet forecast at forecast.horizonMin, °C'),
      forecastHiC: column.describe('upper (90 %) bound of that forecast, °C'),
      mark: z.array(z.enum(RACK_MARKS).nullable()),
    })
    .describe('one entry per rack, in the order of layout.rackIds'),
  cooling: z
    .object({
      supplyC: column,
      returnC: column,
      fanPct: column,
      powerKw: column,
      ageSeconds: column,
    })
    .describe('one entry per cooling unit, in the order of layout.coolingUnitIds'),
  alerts: z.object({
    firing: z.number(),
    pending: z.number(),
    silenced: z.number(),
    resolved: z.number(),
    revision: z.string().describe('changes whenever an alert changes state, is acknowledged or silenced'),
  }),
});
export type DashboardSnapshot = z.infer<typeof DashboardSnapshotSchema>;

export interface SnapshotInputs {
  layout: DashboardLayout;
  latest: LatestValues;
  forecast: ForecastSet | undefined;
  alerts: readonly DashboardAlert[];
  silenced: (a: DashboardAlert) => boolean;
  now: number;
}

const round2 = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? null : Math.round(v * 100) / 100;
const age = (ts: number | undefined, now: number) =>
  ts === undefined ? null : Math.max(0, Math.round((now - ts) / 100) / 10);

/** Alert summary and its revision; cheap enough to run twice a second to notice changes. */
export function alertSummary(
  alerts: readonly DashboardAlert[],
  silenced: (a: DashboardAlert) => boolean,
): DashboardSnapshot['alerts'] {
  const counts = { firing: 0, pending: 0, silenced: 0, resolved: 0 };
  const parts: string[] = [];
  for (const a of alerts) {
    const quiet = a.state !== 'resolved' && silenced(a);
    if (a.state === 'resolved') counts.resolved++;
    else if (quiet) counts.silenced++;
    else counts[a.state]++;
    parts.push(`${a.fingerprint}:${a.state}:${a.severity}:${a.acknowledgedAt ?? ''}:${quiet ? 's' : ''}`);
  }
  parts.sort();
  return { ...counts, revision: digest(parts.join('|')) };
}

/** The most urgent mark per rack from its active alerts and the forecast's hotspots. */
export function rackMarks(
  rackIds: readonly string[],
  alerts: readonly DashboardAlert[],
  forecast: ForecastSet | undefined,
): Array<RackMark | null> {
  const rank = new Map<string, number>();
  const raise = (rack: string | undefined, mark: RackMark) => {
    if (rack === undefined) return;
    const r = RACK_MARKS.indexOf(mark);
    const prev = rank.get(rack);
    if (prev === undefined || r < prev) rank.set(rack, r);
  };
  for (const a of alerts) {
    if (a.state === 'resolved') continue;
    const rack = a.labels.rack;
    if (a.rule === 'PredictedHotspot') raise(rack, 'predicted');
    else if (a.state === 'pending') raise(rack, 'pending');
    else raise(rack, a.severity === 'critical' ? 'critical' : 'warning');
  }
  for (const h of forecast?.hotspots ?? []) raise(h.rack, 'predicted');
  return rackIds.map((id) => {
    const r = rank.get(id);
    return r === undefined ? null : RACK_MARKS[r]!;
  });
}

export function buildSnapshot(inp: SnapshotInputs): DashboardSnapshot {
  const { layout, latest, forecast, now } = inp;
  const ids = layout.rackIds;
  const horizonMin = layout.forecastHorizonMin;
  const H = forecast?.horizonsMin.length ?? 0;
  const h = forecast ? forecast.horizonsMin.indexOf(horizonMin) : -1;
  const forecastIndex = new Map<string, number>();
  if (forecast && h >= 0) for (const [i, id] of forecast.rackIds.entries()) forecastIndex.set(id, i);
  const forecastAt = (arr: Float64Array | undefined, id: string) => {
    const i = forecastIndex.get(id);
    return i === undefined || !arr ? null : round2(arr[i * H + h]);
  };
  const metric = (id: string, m: string) => round2(latest.rack(id, m)?.value);
  const unit = (id: string, m: string) => round2(latest.coolingUnit(id, m)?.value);
  const units = layout.coolingUnitIds;
  return {
    at: new Date(now).toISOString(),
    layoutVersion: layout.version,
    forecast: {
      issuedAt: forecast ? new Date(forecast.ts).toISOString() : null,
      horizonMin,
      modelVersion: forecast?.modelVersion ?? null,
    },
    racks: {
      inletC: ids.map((id) => metric(id, 'inlet_c')),
      outletC: ids.map((id) => metric(id, 'outlet_c')),
      powerKw: ids.map((id) => metric(id, 'power_kw')),
      ageSeconds: ids.map((id) => age(latest.rackLastSeen(id), now)),
      forecastC: ids.map((id) => forecastAt(forecast?.predicted, id)),
      forecastHiC: ids.map((id) => forecastAt(forecast?.hi, id)),
      mark: rackMarks(ids, inp.alerts, forecast),
    },
    cooling: {
      supplyC: units.map((id) => unit(id, 'supply_c')),
      returnC: units.map((id) => unit(id, 'return_c')),
      fanPct: units.map((id) => unit(id, 'fan_pct')),
      powerKw: units.map((id) => unit(id, 'power_kw')),
      ageSeconds: units.map((id) => age(latest.coolingLastSeen(id), now)),
    },
    alerts: alertSummary(inp.alerts, inp.silenced),
  };
}
