/**
 * Live configuration, the pure part: what a changed site file means (config/reloadDiff.ts), and the
 * watcher on real files in a temp dir (editor-style rename-over saves, debounce, unchanged content).
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertLifecycle } from '../../src/alerts/lifecycle.ts';
import type { Condition } from '../../src/alerts/types.ts';
import { formatProblems, loadSiteFile } from '../../src/config/loader.ts';
import {
  applicableConfig,
  deepEqual,
  describeDiff,
  diffSites,
  isEmptyDiff,
  layoutChanged,
} from '../../src/config/reloadDiff.ts';
import { type SiteConfig, type SiteInput, SiteSchema } from '../../src/config/schema.ts';
import { loadSiteWithOverrides, SiteFileWatcher, type SiteLoad } from '../../src/config/watcher.ts';
import { silentLogger } from '../../src/log.ts';
import { waitFor } from '../helpers/poll.ts';

function site(edit: (s: SiteInput) => void = () => {}): SiteConfig {
  const input: SiteInput = {
    site: { id: 't', name: 'Test' },
    rooms: [
      {
        id: 'r',
        rows: [
          {
            id: 'a',
            zone: 'z1',
            racks: [
              { id: 'r1', position: 1, powerCapKw: 30, feeds: { a: 'fa' } },
              { id: 'r2', position: 2, powerCapKw: 30, feeds: { a: 'fa' } },
            ],
          },
        ],
      },
    ],
    coolingUnits: [{ id: 'cu1', room: 'r', zone: 'z1', capacityKw: 100 }],
    powerFeeds: [{ id: 'fa', capacityKw: 100 }],
    thresholds: { inletWarnC: 27 },
  };
  edit(input);
  return SiteSchema.parse(input);
}

const racksOf = (s: SiteInput) => s.rooms[0]!.rows[0]!.racks;

describe('diffSites', () => {
  it('finds nothing between two loads of the same file', () => {
    const d = diffSites(site(), site());
    expect(isEmptyDiff(d)).toBe(true);
    expect(describeDiff(d)).toEqual([]);
  });

  it('names racks added, removed and changed, and live sections by name', () => {
    const next = site((s) => {
      const racks = racksOf(s);
      racks.splice(0, 1); // r1 gone
      racks[0] = { ...racks[0]!, powerCapKw: 40 }; // r2 changed
      racks.push({ id: 'r9', position: 9, powerCapKw: 20, feeds: { a: 'fa' } });
      s.thresholds = { inletWarnC: 25 };
      s.tariff = { basePricePerKwh: 0.1 };
      s.alerts = { routes: [{ receiver: 'mqtt', severities: ['critical'] }] };
    });
    const d = diffSites(site(), next);
    expect(d.racksAdded).toEqual(['r9']);
    expect(d.racksRemoved).toEqual(['r1']);
    expect(d.racksChanged).toEqual(['r2']);
    expect(d.sections).toEqual(['thresholds', 'tariff', 'alerts.routes']);
    expect(d.restartRequired).toEqual([]);
    expect(describeDiff(d)).toEqual([
      'racks added: r9',
      'racks removed: r1',
      'racks changed: r2',
      'changed: thresholds, tariff, alerts.routes',
    ]);
  });

  it('reports a change to the recommendation push settings as the recommend section', () => {
    const next = site((s) => {
      s.recommend = { push: { intervalSeconds: 30 } };
    });
    const d = diffSites(site(), next);
    expect(d.sections).toEqual(['recommend']);
    expect(d.restartRequired).toEqual([]);
    expect(applicableConfig(site(), next).recommend).toEqual(next.recommend);
  });

  it('counts a rack moved to another row as changed, though its own fields are the same', () => {
    const next = site((s) => {
      const room = s.rooms[0]!;
      const moved = room.rows[0]!.racks.pop()!;
      room.rows.push({ id: 'b', zone: 'z1', racks: [moved] });
    });
    const d = diffSites(site(), next);
    expect(d.racksChanged).toEqual(['r2']);
    expect(d.racksAdded).toEqual([]);
    expect(d.sections).toContain('rooms');
  });

  it('lists start-up-only fields as restart required, each with its path', () => {
    const next = site((s) => {
      s.broker = { kind: 'external', url: 'mqtt://10.0.0.5:1883' };
      s.api = { port: 9090 };
      s.forecast = { horizonsMin: [10, 20] };
      s.alerts = { evaluateSeconds: 5 };
    });
    const d = diffSites(site(), next);
    expect(d.restartRequired.map((r) => r.path)).toEqual([
      'broker',
      'api',
      'forecast.horizonsMin',
      'alerts.evaluateSeconds',
    ]);
    expect(d.restartRequired[0]!.message).toMatch(/restart the agent/);
    expect(d.sections).toEqual([]);
  });
});

describe('applicableConfig', () => {
  it('takes every live change and keeps start-up-only fields at their running values', () => {
    const running = site();
    const next = site((s) => {
      s.broker = { kind: 'external', url: 'mqtt://10.0.0.5:1883' };
      s.storage = { dataDir: '/elsewhere' };
      s.forecast = { cycleSeconds: 5, historyDays: 3 };
      s.alerts = { evaluateSeconds: 5, forSeconds: 10 };
      s.thresholds = { inletWarnC: 24 };
    });
    const applied = applicableConfig(running, next);
    expect(applied.broker).toEqual(running.broker);
    expect(applied.storage).toEqual(running.storage);
    expect(applied.forecast.cycleSeconds).toBe(running.forecast.cycleSeconds);
    expect(applied.forecast.historyDays).toBe(3);
    expect(applied.alerts.evaluateSeconds).toBe(running.alerts.evaluateSeconds);
    expect(applied.alerts.forSeconds).toBe(10);
    expect(applied.thresholds.inletWarnC).toBe(24);
    // Applied again, the restart-only fields still differ from the file: still reported, nothing else.
    const again = diffSites(applied, next);
    expect(again.sections).toEqual([]);
    expect(again.restartRequired.map((r) => r.path)).toEqual([
      'broker',
      'storage',
      'forecast.cycleSeconds',
      'alerts.evaluateSeconds',
    ]);
  });
});

describe('layoutChanged and deepEqual', () => {
  it('ignores thresholds and tariffs, sees racks and cooling units', () => {
    const warmer = site((s) => {
      s.thresholds = { inletWarnC: 20 };
    });
    const smallerUnit = site((s) => {
      s.coolingUnits![0]!.capacityKw = 90;
    });
    const fewerRacks = site((s) => {
      racksOf(s).pop();
    });
    expect(layoutChanged(site(), warmer)).toBe(false);
    expect(layoutChanged(site(), smallerUnit)).toBe(true);
    expect(layoutChanged(site(), fewerRacks)).toBe(true);
  });

  it('compares plain data structurally; an absent key equals an undefined one', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
  });
});

describe('SiteFileWatcher on real files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotaisle-watch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const yaml = (warn: number, extra = '') => `site: { id: t, name: Test }
rooms:
  - id: r
    rows:
      - id: a
        zone: z1
        racks:
          - { id: r1, position: 1, powerCapKw: 30, feeds: { a: fa } }
powerFeeds: [{ id: fa, capacityKw: 100 }]
thresholds: { inletWarnC: ${warn} }
${extra}`;

  it('reports an editor-style save (write a temp file, rename it over) once, with overrides re-applied', async () => {
    const file = join(dir, 'site.yaml');
    writeFileSync(file, yaml(27));
    const loads: SiteLoad[] = [];
    const watcher = new SiteFileWatcher({
      file,
      overrides: [{ apiPort: 0 }, { dataDir: join(dir, 'data') }],
      onLoad: (l) => loads.push(l),
      log: silentLogger(),
      debounceMs: 50,
      initialHash: loadSiteWithOverrides(file, []).hash!,
    });
    watcher.start();
    try {
      const tmp = join(dir, '.site.yaml.swp');
      writeFileSync(tmp, yaml(25));
      renameSync(tmp, file);
      const first = await waitFor(() => loads[0], { what: 'the change is reported' });
      expect(first.ok).toBe(true);
      if (!first.ok) return;
      expect(first.config.thresholds.inletWarnC).toBe(25);
      expect(first.config.api.port).toBe(0);
      expect(first.config.storage.dataDir).toBe(join(dir, 'data'));

      // Same bytes again (a save without edits), or a file beside it: a look, nothing reported.
      for (const write of [() => writeFileSync(file, yaml(25)), () => writeFileSync(join(dir, 'x'), 'x')]) {
        const checks = watcher.checks;
        write();
        await waitFor(() => watcher.checks > checks, { what: 'the watcher looked at the file' });
        expect(loads).toHaveLength(1);
      }
      writeFileSync(file, yaml(26));
      await waitFor(() => loads.length >= 2, { what: 'the second change' });
      expect(loads).toHaveLength(2);
      expect(loads[1]!.ok && loads[1]!.config.thresholds.inletWarnC).toBe(26);
    } finally {
      watcher.stop();
    }
  });

  it('reports a broken file with the same problems `hotaisle validate` prints', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, yaml(27));
    const loads: SiteLoad[] = [];
    const watcher = new SiteFileWatcher({
      file,
      overrides: [],
      onLoad: (l) => loads.push(l),
      log: silentLogger(),
      debounceMs: 50,
      initialHash: loadSiteWithOverrides(file, []).hash!,
    });
    watcher.start();
    try {
      writeFileSync(file, yaml(27, 'coolingUnits: [{ id: cu1, room: nowhere, zone: z1, capacityKw: -1 }]\n'));
      const load = await waitFor(() => loads[0], { what: 'the broken file is reported' });
      expect(load.ok).toBe(false);
      if (load.ok) return;
      const validate = loadSiteFile(file);
      expect(validate.ok).toBe(false);
      if (validate.ok) return;
      expect(formatProblems(load.problems)).toBe(formatProblems(validate.problems));
      expect(formatProblems(load.problems)).toMatch(/coolingUnits\[0\]\.capacityKw/);
    } finally {
      watcher.stop();
    }
  });
});

describe('the operator alert in the alert lifecycle', () => {
  it('resolves at the first evaluation without its condition when it carries resolveMs 0', () => {
    const life = new AlertLifecycle({
      forMs: 60_000,
      resolveMs: 600_000,
      repeatMs: 3_600_000,
      resolvedRetentionMs: 3_600_000,
    });
    const rejected: Condition = {
      rule: 'ConfigReloadRejected',
      labels: { site: 't' },
      severity: 'warning',
      value: 1,
      summary: 'refused',
      description: 'site.yaml: rooms: a site needs at least one room',
      forMs: 0,
      resolveMs: 0,
    };
    expect(life.step(1000, [rejected]).map((n) => n.reason)).toEqual(['firing']);
    expect(life.step(2000, []).map((n) => n.reason)).toEqual(['resolved']);
    // Without the override the site's 600 s hold applies.
    const { resolveMs: _, ...plain } = rejected;
    const other = new AlertLifecycle({
      forMs: 0,
      resolveMs: 600_000,
      repeatMs: 3_600_000,
      resolvedRetentionMs: 3_600_000,
    });
    other.step(1000, [plain]);
    expect(other.step(2000, [])).toEqual([]);
  });
});
