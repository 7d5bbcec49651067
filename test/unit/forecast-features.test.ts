import { describe, expect, it } from 'vitest';
import { SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import {
  buildFeatures,
  createFrame,
  deriveAggregates,
  deviationFromMean,
  F,
  FEATURE_INDEX as FI,
  GROUP,
  lagSlots,
  rollingMean,
} from '../../src/forecast/features.ts';
import { alignHistory, FrameAccumulator } from '../../src/forecast/history.ts';
import { buildForecastLayout } from '../../src/forecast/layout.ts';
import { RollingState } from '../../src/forecast/rollingState.ts';
import type { Reading } from '../../src/telemetry/reading.ts';

/** One row of three racks in one zone, plus a facing row sharing the cold aisle. */
function site() {
  const rack = (id: string, position: number) => ({ id, position, powerCapKw: 20, feeds: { a: 'f1' } });
  return buildSiteIndex(
    SiteSchema.parse({
      site: { id: 's1', name: 'Tiny' },
      rooms: [
        {
          id: 'room',
          rows: [
            { id: 'a', zone: 'z1', coldAisle: 'ca', racks: [rack('a1', 1), rack('a2', 2), rack('a3', 3)] },
            { id: 'b', zone: 'z1', coldAisle: 'ca', racks: [rack('b2', 2)] },
          ],
        },
      ],
      coolingUnits: [
        { id: 'cu1', room: 'room', zone: 'z1', capacityKw: 100 },
        { id: 'cu2', room: 'room', zone: 'z1', capacityKw: 100 },
      ],
    }),
  );
}

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 1); // midnight UTC: time of day phase 0

describe('layout', () => {
  it('weights row neighbours ±1/±2 and the rack across the aisle', () => {
    const layout = buildForecastLayout(site());
    const a1 = layout.rackIndex.get('a1')!;
    const neighbours = (i: number) => {
      const out: Record<string, number> = {};
      for (let k = layout.nbrStart[i]!; k < layout.nbrStart[i + 1]!; k++)
        out[layout.rackIds[layout.nbrCol[k]!]!] = layout.nbrW[k]!;
      return out;
    };
    expect(neighbours(a1)).toEqual({ a2: 1, a3: 0.4, b2: 0.27 });
    expect(neighbours(layout.rackIndex.get('a2')!)).toEqual({ a1: 1, a3: 1, b2: 0.5 });
  });
});

describe('features on a hand-made series', () => {
  const layout = buildForecastLayout(site());
  const L = 12;
  const frame = createFrame(layout, L, T0, MIN);
  const a1 = layout.rackIndex.get('a1')!;
  const a2 = layout.rackIndex.get('a2')!;
  const a3 = layout.rackIndex.get('a3')!;
  const b2 = layout.rackIndex.get('b2')!;
  for (let t = 0; t < L; t++) {
    frame.inlet[a2 * L + t] = 20 + 0.1 * t; // a clean ramp: 0.1 °C per minute
    frame.inlet[a1 * L + t] = 21;
    frame.inlet[a3 * L + t] = 22;
    frame.inlet[b2 * L + t] = 23;
    frame.power[a1 * L + t] = 4;
    frame.power[a2 * L + t] = t < 7 ? 5 : 8; // a job starts at slot 7
    frame.power[a3 * L + t] = 6;
    frame.power[b2 * L + t] = 10;
    frame.supply[t] = 18;
    frame.fan[t] = 55;
    frame.siteLoad[t] = 100;
    frame.outdoor[t] = 12;
  }
  deriveAggregates(frame, layout);
  const lags = lagSlots(MIN);
  const x = new Float64Array(F);
  const t = 11;
  const mask = buildFeatures(frame, layout, a2, t, lags, x);

  it('has every input group', () => {
    for (const g of [
      'inletNow',
      'inletHistory',
      'power',
      'supply',
      'coolingState',
      'siteLoad',
      'outdoor',
    ] as const) {
      expect(mask & GROUP[g]).toBe(GROUP[g]);
    }
  });

  it('computes inlet level, lags and slope', () => {
    expect(x[FI.inlet_c]).toBeCloseTo(21.1, 5);
    expect(x[FI.inlet_d1m]).toBeCloseTo(0.1, 5);
    expect(x[FI.inlet_d2m]).toBeCloseTo(0.2, 5);
    expect(x[FI.inlet_d5m]).toBeCloseTo(0.5, 5);
    expect(x[FI.inlet_slope10m]).toBeCloseTo(0.1, 5);
    // Zone mean of the 2-minute change: only a2 moves (0.2), the three others are flat.
    expect(x[FI.zone_inlet_d2m]).toBeCloseTo(0.05, 5);
    // Now (21.1) minus the mean of slots 1..11 on the ramp (20.6).
    expect(x[FI.inlet_dev10m]).toBeCloseTo(0.5, 5);
  });

  it('computes own, neighbour, aisle and zone power', () => {
    expect(x[FI.power_kw]).toBe(8);
    expect(x[FI.power_d5m]).toBe(3);
    expect(x[FI.nbr_power_kw]).toBeCloseTo(4 * 1 + 6 * 1 + 10 * 0.5, 6);
    expect(x[FI.nbr_power_d5m]).toBeCloseTo(0, 6);
    expect(x[FI.aisle_power_kw]).toBeCloseTo((4 + 8 + 6 + 10) / 4, 6);
    expect(x[FI.zone_power_kw]).toBeCloseTo(7, 6);
  });

  it('computes the 20-minute deviations over the history there is (12 slots here)', () => {
    // Inlet ramp 20.0 .. 21.1: now minus the mean 20.55.
    expect(x[FI.inlet_dev20m]).toBeCloseTo(0.55, 5);
    // The zone mean moves with a2 alone, a quarter as much.
    expect(x[FI.zone_inlet_dev20m]).toBeCloseTo(0.55 / 4, 5);
    // Own power 5 kW for 7 slots then 8 kW for 5: now minus 6.25.
    expect(x[FI.power_dev20m]).toBeCloseTo(1.75, 5);
    expect(x[FI.nbr_power_dev20m]).toBeCloseTo(0, 6);
    expect(x[FI.aisle_power_dev20m]).toBeCloseTo(1.75 / 4, 5);
    expect(x[FI.zone_power_dev20m]).toBeCloseTo(1.75 / 4, 5);
    expect(x[FI.supply_dev20m]).toBeCloseTo(0, 6);
  });

  it('needs half the slope window of history for the 20-minute deviations, not half the window', () => {
    const y = new Float64Array(F);
    const early = buildFeatures(frame, layout, a2, 4, lags, y);
    expect(early & GROUP.inletHistory).toBe(0); // 5 slots: too few
    expect(y[FI.inlet_dev20m]).toBeNaN();
    const m = buildFeatures(frame, layout, a2, 6, lags, y);
    expect(y[FI.inlet_dev20m]).toBeCloseTo(0.3, 5); // 20.6 minus the mean of 20.0 .. 20.6
    expect(m & GROUP.power).toBe(GROUP.power);
  });

  it('computes supply gap, slope and unclosed change, and time of day', () => {
    expect(x[FI.supply_gap_c]).toBeCloseTo(18 - 21.1, 5);
    expect(x[FI.supply_slope10m]).toBeCloseTo(0, 8);
    expect(x[FI.supply_unclosed_c]).toBeCloseTo(0, 8);
    expect(x[FI.cooling_fan_pct]).toBe(55);
    expect(x[FI.site_power_kw]).toBe(100);
    expect(x[FI.outdoor_c]).toBe(12);
    const phase = (2 * Math.PI * (11 * MIN)) / 86_400_000;
    expect(x[FI.tod_sin]).toBeCloseTo(Math.sin(phase), 10);
    expect(x[FI.tod_cos]).toBeCloseTo(Math.cos(phase), 10);
  });

  it('reports a supply step the inlet has not followed yet as unclosed', () => {
    const f2 = createFrame(layout, L, T0, MIN);
    f2.inlet.set(frame.inlet);
    f2.power.set(frame.power);
    for (let s = 0; s < L; s++) f2.supply[s] = s < 10 ? 18 : 24;
    deriveAggregates(f2, layout);
    const y = new Float64Array(F);
    buildFeatures(f2, layout, a2, 11, lags, y);
    // 2 slots into a 6 °C step through a 3-minute lag, 1 − e^(−2/3) of it is followed.
    expect(y[FI.supply_unclosed_c]).toBeCloseTo(6 * Math.exp(-2 / 3), 4);
    expect(y[FI.supply_slope10m]).toBeGreaterThan(0.2);
  });

  it('drops a group when its input is missing, and scales up for a silent neighbour', () => {
    const f2 = createFrame(layout, L, T0, MIN);
    f2.inlet.set(frame.inlet);
    f2.power.set(frame.power);
    f2.siteLoad.set(frame.siteLoad);
    for (let s = 0; s < L; s++) f2.power[a3 * L + s] = Number.NaN; // a3 reports no power
    deriveAggregates(f2, layout);
    const y = new Float64Array(F);
    const m = buildFeatures(f2, layout, a2, 11, lags, y);
    expect(m & GROUP.supply).toBe(0);
    expect(m & GROUP.coolingState).toBe(0);
    expect(m & GROUP.outdoor).toBe(0);
    expect(m & GROUP.power).toBe(GROUP.power);
    // a1 (w 1) and b2 (w 0.5) report: their weighted sum scaled by 2.5 / 1.5.
    expect(y[FI.nbr_power_kw]).toBeCloseTo(((4 + 5) * 2.5) / 1.5, 6);
  });
});

describe('deviation from the window mean', () => {
  const lags = lagSlots(MIN);
  const w = lags.slope;

  it('with the slope, recovers the level of a noisy ramp better than the last reading', () => {
    // Deterministic ±0.1 noise on a 0.05 °C/min ramp; the local linear level is mean + slope·w/2.
    const n = 200;
    const truth = (t: number) => 20 + 0.05 * t;
    const signal = Float32Array.from({ length: n }, (_, t) => truth(t) + 0.1 * Math.sin(t * 2.3999) * 1.4);
    let rawErr = 0;
    let fitErr = 0;
    for (let t = w; t < n; t++) {
      const mean = signal[t]! - deviationFromMean(signal, 0, t, w);
      const level = mean + 0.05 * (w / 2);
      rawErr += Math.abs(signal[t]! - truth(t));
      fitErr += Math.abs(level - truth(t));
    }
    expect(fitErr).toBeLessThan(rawErr * 0.5);
  });

  it('skips missing slots and is NaN with fewer than half the window or no reading now', () => {
    const s = new Float32Array(w + 1).fill(Number.NaN);
    s[w] = 3;
    s[w - 1] = 1;
    expect(deviationFromMean(s, 0, w, w)).toBeNaN();
    for (let k = 0; k < w / 2; k++) s[k] = 2;
    expect(deviationFromMean(s, 0, w, w)).toBeCloseTo(3 - (3 + 1 + 2 * (w / 2)) / (2 + w / 2), 5);
    s[w] = Number.NaN;
    expect(deviationFromMean(s, 0, w, w)).toBeNaN();
  });
});

describe('rolling 20-minute means', () => {
  it('equals the mean over [t − w, t] of the points present, for any start slot', () => {
    const L = 40;
    const w = 7;
    const src = Float32Array.from({ length: 2 * L }, (_, k) => (k % 5 === 3 ? Number.NaN : Math.sin(k) * 10));
    for (const from of [0, 3, 12]) {
      const dst = new Float32Array(2 * L).fill(-1);
      rollingMean(src, dst, 2, L, from, L, w, 3);
      for (let e = 0; e < 2; e++) {
        for (let t = 0; t < L; t++) {
          const got = dst[e * L + t]!;
          if (t < from) {
            expect(got).toBe(-1); // outside [from, to): untouched
            continue;
          }
          const pts: number[] = [];
          for (let k = Math.max(0, t - w); k <= t; k++) {
            const v = src[e * L + k]!;
            if (!Number.isNaN(v)) pts.push(v);
          }
          if (pts.length < 3) expect(got).toBeNaN();
          else expect(got).toBeCloseTo(pts.reduce((a, b) => a + b, 0) / pts.length, 4);
        }
      }
    }
  });
});

describe('history alignment and the rolling state', () => {
  const layout = buildForecastLayout(site());

  it('averages points per slot, averages units of a zone, fills short gaps only', () => {
    const pts = (values: Array<[number, number]>) =>
      values.map(([m, value]) => ({ ts: T0 + m * MIN, value }));
    const frame = alignHistory(
      layout,
      {
        rack: [
          {
            target: 'a1',
            metric: 'inlet_c',
            points: pts([
              [0, 20],
              [0.5, 22],
              [1, 23],
              [6, 25],
            ]),
          },
          { target: 'nope', metric: 'inlet_c', points: pts([[0, 99]]) },
        ],
        cooling: [
          { target: 'cu1', metric: 'supply_c', points: pts([[0, 17]]) },
          { target: 'cu2', metric: 'supply_c', points: pts([[0, 19]]) },
        ],
      },
      { from: T0, to: T0 + 8 * MIN, stepMs: MIN, maxFillSlots: 3 },
    );
    const a1 = layout.rackIndex.get('a1')! * 8;
    expect(Array.from(frame.inlet.subarray(a1, a1 + 8))).toEqual([21, 23, 23, 23, 23, Number.NaN, 25, 25]);
    expect(frame.supply[0]).toBe(18);
  });

  it('renders the same frame from readings as history alignment builds from series', () => {
    const readings: Reading[] = [];
    for (let s = 0; s < 15; s++) {
      for (const [i, id] of layout.rackIds.entries()) {
        if (id === 'a3' && s >= 10) continue; // goes silent: filled for 3 slots, then missing
        readings.push({
          kind: 'rack',
          site: 's1',
          target: id,
          metric: 'inlet_c',
          value: 20 + i + 0.01 * s,
          ts: T0 + s * MIN + 5_000,
        });
        readings.push({
          kind: 'rack',
          site: 's1',
          target: id,
          metric: 'inlet_c',
          value: 20.2 + i + 0.01 * s,
          ts: T0 + s * MIN + 35_000,
        });
      }
      readings.push({
        kind: 'cooling',
        site: 's1',
        target: 'cu1',
        metric: 'supply_c',
        value: 18 + 0.1 * s,
        ts: T0 + s * MIN,
      });
    }
    const acc = new FrameAccumulator(layout, { from: T0, to: T0 + 15 * MIN, stepMs: MIN });
    acc.add(readings);
    const history = acc.finish();

    const state = new RollingState(layout, MIN, 16);
    const counts = { accepted: 0, ignored: 0, late: 0, future: 0 };
    const stray: Reading[] = [
      { kind: 'rack', site: 'other', target: 'a1', metric: 'inlet_c', value: 1, ts: T0 },
      { kind: 'rack', site: 's1', target: 'a1', metric: 'inlet_c', value: 99, ts: T0 + 3_600_000 },
    ];
    state.observe([...readings, ...stray], counts, T0 + 15 * MIN);
    expect(counts.ignored).toBe(1);
    expect(counts.future).toBe(1);
    const W = 11;
    const live = createFrame(layout, W, T0 + 4 * MIN, MIN);
    state.render(live, T0 / MIN + 14, 3);
    for (let i = 0; i < layout.n; i++) {
      for (let k = 0; k < W; k++) {
        const h = history.inlet[i * 15 + 4 + k]!;
        const v = live.inlet[i * W + k]!;
        if (Number.isNaN(h)) expect(v).toBeNaN();
        else expect(v).toBeCloseTo(h, 5);
      }
    }
    expect(live.supply[W - 1]).toBeCloseTo(19.4, 5);
  });
});
