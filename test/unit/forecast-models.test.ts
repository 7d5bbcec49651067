import { MultivariateLinearRegression } from 'ml-regression';
import { describe, expect, it } from 'vitest';
import { ErrorAccumulator, quantileSelect, selectKth } from '../../src/forecast/metrics.ts';
import { fitLinearRegression, NormalEquations } from '../../src/forecast/models.ts';
import { gapFactors, trendFactors } from '../../src/forecast/physics.ts';
import { prng } from '../../src/forecast/synthetic.ts';

describe('linear fits', () => {
  it('recovers y = a·x1 + b·x2 + c exactly', () => {
    const rnd = prng(3);
    const x: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 200; i++) {
      const x1 = 10 * rnd();
      const x2 = 100 + 50 * rnd();
      x.push([x1, x2]);
      y.push(2.5 * x1 - 0.75 * x2 + 4);
    }
    const fit = fitLinearRegression(x, y);
    expect(fit.coefficients[0]).toBeCloseTo(2.5, 8);
    expect(fit.coefficients[1]).toBeCloseTo(-0.75, 8);
    expect(fit.intercept).toBeCloseTo(4, 6);
  });

  it('agrees with ml-regression MultivariateLinearRegression on noisy data', () => {
    const rnd = prng(11);
    const x: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 300; i++) {
      const row = [rnd(), 5 * rnd(), rnd() - 0.5];
      x.push(row);
      y.push(1.2 * row[0]! - 0.3 * row[1]! + 2 * row[2]! + 0.7 + 0.1 * (rnd() - 0.5));
    }
    const ours = fitLinearRegression(x, y);
    const ref = new MultivariateLinearRegression(
      x,
      y.map((v) => [v]),
      { intercept: true, statistics: false },
    );
    // Reference weights: one row per input, then the intercept row.
    ours.coefficients.forEach((c, j) => {
      expect(c).toBeCloseTo(ref.weights[j]![0]!, 8);
    });
    expect(ours.intercept).toBeCloseTo(ref.weights[3]![0]!, 8);
  });

  it('ridge shrinks coefficients towards zero and keeps the intercept free', () => {
    const rnd = prng(5);
    const x: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 100; i++) {
      const v = rnd();
      x.push([v]);
      y.push(3 * v + 10);
    }
    const ols = fitLinearRegression(x, y);
    const ridge = fitLinearRegression(x, y, { lambda: 1 });
    expect(Math.abs(ridge.coefficients[0]!)).toBeLessThan(Math.abs(ols.coefficients[0]!) * 0.6);
    // With the slope shrunk, the intercept moves so the fit still passes through the means.
    const meanX = x.reduce((s, r) => s + r[0]!, 0) / x.length;
    const meanY = y.reduce((s, v) => s + v, 0) / y.length;
    expect(ridge.intercept + ridge.coefficients[0]! * meanX).toBeCloseTo(meanY, 8);
  });

  it('block accumulation equals row-by-row accumulation', () => {
    const rnd = prng(9);
    const p = 3;
    const rows = 37;
    const byRow = new NormalEquations(p, 2);
    const byBlock = new NormalEquations(p, 2);
    const stride = 64;
    const zb = new Float64Array((p + 1) * stride);
    const yb = new Float64Array(2 * stride);
    for (let i = 0; i < rows; i++) {
      const z = Float64Array.from([rnd(), rnd(), rnd(), 1]);
      const y = Float64Array.from([rnd(), rnd()]);
      byRow.add(z, y);
      for (let a = 0; a <= p; a++) zb[a * stride + i] = z[a]!;
      for (let o = 0; o < 2; o++) yb[o * stride + i] = y[o]!;
    }
    byBlock.addBlock(zb, yb, stride, rows);
    expect(byBlock.n).toBe(rows);
    for (const [i, v] of byRow.xtx.entries()) expect(byBlock.xtx[i]).toBeCloseTo(v, 10);
    for (const [i, v] of byRow.xty.entries()) expect(byBlock.xty[i]).toBeCloseTo(v, 10);
  });

  it('solves each output with its own penalty when given one per output', () => {
    const rnd = prng(11);
    const ne = new NormalEquations(2, 3);
    for (let i = 0; i < 50; i++) {
      const a = rnd() - 0.5;
      const b = rnd() - 0.5;
      ne.add(Float64Array.from([a, b, 1]), Float64Array.from([2 * a - b, a + 3 * b, -a + 0.1 * rnd()]));
    }
    const mixed = ne.solve([0, 1], [0, 0.5, 0]);
    const plain = ne.solve([0, 1], 0);
    const ridge = ne.solve([0, 1], 0.5);
    for (let c = 0; c < 3; c++) {
      expect(mixed[0]![c]).toBeCloseTo(plain[0]![c]!, 10);
      expect(mixed[1]![c]).toBeCloseTo(ridge[1]![c]!, 10);
      expect(mixed[2]![c]).toBeCloseTo(plain[2]![c]!, 10);
    }
    // The penalty shrinks: the penalized output's slopes are smaller than the exact fit's (1, 3).
    expect(plain[1]![1]).toBeCloseTo(3, 8);
    expect(Math.abs(mixed[1]![1]!)).toBeLessThan(2.9);
  });

  it('solves a collinear system without a penalty (least-norm fallback)', () => {
    const ne = new NormalEquations(2, 1);
    for (let i = 0; i < 20; i++) ne.add(Float64Array.from([i, 2 * i, 1]), Float64Array.from([3 * i + 1]));
    const [beta] = ne.solve([0, 1], 0);
    // Any split of the slope between the two copies fits; the prediction must still be exact.
    expect(beta![0]! * 7 + beta![1]! * 14 + beta![2]!).toBeCloseTo(22, 6);
  });
});

describe('metrics', () => {
  it('computes MAE, RMSE and max error', () => {
    const acc = new ErrorAccumulator();
    for (const e of [1, -2, 3, -4]) acc.add(e);
    expect(acc.result()).toEqual({
      n: 4,
      mae: 2.5,
      rmse: Math.round(Math.sqrt(7.5) * 1e4) / 1e4,
      maxError: 4,
    });
  });

  it('selects order statistics and interpolated quantiles like a sort would', () => {
    const rnd = prng(21);
    const values = Float64Array.from({ length: 501 }, () => rnd() * 10 - 5);
    const sorted = Float64Array.from(values).sort();
    for (const k of [0, 1, 250, 499, 500]) expect(selectKth(Float64Array.from(values), k)).toBe(sorted[k]);
    const q = quantileSelect(Float64Array.from(values), 0.1);
    const pos = 500 * 0.1;
    expect(q).toBeCloseTo(sorted[pos]!, 12);
    expect(quantileSelect(Float64Array.from([1, 2, 3, 4]), 0.5)).toBeCloseTo(2.5, 12);
  });
});

describe('physics factors', () => {
  it('closes 1 − e^(−h/τ) of an unclosed supply change', () => {
    const f = gapFactors([3, 30], {
      tauMin: 3,
      gapDeadbandC: 0,
      unclosedDeadbandC: 0,
      dampingPerMin: 1,
      minSlopeCPerMin: 0,
    });
    expect(f[0]).toBeCloseTo(1 - Math.exp(-1), 12);
    expect(f[1]).toBeCloseTo(1, 4);
  });

  it('adds the trend beyond what the lag already predicts, damped', () => {
    const params = { tauMin: 3, gapDeadbandC: 0, unclosedDeadbandC: 0, dampingPerMin: 1, minSlopeCPerMin: 0 };
    // Undamped: a ramp of s for h minutes adds s·(h − τ(1 − e^(−h/τ))).
    expect(trendFactors([15], params)[0]).toBeCloseTo(15 - 3 * (1 - Math.exp(-5)), 10);
    const damped = trendFactors([15], { ...params, dampingPerMin: 0.9 })[0]!;
    expect(damped).toBeLessThan(15 - 3);
    expect(damped).toBeGreaterThan(0);
  });
});
