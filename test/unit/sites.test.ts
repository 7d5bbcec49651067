/**
 * Every site file shipped in sites/ loads against the schema (STYLE.md §8), and the examples keep
 * the properties the demo, the simulator and the integration tests rely on.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runValidate } from '../../src/cli/validate.ts';
import { formatProblems, loadSiteFile } from '../../src/config/loader.ts';
import { type RackConfig, type SiteConfig, TelemetryMappingSchema } from '../../src/config/schema.ts';
import { STANDARD_TELEMETRY } from '../../src/sim/hall.ts';

const SITES = join(import.meta.dirname, '..', '..', 'sites');

function load(name: string): SiteConfig {
  const result = loadSiteFile(join(SITES, name));
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.config;
}

function racksOf(site: SiteConfig): Array<RackConfig & { zone: string; room: string }> {
  return site.rooms.flatMap((room) =>
    room.rows.flatMap((row) =>
      row.racks.map((rack) => ({ ...rack, zone: rack.zone ?? row.zone, room: room.id })),
    ),
  );
}

/** Power of a rack's nodes at full load, kW. */
function fullLoadKw(rack: RackConfig): number {
  return rack.nodes.reduce((sum, n) => sum + n.gpus * n.gpuKw + n.baseKw, 0);
}

describe('every file in sites/', () => {
  const files = readdirSync(SITES).filter((f) => /\.(ya?ml|json)$/i.test(f));

  it('finds the example files', () => {
    expect(files).toEqual(expect.arrayContaining(['example-gpu-hall.yaml', 'lab.yaml']));
  });

  it.each(files)('%s loads without problems', (file) => {
    const result = loadSiteFile(join(SITES, file));
    expect(result.ok ? '' : formatProblems(result.problems)).toBe('');
  });

  it('passes hotaisle validate', () => {
    const lines: string[] = [];
    expect(runValidate([SITES], (l) => lines.push(l))).toBe(0);
    expect(lines).toContain(
      `${join(SITES, 'example-gpu-hall.yaml')}: ok (${racksOf(load('example-gpu-hall.yaml')).length} racks, 10 cooling units)`,
    );
  });
});

describe('example-gpu-hall.yaml', () => {
  const site = load('example-gpu-hall.yaml');
  const racks = racksOf(site);

  it('is a two-room hall of at least 80 racks in at least 8 rows', () => {
    expect(site.rooms).toHaveLength(2);
    expect(site.rooms.flatMap((r) => r.rows).length).toBeGreaterThanOrEqual(8);
    expect(racks.length).toBeGreaterThanOrEqual(80);
    expect(site.site.timezone).toBe('Europe/Amsterdam');
    expect(site.powerCapKw).toBeGreaterThan(0);
    expect(site.rooms.map((r) => r.containment).sort()).toEqual(['cold-aisle', 'none']);
  });

  it('mixes 30-45 kW GPU racks with 8-15 kW racks, each cap above its full load', () => {
    const gpu = racks.filter((r) => r.nodes.some((n) => n.gpus > 0));
    const other = racks.filter((r) => !r.nodes.some((n) => n.gpus > 0));
    expect(gpu.length).toBeGreaterThan(40);
    expect(other.length).toBeGreaterThan(20);
    for (const r of gpu) expect(r.powerCapKw, r.id).toBeGreaterThanOrEqual(30);
    for (const r of gpu) expect(r.powerCapKw, r.id).toBeLessThanOrEqual(45);
    for (const r of other) expect(r.powerCapKw, r.id).toBeGreaterThanOrEqual(8);
    for (const r of other) expect(r.powerCapKw, r.id).toBeLessThanOrEqual(15);
    for (const r of racks) expect(fullLoadKw(r), r.id).toBeLessThanOrEqual(r.powerCapKw);
  });

  it('pairs rows into cold aisles that share a zone', () => {
    for (const room of site.rooms) {
      const byAisle = new Map<string, Set<string>>();
      for (const row of room.rows) {
        expect(row.coldAisle, row.id).toBeDefined();
        byAisle.set(row.coldAisle!, (byAisle.get(row.coldAisle!) ?? new Set()).add(row.zone));
      }
      expect([...byAisle.values()].every((zones) => zones.size === 1)).toBe(true);
      expect(room.rows.length / byAisle.size).toBe(2);
    }
  });

  it('sizes cooling so that each zone copes with all units but not with one failed', () => {
    expect(site.coolingUnits.length).toBeGreaterThanOrEqual(4);
    const zones = new Set(racks.map((r) => r.zone));
    for (const zone of zones) {
      const units = site.coolingUnits.filter((u) => u.zone === zone).map((u) => u.capacityKw);
      const load = racks.filter((r) => r.zone === zone).reduce((sum, r) => sum + fullLoadKw(r), 0);
      const total = units.reduce((a, b) => a + b, 0);
      expect(units.length, zone).toBeGreaterThanOrEqual(2);
      expect(total, zone).toBeGreaterThanOrEqual(load);
      expect(total - Math.max(...units), zone).toBeLessThan(load);
    }
  });

  it('gives every rack A and B feeds, each able to carry all of its racks alone', () => {
    for (const r of racks) expect(r.feeds.b, r.id).toBeDefined();
    for (const feed of site.powerFeeds) {
      const onFeed = racks.filter((r) => r.feeds.a === feed.id || r.feeds.b === feed.id);
      expect(onFeed.length, feed.id).toBeGreaterThan(0);
      expect(
        onFeed.reduce((s, r) => s + r.powerCapKw, 0),
        feed.id,
      ).toBeLessThanOrEqual(feed.capacityKw);
    }
  });

  it('has a time-of-use tariff with a demand charge and hourly carbon intensity', () => {
    const tariff = site.tariff;
    expect(tariff).toBeDefined();
    const prices = tariff!.periods.map((p) => p.pricePerKwh);
    expect(Math.max(...prices)).toBeGreaterThan(tariff!.basePricePerKwh);
    expect(tariff!.periods.some((p) => p.days.includes('sat') && p.days.includes('sun'))).toBe(true);
    expect(tariff!.demandChargePerKw).toBeGreaterThan(0);
    expect(tariff!.carbonByHour).toHaveLength(24);
  });

  it('uses ASHRAE thresholds and the embedded store and broker', () => {
    expect(site.thresholds).toMatchObject({ inletWarnC: 27, inletCriticalC: 32 });
    expect(site.storage.kind).toBe('embedded');
    expect(site.broker.kind).toBe('embedded');
  });
});

describe('lab.yaml', () => {
  const site = load('lab.yaml');

  it('maps telemetry exactly as the simulator and router tests assume (STANDARD_TELEMETRY)', () => {
    expect(site.telemetry).toEqual(STANDARD_TELEMETRY.map((m) => TelemetryMappingSchema.parse(m)));
  });

  it('is small: one room, two rows, 6-8 racks, two cooling units', () => {
    expect(site.site.id).toBe('lab');
    expect(site.rooms).toHaveLength(1);
    expect(site.rooms[0]!.rows).toHaveLength(2);
    const racks = racksOf(site);
    expect(racks.length).toBeGreaterThanOrEqual(6);
    expect(racks.length).toBeLessThanOrEqual(8);
    expect(site.coolingUnits).toHaveLength(2);
  });

  it('shares the telemetry conventions of the example hall', () => {
    const hall = load('example-gpu-hall.yaml');
    expect(site.telemetry).toEqual(hall.telemetry);
    expect(site.telemetry.map((m) => m.topic)).toEqual([
      'dc/{site}/{room}/{row}/{rack}/{metric}',
      'telegraf/{host}/{measurement}',
      'bms/{site}/cooling/{unit}',
      'bms/{site}/site',
      'hotaisle/ingest/{site}/{rack}',
    ]);
  });
});
