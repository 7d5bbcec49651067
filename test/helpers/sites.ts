/** Small site fixtures shared by unit and integration tests. */
import { type SiteConfig, type SiteInput, SiteSchema } from '../../src/config/schema.ts';
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

/**
 * One room `h`, two rows `a` and `b` sharing cold aisle `ca`, each of `racksPerRow` 20 kW racks (`a0`,
 * `b0`, …) in its own zone (`z0`, `z1`), cooled by units `cu0` and `cu1`: the forecast tests' layout.
 */
export function twoZoneSite(name: string, racksPerRow: number): SiteIndex {
  return buildSiteIndex(
    SiteSchema.parse({
      site: { id: 'dc', name },
      rooms: [
        {
          id: 'h',
          rows: ['a', 'b'].map((row, r) => ({
            id: row,
            zone: `z${r}`,
            coldAisle: 'ca',
            racks: Array.from({ length: racksPerRow }, (_, k) => ({
              id: `${row}${k}`,
              position: k + 1,
              powerCapKw: 20,
              feeds: { a: 'f' },
            })),
          })),
        },
      ],
      coolingUnits: [
        { id: 'cu0', room: 'h', zone: 'z0', capacityKw: 100 },
        { id: 'cu1', room: 'h', zone: 'z1', capacityKw: 100 },
      ],
    }),
  );
}

/** What an alerts test may add to or set on the lab site; everything but `racks` goes in as is. */
export type AlertsLabSiteOptions = Omit<SiteInput, 'site' | 'rooms'> & {
  /** Racks `r1` … `rN` at positions 1 … N (default 1). */
  racks?: number;
};

/**
 * Site `lab`, room `hall1`, row `row1` in zone `z1` of `racks` 20 kW racks on feed `fa` — the site
 * the alerts tests label their alerts with. Other sections (alerts, coolingUnits, api, …) are given
 * whole in `opts`; the schema fills in the rest.
 */
export function alertsLabSite(opts: AlertsLabSiteOptions = {}): SiteConfig {
  const { racks = 1, ...rest } = opts;
  return SiteSchema.parse({
    site: { id: 'lab', name: 'Lab' },
    rooms: [
      {
        id: 'hall1',
        rows: [
          {
            id: 'row1',
            zone: 'z1',
            racks: Array.from({ length: racks }, (_, k) => ({
              id: `r${k + 1}`,
              position: k + 1,
              powerCapKw: 20,
              feeds: { a: 'fa' },
            })),
          },
        ],
      },
    ],
    ...rest,
  } satisfies SiteInput);
}
