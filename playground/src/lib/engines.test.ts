import { describe, expect, test } from 'vitest';
import { derivativeNumbers, disagreements, largestPair, maxDisagreement } from './engines.js';

describe('engine disagreement', () => {
  test('the largest difference, absolute and relative to the larger magnitude', () => {
    expect(maxDisagreement([1, 2, 300], [1, 2.5, 303])).toEqual({ abs: 3, rel: 0.5 / 2.5 });
    expect(maxDisagreement([0.001], [0.002]).rel).toBeCloseTo(0.001);
    expect(maxDisagreement([Number.NaN, Number.POSITIVE_INFINITY], [Number.NaN, Number.POSITIVE_INFINITY])).toEqual({ abs: 0, rel: 0 });
    expect(maxDisagreement([0], [Number.POSITIVE_INFINITY]).abs).toBe(Number.POSITIVE_INFINITY);
    expect(maxDisagreement([1], [1, 2]).abs).toBe(Number.POSITIVE_INFINITY);
  });

  test('derivative objects flatten in key order, wire strings included', () => {
    expect(derivativeNumbers({ r: { xs: [1, [2, 'NaN']], d: 3 } })).toEqual([1, 2, Number.NaN, 3]);
  });

  test('each engine against the others', () => {
    expect(disagreements({ forward: [1, 2], reverse: [1, 2], fd: [1.001, 2] })).toEqual({
      forward: expect.closeTo(0.001, 9),
      reverse: expect.closeTo(0.001, 9),
      fd: expect.closeTo(0.001, 9),
    });
  });

  test('the pair that disagrees most', () => {
    expect(largestPair({ forward: [1, 2], reverse: [1.1, 2], fd: [1.5, 2] })).toEqual({ a: 'forward', b: 'fd', abs: 0.5 });
    expect(largestPair({ forward: [1] })).toBeNull();
  });
});
