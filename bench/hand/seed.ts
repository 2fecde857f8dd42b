/**
 * P1 and P2 by hand: r = d - (d·f / f·f) f, f = exp(-1.5 (x - xs)^2), x = -10..10.
 * f' = 3 (x - xs) f, c = d·f / f·f, c' = (d·f' f·f - 2 d·f f·f') / (f·f)^2,
 * dr/dxs = -(c' f + c f'); s = Σ r^2, ds/dxs = 2 Σ r dr/dxs.
 * One pass for the dot products, one for the result, into buffers kept between calls.
 */
import { type Impl, reused } from './impl.js';

function seed(d: Float64Array, xs: number, f: Float64Array, r: Float64Array | null, dr: Float64Array | null): void {
  const n = d.length;
  let A = 0;
  let B = 0;
  let Ap = 0;
  let Bp = 0; // d·f, f·f, d·f', f·f'
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
    const fi = f[i];
    if (r) r[i] = d[i] - c * fi;
    if (dr) dr[i] = -(cp * fi + c * 3 * (i - 10 - xs) * fi);
  }
}

/** d·d - 2 c d·f + c² f·f = Σ r², and its derivative, without r: the scalar variant's fused form. */
function seedScalarOf(d: Float64Array, xs: number, f: Float64Array, r: Float64Array, dr: Float64Array | null): number {
  seed(d, xs, f, r, dr);
  let s = 0;
  if (dr === null) {
    for (let i = 0; i < r.length; i++) s += r[i] * r[i];
    return s;
  }
  for (let i = 0; i < r.length; i++) s += 2 * r[i] * dr[i];
  return s;
}

/** 21 points: about 30 flops each for the dots and the result, plus exp. */
const SEED_FLOPS = 21 * 30;

export function seedJacobian(): Impl {
  const [f, r, dr] = [reused(), reused(), reused()];
  return {
    primal: ([d, xs]) => {
      const out = r(d.length);
      seed(d, xs[0], f(d.length), out, null);
      return [out];
    },
    derivative: ([d, xs]) => {
      const out = dr(d.length);
      seed(d, xs[0], f(d.length), null, out);
      return [out];
    },
    work: { flops: SEED_FLOPS },
  };
}

export function seedScalar(): Impl {
  const [f, r, dr] = [reused(), reused(), reused()];
  return {
    primal: ([d, xs]) => [Float64Array.of(seedScalarOf(d, xs[0], f(d.length), r(d.length), null))],
    derivative: ([d, xs]) => [Float64Array.of(seedScalarOf(d, xs[0], f(d.length), r(d.length), dr(d.length)))],
    work: { flops: SEED_FLOPS + 21 * 3 },
  };
}
