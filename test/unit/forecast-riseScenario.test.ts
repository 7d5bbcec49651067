import { describe, expect, it } from 'vitest';
import { SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { modelGrid, PredictionGrid, scoreGrid } from '../../src/forecast/backtest.ts';
import {
  createFrame,
  deriveAggregates,
  F,
  FEATURE_INDEX,
  type SignalFrame,
  TIERS,
} from '../../src/forecast/features.ts';
import { RackForecaster } from '../../src/forecast/forecaster.ts';
import { detectHotspot } from '../../src/forecast/hotspots.ts';
import { buildForecastLayout } from '../../src/forecast/layout.ts';
import { DEFAULT_PHYSICS, trendFactors, undampedTrendExtra } from '../../src/forecast/physics.ts';
import { riseScenarioPath, risingSupplySlope } from '../../src/forecast/riseScenario.ts';
import { syntheticFrame } from '../../src/forecast/synthetic.ts';
import { trainForecastModel } from '../../src/forecast/training.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { twoZoneSite } from '../helpers/sites.ts';

const MIN = 60_000;

describe('undamped supply trend', () => {
  it('adds to the damped trend exactly what a rise that never levels off adds: s·(h − τ(1 − e^(−h/τ)))', () => {
    const horizons = [5, 15, 30, 60, 120];
    const p = { ...DEFAULT_PHYSICS, tauMin: 3, dampingPerMin: 0.9 };
    const extra = undampedTrendExtra(horizons, p);
    const damped = trendFactors(horizons, p);
    horizons.forEach((h, i) => {
      expect(extra[i]! + damped[i]!).toBeCloseTo(h - 3 * (1 - Math.exp(-h / 3)), 10);
    });
    // 60 min: 57 °C per °C/min in all, of which the damped trend holds 0.9(1 − 0.9^60)/0.1 − 3 ≈ 5.98.
    expect(extra[3]!).toBeCloseTo(57 - (0.9 * (1 - 0.9 ** 60)) / 0.1 + 3, 6);
    for (let i = 1; i < horizons.length; i++) expect(extra[i]!).toBeGreaterThan(extra[i - 1]!);
    // No damping: nothing extra.
    expect([...undampedTrendExtra(horizons, { ...p, dampingPerMin: 1 })].every((v) => v < 1e-9)).toBe(true);
  });
});

describe('rising supply slope', () => {
  const m = { unclosedDeadband: 0.5, trendMinSlope: 0.02 };
  const full = TIERS.findIndex((t) => t.name === 'full');
  const noSupply = TIERS.findIndex((t) => t.name === 'no_supply_temp');
  const x = (unclosed: number, slope: number, zoneInletD2 = 0.4) => {
    const v = new Float64Array(F);
    v[FEATURE_INDEX.supply_unclosed_c] = unclosed;
    v[FEATURE_INDEX.supply_slope10m] = slope;
    v[FEATURE_INDEX.zone_inlet_d2m] = zoneInletD2;
    return v;
  };

  it('is the supply slope once supply has risen beyond its band and still rises', () => {
    expect(risingSupplySlope(m, full, x(1.2, 0.15))).toBe(0.15);
  });

  it('is 0 inside the band, for a slope within noise, a falling supply, or a tier without supply', () => {
    expect(risingSupplySlope(m, full, x(0.4, 0.15))).toBe(0);
    expect(risingSupplySlope(m, full, x(1.2, 0.01))).toBe(0);
    expect(risingSupplySlope(m, full, x(-1.2, -0.15))).toBe(0);
    expect(risingSupplySlope(m, noSupply, x(1.2, 0.15))).toBe(0);
  });

  it('is 0 while the zone inlets do not follow (a noisy supply sensor), or their history is missing', () => {
    expect(risingSupplySlope(m, full, x(1.2, 0.15, 0.15))).toBe(0.15);
    expect(risingSupplySlope(m, full, x(1.2, 0.15, 0.1))).toBe(0);
    expect(risingSupplySlope(m, full, x(1.2, 0.15, Number.NaN))).toBe(0);
  });

  it('continues the slope undamped on top of the forecast', () => {
    const out = new Float64Array(6);
    riseScenarioPath({ riseExtra: Float64Array.from([1, 10]) }, 0.2, [0, 0, 0, 0, 22, 23], out, 4, 2);
    expect([...out.subarray(4)]).toEqual([22.2, 25]);
  });
});

describe('hotspot basis', () => {
  const horizons = [15, 60];

  it('flags on the supply-rise scenario when the forecast stays below warn, timed on the scenario', () => {
    const spot = detectHotspot('r1', 24, horizons, [25, 26], 0, 27, 32, {
      path: [25.5, 29],
      slopeCPerMin: 0.1,
    })!;
    expect(spot.basis).toBe('supply_rise');
    // 25.5 at 15 min, 29 at 60 min: 27 is reached at 15 + 45·(1.5 / 3.5).
    expect(spot.warnInMin).toBeCloseTo(15 + (45 * 1.5) / 3.5, 1);
    expect(spot.peakC).toBe(26);
    expect(spot.scenarioPeakC).toBe(29);
    expect(spot.supplySlopeCPerMin).toBe(0.1);
    expect(spot.severity).toBe('warn');
  });

  it('keeps the forecast basis and its crossing time when the forecast itself reaches warn', () => {
    const spot = detectHotspot('r1', 24, horizons, [26, 28], 0, 27, 32, {
      path: [27, 33],
      slopeCPerMin: 0.1,
    })!;
    expect(spot.basis).toBe('forecast');
    expect(spot.warnInMin).toBeCloseTo(15 + 45 / 2, 1);
    expect(spot.scenarioPeakC).toBeUndefined();
  });

  it('is null when neither reaches warn, and ignores a scenario without a rising slope', () => {
    expect(
      detectHotspot('r1', 24, horizons, [25, 26], 0, 27, 32, { path: [25, 26.9], slopeCPerMin: 0.1 }),
    ).toBeNull();
    expect(
      detectHotspot('r1', 24, horizons, [25, 26], 0, 27, 32, { path: [25, 40], slopeCPerMin: 0 }),
    ).toBeNull();
  });
});

describe('scoring on the flag level', () => {
  it('counts a flag where flagValues reach the threshold although the forecast does not', () => {
    const index = buildSiteIndex(
      SiteSchema.parse({
        site: { id: 's', name: 'one rack' },
        rooms: [
          {
            id: 'h',
            rows: [
              { id: 'a', zone: 'z', racks: [{ id: 'a1', position: 1, powerCapKw: 10, feeds: { a: 'f' } }] },
            ],
          },
        ],
        coolingUnits: [{ id: 'cu', room: 'h', zone: 'z', capacityKw: 50 }],
      }),
    );
    const layout = buildForecastLayout(index);
    const frame = createFrame(layout, 40, 0, MIN);
    // Below 27 until slot 30, then above.
    for (let t = 0; t < 40; t++) frame.inlet[t] = t < 30 ? 25 : 27.5;
    const grid = new PredictionGrid(layout, [15], 0, MIN, 40);
    grid.values.fill(25);
    const flags = new Float64Array(40).fill(25);
    flags[20] = 27.2; // issued at slot 20 for slot 35: the crossing at 30 comes true
    grid.flagValues = flags;
    const opts = { thresholdC: 27, fromSlot: 0, toSlot: 40, rearmMin: 10 };
    const withFlags = scoreGrid(grid, frame, opts).combined;
    expect(withFlags.flags).toBe(1);
    expect(withFlags.falseFlags).toBe(0);
    expect(withFlags.breachesPredicted).toBe(1);
    expect(withFlags.minLeadMin).toBe(10);
    grid.flagValues = undefined;
    expect(scoreGrid(grid, frame, opts).combined.breachesPredicted).toBe(0);
  });
});

describe('forecaster and backtest flag the same supply rise', () => {
  const index = twoZoneSite('rise test', 4);
  const layout = buildForecastLayout(index);
  const base = syntheticFrame(layout, { slots: 2 * 1440, seed: 11 });
  const { model } = trainForecastModel(layout, base, {
    holdoutMs: 8 * 3_600_000,
    horizonsMin: [5, 15, 30, 60],
  });
  const T = 2700;
  // Zone z0's supply climbs 0.3 °C/min over the last 8 minutes before T (a unit losing its grip), and
  // its racks' inlets follow through the 3-minute lag.
  const frame: SignalFrame = {
    ...base,
    supply: Float32Array.from(base.supply),
    inlet: Float32Array.from(base.inlet),
    zoneInletD2: Float32Array.from(base.zoneInletD2),
  };
  const L = frame.stride;
  for (let t = T - 8; t < L; t++) {
    const k = t - (T - 8);
    frame.supply[t] = base.supply[t]! + 0.3 * k;
    for (let r = 0; r < layout.n; r++) {
      if (layout.zone[r] === 0)
        frame.inlet[r * L + t] = base.inlet[r * L + t]! + 0.3 * (k - 3 * (1 - Math.exp(-k / 3)));
    }
  }
  deriveAggregates(frame, layout, T - 20, L);

  function readings(from: number, to: number): Reading[] {
    const out: Reading[] = [];
    for (let t = from; t <= to; t++) {
      const ts = frame.t0 + t * MIN + 10_000;
      layout.rackIds.forEach((id, i) => {
        out.push({
          kind: 'rack',
          site: 'dc',
          target: id,
          metric: 'inlet_c',
          value: frame.inlet[i * L + t]!,
          ts,
        });
        out.push({
          kind: 'rack',
          site: 'dc',
          target: id,
          metric: 'power_kw',
          value: frame.power[i * L + t]!,
          ts,
        });
      });
      layout.zoneIds.forEach((_, z) => {
        out.push({
          kind: 'cooling',
          site: 'dc',
          target: `cu${z}`,
          metric: 'supply_c',
          value: frame.supply[z * L + t]!,
          ts,
        });
        out.push({
          kind: 'cooling',
          site: 'dc',
          target: `cu${z}`,
          metric: 'fan_pct',
          value: frame.fan[z * L + t]!,
          ts,
        });
      });
      out.push({ kind: 'site', site: 'dc', target: 'dc', metric: 'power_kw', value: frame.siteLoad[t]!, ts });
      out.push({ kind: 'site', site: 'dc', target: 'dc', metric: 'outdoor_c', value: frame.outdoor[t]!, ts });
    }
    return out;
  }

  it('flags z0 racks on the scenario, not z1 racks, as the backtest grid does', () => {
    const grid = modelGrid(model, layout, frame, T, T + 1);
    const H = 4;
    const at = (a: Float64Array, r: number, h: number) => a[(r * H + h) * L + T]!;
    // A threshold between the forecasts and the scenario of zone z0.
    let central = Number.NEGATIVE_INFINITY;
    let scenario = Number.POSITIVE_INFINITY;
    for (let r = 0; r < layout.n; r++) {
      if (layout.zone[r] !== 0) continue;
      central = Math.max(central, frame.inlet[r * L + T]!, ...[0, 1, 2, 3].map((h) => at(grid.values, r, h)));
      scenario = Math.min(scenario, Math.max(...[0, 1, 2, 3].map((h) => at(grid.flagValues!, r, h))));
    }
    expect(scenario).toBeGreaterThan(central + 1);
    const warnC = (central + scenario) / 2;
    const f = new RackForecaster(index, { warnC, criticalC: 60 }, model);
    f.observe(readings(T - 14, T), frame.t0 + T * MIN + 50_000);
    const set = f.forecast(frame.t0 + T * MIN + 50_000);
    const flagged = set.hotspots.map((h) => h.rack).sort();
    expect(flagged).toEqual(['a0', 'a1', 'a2', 'a3']);
    for (const h of set.hotspots) {
      expect(h.basis).toBe('supply_rise');
      expect(h.supplySlopeCPerMin!).toBeGreaterThan(0.1);
      expect(h.peakC).toBeLessThan(warnC);
    }
  });
});
