/**
 * P7 by hand: y = tanh(x W) for x [r, k] and a constant W [k, k]: each row of y
 * depends on its own row of x, so the (r k) × (r k) Jacobian is block-diagonal,
 * dy[i, j] / dx[i, p] = (1 - y[i, j]^2) W[p, j]. Allocated per call, as derivd's.
 */
import type { Impl } from './impl.js';

export function rowmap(r: number, k: number): Impl {
  const forward = (x: Float64Array, W: Float64Array): Float64Array => {
    const y = new Float64Array(r * k);
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += x[i * k + p] * W[p * k + j];
        y[i * k + j] = Math.tanh(s);
      }
    }
    return y;
  };
  return {
    primal: ([x, W]) => [forward(x, W)],
    derivative: ([x, W]) => {
      const y = forward(x, W);
      const n = r * k;
      const J = new Float64Array(n * n);
      for (let i = 0; i < r; i++) {
        for (let j = 0; j < k; j++) {
          const g = 1 - y[i * k + j] * y[i * k + j];
          const row = (i * k + j) * n + i * k;
          for (let p = 0; p < k; p++) J[row + p] = g * W[p * k + j];
        }
      }
      return [J];
    },
    work: { bytes: 8 * r * k * r * k },
  };
}
