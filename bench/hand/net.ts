/**
 * P4 by hand: H = W1 X, A = tanh H, E = W2 A - Y, L = Σ E^2 (W1 [h, k], W2 [o, h],
 * X [k, m], Y [o, m]). Backward: G = 2E, dW2 = G Aᵀ, dH = (W2ᵀ G) ⊙ (1 - A^2), dW1 = dH Xᵀ.
 * Every product by derivd's gemm (src/ops/gemm.ts: WebAssembly SIMD where it pays, else the
 * register-blocked JS kernel), every buffer kept between calls.
 */
// the same gemm derivd's matmul runs (its correctness is the fd check's business here)
import { gemm } from '../../src/ops/gemm.js';
import { type Impl, reused } from './impl.js';

export function net(h: number, k: number, o: number, m: number): Impl {
  const [bufA, bufE, bufDH, bufDW1, bufDW2] = [reused(), reused(), reused(), reused(), reused()];
  const forward = (W1: Float64Array, W2: Float64Array, X: Float64Array, Y: Float64Array) => {
    const A = bufA(h * m);
    gemm(h, m, k, W1, 0, k, 1, X, 0, m, 1, A, 0); // W1 X
    for (let i = 0; i < A.length; i++) A[i] = Math.tanh(A[i]);
    const E = bufE(o * m);
    gemm(o, m, h, W2, 0, h, 1, A, 0, m, 1, E, 0); // W2 A
    let L = 0;
    for (let i = 0; i < E.length; i++) {
      const e = E[i] - Y[i];
      E[i] = 2 * e; // G = 2E, what the backward pass needs
      L += e * e;
    }
    return { A, G: E, L };
  };
  return {
    primal: ([W1, W2, X, Y]) => [Float64Array.of(forward(W1, W2, X, Y).L)],
    derivative: ([W1, W2, X, Y]) => {
      const { A, G } = forward(W1, W2, X, Y);
      const dW2 = bufDW2(o * h);
      gemm(o, h, m, G, 0, m, 1, A, 0, 1, m, dW2, 0); // G Aᵀ
      const dH = bufDH(h * m);
      gemm(h, m, o, W2, 0, 1, h, G, 0, m, 1, dH, 0); // W2ᵀ G
      for (let i = 0; i < dH.length; i++) dH[i] *= 1 - A[i] * A[i];
      const dW1 = bufDW1(h * k);
      gemm(h, k, m, dH, 0, m, 1, X, 0, 1, m, dW1, 0); // dH Xᵀ
      return [dW1, dW2];
    },
    // the five products, 2 flops per multiply-add
    work: { flops: 2 * (2 * h * k * m + 3 * o * h * m) },
  };
}
