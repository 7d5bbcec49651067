/** Error metrics and quantiles over forecast residuals (actual − predicted). */
import type { ErrorMetrics } from './modelFile.ts';

/** Streaming MAE / RMSE / max absolute error. */
export class ErrorAccumulator {
  n = 0;
  private absSum = 0;
  private sqSum = 0;
  private max = 0;

  add(residual: number): void {
    const a = Math.abs(residual);
    this.n++;
    this.absSum += a;
    this.sqSum += a * a;
    if (a > this.max) this.max = a;
  }

  merge(other: ErrorAccumulator): void {
    this.n += other.n;
    this.absSum += other.absSum;
    this.sqSum += other.sqSum;
    this.max = Math.max(this.max, other.max);
  }

  get mae(): number {
    return this.n > 0 ? this.absSum / this.n : Number.NaN;
  }

  result(): ErrorMetrics {
    const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : 0);
    return {
      n: this.n,
      mae: round(this.mae),
      rmse: round(this.n > 0 ? Math.sqrt(this.sqSum / this.n) : Number.NaN),
      maxError: round(this.max),
    };
  }
}

/** Quantile (linear interpolation) of already sorted values. */
export function quantileSorted(v: Float64Array, q: number): number {
  const n = v.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}

/** k-th smallest of v (0-based), reordering v in place: O(n) on average, no full sort. */
export function selectKth(v: Float64Array, k: number): number {
  let lo = 0;
  let hi = v.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // Median of three as the pivot keeps sorted input linear.
    const a = v[lo]!;
    const b = v[mid]!;
    const c = v[hi]!;
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (v[i]! < pivot) i++;
      while (v[j]! > pivot) j--;
      if (i <= j) {
        const t = v[i]!;
        v[i] = v[j]!;
        v[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return v[k]!;
  }
  return v[k]!;
}

/** Quantile with linear interpolation, by selection (reorders v in place). */
export function quantileSelect(v: Float64Array, q: number): number {
  const n = v.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const a = selectKth(v, lo);
  if (lo + 1 >= n || pos === lo) return a;
  // After selection everything right of lo is >= a: the next order statistic is their minimum.
  let b = Number.POSITIVE_INFINITY;
  for (let i = lo + 1; i < n; i++) if (v[i]! < b) b = v[i]!;
  return a + (b - a) * (pos - lo);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}
