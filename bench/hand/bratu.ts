/**
 * P6 by hand: the 1-D Bratu residual r_i = u_i - 2 u_{i+1} + u_{i+2} + λ e^{u_{i+1}}
 * (i = 0 .. n - 3), a tridiagonal (n - 2) × n Jacobian: 1, -2 + λ e^{u_{i+1}}, 1.
 * The dense Jacobian is allocated per call, as derivd must allocate the one it returns.
 */
import type { Impl } from './impl.js';

export function bratu(n: number): Impl {
  return {
    primal: ([u, lam]) => {
      const r = new Float64Array(n - 2);
      for (let i = 0; i < n - 2; i++) r[i] = u[i] + u[i + 2] - 2 * u[i + 1] + lam[0] * Math.exp(u[i + 1]);
      return [r];
    },
    derivative: ([u, lam]) => {
      const J = new Float64Array((n - 2) * n);
      for (let i = 0; i < n - 2; i++) {
        const row = i * n;
        J[row + i] = 1;
        J[row + i + 1] = -2 + lam[0] * Math.exp(u[i + 1]);
        J[row + i + 2] = 1;
      }
      return [J];
    },
    work: { bytes: 8 * (n - 2) * n },
  };
}
