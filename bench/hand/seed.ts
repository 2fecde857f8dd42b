/**
 * P1 and P2 by hand: r = d - (d·f / f·f) f, f = exp(-1.5 (x - xs)^2), x = -10..10.
 * f' = 3 (x - xs) f, c = d·f / f·f, c' = (d·f' f·f - 2 d·f f·f') / (f·f)^2,
 * dr/dxs = -(c' f + c f'); s = Σ r^2, ds/dxs = 2 Σ r dr/dxs.
 */
import type { Impl } from './impl.js';

/** r into `r` and dr/dxs into `dr` (when given). */
function seed(d: Float64Array, xs: number, r: Float64Array, dr?: Float64Array): void {
  const n = d.length;
  const f = new Float64Array(n);
  let A = 0,
    B = 0,
    Ap = 0,
    Bp = 0; // d·f, f·f, d·f', f·f'
  for (let i = 0; i < n; i++) {
    const t = i - 10 - xs;
    const fi = Math.exp(-1.5 * t * t);
    const fp = 3 * t * fi;
    f[i] = fi;
    A += d[i] * fi;
    B += fi * fi;
    Ap += d[i] * fp;
    Bp += fi * fp;
  }
  const c = A / B;
  const cp = (Ap * B - 2 * A * Bp) / (B * B);
  for (let i = 0; i < n; i++) {
    r[i] = d[i] - c * f[i];
    if (dr) dr[i] = -(cp * f[i] + c * 3 * (i - 10 - xs) * f[i]);
  }
}

export const seedJacobian: Impl = {
  primal: ([d, xs]) => {
    const r = new Float64Array(d.length);
    seed(d, xs[0], r);
    return [r];
  },
  derivative: ([d, xs]) => {
    const r = new Float64Array(d.length);
    const dr = new Float64Array(d.length);
    seed(d, xs[0], r, dr);
    return [dr];
  },
};

export const seedScalar: Impl = {
  primal: ([d, xs]) => {
    const r = new Float64Array(d.length);
    seed(d, xs[0], r);
    let s = 0;
    for (let i = 0; i < r.length; i++) s += r[i] * r[i];
    return [Float64Array.of(s)];
  },
  derivative: ([d, xs]) => {
    const r = new Float64Array(d.length);
    const dr = new Float64Array(d.length);
    seed(d, xs[0], r, dr);
    let g = 0;
    for (let i = 0; i < r.length; i++) g += 2 * r[i] * dr[i];
    return [Float64Array.of(g)];
  },
};
