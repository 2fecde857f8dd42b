/**
 * The closeness assertion every numeric test relies on (test/helpers/numeric.ts
 * expectClose) fails where it must: a helper that passes everything would make
 * every test that uses it pass vacuously.
 */
import { describe, expect, test } from 'vitest';
import { expectClose } from './helpers/numeric.js';

/** The message expectClose fails with, or undefined when it passes. */
function failure(run: () => void): string | undefined {
  try {
    run();
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

describe('expectClose', () => {
  test('passes within tol · max(1, |e|) per element, and fails just outside it', () => {
    expect(failure(() => expectClose([1 + 1e-10, 1e3 + 1e-7, 1e-9], [1, 1e3, 0], 1e-9))).toBeUndefined();
    expect(failure(() => expectClose([1e3 + 2e-6], [1e3], 1e-9))).toMatch(/element 0: got 1000.000002, expected 1000/);
    expect(failure(() => expectClose([2e-9], [0], 1e-9))).toMatch(/element 0/);
  });

  test('floor 0 is purely relative; a number or "max" scale is norm-wise', () => {
    expect(failure(() => expectClose([1e-20 * (1 + 1e-14)], [1e-20], 1e-13, { floor: 0 }))).toBeUndefined();
    expect(failure(() => expectClose([1.1e-20], [1e-20], 1e-13, { floor: 0 }))).toMatch(/element 0/);
    // element 1 is off by 1e-9 relative to itself, but within 1e-9 · max|e| = 1e-9 · 100
    expect(failure(() => expectClose([100, 1.5e-8], [100, 1e-8], 1e-9, { scale: 'max' }))).toBeUndefined();
    expect(failure(() => expectClose([100, 1e-6], [100, 1e-8], 1e-9, { scale: 'max' }))).toMatch(/element 1/);
    expect(failure(() => expectClose([5], [5 + 1e-7], 1e-9, { scale: 1e3 }))).toBeUndefined();
  });

  test('tol 0 is the same bits: -0 is not 0, NaN is NaN', () => {
    expect(failure(() => expectClose([NaN, -0, Infinity], [NaN, -0, Infinity], 0))).toBeUndefined();
    expect(failure(() => expectClose([-0], [0], 0))).toMatch(/got -0, expected 0 \(tolerance 0/);
    expect(failure(() => expectClose([1 + Number.EPSILON], [1], 0))).toMatch(/element 0/);
    // with a tolerance, the zeros are alike
    expect(failure(() => expectClose([-0], [0], 1e-15))).toBeUndefined();
  });

  test('non-finite values and non-numbers must match exactly, whatever the tolerance', () => {
    expect(failure(() => expectClose([NaN], [1], 1))).toMatch(/not finite/);
    expect(failure(() => expectClose([1], [NaN], 1))).toMatch(/not finite/);
    expect(failure(() => expectClose([Infinity], [-Infinity], 1))).toMatch(/not finite/);
    expect(failure(() => expectClose([Infinity], [1e308], 1))).toMatch(/not finite/);
    expect(failure(() => expectClose(['NaN' as unknown as number], [NaN], 1))).toMatch(/not a number/);
  });

  test('an empty, short or long result fails against the expected length', () => {
    expect(failure(() => expectClose([], [1], 1))).toMatch(/0 elements, expected 1/);
    expect(failure(() => expectClose(new Float64Array(2), [0, 0, 0], 1))).toMatch(/2 elements, expected 3/);
    expect(failure(() => expectClose([0, 0], [0], 1))).toMatch(/2 elements, expected 1/);
  });

  test('nested arrays are flattened; the message names the label, the count and the worst element', () => {
    expect(
      failure(() =>
        expectClose(
          [
            [1, 2],
            [3, 4],
          ],
          Float64Array.of(1, 2, 3, 4),
          0,
        ),
      ),
    ).toBeUndefined();
    const msg = failure(() =>
      expectClose(
        [
          [1, 2.1],
          [3.5, 4],
        ],
        [
          [1, 2],
          [3, 4],
        ],
        1e-3,
        'block d/dx',
      ),
    );
    expect(msg).toMatch(/^block d\/dx: 2 of 4 elements out of tolerance; worst is element 2: got 3.5, expected 3 /);
  });
});
