/**
 * P4 by hand: H = W1 X, A = tanh H, E = W2 A - Y, L = Σ E^2 (W1 [h, k], W2 [o, h],
 * X [k, m], Y [o, m]). Backward: G = 2E, dW2 = G Aᵀ, dH = (W2ᵀ G) ⊙ (1 - A^2), dW1 = dH Xᵀ.
 */
import type { Impl } from './impl.js';

/** C[r, c] = Σ_k A[r, k] B[k, c] (row-major, C of rows × cols, inner k). */
function matmul(a: Float64Array, b: Float64Array, rows: number, inner: number, cols: number): Float64Array {
  const c = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < inner; k++) {
      const av = a[r * inner + k];
      const bo = k * cols;
      const co = r * cols;
      for (let j = 0; j < cols; j++) c[co + j] += av * b[bo + j];
    }
  }
  return c;
}

export function net(h: number, k: number, o: number, m: number): Impl {
  const forward = (W1: Float64Array, W2: Float64Array, X: Float64Array, Y: Float64Array) => {
    const A = matmul(W1, X, h, k, m);
    for (let i = 0; i < A.length; i++) A[i] = Math.tanh(A[i]);
    const E = matmul(W2, A, o, h, m);
    let L = 0;
    for (let i = 0; i < E.length; i++) {
      E[i] -= Y[i];
      L += E[i] * E[i];
    }
    return { A, E, L };
  };
  return {
    primal: ([W1, W2, X, Y]) => [Float64Array.of(forward(W1, W2, X, Y).L)],
    derivative: ([W1, W2, X, Y]) => {
      const { A, E } = forward(W1, W2, X, Y);
      const dW2 = new Float64Array(o * h); // Σ_j 2 E[q, j] A[p, j]
      const dH = new Float64Array(h * m); // Σ_q W2[q, p] 2 E[q, j]
      for (let q = 0; q < o; q++) {
        for (let p = 0; p < h; p++) {
          const w = 2 * W2[q * h + p];
          let s = 0;
          for (let j = 0; j < m; j++) {
            const e = E[q * m + j];
            s += e * A[p * m + j];
            dH[p * m + j] += w * e;
          }
          dW2[q * h + p] = 2 * s;
        }
      }
      for (let i = 0; i < dH.length; i++) dH[i] *= 1 - A[i] * A[i];
      const dW1 = new Float64Array(h * k); // Σ_j dH[p, j] X[r, j]
      for (let p = 0; p < h; p++) {
        for (let r = 0; r < k; r++) {
          let s = 0;
          for (let j = 0; j < m; j++) s += dH[p * m + j] * X[r * m + j];
          dW1[p * k + r] = s;
        }
      }
      return [dW1, dW2];
    },
  };
}
