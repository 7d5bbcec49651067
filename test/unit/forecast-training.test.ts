import { describe, expect, it } from 'vitest';
import { SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { backtest, modelGrid } from '../../src/forecast/backtest.ts';
import { F, FEATURE_INDEX } from '../../src/forecast/features.ts';
import { buildForecastLayout } from '../../src/forecast/layout.ts';
import type { HorizonValidation } from '../../src/forecast/modelFile.ts';
import { parseModelFile } from '../../src/forecast/modelFile.ts';
import { blendPowerLevel } from '../../src/forecast/powerLevel.ts';
import { syntheticFrame } from '../../src/forecast/synthetic.ts';
import { DEFAULT_HORIZONS_MIN, TrainingError, trainForecastModel } from '../../src/forecast/training.ts';
import { promotionGate } from '../../src/forecast/validation.ts';

function hall(rows: number, perRow: number) {
  return buildSiteIndex(
    SiteSchema.parse({
      site: { id: 'dc', name: 'Synthetic hall' },
      rooms: [
        {
          id: 'h',
          rows: Array.from({ length: rows }, (_, r) => ({
            id: `r${r}`,
            zone: `z${r % 2}`,
            coldAisle: `a${r >> 1}`,
            racks: Array.from({ length: perRow }, (_, k) => ({
              id: `r${r}k${k}`,
              position: k + 1,
              powerCapKw: 20,
              feeds: { a: 'f' },
            })),
          })),
        },
      ],
      coolingUnits: [
        { id: 'cu0', room: 'h', zone: 'z0', capacityKw: 300 },
        { id: 'cu1', room: 'h', zone: 'z1', capacityKw: 300 },
      ],
    }),
  );
}

const DAY = 1440;
const MIN_MS = 60_000;
const metrics = (mae: number) => ({ n: 100, mae, rmse: mae * 1.2, maxError: mae * 3 });

describe('training on a synthetic plant', () => {
  const index = hall(2, 10);
  const layout = buildForecastLayout(index);
  const frame = syntheticFrame(layout, { slots: 2 * DAY, seed: 4 });
  const result = trainForecastModel(layout, frame, { holdoutMs: 8 * 3_600_000, now: Date.UTC(2025, 0, 1) });

  it('beats persistence on the held-back window and is promoted', () => {
    expect(result.promoted).toBe(true);
    expect(result.model.status).toBe('promoted');
    for (const v of result.validation.horizons) expect(v.model.mae).toBeLessThan(v.persistence.mae);
    expect(result.reason).toMatch(/beats persistence/);
  });

  it('writes a self-consistent model file', () => {
    const m = result.model;
    expect(m.horizonsMin).toEqual([...DEFAULT_HORIZONS_MIN]);
    expect(m.counts.racks).toBe(20);
    expect(m.counts.rackModels).toBe(20);
    expect(m.counts.holdoutRows).toBeGreaterThan(0);
    expect(Date.parse(m.trainingWindow.holdoutFrom)).toBeGreaterThan(Date.parse(m.trainingWindow.from));
    const reparsed = parseModelFile(JSON.stringify(m), 'dc');
    expect(reparsed.ok).toBe(true);
  });

  it('gives 10–90 % intervals that cover about 80 % of held-back outcomes', () => {
    const holdoutFrom = Date.parse(result.model.trainingWindow.holdoutFrom);
    const from = Math.floor((holdoutFrom - frame.t0) / frame.stepMs);
    const grid = modelGrid(result.model, layout, frame, from);
    const H = result.model.horizonsMin.length;
    const h15 = result.model.horizonsMin.indexOf(15);
    const L = frame.stride;
    let inside = 0;
    let total = 0;
    for (let r = 0; r < layout.n; r++) {
      const q = result.model.racks[layout.rackIds[r]!]!.tiers.full!.q[h15]!;
      for (let t = from; t < L - 15; t++) {
        const p = grid.values[(r * H + h15) * L + t]!;
        const a = frame.inlet[r * L + t + 15]!;
        if (Number.isNaN(p) || Number.isNaN(a)) continue;
        total++;
        if (a >= p + q[0] && a <= p + q[1]) inside++;
      }
    }
    expect(inside / total).toBeGreaterThan(0.7);
    expect(inside / total).toBeLessThan(0.9);
  });

  it('keeps an identical retrain as a candidate: it does not beat the model in service', () => {
    const again = trainForecastModel(layout, frame, { holdoutMs: 8 * 3_600_000 }, result.model);
    expect(again.promoted).toBe(false);
    expect(again.model.status).toBe('candidate');
    expect(again.reason).toMatch(/not below the current model v1/);
    expect(again.validation.horizons[1]!.current!.mae).toBe(again.validation.horizons[1]!.model.mae);
  });

  it('rejects a model that is worse than persistence on the held-back window', () => {
    // The inlet sensor sticks for the held-back day while power keeps moving: whatever the model
    // learned from power and inlet history now predicts moves that never happen.
    const stuck = syntheticFrame(layout, { slots: 2 * DAY, seed: 4 });
    const holdoutStart = stuck.stride - 30 - 8 * 60;
    for (let r = 0; r < layout.n; r++) {
      for (let t = holdoutStart - 40; t < stuck.stride; t++) stuck.inlet[r * stuck.stride + t] = 22;
    }
    const res = trainForecastModel(layout, stuck, { holdoutMs: 8 * 3_600_000 });
    expect(res.promoted).toBe(false);
    expect(res.model.status).toBe('candidate');
    expect(res.reason).toMatch(/is not below persistence/);
  });

  it('refuses a window too short for look-back, horizon and a held-back part', () => {
    const short = syntheticFrame(layout, { slots: 30 });
    expect(() => trainForecastModel(layout, short)).toThrow(TrainingError);
  });

  it('backtests the model against persistence with hotspot scores', () => {
    const ramp = syntheticFrame(layout, {
      slots: DAY,
      seed: 8,
      supplyRamp: { zone: 1, fromSlot: 900, cPerHour: 4 },
    });
    const report = backtest(result.model, layout, ramp, { thresholdC: 27 });
    const h15 = report.horizons[1]!;
    expect(h15.model!.errors.mae).toBeLessThan(h15.persistence.errors.mae);
    expect(report.combined.persistence.breachesPredicted).toBe(0);
    expect(report.combined.model!.breaches).toBeGreaterThan(0);
    expect(report.combined.model!.breachesPredicted).toBe(report.combined.model!.breaches);
    expect(report.combined.model!.precision).toBeGreaterThan(0.95);
    // A 4 °C/h supply ramp: the damped trend term buys minutes of warning (the supply-rise scenario
    // does not apply: so slow a ramp stays within the unclosed band). 3 min since the 20-minute
    // power deviations: this plant's training days never move the supply, so inlet trends there
    // come from power, and once power explains them the fit extrapolates inlet trends less (it
    // was 4; the simulator's cooling-degradation leads did not change, see bench:forecast-quality).
    expect(report.combined.model!.minLeadMin).toBeGreaterThanOrEqual(3);
  });
});

describe('promotion gate', () => {
  const v = (model: number, persistence: number, current?: number): HorizonValidation => ({
    horizonMin: 15,
    model: metrics(model),
    persistence: metrics(persistence),
    ...(current === undefined ? {} : { current: metrics(current) }),
  });

  it('promotes a model that beats persistence when none is in service', () => {
    expect(promotionGate([v(0.2, 0.5)], 100).promoted).toBe(true);
  });

  it('rejects a model worse than persistence, saying so', () => {
    const gate = promotionGate([v(0.6, 0.5)], 100);
    expect(gate.promoted).toBe(false);
    expect(gate.reason).toContain('15 min: MAE 0.6 °C is not below persistence 0.5 °C');
  });

  it('rejects a model that does not beat the current one', () => {
    const gate = promotionGate([v(0.3, 0.5, 0.25)], 100, { version: 4 });
    expect(gate.promoted).toBe(false);
    expect(gate.reason).toContain('current model v4');
    expect(promotionGate([v(0.2, 0.5, 0.25)], 100, { version: 4 }).promoted).toBe(true);
  });

  it('rejects when there was nothing to validate on', () => {
    expect(promotionGate([v(0.2, 0.5)], 0).promoted).toBe(false);
  });
});

describe('the power-level forecast and its blend', () => {
  const index = hall(2, 10);
  const layout = buildForecastLayout(index);
  // Noisy inlet sensors: a forecast that starts from the reading carries the noise, one from power does not.
  const noisy = syntheticFrame(layout, { slots: 2 * DAY, seed: 4, noiseC: 0.3 });
  const fit = trainForecastModel(layout, noisy, { holdoutMs: 8 * 3_600_000 }).model;
  const h15 = fit.horizonsMin.indexOf(15);

  it('fits the steady inlet from power and supply: about 1 °C per °C of supply, positive per kW', () => {
    // The plant: inlet → supply + 0.05 K/kW own + 0.04 K/kW layout-weighted neighbour power (+ 0.3).
    for (const id of ['r0k0', 'r0k4', 'r1k5']) {
      const [own, nbr, , , supply] = fit.racks[id]!.powerLevel![h15]!;
      expect(supply!).toBeGreaterThan(0.7);
      expect(supply!).toBeLessThan(1.2);
      expect(own! + nbr!).toBeGreaterThan(0.04);
      expect(own! + nbr!).toBeLessThan(0.13);
    }
  });

  it('is blended in where it helps on the held-back window, and the blend lowers the error there', () => {
    const blend = fit.form.blend!;
    expect(blend.weights[h15]).toBeGreaterThan(0);
    const unblended: typeof fit = { ...fit, form: { ...fit.form, blend: undefined } };
    const holdoutFrom = Math.floor((Date.parse(fit.trainingWindow.holdoutFrom) - noisy.t0) / MIN_MS);
    const mae = (m: typeof fit) => {
      const grid = modelGrid(m, layout, noisy, holdoutFrom);
      const H = m.horizonsMin.length;
      const L = noisy.stride;
      let sum = 0;
      let n = 0;
      for (let r = 0; r < layout.n; r++) {
        for (let t = holdoutFrom; t < L - 15; t++) {
          const p = grid.values[(r * H + h15) * L + t]!;
          const a = noisy.inlet[r * L + t + 15]!;
          if (Number.isNaN(p) || Number.isNaN(a)) continue;
          sum += Math.abs(p - a);
          n++;
        }
      }
      return sum / n;
    };
    expect(mae(fit)).toBeLessThan(mae(unblended));
  });

  it('cannot pull a forecast further than weight × band, however far the supply runs away', () => {
    const ramp = syntheticFrame(layout, {
      slots: DAY,
      seed: 8,
      noiseC: 0.3,
      supplyRamp: { zone: 1, fromSlot: 900, cPerHour: 8 },
    });
    const unblended: typeof fit = { ...fit, form: { ...fit.form, blend: undefined } };
    const a = modelGrid(fit, layout, ramp, 30);
    const b = modelGrid(unblended, layout, ramp, 30);
    const H = fit.horizonsMin.length;
    const L = ramp.stride;
    const blend = fit.form.blend!;
    let moved = 0;
    for (let r = 0; r < layout.n; r++) {
      for (let h = 0; h < H; h++) {
        const limit = blend.weights[h]! * blend.bandsC[h]! + 1e-9;
        for (let t = 30; t < L; t++) {
          const d = Math.abs(a.values[(r * H + h) * L + t]! - b.values[(r * H + h) * L + t]!);
          if (Number.isNaN(d)) continue;
          expect(d).toBeLessThanOrEqual(limit);
          if (d > 0) moved++;
        }
      }
    }
    expect(moved).toBeGreaterThan(0);
  });
});

describe('blendPowerLevel', () => {
  const x = new Float64Array(F).fill(0);
  x[FEATURE_INDEX.inlet_c] = 20;
  x[FEATURE_INDEX.power_kw] = 10;
  x[FEATURE_INDEX.supply_mean20m_c] = 18;
  // One rack, one horizon: level = 18 · 1 + 10 · 0.1 + 0.5 = 19.5, so the level forecast's change is −0.5.
  const coef = Float64Array.from([0.1, 0, 0, 0, 1, 0.5]);

  it('adds weight × the clipped gap between the level forecast and the delta one', () => {
    const delta = Float64Array.from([0.2]);
    blendPowerLevel(coef, Float64Array.from([0.5]), Float64Array.from([1]), 0, x, delta);
    expect(delta[0]).toBeCloseTo(0.2 + 0.5 * (-0.5 - 0.2), 10);
    const clipped = Float64Array.from([0.2]);
    blendPowerLevel(coef, Float64Array.from([0.5]), Float64Array.from([0.1]), 0, x, clipped);
    expect(clipped[0]).toBeCloseTo(0.2 - 0.05, 10);
  });

  it('leaves the forecast alone without a weight or without the level inputs', () => {
    const delta = Float64Array.from([0.2]);
    blendPowerLevel(coef, Float64Array.from([0]), Float64Array.from([1]), 0, x, delta);
    expect(delta[0]).toBe(0.2);
    const y = Float64Array.from(x);
    y[FEATURE_INDEX.supply_mean20m_c] = Number.NaN;
    blendPowerLevel(coef, Float64Array.from([0.5]), Float64Array.from([1]), 0, y, delta);
    expect(delta[0]).toBe(0.2);
  });
});
