/**
 * The floor plan the dashboard draws, derived once from the validated site: rooms → rows → racks in
 * position order, cooling units per room, and per-rack thresholds (overrides applied), so the page
 * never walks the site file itself. Pure.
 */
import { z } from 'zod';
import { staleAfterMs, thresholdsFor } from '../alerts/ruleContext.ts';
import type { SiteConfig } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';

const LayoutRackSchema = z.object({
  id: z.string(),
  position: z.number().describe('1-based slot along the row'),
  zone: z.string(),
  powerCapKw: z.number(),
  gpus: z.number().describe('GPUs in the rack (sum over its nodes)'),
  warnC: z.number().describe('inlet warn threshold for this rack (overrides applied), °C'),
  criticalC: z.number().describe('inlet critical threshold for this rack, °C'),
});

const LayoutRowSchema = z.object({
  id: z.string(),
  zone: z.string(),
  coldAisle: z.string().nullable(),
  racks: z.array(LayoutRackSchema),
});

const LayoutCoolingUnitSchema = z.object({
  id: z.string(),
  zone: z.string(),
  capacityKw: z.number(),
  supplySetpointC: z.number(),
});

const LayoutRoomSchema = z.object({
  id: z.string(),
  name: z.string(),
  containment: z.enum(['none', 'cold-aisle', 'hot-aisle']),
  rows: z.array(LayoutRowSchema),
  coolingUnits: z.array(LayoutCoolingUnitSchema),
});

export const DashboardLayoutSchema = z.object({
  version: z.string().describe('changes when the site layout changes; snapshots carry it'),
  site: z.object({ id: z.string(), name: z.string(), timezone: z.string() }),
  thresholds: z.object({ warnC: z.number(), criticalC: z.number(), powerWarnPct: z.number() }),
  staleAfterSeconds: z.number().describe('a rack with no reading for this long is shown as stale'),
  forecastHorizonMin: z.number().describe('horizon the map shows when the forecast toggle is on'),
  rooms: z.array(LayoutRoomSchema),
  rackIds: z.array(z.string()).describe('order of the per-rack columns in snapshots'),
  coolingUnitIds: z.array(z.string()).describe('order of the per-unit columns in snapshots'),
});
export type DashboardLayout = z.infer<typeof DashboardLayoutSchema>;

/** The horizon closest to 15 min, which is what an operator can still act on. */
export function mapHorizon(horizonsMin: readonly number[], preferred = 15): number {
  let best = horizonsMin[0] ?? preferred;
  for (const h of horizonsMin) if (Math.abs(h - preferred) < Math.abs(best - preferred)) best = h;
  return best;
}

/** FNV-1a, 32 bit: a short, stable digest for change detection (not security). */
export function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function buildDashboardLayout(site: SiteConfig, index: SiteIndex): DashboardLayout {
  const rooms = site.rooms.map((room) => ({
    id: room.id,
    name: room.name ?? room.id,
    containment: room.containment,
    rows: room.rows.map((row) => ({
      id: row.id,
      zone: row.zone,
      coldAisle: row.coldAisle ?? null,
      racks: [...row.racks]
        .sort((a, b) => a.position - b.position)
        .map((rack) => {
          const t = thresholdsFor(site, index, rack.id);
          return {
            id: rack.id,
            position: rack.position,
            zone: rack.zone ?? row.zone,
            powerCapKw: rack.powerCapKw,
            gpus: rack.nodes.reduce((n, node) => n + node.gpus, 0),
            warnC: t.inletWarnC,
            criticalC: t.inletCriticalC,
          };
        }),
    })),
    coolingUnits: site.coolingUnits
      .filter((u) => u.room === room.id)
      .map((u) => ({ id: u.id, zone: u.zone, capacityKw: u.capacityKw, supplySetpointC: u.supplySetpointC })),
  }));
  const body = {
    site: { id: site.site.id, name: site.site.name, timezone: site.site.timezone },
    thresholds: {
      warnC: site.thresholds.inletWarnC,
      criticalC: site.thresholds.inletCriticalC,
      powerWarnPct: site.thresholds.powerWarnPct,
    },
    staleAfterSeconds: staleAfterMs(site.alerts) / 1000,
    forecastHorizonMin: mapHorizon(site.forecast.horizonsMin),
    rooms,
    rackIds: [...index.rackIds],
    coolingUnitIds: site.coolingUnits.map((u) => u.id),
  };
  return { version: digest(JSON.stringify(body)), ...body };
}
