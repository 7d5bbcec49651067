/**
 * One metric of one target in memory, as columns (pure, no I/O). Timestamps are Int32 ms offsets from
 * a chunk base and values Float32, 8 bytes a sample: 100 racks × 3 metrics every 10 s for 14 days
 * (36 M samples) is ≈ 290 MB of typed arrays, off the JS heap. Float32 keeps 7 significant digits,
 * more than any sensor here delivers; values come back rounded to 7 digits so 21.3 reads as 21.3.
 */

const MIN_CHUNK = 64;
const MAX_CHUNK = 4096;
const MAX_OFFSET = 2 ** 31 - 1;

interface Chunk {
  base: number;
  ts: Int32Array;
  val: Float32Array;
  n: number;
  minTs: number;
  maxTs: number;
}

/** Rounds a Float32 back to the decimal it most likely was (7 significant digits). */
export function roundFloat32(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  const digits = 7 - Math.ceil(Math.log10(Math.abs(v)));
  if (digits <= 0) return Math.round(v);
  const scale = 10 ** Math.min(digits, 300);
  return Math.round(v * scale) / scale;
}

export class ColumnSeries {
  private chunks: Chunk[] = [];
  /** False once a sample arrived older than the newest one: queries then sort. */
  private inOrder = true;
  private lastTs = Number.NEGATIVE_INFINITY;

  get samples(): number {
    let n = 0;
    for (const c of this.chunks) n += c.n;
    return n;
  }

  get bytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.ts.byteLength + c.val.byteLength;
    return n;
  }

  append(ts: number, value: number): void {
    let c = this.chunks.at(-1);
    const offset = c ? ts - c.base : 0;
    if (!c || c.n === MAX_CHUNK || offset > MAX_OFFSET || offset < -MAX_OFFSET) {
      c = {
        base: ts,
        ts: new Int32Array(MIN_CHUNK),
        val: new Float32Array(MIN_CHUNK),
        n: 0,
        minTs: ts,
        maxTs: ts,
      };
      this.chunks.push(c);
    } else if (c.n === c.ts.length) {
      // Grow the open chunk by doubling, so a sparse series does not reserve a full chunk.
      const size = Math.min(MAX_CHUNK, c.ts.length * 2);
      const tsCol = new Int32Array(size);
      tsCol.set(c.ts);
      const valCol = new Float32Array(size);
      valCol.set(c.val);
      c.ts = tsCol;
      c.val = valCol;
    }
    c.ts[c.n] = ts - c.base;
    c.val[c.n] = value;
    c.n++;
    if (ts < c.minTs) c.minTs = ts;
    if (ts > c.maxTs) c.maxTs = ts;
    if (ts < this.lastTs) this.inOrder = false;
    else this.lastTs = ts;
  }

  /** Drops whole chunks that end before the cutoff; returns samples freed. */
  pruneBefore(cutoff: number): number {
    let freed = 0;
    const kept: Chunk[] = [];
    for (const c of this.chunks) {
      if (c.maxTs < cutoff) freed += c.n;
      else kept.push(c);
    }
    this.chunks = kept;
    return freed;
  }

  get empty(): boolean {
    return this.chunks.length === 0;
  }

  /**
   * Samples with from <= ts < to, sorted by ts; for equal timestamps the last written wins, as
   * InfluxDB overwrites a point with the same series and time.
   */
  range(from: number, to: number): { ts: number[]; values: number[] } {
    const ts: number[] = [];
    const values: number[] = [];
    for (const c of this.chunks) {
      if (c.maxTs < from || c.minTs >= to) continue;
      const lo = from - c.base;
      const hi = to - c.base;
      for (let i = 0; i < c.n; i++) {
        const o = c.ts[i] as number;
        if (o >= lo && o < hi) {
          ts.push(c.base + o);
          values.push(c.val[i] as number);
        }
      }
    }
    if (!this.inOrder) {
      const order = ts.map((_, i) => i).sort((a, b) => (ts[a] as number) - (ts[b] as number) || a - b);
      const sortedTs = order.map((i) => ts[i] as number);
      const sortedValues = order.map((i) => values[i] as number);
      return dedupe(sortedTs, sortedValues);
    }
    return dedupe(ts, values);
  }
}

/** Keeps the last of equal adjacent timestamps and rounds values back from Float32. */
function dedupe(ts: number[], values: number[]): { ts: number[]; values: number[] } {
  let w = 0;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as number;
    const v = roundFloat32(values[i] as number);
    if (w > 0 && ts[w - 1] === t) {
      values[w - 1] = v;
      continue;
    }
    ts[w] = t;
    values[w] = v;
    w++;
  }
  ts.length = w;
  values.length = w;
  return { ts, values };
}

/** Mean per window aligned to the epoch (as InfluxDB's GROUP BY time()), empty windows omitted. */
export function windowMeans(
  ts: readonly number[],
  values: readonly number[],
  windowMs: number,
): Array<{ ts: number; value: number }> {
  const out: Array<{ ts: number; value: number }> = [];
  let bucket = Number.NaN;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < ts.length; i++) {
    const b = Math.floor((ts[i] as number) / windowMs) * windowMs;
    if (b !== bucket) {
      if (n > 0) out.push({ ts: bucket, value: sum / n });
      bucket = b;
      sum = 0;
      n = 0;
    }
    sum += values[i] as number;
    n++;
  }
  if (n > 0) out.push({ ts: bucket, value: sum / n });
  return out;
}
