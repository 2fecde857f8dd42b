/** Comparison helpers for the client tests. */
import { expect } from 'vitest';

/** Flattens nested number arrays (row-major). */
export function flat(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.flatMap(flat);
  throw new Error(`not a nested number array: ${JSON.stringify(v)}`);
}

/** Every element of `got` within `tol` (absolute, scaled by max(1, |want|)) of `want`. */
export function expectClose(got: unknown, want: readonly number[], tol: number): void {
  const g = flat(got);
  expect(g.length).toBe(want.length);
  for (const [i, w] of want.entries()) {
    const err = Math.abs((g[i] as number) - w) / Math.max(1, Math.abs(w));
    if (!(err <= tol)) expect.fail(`element ${i}: got ${g[i]}, want ${w} (relative error ${err} > ${tol})`);
  }
}
