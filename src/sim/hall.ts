/**
 * A large site built in code, for benchmarks and scale tests: rooms of rows facing each other in
 * pairs across cold aisles, zones of a few row pairs, N+1 cooling units per zone, GPU racks with a
 * network rack at the head of every row. Deterministic; no randomness needed.
 */
import { type SiteConfig, type SiteInput, SiteSchema } from '../config/schema.ts';

export interface HallOptions {
  /** Total racks (rounded up to whole rows). */
  racks: number;
  siteId?: string;
  racksPerRow?: number;
  rowsPerRoom?: number;
  /** Rows per cooling zone (even: rows pair up across a cold aisle). */
  rowsPerZone?: number;
  unitsPerZone?: number;
  nodesPerRack?: number;
  gpusPerNode?: number;
  containment?: 'none' | 'cold-aisle' | 'hot-aisle';
}

/** The topic layouts of the example sites, so encoders and decoders see every format. */
export const STANDARD_TELEMETRY: NonNullable<SiteInput['telemetry']> = [
  {
    topic: 'dc/{site}/{room}/{row}/{rack}/{metric}',
    format: 'value',
    fields: { inlet: 'inlet_c', outlet: 'outlet_c', power: { metric: 'power_kw', unit: 'W' } },
  },
  {
    topic: 'telegraf/{host}/{measurement}',
    format: 'influx-line',
    idField: 'rack',
    precision: 'ns',
    fields: { inlet_temp: 'inlet_c', exhaust_temp: 'outlet_c', power_w: { metric: 'power_kw', unit: 'W' } },
  },
  {
    topic: 'bms/{site}/cooling/{unit}',
    format: 'json',
    target: 'cooling',
    timestampField: 'ts',
    precision: 'ms',
    fields: {
      supplyTempF: { metric: 'supply_c', unit: 'F' },
      returnTempF: { metric: 'return_c', unit: 'F' },
      fanPct: 'fan_pct',
      powerKw: 'power_kw',
    },
  },
  {
    topic: 'bms/{site}/site',
    format: 'json',
    target: 'site',
    timestampField: 'ts',
    precision: 'ms',
    fields: { facilityKw: 'power_kw', outdoorC: 'outdoor_c' },
  },
  {
    topic: 'hotaisle/ingest/{site}/{rack}',
    format: 'json',
    timestampField: 'ts',
    precision: 'ms',
    fields: { inlet: 'inlet_c', outlet: 'outlet_c', power: 'power_kw' },
  },
];

export function generateHall(opts: HallOptions): SiteConfig {
  const racksPerRow = opts.racksPerRow ?? 20;
  const rowsPerRoom = opts.rowsPerRoom ?? 50;
  const rowsPerZone = opts.rowsPerZone ?? 10;
  const unitsPerZone = opts.unitsPerZone ?? 4;
  const nodesPerRack = opts.nodesPerRack ?? 4;
  const gpusPerNode = opts.gpusPerNode ?? 8;
  const gpuKw = 0.7;
  const baseKw = 1.2;
  const rackKw = nodesPerRack * (gpusPerNode * gpuKw + baseKw);
  const rackCap = Math.ceil(rackKw * 1.15);
  const totalRows = Math.ceil(opts.racks / racksPerRow);
  const rooms: NonNullable<SiteInput['rooms']> = [];
  const units: NonNullable<SiteInput['coolingUnits']> = [];
  for (let r0 = 0, roomNo = 1; r0 < totalRows; r0 += rowsPerRoom, roomNo++) {
    const roomId = `room${roomNo}`;
    const rows: SiteInput['rooms'][number]['rows'] = [];
    const rowCount = Math.min(rowsPerRoom, totalRows - r0);
    for (let k = 0; k < rowCount; k++) {
      const rowId = `r${roomNo}-${k + 1}`;
      const zone = `${roomId}-z${Math.floor(k / rowsPerZone) + 1}`;
      const racks = Array.from({ length: racksPerRow }, (_, p) => {
        const id = `${rowId}-${p + 1}`;
        // The first rack of a row holds network gear: steady load, nothing to schedule.
        if (p === 0) return { id, position: 1, powerCapKw: 8, feeds: { a: 'fa', b: 'fb' } };
        return {
          id,
          position: p + 1,
          powerCapKw: rackCap,
          feeds: { a: 'fa', b: 'fb' },
          nodes: Array.from({ length: nodesPerRack }, (_, n) => ({
            name: `${id}-n${n + 1}`,
            gpus: gpusPerNode,
            gpuKw,
            baseKw,
          })),
        };
      });
      rows.push({ id: rowId, zone, coldAisle: `${roomId}-ca${Math.floor(k / 2) + 1}`, racks });
    }
    rooms.push({
      id: roomId,
      containment: opts.containment ?? (roomNo % 2 === 0 ? 'hot-aisle' : 'cold-aisle'),
      rows,
    });
    for (let z = 0; z * rowsPerZone < rowCount; z++) {
      const zoneRows = Math.min(rowsPerZone, rowCount - z * rowsPerZone);
      const zoneKw = zoneRows * ((racksPerRow - 1) * rackKw + 4);
      // N+1: the zone's full rated load fits in all but one unit.
      const capacityKw = Math.ceil((zoneKw / Math.max(1, unitsPerZone - 1)) * 1.05);
      for (let u = 0; u < unitsPerZone; u++) {
        units.push({
          id: `${roomId}-crah${z + 1}-${u + 1}`,
          room: roomId,
          zone: `${roomId}-z${z + 1}`,
          capacityKw,
          supplySetpointC: 18,
        });
      }
    }
  }
  const id = opts.siteId ?? `hall${opts.racks}`;
  return SiteSchema.parse({
    site: { id, name: `Generated hall (${totalRows * racksPerRow} racks)`, timezone: 'UTC' },
    rooms,
    coolingUnits: units,
    powerFeeds: [
      { id: 'fa', capacityKw: 10_000 },
      { id: 'fb', capacityKw: 10_000 },
    ],
    tariff: {
      currency: 'EUR',
      basePricePerKwh: 0.12,
      demandChargePerKw: 8,
      periods: [
        {
          name: 'peak',
          days: ['mon', 'tue', 'wed', 'thu', 'fri'],
          from: '17:00',
          to: '21:00',
          pricePerKwh: 0.3,
        },
        {
          name: 'shoulder',
          days: ['mon', 'tue', 'wed', 'thu', 'fri'],
          from: '07:00',
          to: '17:00',
          pricePerKwh: 0.2,
        },
      ],
    },
    telemetry: STANDARD_TELEMETRY,
  });
}
