/**
 * S1 by hand: s = Σ x with a x = b, a [n, n] and b [n] both active. One LU with
 * partial pivoting (row-major, the elimination's inner loop over a contiguous row),
 * then ∂s/∂b = a⁻ᵀ 1 from the same factors (Uᵀ z = 1, Lᵀ w = z, unpermuted) and
 * ∂s/∂a = -(∂s/∂b) xᵀ. derivd has to factor aᵀ again for its reverse solve.
 */
import { type Impl, reused } from './impl.js';

export function solve(n: number): Impl {
  const lu = new Float64Array(n * n);
  const perm = new Int32Array(n);
  const x = new Float64Array(n);
  const w = new Float64Array(n);
  const ga = reused();
  const gb = reused();

  /** lu ← the LU of a (P a = L U), x ← a⁻¹ b. */
  const factorSolve = (a: Float64Array, b: Float64Array): void => {
    lu.set(a);
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let c = 0; c < n; c++) {
      let p = c;
      let best = Math.abs(lu[c * n + c]);
      for (let i = c + 1; i < n; i++) {
        const v = Math.abs(lu[i * n + c]);
        if (v > best) {
          best = v;
          p = i;
        }
      }
      const rc = c * n;
      if (p !== c) {
        const rp = p * n;
        for (let j = 0; j < n; j++) {
          const t = lu[rc + j];
          lu[rc + j] = lu[rp + j];
          lu[rp + j] = t;
        }
        const t = perm[c];
        perm[c] = perm[p];
        perm[p] = t;
      }
      const pivot = lu[rc + c];
      for (let i = c + 1; i < n; i++) {
        const ri = i * n;
        const l = lu[ri + c] / pivot;
        lu[ri + c] = l;
        for (let j = c + 1; j < n; j++) lu[ri + j] -= l * lu[rc + j];
      }
    }
    for (let i = 0; i < n; i++) {
      let s = b[perm[i]];
      for (let p = 0; p < i; p++) s -= lu[i * n + p] * x[p];
      x[i] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i];
      for (let p = i + 1; p < n; p++) s -= lu[i * n + p] * x[p];
      x[i] = s / lu[i * n + i];
    }
  };

  return {
    primal([a, b]) {
      factorSolve(a, b);
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i];
      return [Float64Array.of(s)];
    },
    derivative([a, b]) {
      factorSolve(a, b);
      // aᵀ = Uᵀ Lᵀ P: Uᵀ z = 1 (forward), Lᵀ w = z (back), ∂s/∂b = Pᵀ w
      for (let i = 0; i < n; i++) {
        let s = 1;
        for (let p = 0; p < i; p++) s -= lu[p * n + i] * w[p];
        w[i] = s / lu[i * n + i];
      }
      for (let i = n - 1; i >= 0; i--) {
        let s = w[i];
        for (let p = i + 1; p < n; p++) s -= lu[p * n + i] * w[p];
        w[i] = s;
      }
      const bBar = gb(n);
      for (let i = 0; i < n; i++) bBar[perm[i]] = w[i];
      const aBar = ga(n * n);
      for (let i = 0; i < n; i++) {
        const g = -bBar[i];
        for (let j = 0; j < n; j++) aBar[i * n + j] = g * x[j];
      }
      return [aBar, bBar];
    },
    work: { flops: (2 * n * n * n) / 3 + 4 * n * n },
  };
}
