import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSiteFile } from '../../src/config/loader.ts';
import type { SiteConfig } from '../../src/config/schema.ts';
import {
  loadScenarioFile,
  parseDuration,
  parseScenario,
  parseScenarioYaml,
  ScenarioError,
} from '../../src/sim/scenario.ts';
import { DataCenterSim } from '../../src/sim/simulator.ts';

const DIR = join(import.meta.dirname, '../../sites/scenarios');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

function site(name: string): SiteConfig {
  const loaded = loadSiteFile(join(import.meta.dirname, `../../sites/${name}.yaml`));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.config;
}

describe('scenario files', () => {
  it('include the five documented scenarios', () => {
    for (const name of [
      'normal-week',
      'cooling-failure',
      'cooling-degradation',
      'batch-night',
      'sensor-faults',
    ]) {
      expect(files).toContain(`${name}.yaml`);
    }
  });

  for (const file of files) {
    it(`${file} parses and runs against the example sites`, () => {
      const scenario = loadScenarioFile(join(DIR, file));
      expect(scenario.duration).toBeGreaterThan(0);
      expect(Number.isFinite(Date.parse(scenario.start!))).toBe(true);
      for (const name of ['lab', 'example-gpu-hall']) {
        const sim = new DataCenterSim(site(name), {
          seed: 1,
          startTs: Date.parse(scenario.start!),
          scenario,
        });
        sim.advanceTo(sim.startTs + 10 * 60_000);
        expect(sim.readings().length).toBeGreaterThan(10);
      }
    });
  }

  it("cooling-failure makes a hotspot in the failed unit's zone of the example hall, then recovers", () => {
    const scenario = loadScenarioFile(join(DIR, 'cooling-failure.yaml'));
    const sim = new DataCenterSim(site('example-gpu-hall'), {
      seed: 1,
      startTs: Date.parse(scenario.start!),
      scenario,
    });
    sim.advanceTo(sim.endTs!);
    const m = sim.metrics();
    expect(m.rackMinutesAboveWarn).toBeGreaterThan(100);
    const failed = sim.appliedEvents[0]!.label.match(/cooling unit (\S+) failed/)![1]!;
    const zone = sim.index.coolingUnits.get(failed)!.zone;
    expect(sim.index.racks.get(m.peakInletRack!)!.zone).toBe(zone);
    expect(Math.max(...sim.frame().racks.inletC)).toBeLessThan(
      site('example-gpu-hall').thresholds.inletWarnC,
    );
  });
});

describe('scenario validation', () => {
  it('reads durations', () => {
    expect(parseDuration('2h30m')).toBe(9_000_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration('5')).toBeUndefined();
  });

  it('lists every problem with its path and what is expected', () => {
    let error: unknown;
    try {
      parseScenario(
        {
          name: 'bad',
          events: [
            { kind: 'cooling-failure', at: 'later' },
            { kind: 'meteor-strike', at: '1h' },
            { kind: 'cooling-degradation', at: '1h', over: '10m', toPct: 140 },
          ],
          workload: { utilization: 3 },
        },
        'bad.yaml',
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    const problems = (error as ScenarioError).problems.join('\n');
    expect(problems).toMatch(/bad\.yaml: events\[0\]\.at: expected a duration such as "90s"/);
    expect(problems).toMatch(/bad\.yaml: events\[1\]\.kind: .*cooling-failure/);
    expect(problems).toMatch(/bad\.yaml: events\[2\]\.toPct:/);
    expect(problems).toMatch(/bad\.yaml: workload\.utilization:/);
  });

  it('reports YAML syntax errors and empty files', () => {
    expect(() => parseScenarioYaml('name: [', 'x.yaml')).toThrow(/x\.yaml: YAML syntax error/);
    expect(() => parseScenarioYaml('', 'x.yaml')).toThrow(/x\.yaml: the file is empty/);
    expect(() => loadScenarioFile('/nonexistent/s.yaml')).toThrow(/file not found/);
  });
});
