import { describe, expect, it } from 'vitest';
import { modelGrid } from '../../src/forecast/backtest.ts';
import { lagSlots, type SignalFrame, TIERS } from '../../src/forecast/features.ts';
import { RackForecaster } from '../../src/forecast/forecaster.ts';
import { DEGRADED, degradedReasons, forecastPoints, forecastRows } from '../../src/forecast/forecastSet.ts';
import { detectHotspot, timeToCrossing } from '../../src/forecast/hotspots.ts';
import { buildForecastLayout, type ForecastLayout } from '../../src/forecast/layout.ts';
import { syntheticFrame } from '../../src/forecast/synthetic.ts';
import { trainForecastModel } from '../../src/forecast/training.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { twoZoneSite } from '../helpers/sites.ts';

const index = twoZoneSite('Forecaster test', 6);
const layout = buildForecastLayout(index);
const MIN = 60_000;
const frame = syntheticFrame(layout, { slots: 2 * 1440, seed: 6 });
const { model } = trainForecastModel(layout, frame, { holdoutMs: 8 * 3_600_000, horizonsMin: [5, 15, 30] });

type Skip = { supply?: boolean; fan?: boolean; racks?: string[] };
/** Readings for slots [from, to] of a frame, twice a slot, as telemetry would deliver them. */
function readingsOf(f: SignalFrame, l: ForecastLayout, from: number, to: number, skip: Skip = {}): Reading[] {
  const L = f.stride;
  const out: Reading[] = [];
  const site = l.site;
  for (let t = from; t <= to; t++) {
    for (const offset of [10_000, 40_000]) {
      const ts = f.t0 + t * MIN + offset;
      l.rackIds.forEach((id, i) => {
        if (skip.racks?.includes(id)) return;
        out.push({ kind: 'rack', site, target: id, metric: 'inlet_c', value: f.inlet[i * L + t]!, ts });
        out.push({ kind: 'rack', site, target: id, metric: 'power_kw', value: f.power[i * L + t]!, ts });
      });
      l.zoneIds.forEach((_, z) => {
        if (!skip.supply)
          out.push({
            kind: 'cooling',
            site,
            target: `cu${z}`,
            metric: 'supply_c',
            value: f.supply[z * L + t]!,
            ts,
          });
        if (!skip.fan)
          out.push({
            kind: 'cooling',
            site,
            target: `cu${z}`,
            metric: 'fan_pct',
            value: f.fan[z * L + t]!,
            ts,
          });
      });
      out.push({ kind: 'site', site, target: site, metric: 'power_kw', value: f.siteLoad[t]!, ts });
      out.push({ kind: 'site', site, target: site, metric: 'outdoor_c', value: f.outdoor[t]!, ts });
    }
  }
  return out;
}

const T = 2500; // a slot in the held-back part
/** Slots of readings fed before T: the whole feature look-back, as the agent loads it from the store. */
const HISTORY = lagSlots(MIN).lookback + 4;
const nowAt = (t: number) => frame.t0 + t * MIN + 50_000;

describe('RackForecaster', () => {
  it('forecasts what the backtest predicts for the same inputs', () => {
    const f = new RackForecaster(index, {}, model);
    const counts = f.observe(readingsOf(frame, layout, T - HISTORY, T));
    expect(counts.ignored).toBe(0);
    const set = f.forecast(nowAt(T));
    const grid = modelGrid(model, layout, frame, T, T + 1);
    const L = frame.stride;
    for (let r = 0; r < layout.n; r++) {
      expect(set.tier[r]).toBe(0);
      expect(set.degraded[r]).toBe(0);
      for (let h = 0; h < 3; h++) {
        expect(set.predicted[r * 3 + h]).toBeCloseTo(grid.values[(r * 3 + h) * L + T]!, 4);
        expect(set.lo[r * 3 + h]!).toBeLessThan(set.predicted[r * 3 + h]!);
        expect(set.hi[r * 3 + h]!).toBeGreaterThan(set.predicted[r * 3 + h]!);
      }
    }
    const rows = forecastRows(set, ['a0']);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.horizons.map((h) => h.horizonMin)).toEqual([5, 15, 30]);
    expect(rows[0]!.horizons[1]!.ts).toBe(nowAt(T) + 15 * MIN);
    expect(rows[0]!.degraded).toBeNull();
    expect(forecastPoints(set)).toHaveLength(layout.n * 3);
  });

  it('falls back to the model without supply temperature when supply is missing, and says so', () => {
    const full = new RackForecaster(index, {}, model);
    full.observe(readingsOf(frame, layout, T - HISTORY, T));
    const withSupply = full.forecast(nowAt(T));
    const f = new RackForecaster(index, {}, model);
    f.observe(readingsOf(frame, layout, T - HISTORY, T, { supply: true }));
    const set = f.forecast(nowAt(T));
    const noSupplyTier = TIERS.findIndex((t) => t.name === 'no_supply_temp');
    for (let r = 0; r < layout.n; r++) {
      expect(set.tier[r]).toBe(noSupplyTier);
      expect(degradedReasons(set.degraded[r]!)).toEqual(['no_supply_temp']);
      for (let h = 0; h < 3; h++) {
        const p = set.predicted[r * 3 + h]!;
        expect(Number.isFinite(p)).toBe(true);
        // A simpler model, not nonsense: close to the full forecast.
        expect(Math.abs(p - withSupply.predicted[r * 3 + h]!)).toBeLessThan(1);
      }
    }
    expect(forecastRows(set, ['b2'])[0]!.degraded).toBe('no_supply_temp');
  });

  it('widens the interval when a minor input is filled with its training mean', () => {
    const full = new RackForecaster(index, {}, model);
    full.observe(readingsOf(frame, layout, T - HISTORY, T));
    const a = full.forecast(nowAt(T));
    const f = new RackForecaster(index, { imputedWiden: 1.5 }, model);
    f.observe(readingsOf(frame, layout, T - HISTORY, T, { fan: true }));
    const b = f.forecast(nowAt(T));
    expect(degradedReasons(b.degraded[0]!)).toEqual(['no_cooling_state']);
    expect(b.hi[1]! - b.lo[1]!).toBeCloseTo(1.5 * (a.hi[1]! - a.lo[1]!), 6);
  });

  it('marks a silent rack, carries a briefly stale one, and forecasts persistence without a model', () => {
    const f = new RackForecaster(index, {}, model);
    f.observe(readingsOf(frame, layout, T - HISTORY, T, { racks: ['a3'] }));
    const set = f.forecast(nowAt(T + 2)); // two slots without readings: still within 3 slots of staleness
    const a3 = layout.rackIndex.get('a3')!;
    expect(set.degraded[a3]! & DEGRADED.no_inlet).toBe(DEGRADED.no_inlet);
    expect(set.predicted[a3 * 3]).toBeNaN();
    expect(set.degraded[0]! & DEGRADED.no_inlet).toBe(0);
    // Five slots on, every reading is stale.
    expect(f.forecast(nowAt(T + 5)).degraded[0]! & DEGRADED.no_inlet).toBe(DEGRADED.no_inlet);

    const bare = new RackForecaster(index);
    bare.observe(readingsOf(frame, layout, T - HISTORY, T));
    const p = bare.forecast(nowAt(T));
    expect(p.modelVersion).toBeNull();
    expect(degradedReasons(p.degraded[0]!)).toContain('no_model');
    expect(p.predicted[0]).toBeCloseTo(p.current[0]!, 10);
  });

  it('flags racks forecast past the warn threshold', () => {
    const f = new RackForecaster(index, { warnC: 20, criticalC: 60 }, model);
    f.observe(readingsOf(frame, layout, T - HISTORY, T));
    const set = f.forecast(nowAt(T));
    const expected = layout.rackIds.filter(
      (_, r) => Math.max(set.current[r]!, ...set.predicted.subarray(r * 3, r * 3 + 3)) >= 20,
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(set.hotspots.map((h) => h.rack).sort()).toEqual(expected.sort());
    expect(set.hotspots.every((h) => h.severity === 'warn')).toBe(true);
  });

  it('derives thermal sensitivity from the model, and from the layout without one', () => {
    const f = new RackForecaster(index, {}, model);
    const s = f.sensitivity('a2')!;
    expect(s.source).toBe('model');
    expect(s.neighbours.map((n) => n.rack).sort()).toEqual(['a0', 'a1', 'a3', 'a4', 'b1', 'b2', 'b3']);
    // The synthetic plant heats a rack 0.04 K per kW of weighted neighbour power: the adjacent racks.
    const adjacent = s.neighbours.find((n) => n.rack === 'a1')!.cPerKw;
    expect(adjacent).toBeGreaterThan(0.01);
    expect(adjacent).toBeLessThan(0.2);
    const effects = f.whatIf('a2', 10)!;
    expect(effects[0]!.riseC).toBeGreaterThan(0);
    expect(effects.map((e) => e.rack)).toContain('a1');

    const bare = new RackForecaster(index);
    expect(bare.sensitivity('a2')!.source).toBe('layout');
    expect(bare.sensitivity('nope')).toBeUndefined();
  });

  it('computes thermal headroom: less where a neighbour is close to the limit', () => {
    const f = new RackForecaster(index, {}, model);
    f.observe(readingsOf(frame, layout, T - HISTORY, T));
    const set = f.forecast(nowAt(T));
    const room = f.headroom(set, 40);
    const tight = f.headroom(set, Math.max(...set.current) + 0.2);
    for (let r = 0; r < layout.n; r++) {
      expect(room[r]!).toBeGreaterThan(tight[r]!);
      expect(tight[r]!).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('time to crossing', () => {
  const horizons = [5, 15, 30];

  it('interpolates between horizons', () => {
    // 25 now, 26 at 5 min, 28 at 15 min: 27 is crossed halfway between 5 and 15 minutes.
    expect(timeToCrossing(25, horizons, [26, 28, 30], 0, 27)).toBeCloseTo(10, 10);
    expect(timeToCrossing(25, horizons, [29, 30, 31], 0, 27)).toBeCloseTo(2.5, 10);
    expect(timeToCrossing(25, horizons, [25, 26, 27.5], 0, 27)).toBeCloseTo(25, 10);
  });

  it('is 0 when already above and null when never reached', () => {
    expect(timeToCrossing(28, horizons, [27, 26, 25], 0, 27)).toBe(0);
    expect(timeToCrossing(20, horizons, [21, 22, 26.9], 0, 27)).toBeNull();
  });

  it('reads a row of a flat array and grades the hotspot', () => {
    const flat = [0, 0, 0, 26, 30, 34];
    const spot = detectHotspot('r9', 24, horizons, flat, 3, 27, 32)!;
    expect(spot.severity).toBe('critical');
    expect(spot.warnInMin).toBeCloseTo(7.5, 10);
    expect(spot.criticalInMin).toBeCloseTo(22.5, 10);
    expect(spot.peakC).toBe(34);
    expect(spot.peakHorizonMin).toBe(30);
    expect(detectHotspot('r9', 24, horizons, flat, 0, 27, 32)).toBeNull();
  });
});
