import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.ts';
import { type SiteInput, SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import type { Hotspot } from '../../src/forecast/hotspots.ts';
import type { Reading } from '../../src/telemetry/reading.ts';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const seconds = (n: number) => n * 1000;
const minutes = (n: number) => n * 60_000;

function site(extra: Partial<SiteInput> = {}, alerts: SiteInput['alerts'] = {}) {
  const rack = (id: string, position: number) => ({
    id,
    position,
    powerCapKw: 20,
    feeds: { a: 'fa', b: 'fb' },
  });
  return SiteSchema.parse({
    site: { id: 'lab', name: 'Lab' },
    rooms: [
      {
        id: 'hall1',
        rows: [
          { id: 'row1', zone: 'z1', racks: [rack('r1', 1), rack('r2', 2), rack('r3', 3), rack('r4', 4)] },
          { id: 'row2', zone: 'z2', racks: [rack('s1', 1), rack('s2', 2)] },
        ],
      },
    ],
    coolingUnits: [{ id: 'crac1', room: 'hall1', zone: 'z1', capacityKw: 100, supplySetpointC: 18 }],
    powerFeeds: [
      { id: 'fa', capacityKw: 60 },
      { id: 'fb', capacityKw: 60 },
    ],
    powerCapKw: 100,
    ...extra,
    alerts: { forSeconds: 0, resolveSeconds: 0, ...alerts },
  } satisfies SiteInput);
}

const rd = (kind: Reading['kind'], target: string, metric: string, value: number, ts: number): Reading => ({
  kind,
  site: 'lab',
  target,
  metric,
  value,
  ts,
});

/** Evaluates once at `now` and returns "Rule:severity:target" for the active alerts. */
function active(engine: AlertEngine, now: number, hotspots: Hotspot[] = []) {
  engine.evaluate(now, hotspots);
  return engine.lifecycle
    .alerts()
    .filter((a) => a.state !== 'resolved')
    .map(
      (a) =>
        `${a.rule}:${a.severity}:${a.labels.rack ?? a.labels.unit ?? a.labels.zone ?? a.labels.feed ?? a.labels.site}`,
    )
    .sort();
}

describe('alert rules', () => {
  it('inlet breach: warning, critical, and hysteresis on the way down', () => {
    const e = new AlertEngine(buildSiteIndex(site()));
    e.observe([rd('rack', 'r1', 'inlet_c', 27.5, T0)]);
    expect(active(e, T0)).toEqual(['InletBreach:warning:r1']);
    e.observe([rd('rack', 's1', 'inlet_c', 32.1, T0 + seconds(15))]);
    expect(active(e, T0 + seconds(15))).toContain('InletBreach:critical:s1');
    // 31.8: below critical but within 0.5 °C of it → stays critical.
    e.observe([rd('rack', 's1', 'inlet_c', 31.8, T0 + seconds(30))]);
    expect(active(e, T0 + seconds(30))).toContain('InletBreach:critical:s1');
    e.observe([rd('rack', 's1', 'inlet_c', 31.4, T0 + seconds(45))]);
    expect(active(e, T0 + seconds(45))).toContain('InletBreach:warning:s1');
    e.observe([rd('rack', 's1', 'inlet_c', 26.6, T0 + seconds(60))]);
    expect(active(e, T0 + seconds(60))).toContain('InletBreach:warning:s1');
    e.observe([rd('rack', 's1', 'inlet_c', 26.4, T0 + seconds(75))]);
    expect(active(e, T0 + seconds(75)).filter((a) => a.endsWith(':s1'))).toEqual([]);
  });

  it('per room/row/rack threshold overrides: the most specific wins', () => {
    const e = new AlertEngine(
      buildSiteIndex(
        site(
          {},
          {
            overrides: [
              { rack: 'r2', inletWarnC: 30 },
              { room: 'hall1', inletWarnC: 25 },
              { row: 'row2', inletWarnC: 26 },
            ],
          },
        ),
      ),
    );
    e.observe([
      rd('rack', 'r1', 'inlet_c', 25.5, T0),
      rd('rack', 'r2', 'inlet_c', 29, T0),
      rd('rack', 's1', 'inlet_c', 25.5, T0),
    ]);
    expect(active(e, T0)).toEqual(['InletBreach:warning:r1']);
  });

  it('rate of change above the limit', () => {
    const e = new AlertEngine(buildSiteIndex(site()));
    // +3 °C over 10 minutes = 18 °C/h, above the default 10 °C/h.
    for (let i = 0; i <= 20; i++)
      e.observe([rd('rack', 'r1', 'inlet_c', 20 + i * 0.15, T0 + seconds(30 * i))]);
    expect(active(e, T0 + minutes(10))).toEqual(['InletRiseRate:warning:r1']);
    const r = e.lifecycle.alerts()[0]!;
    expect(r.value).toBeCloseTo(18, 0);
  });

  it('predicted hotspot: warning with crossing time and lead; none when already above', () => {
    const e = new AlertEngine(buildSiteIndex(site()));
    e.observe([rd('rack', 'r1', 'inlet_c', 24, T0), rd('rack', 's1', 'inlet_c', 28, T0)]);
    const hotspots: Hotspot[] = [
      {
        rack: 'r1',
        severity: 'warn',
        warnInMin: 12,
        criticalInMin: null,
        peakC: 28,
        peakHorizonMin: 30,
        currentC: 24,
      },
      {
        rack: 's1',
        severity: 'warn',
        warnInMin: 0,
        criticalInMin: null,
        peakC: 28.5,
        peakHorizonMin: 30,
        currentC: 28,
      },
    ];
    expect(active(e, T0, hotspots)).toEqual(['InletBreach:warning:s1', 'PredictedHotspot:warning:r1']);
    const p = e.lifecycle.alerts().find((a) => a.rule === 'PredictedHotspot')!;
    expect(p.annotations.lead_minutes).toBe('12');
    expect(p.annotations.expected_crossing_at).toBe(new Date(T0 + minutes(12)).toISOString());
  });

  it('predicted hotspot on the supply-rise scenario says so, with the slope and the scenario peak', () => {
    const e = new AlertEngine(buildSiteIndex(site()));
    e.observe([rd('rack', 'r2', 'inlet_c', 23, T0)]);
    const hotspots: Hotspot[] = [
      {
        rack: 'r2',
        severity: 'warn',
        warnInMin: 40,
        criticalInMin: null,
        peakC: 25.1,
        peakHorizonMin: 60,
        currentC: 23,
        basis: 'supply_rise',
        supplySlopeCPerMin: 0.12,
        scenarioPeakC: 29.4,
      },
    ];
    expect(active(e, T0, hotspots)).toEqual(['PredictedHotspot:warning:r2']);
    const p = e.lifecycle.alerts().find((a) => a.rule === 'PredictedHotspot')!;
    expect(p.value).toBe(25.1);
    expect(p.annotations.basis).toBe('supply_rise');
    expect(p.annotations.supply_slope_c_per_min).toBe('0.12');
    expect(p.annotations.scenario_peak_c).toBe('29.4');
    expect(p.annotations.lead_minutes).toBe('40');
    expect(p.summary).toMatch(/may reach warning .* in 40 min if zone z1 supply keeps rising \(7\.2 °C\/h\)/);
  });

  it('sensor health: stale, stuck, outlet colder than inlet, jumps', () => {
    const e = new AlertEngine(
      buildSiteIndex(site({}, { readingIntervalSeconds: 15, staleIntervals: 4, stuckMinutes: 10 })),
    );
    // r1: inlet stuck at exactly 22.0 for 12 minutes while readings keep coming.
    for (let i = 0; i <= 48; i++) e.observe([rd('rack', 'r1', 'inlet_c', 22, T0 + seconds(15 * i))]);
    // r2: one reading, then silence.
    e.observe([rd('rack', 'r2', 'power_kw', 5, T0)]);
    // r3: outlet below inlet.
    const now = T0 + minutes(12);
    e.observe([rd('rack', 'r3', 'inlet_c', 24, now), rd('rack', 'r3', 'outlet_c', 21, now)]);
    // s1: 10 °C jump in 15 s.
    e.observe([rd('rack', 's1', 'inlet_c', 22, now - seconds(15)), rd('rack', 's1', 'inlet_c', 12, now)]);
    expect(active(e, now)).toEqual([
      'SensorImplausible:warning:r3',
      'SensorImplausible:warning:s1',
      'SensorStale:warning:r2',
      'SensorStuck:warning:r1',
    ]);
    const checks = e.lifecycle
      .alerts()
      .filter((a) => a.rule === 'SensorImplausible')
      .map((a) => a.labels.check)
      .sort();
    expect(checks).toEqual(['jump', 'outlet_below_inlet']);
    // The jump stays reported after the next (plausible) reading, until its hold runs out.
    e.observe([rd('rack', 's1', 'inlet_c', 12.1, now + seconds(15))]);
    expect(active(e, now + seconds(15))).toContain('SensorImplausible:warning:s1');
  });

  it('most sensors silent at once: one site-wide alert, the per-sensor stale alerts grouped under it', () => {
    const e = new AlertEngine(buildSiteIndex(site({}, { readingIntervalSeconds: 15, staleIntervals: 4 })));
    const racks = ['r1', 'r2', 'r3', 'r4', 's1', 's2'];
    e.observe(racks.map((r) => rd('rack', r, 'inlet_c', 22, T0)));
    const now = T0 + minutes(2);
    expect(active(e, now)).toEqual([
      ...racks.map((r) => `SensorStale:warning:${r}`).sort(),
      'TelemetrySilent:critical:lab',
    ]);
    const silent = e.lifecycle.alerts().find((a) => a.rule === 'TelemetrySilent')!;
    expect(e.lifecycle.alerts().filter((a) => a.groupedUnder === silent.fingerprint)).toHaveLength(6);
    // Only the site-wide alert is sent.
    const e2 = new AlertEngine(buildSiteIndex(site({}, { readingIntervalSeconds: 15, staleIntervals: 4 })));
    e2.observe(racks.map((r) => rd('rack', r, 'inlet_c', 22, T0)));
    expect(e2.evaluate(now).notifications.map((n) => n.alert.rule)).toEqual(['TelemetrySilent']);
  });

  it('power: rack near cap, feed near capacity, site near cap, A/B redundancy lost', () => {
    const e = new AlertEngine(buildSiteIndex(site()));
    // 6 racks dual-fed on fa/fb: 19 + 5×7 = 54 kW → 27 kW per feed (45 %), but 54 kW on one feed
    // if the other fails: still fits (60). Rack r1 at 95 % of 20 kW.
    const loads = { r1: 19, r2: 7, r3: 7, r4: 7, s1: 7, s2: 7 };
    e.observe(Object.entries(loads).map(([r, kw]) => rd('rack', r, 'power_kw', kw, T0)));
    expect(active(e, T0)).toEqual(['RackPowerHigh:warning:r1']);
    // Now 19 + 5×9 = 64 kW: no longer fits on one feed; 64 % of the site cap.
    const t1 = T0 + seconds(15);
    e.observe(Object.keys(loads).map((r) => rd('rack', r, 'power_kw', r === 'r1' ? 19 : 9, t1)));
    expect(active(e, t1)).toEqual([
      'RackPowerHigh:warning:r1',
      'RedundancyLost:warning:fa',
      'RedundancyLost:warning:fb',
    ]);
    // A measured site power wins over the rack sum.
    const t2 = t1 + seconds(15);
    e.observe([rd('site', 'lab', 'power_kw', 95, t2)]);
    expect(active(e, t2)).toContain('SitePowerHigh:warning:lab');
  });

  it('cooling: supply drift, and a warming zone groups its rack alerts under one cooling alert', () => {
    const e = new AlertEngine(buildSiteIndex(site()));
    const racks = ['r1', 'r2', 'r3', 'r4'];
    e.observe([
      rd('cooling', 'crac1', 'supply_c', 21, T0),
      ...racks.map((r) => rd('rack', r, 'inlet_c', 27.5, T0)),
      rd('rack', 's1', 'inlet_c', 28, T0),
    ]);
    const list = active(e, T0);
    expect(list).toContain('CoolingSupplyDrift:warning:crac1');
    expect(list).toContain('CoolingZoneWarming:warning:z1');
    const zone = e.lifecycle.alerts().find((a) => a.rule === 'CoolingZoneWarming')!;
    expect(zone.annotations.racks).toBe('r1,r2,r3,r4');
    expect(zone.annotations.drifting_units).toBe('crac1');
    const breaches = e.lifecycle.alerts().filter((a) => a.rule === 'InletBreach');
    // z1's racks are grouped under the zone alert; s1 (zone z2, alone) is not.
    expect(
      breaches
        .filter((a) => a.groupedUnder === zone.fingerprint)
        .map((a) => a.labels.rack)
        .sort(),
    ).toEqual(racks);
    expect(breaches.find((a) => a.labels.rack === 's1')!.groupedUnder).toBeUndefined();
    // Only one rack warm in z1: no zone alert.
    const e2 = new AlertEngine(buildSiteIndex(site()));
    e2.observe([
      rd('rack', 'r1', 'inlet_c', 27.5, T0),
      ...['r2', 'r3', 'r4'].map((r) => rd('rack', r, 'inlet_c', 22, T0)),
    ]);
    expect(active(e2, T0)).toEqual(['InletBreach:warning:r1']);
  });

  it('a grouped zone sends one notification instead of one per rack', () => {
    const e = new AlertEngine(buildSiteIndex(site()));
    const sent = e.evaluate(T0, []).notifications;
    expect(sent).toEqual([]);
    e.observe(['r1', 'r2', 'r3', 'r4'].map((r) => rd('rack', r, 'inlet_c', 28, T0)));
    const n = e.evaluate(T0).notifications.map((x) => x.alert.rule);
    expect(n).toEqual(['CoolingZoneWarming']);
  });
});
