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
 *   inner(a, b), absInner(a, b)    Σ aᵢbᵢ and Σ |aᵢbᵢ|
 *   maxAbs(a)                      max |aᵢ| (0 for an empty array)
 *   ulpDistance(a, b)              how many doubles lie between a and b (0 when equal; Infinity when
 *                                  one is NaN and the other is not)
 *   expectClose(actual, expected, tol, { label, scale, floor })
 *                                  THE closeness assertion of the suite (see its comment): every
 *                                  element the same double, or within tol · max(floor, s) with
 *                                  s = |expected| per element by default; tol = 0 means the same
 *                                  bits. A failure names the worst element.
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

/** Plain numbers, typed arrays and nested arrays of them (flattened row-major). */
export type Numbers = number | ArrayLike<number> | readonly Numbers[];

export interface CloseOptions {
  /** What is compared: the failure message starts with it. */
  label?: string;
  /**
   * s in the bound below: 'element' (the default) is |eᵢ| for each element, 'max' is
   * max |eⱼ| over the finite expected elements (a norm-wise bound), a number is that
   * scale for every element (say Σ|Jᵢⱼ tⱼ| for a product that cancels).
   */
  scale?: 'element' | 'max' | number;
  /** The bound is tol · max(floor, s): 1 by default (relative above 1, absolute below); 0 for purely relative. */
  floor?: number;
}

function flatNumbers(x: Numbers): unknown[] {
  if (typeof x !== 'object' || x === null) return [x]; // a number, or what should have been one
  if (Array.isArray(x)) return x.flatMap((v: Numbers) => flatNumbers(v));
  return Array.from(x as ArrayLike<number>);
}

const show = (v: unknown): string => (Object.is(v, -0) ? '-0' : typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v)));

/**
 * The one closeness assertion. Element i of `actual` passes when it is
 *   - the same double as eᵢ (Object.is: NaN matches NaN, -0 does not match 0), or
 *   - tol > 0, both are finite numbers, and |aᵢ − eᵢ| ≤ tol · max(floor, s)
 *     (s and floor as in CloseOptions: by default |aᵢ − eᵢ| ≤ tol · max(1, |eᵢ|)).
 * So tol = 0 asks for the same bits, and ±Infinity and NaN always have to match
 * exactly. Nested arrays are compared flattened, after a length check (so an empty
 * result never passes against a non-empty expectation). On failure the message
 * names the worst element (the largest |aᵢ − eᵢ| / max(floor, s); a non-finite or
 * non-number mismatch is worst) and how many elements failed.
 */
export function expectClose(actual: Numbers, expected: Numbers, tol: number, opts: CloseOptions | string = {}): void {
  const { label = 'values', scale = 'element', floor = 1 } = typeof opts === 'string' ? { label: opts } : opts;
  const a = flatNumbers(actual);
  const e = flatNumbers(expected) as number[];
  if (a.length !== e.length) expect.fail(`${label}: ${a.length} elements, expected ${e.length}`);
  let norm = typeof scale === 'number' ? scale : 0;
  if (scale === 'max') for (const v of e) if (Number.isFinite(v)) norm = Math.max(norm, Math.abs(v));
  const denominator = (ei: number): number => Math.max(floor, scale === 'element' ? Math.abs(ei) : norm);
  let failed = 0;
  let worst = -1;
  let worstErr = -1;
  for (let i = 0; i < e.length; i++) {
    const ai = a[i];
    const ei = e[i];
    if (Object.is(ai, ei)) continue;
    // err is Infinity for what no tolerance admits: a non-number, or a non-finite value that is not the same
    const finite = typeof ai === 'number' && Number.isFinite(ai) && Number.isFinite(ei);
    const diff = finite ? Math.abs((ai as number) - ei) : Infinity;
    const err = !finite ? Infinity : diff === 0 ? 0 : diff / denominator(ei);
    if (tol > 0 && err <= tol) continue;
    failed++;
    if (err > worstErr) {
      worst = i;
      worstErr = err;
    }
  }
  if (failed > 0) {
    const ai = a[worst];
    const ei = e[worst];
    const why =
      typeof ai !== 'number'
        ? 'not a number'
        : !Number.isFinite(ai) || !Number.isFinite(ei)
          ? 'not finite: must match exactly'
          : tol === 0
            ? 'tolerance 0: the same double was expected'
            : `|a − e| = ${show(Math.abs(ai - ei))} > ${tol} · ${show(denominator(ei))}`;
    expect.fail(
      `${label}: ${failed} of ${e.length} elements out of tolerance; worst is element ${worst}: got ${show(ai)}, expected ${show(ei)} (${why})`,
    );
  }
  expect(failed).toBe(0);
}
