/** A flat site of N racks fed by the compact JSON mapping, for ingest benchmarks. */
import type { SiteInput } from '../src/config/schema.ts';

export function generateBenchSite(siteId: string, racks: number, racksPerRow = 20): SiteInput {
  const rows: NonNullable<SiteInput['rooms']>[number]['rows'] = [];
  for (let start = 0; start < racks; start += racksPerRow) {
    const row = rows.length;
    rows.push({
      id: `row${row}`,
      zone: `z${Math.floor(row / 2)}`,
      racks: Array.from({ length: Math.min(racksPerRow, racks - start) }, (_, i) => ({
        id: `r${start + i}`,
        position: i + 1,
        powerCapKw: 40,
        feeds: { a: `pdu-${row}a`, b: `pdu-${row}b` },
      })),
    });
  }
  const zones = [...new Set(rows.map((r) => r.zone))];
  return {
    site: { id: siteId, name: `Benchmark hall (${racks} racks)` },
    rooms: [{ id: 'hall', rows }],
    coolingUnits: zones.map((zone, i) => ({ id: `crah-${i}`, room: 'hall', zone, capacityKw: 1000 })),
    telemetry: [
      {
        topic: 'hotaisle/ingest/{site}/{rack}',
        format: 'json',
        timestampField: 'ts',
        precision: 'ms',
        fields: { inlet: 'inlet_c', outlet: 'outlet_c', power: 'power_kw' },
      },
    ],
    // Samples in the backlog are stamped up to SAMPLES seconds in the past.
    ingest: { maxAgeMs: 24 * 3_600_000 },
  };
}
