/**
 * RecommendModule across a site reload: placements a scheduler acted on keep their GPUs and kW
 * committed while their nodes still exist, so headroom is not overstated after the reload.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SiteConfig } from '../../src/config/schema.ts';
import { RecommendModule } from '../../src/recommend/module.ts';
import { alertsContext } from '../helpers/alertsFixtures.ts';
import { recommendSite } from './recommend-fixture.ts';

const T = Date.UTC(2026, 10, 28, 12);
const HOUR = 3_600_000;
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A started module on the fixture site, its batch plan in a temp dir. */
async function startedModule(): Promise<{ module: RecommendModule; site: SiteConfig }> {
  const dir = await mkdtemp(join(tmpdir(), 'hotaisle-recommend-reload-'));
  dirs.push(dir);
  const base = recommendSite();
  const site: SiteConfig = { ...base, storage: { ...base.storage, dataDir: dir } };
  const module = new RecommendModule({ now: () => T });
  await module.start(alertsContext(site));
  return { module, site };
}

/** The site without one rack (and its nodes). */
function withoutRack(site: SiteConfig, rack: string): SiteConfig {
  const next = structuredClone(site);
  for (const room of next.rooms)
    for (const row of room.rows) row.racks = row.racks.filter((r) => r.id !== rack);
  return next;
}

describe('RecommendModule reload', () => {
  it('keeps accepted placements whose nodes remain and drops the others', async () => {
    const { module, site } = await startedModule();
    const before = module.recommendations!.state;
    before.accept({
      id: 'keep',
      allocations: [{ node: 'a1-n1', rack: 'a1', gpus: 8, kw: 9 }],
      untilTs: T + HOUR,
    });
    before.accept({
      id: 'gone',
      allocations: [{ node: 'b4-n1', rack: 'b4', gpus: 4, kw: 5 }],
      untilTs: T + HOUR,
    });

    module.reconfigure(alertsContext(withoutRack(site, 'b4')));

    const after = module.recommendations!.state;
    expect(after).not.toBe(before);
    expect(after.placementList().map((p) => p.id)).toEqual(['keep']);
    expect(after.freeGpus('a1-n1')).toBe(0);
    expect(after.rackKw('a1')).toBe(9);
    expect(after.freeGpus('b4-n1')).toBeUndefined();
    await module.stop();
  });

  it('commits a carried placement to the rack its node is in after the reload', async () => {
    const { module, site } = await startedModule();
    module.recommendations!.state.accept({
      id: 'job',
      allocations: [{ node: 'a1-n1', rack: 'a1', gpus: 2, kw: 3 }],
      untilTs: T + HOUR,
    });
    // Node a1-n1 is moved into rack a2.
    const next = structuredClone(site);
    const rows = next.rooms[0]!.rows;
    const a1 = rows[0]!.racks.find((r) => r.id === 'a1')!;
    const a2 = rows[0]!.racks.find((r) => r.id === 'a2')!;
    const moved = a1.nodes.find((n) => n.name === 'a1-n1')!;
    a1.nodes = a1.nodes.filter((n) => n !== moved);
    a2.nodes = [...a2.nodes, moved];

    module.reconfigure(alertsContext(next));

    const after = module.recommendations!.state;
    expect(after.rackKw('a2')).toBe(3);
    expect(after.rackKw('a1')).toBe(0);
    expect(after.release('job')).toBe(true);
    expect(after.rackKw('a2')).toBe(0);
    expect(after.freeGpus('a1-n1')).toBe(8);
    await module.stop();
  });
});
