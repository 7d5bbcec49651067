/** A small site for the recommendation tests: two rows of four racks on separate A/B feed pairs. */
import { type SiteConfig, type SiteInput, SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex, type SiteIndex } from '../../src/config/siteIndex.ts';
import type { Reading } from '../../src/telemetry/reading.ts';

export interface FixtureOptions {
  siteCapKw?: number;
  feedKw?: number;
  tariff?: SiteInput['tariff'];
}

export function recommendSite(opts: FixtureOptions = {}): SiteConfig {
  const rack = (row: string, k: number, feeds: { a: string; b: string }) => ({
    id: `${row}${k}`,
    position: k,
    powerCapKw: 30,
    feeds,
    nodes: [1, 2].map((n) => ({
      name: `${row}${k}-n${n}`,
      gpus: 8,
      gpuKw: 1,
      baseKw: 1,
      labels: { gpu: row === 'a' ? 'h100' : 'a100' },
    })),
  });
  return SiteSchema.parse({
    site: { id: 'rt', name: 'Recommend test site', timezone: 'UTC' },
    ...(opts.siteCapKw ? { powerCapKw: opts.siteCapKw } : {}),
    rooms: [
      {
        id: 'r1',
        rows: [
          { id: 'a', zone: 'z1', racks: [1, 2, 3, 4].map((k) => rack('a', k, { a: 'fA', b: 'fB' })) },
          { id: 'b', zone: 'z2', racks: [1, 2, 3, 4].map((k) => rack('b', k, { a: 'fC', b: 'fD' })) },
        ],
      },
    ],
    coolingUnits: [
      { id: 'cu1', room: 'r1', zone: 'z1', capacityKw: 200, supplySetpointC: 18 },
      { id: 'cu2', room: 'r1', zone: 'z2', capacityKw: 200, supplySetpointC: 18 },
    ],
    powerFeeds: ['fA', 'fB', 'fC', 'fD'].map((id) => ({ id, capacityKw: opts.feedKw ?? 100 })),
    tariff: opts.tariff ?? {
      currency: 'EUR',
      basePricePerKwh: 0.1,
      periods: [
        {
          name: 'day',
          days: ['mon', 'tue', 'wed', 'thu', 'fri'],
          from: '08:00',
          to: '20:00',
          pricePerKwh: 0.3,
        },
      ],
    },
  });
}

export function recommendIndex(opts: FixtureOptions = {}): SiteIndex {
  return buildSiteIndex(recommendSite(opts));
}

/** Rack readings: power and inlet per rack id. */
export function rackReadings(values: Record<string, { kw?: number; inletC?: number }>, ts = 0): Reading[] {
  const out: Reading[] = [];
  for (const [rack, v] of Object.entries(values)) {
    if (v.kw !== undefined)
      out.push({ kind: 'rack', site: 'rt', target: rack, metric: 'power_kw', value: v.kw, ts });
    if (v.inletC !== undefined)
      out.push({ kind: 'rack', site: 'rt', target: rack, metric: 'inlet_c', value: v.inletC, ts });
  }
  return out;
}

/** Every rack of the fixture at the same power and inlet. */
export function uniform(kw: number, inletC: number): Record<string, { kw: number; inletC: number }> {
  const out: Record<string, { kw: number; inletC: number }> = {};
  for (const row of ['a', 'b']) for (const k of [1, 2, 3, 4]) out[`${row}${k}`] = { kw, inletC };
  return out;
}
