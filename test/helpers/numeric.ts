/**
 * Numeric helpers for derivative tests. Everything works on flat Float64Arrays
 * (row-major data; shapes are the caller's business).
 *
 *   rng(seed)                      deterministic PRNG (mulberry32) with uniform/int/pick/sign/shuffle
 *   randomArray(n, sample)         Float64Array of n values drawn by `sample(i)`
 *   along(x, t, s)                 x + s·t elementwise (a point on the line through x along t)
 *   centralDiff(f, h)              d/ds f(s) at s = 0 for a vector-valued f of one scalar, by
 *                                  Richardson-extrapolated central differences (4-point stencil):
 *                                  (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h, error O(h⁴) + O(ε/h)
 *   maxRelErr(actual, expected)    max over elements of |a - e| / max(floor, |e|), floor = 1 by
 *                                  default; NaN and ±Infinity must match exactly (NaN equals NaN)
 *   inner(a, b), absInner(a, b)    Σ aᵢbᵢ and Σ |aᵢbᵢ|
 *   maxAbs(a)                      max |aᵢ| (0 for an empty array)
 *   sameValues(a, b)               true when a and b are equal element for element (NaN equals NaN,
 *                                  0 equals -0)
 *   ulpDistance(a, b)              how many doubles lie between a and b (0 when equal; Infinity when
 *                                  one is NaN and the other is not)
 *   expectClose(actual, expected, tol)
 *                                  asserts equal element for element (0 and -0 alike, NaN equals NaN)
 *                                  or, when finite, within tol · max(1, |expected|), naming the element
 */
import { expect } from 'vitest';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  /** -1 or 1. */
  sign(): number;
  pick<T>(items: readonly T[]): T;
  /** A shuffled copy. */
  shuffle<T>(items: readonly T[]): T[];
}

/** mulberry32: small, fast, and good enough for test data; the same seed gives the same stream. */
export function rng(seed: number): Rng {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r: Rng = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    sign: () => (next() < 0.5 ? -1 : 1),
    pick: (items) => items[Math.floor(next() * items.length)],
    shuffle(items) {
      const a = [...items];
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [a[i], a[j]] = [a[j], a[i]];
      }
      return a;
    },
  };
  return r;
}

export function randomArray(n: number, sample: (i: number) => number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => sample(i));
}

export function along(x: Float64Array, t: Float64Array, s: number): Float64Array {
  return x.map((v, i) => v + s * t[i]);
}

/**
 * Directional derivative of f at s = 0 by the Richardson-extrapolated central difference.
 * f returns any number of arrays; the result has one array per output. With h = 1e-3 and
 * data of size O(1) the error is about 1e-12 relative for smooth f.
 */
export function centralDiff(f: (s: number) => Float64Array[], h: number): Float64Array[] {
  const m2 = f(-2 * h);
  const m1 = f(-h);
  const p1 = f(h);
  const p2 = f(2 * h);
  return p1.map((p, r) => p.map((_, i) => (m2[r][i] - 8 * m1[r][i] + 8 * p1[r][i] - p2[r][i]) / (12 * h)));
}

export function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    if (!Number.isFinite(a) || !Number.isFinite(e)) return Infinity;
    worst = Math.max(worst, Math.abs(a - e) / Math.max(floor, Math.abs(e)));
  }
  return worst;
}

export function inner(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function absInner(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] * b[i]);
  return s;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  }
  return true;
}

const bits = new Float64Array(1);
const ints = new BigInt64Array(bits.buffer);

/** Maps a double to an integer such that adjacent doubles map to adjacent integers (-0 and 0 both to 0). */
function ordinal(x: number): bigint {
  bits[0] = x;
  const i = ints[0];
  return i < 0n ? -(i & 0x7fffffffffffffffn) : i;
}

export function ulpDistance(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const d = ordinal(a) - ordinal(b);
  return Number(d < 0n ? -d : d);
}

export function expectClose(actual: Float64Array, expected: number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    const a = actual[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) return;
    const ok = Number.isFinite(e) && Math.abs(a - e) <= tol * Math.max(1, Math.abs(e));
    expect(ok, `element ${i}: got ${a}, expected ${e}`).toBe(true);
  });
}
