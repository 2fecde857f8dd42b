/**
 * Reductions over a set of axes (NumPy's axis tuple and keepdims). Every kernel
 * walks its input once in row-major order with a map from each element to its
 * group (output element), so no kernel needs its own index arithmetic.
 *
 * Each derivative is linear in the argument's tangent through one per-element
 * "link" L (broadcast, scale, multiply by a partial, or select):
 *     ẏ = sum(L(ẋ)); x̄ = L(ȳ reshaped to the keepdims shape)
 * prod's partial is the product of the other elements, formed without division
 * so zeros work; max and min send everything to the first winner of each group
 * (a NaN wins), by selection rather than multiplication by a mask.
 */
import { z } from 'zod';
import { reductionGroups } from '../tensor/broadcast.js';
import { formatShape, normaliseAxis, sameShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { zmulScalar as zm } from './binary.js';
import { OpError, type OpDef, type RuleCtx, type ValueId } from './types.js';
import type { GroupAttrs, OpAttrs, OpNameWith, ReduceAttrs, WinnerAttrs } from './vocabulary.js';

/** Writes the reduction of each group of x (group of x[i] is g[i]) into out; n = elements per group. */
type Fold = (x: Float64Array, g: Int32Array, out: Float64Array, n: number) => void;
/** The per-element link from an argument-shaped or keepdims-shaped value to argument-shaped terms. */
type Link = (ctx: RuleCtx<ReduceAttrs>, t: ValueId) => ValueId;

/** Validates wire axes against a rank: all axes when omitted, negatives normalised, sorted ascending. */
export function prepareAxes(axes: readonly number[] | undefined, rank: number, attr = 'axes'): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const out: number[] = [];
  for (const a of axes) {
    const n = normaliseAxis(a, rank);
    if (n < 0) throw new OpError(`axis ${a} is out of range for rank ${rank}`, undefined, attr);
    if (out.includes(n)) throw new OpError(`axes ${formatShape(axes)} name axis ${n} twice`, undefined, attr);
    out.push(n);
  }
  return out.sort((a, b) => a - b);
}

export function reducedShape(s: Shape, axes: readonly number[], keepdims: boolean): Shape {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (!axes.includes(i)) out.push(s[i]);
    else if (keepdims) out.push(1);
  }
  return out;
}

/**
 * The group (flat output index) of every element of an array of shape s, and the
 * number of groups. Kept per shape and axes (kernels run many times on the same
 * shapes), up to a bound.
 */
const groupCache = new Map<string, { index: Int32Array; count: number }>();
const GROUP_CACHE_ENTRIES = 256;

function groups(s: Shape, axes: readonly number[]): { index: Int32Array; count: number } {
  const key = `${s.join(',')}|${axes.join(',')}`;
  let g = groupCache.get(key);
  if (g === undefined) {
    g = reductionGroups(s, axes);
    if (groupCache.size >= GROUP_CACHE_ENTRIES) groupCache.delete(groupCache.keys().next().value as string);
    groupCache.set(key, g);
  }
  return g;
}

/** Every element in group 0: a reduction to one value needs no group map. */
const oneGroups = new Map<number, Int32Array>();
function oneGroup(n: number): Int32Array {
  let g = oneGroups.get(n);
  if (g === undefined) {
    g = new Int32Array(n);
    if (oneGroups.size >= GROUP_CACHE_ENTRIES) oneGroups.delete(oneGroups.keys().next().value as number);
    oneGroups.set(n, g);
  }
  return g;
}

function groupSize(s: Shape, axes: readonly number[]): number {
  let n = 1;
  for (const a of axes) n *= s[a];
  return n;
}

const keepShape = (ctx: RuleCtx<ReduceAttrs>): Shape => reducedShape(ctx.inShapes[0], ctx.attrs.axes, true);

function reduction<N extends OpNameWith<ReduceAttrs>>(name: N, fold: Fold, link: Link): OpDef<N> {
  return {
    name,
    arity: 1,
    attrs: { axes: z.array(z.number().int()).optional(), keepdims: z.boolean().optional() },
    prepare: (wire: { axes?: number[]; keepdims?: boolean }, s) => ({
      axes: prepareAxes(wire.axes, s[0].length),
      keepdims: wire.keepdims ?? false,
    }),
    shape: (s, { axes, keepdims }) => reducedShape(s[0], axes, keepdims),
    kernel: (ins, s, out, _os, { axes }) =>
      fold(ins[0], out.length === 1 ? oneGroup(ins[0].length) : groups(s[0], axes).index, out, groupSize(s[0], axes)),
    work: (s) => sizeOf(s[0]),
    // each output element from its group
    sparsity([s], _os, { axes }, dep) {
      const g = groups(s, axes).index;
      for (let i = 0; i < g.length; i++) dep(g[i], 0, i);
    },
    jvp(ctx, [xDot]) {
      return xDot === null ? null : ctx.e.sum(link(ctx, xDot), ctx.attrs.axes, ctx.attrs.keepdims);
    },
    vjp(ctx, yBar, [wanted]) {
      return [wanted ? link(ctx, ctx.e.reshape(yBar, keepShape(ctx))) : null];
    },
  };
}

function sumFold(x: Float64Array, g: Int32Array, out: Float64Array): void {
  if (out.length === 1) {
    // the common full reduction: one accumulator, no group lookups
    let acc = 0;
    for (let i = 0; i < x.length; i++) acc += x[i];
    out[0] = acc;
    return;
  }
  out.fill(0);
  for (let i = 0; i < x.length; i++) out[g[i]] += x[i];
}

/**
 * sum over a batch of k entries (its one argument is batched): each entry summed as
 * sumFold sums it alone, in the same order, without a view or a call per entry.
 */
function sumBatch(
  [x]: readonly Float64Array[],
  [s]: readonly Shape[],
  _batched: readonly boolean[],
  k: number,
  out: Float64Array,
  _outShape: Shape,
  { axes }: ReduceAttrs,
): void {
  const n = sizeOf(s);
  const m = out.length / k;
  if (m === 1) {
    for (let e = 0; e < k; e++) {
      let acc = 0;
      for (let i = e * n; i < (e + 1) * n; i++) acc += x[i];
      out[e] = acc;
    }
    return;
  }
  const g = groups(s, axes).index;
  out.fill(0);
  for (let e = 0; e < k; e++) {
    const at = e * m;
    const from = e * n;
    for (let i = 0; i < n; i++) out[at + g[i]] += x[from + i];
  }
}

/** Group maxima (sign 1) or minima (sign -1); a NaN, once in, stays. */
function extremeFold(sign: 1 | -1): Fold {
  return (x, g, out) => {
    out.fill(-sign * Infinity);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const k = g[i];
      if (sign * v > sign * out[k] || Number.isNaN(v)) out[k] = v;
    }
  };
}

const maxFold = extremeFold(1);

/** log Σ e^x as m + log Σ e^(x - m) with m the group max; an infinite or NaN max is the answer itself. */
function logsumexpFold(x: Float64Array, g: Int32Array, out: Float64Array, n: number): void {
  maxFold(x, g, out, n);
  const acc = new Float64Array(out.length);
  for (let i = 0; i < x.length; i++) {
    const m = out[g[i]];
    if (Number.isFinite(m)) acc[g[i]] += Math.exp(x[i] - m);
  }
  for (let k = 0; k < out.length; k++) if (Number.isFinite(out[k])) out[k] += Math.log(acc[k]);
}

/** ∂y/∂x for prod: the product of the other elements of each group. */
const prodOthers: Link = ({ e, xs, attrs }, t) => e.zmul(e.apply('prod_others', [xs[0]], { axes: attrs.axes }), t);

function winner(kind: 'max' | 'min'): Link {
  return ({ e, xs, attrs }, t) => e.where(e.apply('first_winner', [xs[0]], { axes: attrs.axes, kind }), t, e.literal(0));
}

/** Internal ops the rules emit: their output has the argument's shape. */
function groupwise<N extends OpNameWith<GroupAttrs> | OpNameWith<WinnerAttrs>>(
  name: N,
  arity: number,
  kernel: (ins: readonly Float64Array[], g: Int32Array, count: number, out: Float64Array, attrs: OpAttrs[N]) => void,
): OpDef<N> {
  return {
    name,
    arity,
    attrs: {},
    internal: true,
    shape(s) {
      for (let i = 1; i < s.length; i++) {
        if (!sameShape(s[i], s[0])) {
          throw new OpError(`${name}: shape ${formatShape(s[i])} differs from ${formatShape(s[0])}`, i);
        }
      }
      return s[0];
    },
    kernel(ins, s, out, _os, attrs) {
      const { index, count } = groups(s[0], attrs.axes);
      kernel(ins, index, count, out, attrs);
    },
    work: (s) => sizeOf(s[0]),
  };
}

// Exclusive product of each group, by a prefix pass and a suffix pass.
// y_i = Π_{j≠i} x_j; ẏ = prod_others_jvp(x, ẋ); its Jacobian is symmetric
// (∂y_i/∂x_j = Π_{k≠i,j} x_k), so x̄ = prod_others_jvp(x, ȳ).
const prodOthersOp: OpDef<'prod_others'> = {
  ...groupwise('prod_others', 1, ([x], g, count, out) => {
    const acc = new Float64Array(count).fill(1);
    for (let i = 0; i < x.length; i++) {
      out[i] = acc[g[i]];
      acc[g[i]] *= x[i];
    }
    acc.fill(1);
    for (let i = x.length - 1; i >= 0; i--) {
      out[i] *= acc[g[i]];
      acc[g[i]] *= x[i];
    }
  }),
  jvp: ({ e, xs, attrs }, [xDot]) => (xDot === null ? null : e.apply('prod_others_jvp', [xs[0], xDot], { axes: attrs.axes })),
  vjp: ({ e, xs, attrs }, yBar) => [e.apply('prod_others_jvp', [xs[0], yBar], { axes: attrs.axes })],
};

export const reduceOps = [
  // y = Σx; ẏ = Σẋ; x̄ = broadcast ȳ
  { ...reduction('sum', sumFold, ({ e, inShapes }, t) => e.broadcastTo(t, inShapes[0])), batchKernel: sumBatch },
  // y = Σx / n; ẏ = Σẋ / n; x̄ = broadcast ȳ / n
  reduction(
    'mean',
    (x, g, out, n) => {
      sumFold(x, g, out);
      for (let k = 0; k < out.length; k++) out[k] /= n;
    },
    (ctx, t) => {
      const n = groupSize(ctx.inShapes[0], ctx.attrs.axes);
      return ctx.e.broadcastTo(ctx.e.zmul(t, ctx.e.literal(1 / n)), ctx.inShapes[0]);
    },
  ),
  // y = Πx; ẏ = Σ prod_others(x) ẋ; x̄ = prod_others(x) ȳ
  reduction(
    'prod',
    (x, g, out) => {
      out.fill(1);
      for (let i = 0; i < x.length; i++) out[g[i]] *= x[i];
    },
    prodOthers,
  ),
  // y = max x; ẏ = Σ where(first winner, ẋ, 0); x̄ = where(first winner, ȳ, 0)
  reduction('max', maxFold, winner('max')),
  reduction('min', extremeFold(-1), winner('min')),
  // y = log Σe^x; s = e^(x - y); ẏ = Σ s ẋ; x̄ = s ȳ
  reduction('logsumexp', logsumexpFold, (ctx, t) => {
    const { e, xs, y } = ctx;
    return e.zmul(e.apply('exp', [e.sub(xs[0], e.reshape(y, keepShape(ctx)))]), t);
  }),
  prodOthersOp,
  // The tangent of prod_others, with dual-number prefix and suffix products
  // (a, ȧ)(b, ḃ) = (ab, aḃ + ȧb). Not differentiable: third order is never asked for.
  groupwise('prod_others_jvp', 2, ([x, dx], g, count, out) => {
    const pre = new Float64Array(x.length);
    const v = new Float64Array(count).fill(1);
    const d = new Float64Array(count);
    for (let i = 0; i < x.length; i++) {
      const k = g[i];
      pre[i] = v[k];
      out[i] = d[k];
      d[k] = zm(v[k], dx[i]) + zm(d[k], x[i]);
      v[k] *= x[i];
    }
    v.fill(1);
    d.fill(0);
    for (let i = x.length - 1; i >= 0; i--) {
      const k = g[i];
      out[i] = zm(pre[i], d[k]) + zm(out[i], v[k]);
      d[k] = zm(v[k], dx[i]) + zm(d[k], x[i]);
      v[k] *= x[i];
    }
  }),
  // 1 at the first winner of each group in row-major order (the first NaN if any), else 0.
  // Piecewise constant, so no derivative.
  groupwise('first_winner', 1, ([x], g, count, out, { kind }) => {
    const sign = kind === 'max' ? 1 : -1;
    const best = new Int32Array(count).fill(-1);
    for (let i = 0; i < x.length; i++) {
      const b = best[g[i]];
      if (b < 0 || (!Number.isNaN(x[b]) && (Number.isNaN(x[i]) || sign * x[i] > sign * x[b]))) best[g[i]] = i;
    }
    out.fill(0);
    for (const b of best) if (b >= 0) out[b] = 1;
  }),
] as const;
