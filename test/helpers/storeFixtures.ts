/** A generated site and readings for store tests and the throughput measurement. */
import { type SiteConfig, type SiteInput, SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex, type SiteIndex } from '../../src/config/siteIndex.ts';
import type { Reading } from '../../src/telemetry/reading.ts';

export function storeSite(
  opts: {
    racks?: number;
    dataDir?: string;
    influxPort?: number;
    database?: string;
    retentionDays?: number;
  } = {},
): SiteConfig {
  const racks = opts.racks ?? 4;
  const perRow = 10;
  const rows: NonNullable<SiteInput['rooms']>[number]['rows'] = [];
  for (let i = 0; i < racks; i++) {
    const rowIdx = Math.floor(i / perRow);
    let row = rows[rowIdx];
    if (!row) {
      row = { id: `row${rowIdx + 1}`, zone: 'z1', racks: [] };
      rows.push(row);
    }
    row.racks.push({ id: `r${i + 1}`, position: (i % perRow) + 1, powerCapKw: 20, feeds: { a: 'fa' } });
  }
  return SiteSchema.parse({
    site: { id: 'lab', name: 'Lab' },
    rooms: [{ id: 'hall1', rows }],
    coolingUnits: [{ id: 'crac1', room: 'hall1', zone: 'z1', capacityKw: 100 }],
    storage: {
      kind: opts.influxPort ? 'influx' : 'embedded',
      dataDir: opts.dataDir ?? 'data',
      influx: {
        host: '127.0.0.1',
        port: opts.influxPort ?? 8086,
        database: opts.database ?? 'hotaisle',
        retentionDays: opts.retentionDays ?? 14,
      },
    },
  } satisfies SiteInput);
}

export function storeIndex(opts: Parameters<typeof storeSite>[0] = {}): SiteIndex {
  return buildSiteIndex(storeSite(opts));
}

/** One rack sample: inlet, outlet and power at the same instant (becomes one point). */
export function rackSample(rack: string, ts: number, base = 20): Reading[] {
  return [
    { kind: 'rack', site: 'lab', target: rack, metric: 'inlet_c', value: base + 0.25, ts },
    { kind: 'rack', site: 'lab', target: rack, metric: 'outlet_c', value: base + 12.5, ts },
    { kind: 'rack', site: 'lab', target: rack, metric: 'power_kw', value: 7.75, ts },
  ];
}
