/** SensorImplausible for out-of-range values the ingest router refused (they never reach the store). */
import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { buildPlausibility } from '../../src/telemetry/plausibility.ts';
import { type ImplausibleReading, TelemetryRouter } from '../../src/telemetry/router.ts';
import { labInlet } from '../helpers/alertsFixtures.ts';
import { alertsLabSite } from '../helpers/sites.ts';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const seconds = (n: number) => n * 1000;

/** One room, one row of four racks; readings every 15 s, stale after 4 of them, holds of 60 s. */
function index() {
  return buildSiteIndex(
    alertsLabSite({
      racks: 4,
      coolingUnits: [{ id: 'cu1', room: 'hall1', zone: 'z1', capacityKw: 100 }],
      telemetry: [
        {
          topic: 'dc/{site}/{rack}/{metric}',
          format: 'value',
          fields: { inlet: 'inlet_c', outlet: 'outlet_c', power: { metric: 'power_kw', unit: 'W' } },
        },
      ],
      alerts: {
        forSeconds: 60,
        resolveSeconds: 60,
        readingIntervalSeconds: 15,
        staleIntervals: 4,
      },
    }),
  );
}

const good = labInlet;

/** What the router refuses for an inlet of `value` (built by the real plausibility limits). */
function bad(target: string, value: number, ts: number): ImplausibleReading {
  const range = buildPlausibility(index()).range('rack', target, 'inlet_c');
  if (!range) throw new Error('inlet_c has no plausible range');
  return { ...good(target, value, ts), range };
}

/** Evaluates at `now`; "Rule/check:state:rack" of the alerts not resolved. */
function active(e: AlertEngine, now: number): string[] {
  e.evaluate(now);
  return e.lifecycle
    .alerts()
    .filter((a) => a.state !== 'resolved')
    .map((a) => `${a.rule}${a.labels.check ? `/${a.labels.check}` : ''}:${a.state}:${a.labels.rack ?? '-'}`)
    .sort();
}

/** Every rack reports a good inlet at `ts`, except those listed in `badRacks` which report `badValue`. */
function tick(e: AlertEngine, ts: number, badRacks: string[] = [], badValue = 150): void {
  const racks = ['r1', 'r2', 'r3', 'r4'];
  e.observe(racks.filter((r) => !badRacks.includes(r)).map((r) => good(r, 22, ts)));
  if (badRacks.length > 0) e.observeImplausible(badRacks.map((r) => bad(r, badValue, ts)));
}

describe('router: an implausible value carries the refused reading', () => {
  it('names kind, site, target, metric, the converted value, its time and the range', () => {
    const router = new TelemetryRouter(index().site, index());
    const out = router.route('dc/lab/r2/power', Buffer.from('45000'), T0);
    expect(out.readings).toEqual([]);
    expect(out.rejects).toHaveLength(1);
    expect(out.rejects[0]?.reason).toBe('implausible_value');
    // 45 000 W = 45 kW over a 20 kW rack's 30 kW plausible maximum (cap × 1.5).
    expect(out.rejects[0]?.implausible).toEqual({
      kind: 'rack',
      site: 'lab',
      target: 'r2',
      metric: 'power_kw',
      value: 45,
      ts: T0,
      range: { min: 0, max: 30 },
    });
    // Other rejects carry none.
    expect(router.route('dc/lab/r9/inlet', Buffer.from('20'), T0).rejects[0]?.implausible).toBeUndefined();
  });
});

describe('SensorImplausible for out-of-range values', () => {
  it('fires after its hold naming value, range and place; no SensorStale meanwhile; resolves after good values', () => {
    const e = new AlertEngine(index());
    let t = T0;
    tick(e, t);
    expect(active(e, t)).toEqual([]);
    // r2 starts reporting 150 °C: pending first, firing after forSeconds.
    for (let i = 0; i < 4; i++) {
      t += seconds(15);
      tick(e, t, ['r2']);
      expect(active(e, t)).toEqual(['SensorImplausible/out_of_range:pending:r2']);
    }
    // Well past the stale threshold (60 s) without a good r2 reading: still only SensorImplausible.
    for (let i = 0; i < 8; i++) {
      t += seconds(15);
      tick(e, t, ['r2']);
      expect(active(e, t)).toEqual(['SensorImplausible/out_of_range:firing:r2']);
    }
    const alert = e.lifecycle.alerts().find((a) => a.rule === 'SensorImplausible');
    expect(alert?.labels).toMatchObject({ room: 'hall1', row: 'row1', rack: 'r2', metric: 'inlet_c' });
    expect(alert?.value).toBe(150);
    expect(alert?.summary).toContain('150 °C');
    expect(alert?.description).toContain('-20…90 °C');
    expect(alert?.description).toContain('rack r2 (room hall1, row row1)');
    expect(alert?.description).toMatch(/units/);
    // Plausible values again: the condition clears within two intervals, the alert after resolveSeconds.
    const recoveredAt = t + seconds(15);
    while (t < recoveredAt + seconds(2 * 15 + 60)) {
      t += seconds(15);
      tick(e, t);
      active(e, t);
    }
    expect(active(e, t)).toEqual([]);
    expect(e.lifecycle.alerts().find((a) => a.rule === 'SensorImplausible')?.state).toBe('resolved');
  });

  it('a sensor alternating between sense and nonsense stays flagged instead of flapping', () => {
    const e = new AlertEngine(index());
    let t = T0;
    for (let i = 0; i < 8; i++) {
      t += seconds(15);
      tick(e, t, i % 2 === 0 ? ['r3'] : []);
      active(e, t);
    }
    expect(active(e, t)).toEqual(['SensorImplausible/out_of_range:firing:r3']);
  });

  it('a sensor that goes quiet after reporting nonsense becomes SensorStale', () => {
    const e = new AlertEngine(index());
    let t = T0;
    tick(e, t);
    for (let i = 0; i < 6; i++) {
      t += seconds(15);
      tick(e, t, ['r4']);
      active(e, t);
    }
    expect(active(e, t)).toEqual(['SensorImplausible/out_of_range:firing:r4']);
    // r4 stops reporting altogether; the others go on.
    for (let i = 0; i < 12; i++) {
      t += seconds(15);
      e.observe(['r1', 'r2', 'r3'].map((r) => good(r, 22, t)));
      active(e, t);
    }
    // Past the stale threshold the quiet sensor is stale; the out-of-range alert resolved after its hold.
    expect(active(e, t)).toEqual(['SensorStale:firing:r4']);
    expect(e.lifecycle.alerts().find((a) => a.rule === 'SensorImplausible')?.state).toBe('resolved');
  });
});
