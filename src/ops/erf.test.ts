/**
 * erf (a port of fdlibm's s_erf.c) against reference values, one or more in every
 * branch of the implementation and on both sides of each branch boundary.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ulpDistance } from '../../test/helpers/numeric.js';
import { ERF_ULPS } from '../../test/helpers/tolerances.js';
import { erf } from './erf.js';

/**
 * [x, erf(x)] from CPython 3.11's math.erf (glibc's erf, within 1 ulp), printed with
 * repr so every digit round-trips:
 *   python3 -c 'import math; print(repr(math.erf(x)))'
 * Boundary neighbours came from math.nextafter and from struct-packing the high words
 * fdlibm compares against (0x3e300000 = 2^-28, 0x4006db6e ≈ 1/0.35). Cross-checked with
 * mpmath.erf at 200 bits: identical (correctly rounded) everywhere except ±1.25, where
 * the correctly rounded value is one ulp larger (0.9229001282564583).
 */
const REFERENCE: [number, number][] = [
  [0.0, 0.0], // zero
  [-0.0, -0.0], // negative zero
  [5e-324, 5e-324], // least subnormal: the underflow-avoiding branch
  [1e-310, 1.1283791670955e-310], // subnormal
  [1e-307, 1.1283791670955124e-307], // below 2^-1015: underflow-avoiding branch
  [1e-300, 1.1283791670955126e-300], // tiny: x + efx·x
  [-1e-300, -1.1283791670955126e-300], // tiny, negative
  [1e-10, 1.1283791670955126e-10], // tiny
  [-1e-10, -1.1283791670955126e-10], // tiny, negative
  [3.7252902984619136e-9, 4.203539964167447e-9], // just below 2^-28: last tiny
  [3.725290298461914e-9, 4.203539964167448e-9], // 2^-28: first of the rational branch
  [1e-8, 1.1283791670955126e-8], // rational branch on [2^-28, 0.84375)
  [0.3, 0.3286267594591274],
  [-0.3, -0.3286267594591274],
  [0.5, 0.5204998778130465],
  [0.8437499999999999, 0.7672256612323416], // last below the 0.84375 boundary
  [0.84375, 0.7672256612323416], // 0.84375: first of [0.84375, 1.25)
  [-0.84375, -0.7672256612323416],
  [0.8437500000000001, 0.7672256612323417],
  [1.0, 0.8427007929497149],
  [-1.0, -0.8427007929497149],
  [1.2499999999999998, 0.9229001282564582], // last below the 1.25 boundary
  [1.25, 0.9229001282564582], // 1.25: first of [1.25, 1/0.35)
  [-1.25, -0.9229001282564582],
  [2.0, 0.9953222650189527],
  [-2.0, -0.9953222650189527],
  [2.857142857142857, 0.9999466876886117], // 1/0.35, still below the switch
  [-2.857142857142857, -0.9999466876886117],
  [2.857143402099609, 0.9999466878638202], // last below high word 0x4006db6e
  [2.8571434020996094, 0.9999466878638202], // high word 0x4006db6e: first of [1/0.35, 6)
  [3.0, 0.9999779095030014],
  [-3.0, -0.9999779095030014],
  [5.0, 0.9999999999984626],
  [5.9, 0.9999999999999999],
  [-5.9, -0.9999999999999999],
  [5.999999999999999, 1.0], // last below 6
  [6.0, 1.0], // 6: ±1 from here on
  [-6.0, -1.0],
  [10.0, 1.0],
  [30.0, 1.0],
  [-30.0, -1.0],
  [1e300, 1.0],
];

describe('erf', () => {
  it.each(REFERENCE)(`erf(%s) = %s within ${ERF_ULPS} ulps`, (x, want) => {
    const got = erf(x);
    expect(ulpDistance(got, want), `erf(${x}) = ${got}`).toBeLessThanOrEqual(ERF_ULPS);
    // the sign, and so the sign of zero, is exact
    expect(Math.sign(got)).toBe(Math.sign(want));
    expect(Object.is(got, -0)).toBe(Object.is(want, -0));
  });

  it('is ±1 at ±Infinity and NaN at NaN', () => {
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
  });

  it('is odd: erf(-x) = -erf(x) exactly', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.double({ min: -7, max: 7 })), (x) => {
        expect(Object.is(erf(-x), -erf(x))).toBe(true);
      }),
      { seed: 0x5eed, numRuns: 2000 },
    );
  });

  it('is bounded by ±1 and non-decreasing', () => {
    fc.assert(
      fc.property(fc.double({ min: -7, max: 7, noNaN: true }), fc.double({ min: -7, max: 7, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(Math.abs(erf(a))).toBeLessThanOrEqual(1);
        expect(erf(lo)).toBeLessThanOrEqual(erf(hi));
      }),
      { seed: 0x5eed, numRuns: 2000 },
    );
  });
});
