/**
 * Checks the hand-written derivatives against finite differences of the hand-written
 * primal: every component by central fd when there are at most 1e3 active elements;
 * beyond, 32 sampled components and one pseudo-random direction, each by
 * Richardson-extrapolated central fd.
 */
import type { Problem } from '../problems.js';
import { type Impl, kept } from './impl.js';

/** max |got - ref| / max(1, max |ref|) over all blocks; NaN if any difference is NaN. */
export function maxRelError(got: readonly ArrayLike<number>[], ref: readonly ArrayLike<number>[]): number {
  let err = 0;
  let scale = 1;
  ref.forEach((r, b) => {
    if (got[b]?.length !== r.length) err = NaN;
    for (let k = 0; k < r.length; k++) {
      const d = Math.abs(got[b]?.[k] - r[k]);
      err = Number.isNaN(d) || Number.isNaN(err) ? NaN : Math.max(err, d);
      scale = Math.max(scale, Math.abs(r[k]));
    }
  });
  return err / scale;
}

export interface HandCheck {
  method: string;
  maxRelError: number;
}

export function checkHand(p: Problem, impl: Impl): HandCheck {
  const args = p.args.map((t) => t.data);
  // copies: an implementation writes its results into buffers it reuses
  const ref = kept(impl.derivative(args));
  const outSizes = impl.primal(args).map((o) => o.length);
  const inSizes = p.active.map((i) => args[i].length);
  const nA = p.active.length;
  /** Central difference of every output along v (one Float64Array per active input): (F(x + h v) - F(x - h v)) / 2h. */
  const central = (v: Float64Array[], h: number): number[][] => {
    const at = (t: number) =>
      kept(impl.primal(args.map((a, i) => (p.active.includes(i) ? a.map((x, j) => x + t * v[p.active.indexOf(i)][j]) : a))));
    const [fp, fm] = [at(h), at(-h)];
    return fp.map((o, k) => Array.from(o, (y, i) => (y - fm[k][i]) / (2 * h)));
  };
  const richardson = (v: Float64Array[], h: number): number[][] => {
    const [d1, d2] = [central(v, h), central(v, h / 2)];
    return d1.map((o, k) => o.map((y, i) => (4 * d2[k][i] - y) / 3));
  };
  /** J v, per output, from the hand-written blocks (or the reference's own product, for a coo result). */
  const jv = (v: Float64Array[]): number[][] =>
    impl.jv?.(ref, v) ??
    outSizes.map((m, o) =>
      Array.from({ length: m }, (_, i) =>
        v.reduce((s, vi, ai) => {
          const block = ref[o * nA + ai];
          for (let j = 0; j < vi.length; j++) if (vi[j] !== 0) s += block[i * vi.length + j] * vi[j];
          return s;
        }, 0),
      ),
    );
  const unit = (ai: number, j: number): Float64Array[] =>
    inSizes.map((n, a) => {
      const v = new Float64Array(n);
      if (a === ai) v[j] = 1;
      return v;
    });

  const total = inSizes.reduce((a, b) => a + b, 0);
  const comps: [number, number][] = [];
  if (total <= 1e3) {
    inSizes.forEach((n, ai) => {
      for (let j = 0; j < n; j++) comps.push([ai, j]);
    });
  } else {
    for (let k = 0; k < 32; k++) {
      const flat = Math.floor(((k * 0.6180339887498949) % 1) * total);
      let ai = 0,
        j = flat;
      while (j >= inSizes[ai]) j -= inSizes[ai++];
      comps.push([ai, j]);
    }
  }
  let err = 0;
  let scale = 1;
  const compare = (got: number[][], want: number[][]) =>
    want.forEach((o, k) => {
      o.forEach((w, i) => {
        err = Math.max(err, Math.abs(got[k][i] - w));
        scale = Math.max(scale, Math.abs(w));
      });
    });
  const big = total > 1e3;
  for (const [ai, j] of comps) {
    const x = Math.max(1, Math.abs(args[p.active[ai]][j]));
    const v = unit(ai, j);
    compare(big ? richardson(v, 1e-3 * x) : central(v, Math.cbrt(2.220446049250313e-16) * x), jv(v));
  }
  if (big) {
    const v = inSizes.map((n, ai) => Float64Array.from({ length: n }, (_, j) => Math.sin(1.7 * j + ai + 0.5)));
    const xmax = Math.max(1, ...p.active.map((i) => args[i].reduce((m, x) => Math.max(m, Math.abs(x)), 0)));
    compare(richardson(v, 1e-3 * xmax), jv(v));
  }
  return {
    method: big
      ? `${comps.length} sampled components + 1 direction, Richardson fd`
      : `all ${comps.length} component${comps.length === 1 ? '' : 's'}, central fd`,
    maxRelError: err / scale,
  };
}
