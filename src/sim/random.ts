/**
 * Seeded randomness. Two kinds:
 * - `Rng`: a sequential stream (sfc32) for things drawn in order, such as job arrivals;
 *   each concern forks its own stream so adding draws in one never shifts another.
 * - `hashUnit`/`hashNormal`: counter-based values keyed by (seed, a, b), for sensor noise that
 *   must not depend on how often or in what order readings are taken.
 */

/** 32-bit string hash (FNV-1a), for deriving stream seeds from labels. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A well-mixed 32-bit hash of up to three integers (murmur3 finaliser over a combined key). */
export function mix3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ b, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h ^ c, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** Uniform in [0, 1) from (seed, a, b); the same inputs always give the same value. */
export function hashUnit(seed: number, a: number, b: number): number {
  return mix3(seed, a, b) / 4294967296;
}

/** Standard normal from (seed, a, b) via Box–Muller on two hashed uniforms. */
export function hashNormal(seed: number, a: number, b: number): number {
  const u1 = (mix3(seed, a, b) + 1) / 4294967297;
  const u2 = mix3(seed ^ 0x5bd1e995, b, a) / 4294967296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  constructor(seed: number, label = '') {
    const s = mix3(seed >>> 0, hashString(label), 0x2545f491);
    this.a = s;
    this.b = mix3(s, 1, 0);
    this.c = mix3(s, 2, 0);
    this.d = 1;
    // Warm up so close seeds diverge.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** An independent stream for another concern, derived from this stream's seed material. */
  fork(label: string): Rng {
    return new Rng(this.nextU32(), label);
  }

  nextU32(): number {
    // sfc32 (Chris Doty-Humphrey): fast, passes PractRand at this size, 128-bit state.
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('cannot pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + sd * z;
    }
    const u1 = 1 - this.next();
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return mean + sd * r * Math.cos(2 * Math.PI * u2);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Log-normal with the given median and log-space sigma. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(this.normal(0, sigma));
  }
}
