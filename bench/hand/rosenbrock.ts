/**
 * P3 by hand: L = Σ_i 100 (b_i - a_i^2)^2 + (1 - a_i)^2 with a_i = w[2i], b_i = w[2i+1]
 * (0-based); dL/da = -400 a (b - a^2) - 2 (1 - a), dL/db = 200 (b - a^2).
 */
import type { Impl } from './impl.js';

export const rosenbrock: Impl = {
  primal: ([w]) => {
    let s = 0;
    for (let i = 0; i < w.length; i += 2) {
      const a = w[i];
      const t = w[i + 1] - a * a;
      s += 100 * t * t + (1 - a) * (1 - a);
    }
    return [Float64Array.of(s)];
  },
  derivative: ([w]) => {
    const g = new Float64Array(w.length);
    for (let i = 0; i < w.length; i += 2) {
      const a = w[i];
      const t = w[i + 1] - a * a;
      g[i] = -400 * a * t - 2 * (1 - a);
      g[i + 1] = 200 * t;
    }
    return [g];
  },
};
