/** Small site fixtures shared by unit tests. */
import { SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex, type SiteIndex } from '../../src/config/siteIndex.ts';

/** One room `h`, one row `a` of `racks` 20 kW racks (`a0`, `a1`, …) in zone `z`, cooled by unit `cu`. */
export function oneRowSite(name: string, racks: number): SiteIndex {
  return buildSiteIndex(
    SiteSchema.parse({
      site: { id: 'dc', name },
      rooms: [
        {
          id: 'h',
          rows: [
            {
              id: 'a',
              zone: 'z',
              racks: Array.from({ length: racks }, (_, k) => ({
                id: `a${k}`,
                position: k + 1,
                powerCapKw: 20,
                feeds: { a: 'f' },
              })),
            },
          ],
        },
      ],
      coolingUnits: [{ id: 'cu', room: 'h', zone: 'z', capacityKw: 100 }],
    }),
  );
}
