/**
 * Lookups derived once from a validated site: where each rack stands, which zone cools it,
 * which node lives where. Everything downstream asks this instead of walking rooms → rows → racks.
 */
import type { CoolingUnitConfig, RackConfig, SiteConfig } from './schema.ts';

export interface RackPlace {
  rack: RackConfig;
  room: string;
  row: string;
  /** Index of the row within its room (0-based), for layout distances. */
  rowIndex: number;
  zone: string;
  coldAisle: string | undefined;
  containment: 'none' | 'cold-aisle' | 'hot-aisle';
}

export interface SiteIndex {
  readonly site: SiteConfig;
  readonly racks: ReadonlyMap<string, RackPlace>;
  readonly rackIds: readonly string[];
  readonly coolingUnits: ReadonlyMap<string, CoolingUnitConfig>;
  readonly zones: ReadonlySet<string>;
  /** Kubernetes/Slurm node name → rack id. */
  readonly nodeToRack: ReadonlyMap<string, string>;
  /** Racks in the same row, ordered by position. */
  rowmates(rackId: string): readonly string[];
}

export function buildSiteIndex(site: SiteConfig): SiteIndex {
  const racks = new Map<string, RackPlace>();
  const rows = new Map<string, string[]>();
  const nodeToRack = new Map<string, string>();
  const zones = new Set<string>(site.coolingUnits.map((u) => u.zone));
  for (const room of site.rooms) {
    room.rows.forEach((row, rowIndex) => {
      const ordered = [...row.racks].sort((a, b) => a.position - b.position);
      rows.set(
        `${room.id}/${row.id}`,
        ordered.map((r) => r.id),
      );
      for (const rack of ordered) {
        const zone = rack.zone ?? row.zone;
        zones.add(zone);
        racks.set(rack.id, {
          rack,
          room: room.id,
          row: row.id,
          rowIndex,
          zone,
          coldAisle: row.coldAisle,
          containment: room.containment,
        });
        for (const node of rack.nodes) nodeToRack.set(node.name, rack.id);
      }
    });
  }
  return {
    site,
    racks,
    rackIds: [...racks.keys()],
    coolingUnits: new Map(site.coolingUnits.map((u) => [u.id, u])),
    zones,
    nodeToRack,
    rowmates(rackId) {
      const place = racks.get(rackId);
      return place ? (rows.get(`${place.room}/${place.row}`) ?? []) : [];
    },
  };
}
