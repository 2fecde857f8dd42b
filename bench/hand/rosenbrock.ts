/**
 * P3 by hand: L = Σ_i 100 (b_i - a_i^2)^2 + (1 - a_i)^2 with a_i = w[2i], b_i = w[2i+1]
 * (0-based); dL/da = -400 a (b - a^2) - 2 (1 - a), dL/db = 200 (b - a^2).
 * One pass each, the gradient into a buffer kept between calls.
 */
import { type Impl, reused } from './impl.js';

export function rosenbrock(n: number): Impl {
  const gradient = reused();
  return {
    primal: ([w]) => {
      let s = 0;
      for (let i = 0; i < w.length; i += 2) {
        const a = w[i];
        const t = w[i + 1] - a * a;
        const u = 1 - a;
        s += 100 * t * t + u * u;
      }
      return [Float64Array.of(s)];
    },
    derivative: ([w]) => {
      const g = gradient(w.length);
      for (let i = 0; i < w.length; i += 2) {
        const a = w[i];
        const t = w[i + 1] - a * a;
        g[i] = -400 * a * t - 2 * (1 - a);
        g[i + 1] = 200 * t;
      }
      return [g];
    },
    // memory-bound: w read, g written
    work: { bytes: 16 * n },
  };
}
