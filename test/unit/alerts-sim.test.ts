/**
 * Alert rules and lifecycle on simulated telemetry: sites/lab.yaml through the cooling-failure
 * scenario (a unit trips at 3 h, back 90 min later), readings every 15 s. Facilities staff should get
 * the cooling alerts — one for the unit, one grouped for its zone — not one page per rack, and a
 * resolution after recovery.
 */
import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.ts';
import type { Notification } from '../../src/alerts/lifecycle.ts';
import { loadSiteFile } from '../../src/config/loader.ts';
import { DataCenterSim, loadScenarioFile } from '../../src/sim/index.ts';

const MIN = 60_000;

describe('alerts on a simulated cooling failure', () => {
  const loaded = loadSiteFile('sites/lab.yaml');
  if (!loaded.ok) throw new Error('sites/lab.yaml does not load');
  const site = loaded.config;
  const scenario = loadScenarioFile('sites/scenarios/cooling-failure.yaml');
  const start = Date.parse(scenario.start!);
  const sim = new DataCenterSim(site, { seed: 11, startTs: start, scenario, stepMs: 15_000 });
  const engine = new AlertEngine(sim.index);
  const sent: Array<{ min: number; n: Notification }> = [];
  // Until an hour after the unit is back.
  while (sim.now < start + 5.5 * 60 * MIN) {
    sim.step();
    engine.observe(sim.readings());
    for (const n of engine.evaluate(sim.now).notifications) sent.push({ min: (sim.now - start) / MIN, n });
  }
  const [failed, back] = sim.appliedEvents;
  const failMin = (failed!.ts - start) / MIN;
  const backMin = (back!.ts - start) / MIN;
  const thermal = new Set([
    'InletBreach',
    'InletRiseRate',
    'PredictedHotspot',
    'CoolingZoneWarming',
    'CoolingSupplyDrift',
  ]);
  const zoneOf = (rack: string) => sim.index.racks.get(rack)?.zone;

  it('is quiet about temperatures and cooling before the failure', () => {
    expect(failed!.label).toMatch(/failed/);
    expect(sent.filter((s) => s.min < failMin && thermal.has(s.n.alert.rule))).toEqual([]);
  });

  it('raises one unit alert and one grouped zone alert within minutes, not one page per rack', () => {
    const during = sent.filter((s) => s.min >= failMin && s.min < backMin && s.n.reason === 'firing');
    const unit = during.filter((s) => s.n.alert.rule === 'CoolingSupplyDrift');
    const zone = during.filter((s) => s.n.alert.rule === 'CoolingZoneWarming');
    expect(unit).toHaveLength(1);
    expect(zone).toHaveLength(1);
    expect(zone[0]!.min - failMin).toBeLessThan(5);
    const z = zone[0]!.n.alert;
    expect(z.summary).toMatch(/likely a cooling fault/);
    // Every rack of the zone is named in the one alert, and none of them paged on its own.
    const zoneRacks = sim.index.rackIds.filter((r) => zoneOf(r) === z.labels.zone);
    expect(z.annotations.racks!.split(',').sort()).toEqual([...zoneRacks].sort());
    const rackPages = sent.filter(
      (s) => s.min >= failMin && s.n.alert.labels.rack && zoneOf(s.n.alert.labels.rack) === z.labels.zone,
    );
    expect(rackPages).toEqual([]);
  });

  it('resolves the cooling alerts after recovery, once each', () => {
    const resolved = sent.filter((s) => s.n.reason === 'resolved' && thermal.has(s.n.alert.rule));
    expect(resolved.map((s) => s.n.alert.rule).sort()).toEqual(['CoolingSupplyDrift', 'CoolingZoneWarming']);
    for (const r of resolved) expect(r.min).toBeGreaterThan(backMin);
    expect(engine.lifecycle.alerts().filter((a) => thermal.has(a.rule) && a.state !== 'resolved')).toEqual(
      [],
    );
  });
});
