/**
 * The register-blocked gemm against a plain triple loop summing in the same order:
 * the same bits (NaN, ±Infinity and -0 included), for every stored layout, odd sizes
 * (the blocks' remainders), empty dimensions and offsets into larger buffers.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { gemm } from './gemm.js';

function naive(
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  ao: number,
  ai: number,
  ap: number,
  b: Float64Array,
  bo: number,
  bp: number,
  bj: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ao + i * ai + p * ap] * b[bo + p * bp + j * bj];
      c[i * n + j] = s;
    }
  }
  return c;
}

const value = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, -0) },
);

describe('gemm', () => {
  it('is a triple loop, bit for bit, in every layout', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom('nn', 'nt', 'tn'),
        fc.integer({ min: 0, max: 3 }),
        fc.array(value, { minLength: 200, maxLength: 200 }),
        (m, n, k, layout, off, xs) => {
          const a = Float64Array.from(xs.slice(0, 100));
          const b = Float64Array.from(xs.slice(100));
          const [ai, ap] = layout === 'tn' ? [1, m] : [k, 1];
          const [bp, bj] = layout === 'nt' ? [1, k] : [n, 1];
          const c = new Float64Array(off + m * n + 2).fill(7);
          gemm(m, n, k, a, off, ai, ap, b, off, bp, bj, c, off);
          const want = naive(m, n, k, a, off, ai, ap, b, off, bp, bj);
          for (let i = 0; i < want.length; i++) {
            if (!Object.is(c[off + i], want[i])) throw new Error(`${layout} ${m}×${k}×${n} element ${i}: ${c[off + i]} vs ${want[i]}`);
          }
          // nothing outside C is written
          for (let i = 0; i < off; i++) if (c[i] !== 7) throw new Error(`wrote before C at ${i}`);
          if (c[off + m * n] !== 7 || c[off + m * n + 1] !== 7) throw new Error('wrote after C');
        },
      ),
      { numRuns: 500 },
    );
  });
});
