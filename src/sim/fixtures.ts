/**
 * A small two-room site built in code, for tests and examples that must not depend on the
 * files under sites/: room "a" has two rows on one cold aisle (zone za, two 60 kW units) and a
 * third row in its own zone (zb, one unit); room "b", far away, has one row (zone zc).
 */
import { type SiteConfig, type SiteInput, SiteSchema } from '../config/schema.ts';
import { STANDARD_TELEMETRY } from './hall.ts';

export interface SmallSiteOptions {
  containment?: 'none' | 'cold-aisle' | 'hot-aisle';
  /** Capacity of each of zone za's two units, kW. */
  zaUnitKw?: number;
  racksPerRow?: number;
}

export function smallTwoRoomSite(opts: SmallSiteOptions = {}): SiteConfig {
  const perRow = opts.racksPerRow ?? 5;
  const gpuRack = (id: string, position: number, extra: Record<string, unknown> = {}) => ({
    id,
    position,
    powerCapKw: 30,
    feeds: { a: 'fa' },
    nodes: [1, 2, 3].map((n) => ({ name: `${id}-n${n}`, gpus: 8, gpuKw: 0.7, baseKw: 1.0 })),
    ...extra,
  });
  const row = (id: string, zone: string, coldAisle?: string) => ({
    id,
    zone,
    ...(coldAisle ? { coldAisle } : {}),
    racks: Array.from({ length: perRow }, (_, k) => gpuRack(`${id}${k + 1}`, k + 1)),
  });
  const input: SiteInput = {
    site: { id: 'small', name: 'Small test site', timezone: 'UTC' },
    rooms: [
      {
        id: 'a',
        containment: opts.containment ?? 'none',
        rows: [row('r1', 'za', 'ca1'), row('r2', 'za', 'ca1'), row('r3', 'zb')],
      },
      { id: 'b', containment: 'none', rows: [row('s1', 'zc')] },
    ],
    coolingUnits: [
      { id: 'cu-a1', room: 'a', zone: 'za', capacityKw: opts.zaUnitKw ?? 150, supplySetpointC: 18 },
      { id: 'cu-a2', room: 'a', zone: 'za', capacityKw: opts.zaUnitKw ?? 150, supplySetpointC: 18 },
      { id: 'cu-a3', room: 'a', zone: 'zb', capacityKw: 150, supplySetpointC: 18 },
      { id: 'cu-b1', room: 'b', zone: 'zc', capacityKw: 150, supplySetpointC: 18 },
    ],
    powerFeeds: [{ id: 'fa', capacityKw: 1000 }],
    tariff: {
      currency: 'EUR',
      basePricePerKwh: 0.1,
      periods: [{ name: 'peak', from: '12:00', to: '14:00', pricePerKwh: 0.5 }],
    },
    telemetry: STANDARD_TELEMETRY,
  };
  return SiteSchema.parse(input);
}
