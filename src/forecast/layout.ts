/**
 * Where each rack stands, as flat arrays the feature builder and the forecaster index into:
 * zone and aisle of every rack and the layout-weighted neighbour list (CSR) that stands in for
 * heat recirculation (same row ±1/±2, the racks across a shared cold aisle). Built once per site.
 */
import type { SiteIndex } from '../config/siteIndex.ts';

/** Weight of a neighbour's power in the `nbr_power` feature, by where it stands. */
export const NEIGHBOUR_WEIGHTS = {
  rowAdjacent: 1,
  rowSecond: 0.4,
  aisleOpposite: 0.5,
  aisleDiagonal: 0.27,
} as const;

/**
 * Physical prior for dT_in/dP when no trained model carries it: typical uncontained
 * recirculation, K of inlet rise per kW. The neighbour term is multiplied by the layout weight.
 */
export const LAYOUT_SENSITIVITY_PRIOR = { ownCPerKw: 0.01, neighbourCPerKwAtWeight1: 0.03 } as const;

export interface ForecastLayout {
  readonly site: string;
  readonly n: number;
  readonly rackIds: readonly string[];
  readonly rackIndex: ReadonlyMap<string, number>;
  readonly zoneIds: readonly string[];
  readonly zoneIndex: ReadonlyMap<string, number>;
  /** Cooling unit id → zone index. */
  readonly unitZone: ReadonlyMap<string, number>;
  readonly zone: Int32Array;
  /** Aisle group: racks sharing a cold aisle, or one row when it names none. */
  readonly aisle: Int32Array;
  readonly aisleCount: number;
  /** Racks per zone / aisle (for means). */
  readonly zoneSize: Float64Array;
  readonly aisleSize: Float64Array;
  /** CSR: neighbours of rack i are nbrCol[nbrStart[i] .. nbrStart[i+1]) with weights nbrW. */
  readonly nbrStart: Int32Array;
  readonly nbrCol: Int32Array;
  readonly nbrW: Float64Array;
}

export function buildForecastLayout(index: SiteIndex): ForecastLayout {
  const site = index.site;
  const zoneIds = [...index.zones].sort();
  const zoneIndex = new Map(zoneIds.map((z, i) => [z, i]));
  const unitZone = new Map<string, number>();
  for (const u of site.coolingUnits) unitZone.set(u.id, zoneIndex.get(u.zone) ?? 0);

  const rackIds: string[] = [];
  const zoneOf: number[] = [];
  const aisleOf: number[] = [];
  const rowOf: number[] = [];
  const posOf: number[] = [];
  const aisleKeys = new Map<string, number>();
  let rowCounter = 0;
  for (const room of site.rooms) {
    for (const row of room.rows) {
      const key = row.coldAisle ? `${room.id}/${row.coldAisle}` : `${room.id}/row:${row.id}`;
      let a = aisleKeys.get(key);
      if (a === undefined) {
        a = aisleKeys.size;
        aisleKeys.set(key, a);
      }
      const ordered = [...row.racks].sort((x, y) => x.position - y.position);
      for (const rack of ordered) {
        rackIds.push(rack.id);
        zoneOf.push(zoneIndex.get(rack.zone ?? row.zone) ?? 0);
        aisleOf.push(a);
        rowOf.push(rowCounter);
        posOf.push(rack.position);
      }
      rowCounter++;
    }
  }
  const n = rackIds.length;
  const zone = Int32Array.from(zoneOf);
  const aisle = Int32Array.from(aisleOf);
  const zoneSize = new Float64Array(zoneIds.length);
  const aisleSize = new Float64Array(aisleKeys.size);
  for (let i = 0; i < n; i++) {
    zoneSize[zone[i]!]!++;
    aisleSize[aisle[i]!]!++;
  }

  // Neighbours found through (aisle, position) buckets so a 10,000-rack site stays O(n).
  const byAislePos = new Map<string, number[]>();
  for (let j = 0; j < n; j++) {
    const key = `${aisleOf[j]}:${posOf[j]}`;
    const list = byAislePos.get(key);
    if (list) list.push(j);
    else byAislePos.set(key, [j]);
  }
  const nbrStart = new Int32Array(n + 1);
  const cols: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < n; i++) {
    nbrStart[i] = cols.length;
    for (let d = -2; d <= 2; d++) {
      for (const j of byAislePos.get(`${aisleOf[i]}:${posOf[i]! + d}`) ?? []) {
        if (j === i) continue;
        const w = neighbourWeight(rowOf[i] === rowOf[j], Math.abs(d));
        if (w > 0) {
          cols.push(j);
          weights.push(w);
        }
      }
    }
  }
  nbrStart[n] = cols.length;

  return {
    site: site.site.id,
    n,
    rackIds,
    rackIndex: new Map(rackIds.map((id, i) => [id, i])),
    zoneIds,
    zoneIndex,
    unitZone,
    zone,
    aisle,
    aisleCount: aisleKeys.size,
    zoneSize,
    aisleSize,
    nbrStart,
    nbrCol: Int32Array.from(cols),
    nbrW: Float64Array.from(weights),
  };
}

function neighbourWeight(sameRow: boolean, distance: number): number {
  const w = NEIGHBOUR_WEIGHTS;
  if (sameRow) return distance === 1 ? w.rowAdjacent : distance === 2 ? w.rowSecond : 0;
  return distance === 0 ? w.aisleOpposite : distance === 1 ? w.aisleDiagonal : 0;
}

/** Layout weight of rack j's power in rack i's neighbour feature (0 when not neighbours). */
export function neighbourWeightOf(layout: ForecastLayout, i: number, j: number): number {
  for (let k = layout.nbrStart[i]!, end = layout.nbrStart[i + 1]!; k < end; k++) {
    if (layout.nbrCol[k] === j) return layout.nbrW[k]!;
  }
  return 0;
}
