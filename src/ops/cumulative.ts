/**
 * Ops along an axis: cumsum, cumprod, softmax, log_softmax, the vector norm, and the
 * internal linear recurrence linrec that cumprod's derivatives are made of.
 *
 * cumprod's derivative is formed without dividing by the argument, so zeros are
 * exact: with y_i = x_i y_(i-1), the tangent obeys ẏ_i = x_i ẏ_(i-1) + ẋ_i y_(i-1),
 * a linear recurrence s_i = b_i + a_i s_(i-1) (linrec), and the cotangent is the
 * same recurrence run the other way. linrec's own derivatives are linrecs again, so
 * every order stays exact and costs O(n) per line.
 */
import { z } from 'zod';
import { reductionGroups } from '../tensor/broadcast.js';
import { formatShape, normaliseAxis, sameShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { zmulScalar } from './binary.js';
import { prepareAxes, reducedShape } from './reduce.js';
import { OpError, type Emit, type OpDef, type ValueId } from './types.js';
import type { AxisAttrs, NormAttrs, CumulativeAttrs } from './vocabulary.js';

const Int = z.number().int();

/** Elements of shape s along `axis`: outer × n × inner, element (o, i, t) at (o n + i) inner + t. */
function lines(s: Shape, axis: number): { outer: number; n: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= s[d];
  for (let d = axis + 1; d < s.length; d++) inner *= s[d];
  return { outer, n: s[axis], inner };
}

/**
 * Calls f(first, stride, n) for every line along the axis: its elements are at
 * first + i·stride, in the order walked (from the end when reverse).
 */
function eachLine(s: Shape, axis: number, reverse: boolean, f: (first: number, stride: number, n: number) => void): void {
  const { outer, n, inner } = lines(s, axis);
  if (n === 0) return;
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < inner; t++) {
      const base = o * n * inner + t;
      if (reverse) f(base + (n - 1) * inner, -inner, n);
      else f(base, inner, n);
    }
  }
}

function prepareAxis(wire: { axis?: number }, s: Shape): number {
  const axis = normaliseAxis(wire.axis ?? -1, s.length);
  if (axis < 0) throw new OpError(`axis ${wire.axis ?? -1} is out of range for rank ${s.length}`, undefined, 'axis');
  return axis;
}

/** Output element (line, i) from the elements of its line at positions j ≤ i in the order walked (all when `whole`). */
function lineSparsity(s: Shape, axis: number, reverse: boolean, whole: boolean, dep: (out: number, arg: number, el: number) => void): void {
  eachLine(s, axis, reverse, (first, stride, n) => {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < (whole ? n : i + 1); j++) dep(first + i * stride, 0, first + j * stride);
    }
  });
}

// --- shifts along the axis, with ops ---------------------------------------------------

/**
 * v shifted one place along the axis in the direction walked: element i holds
 * element i - 1 (i + 1 when reverse), the first one walked holds `fill`.
 */
function previous(e: Emit, v: ValueId, { axis, reverse }: CumulativeAttrs, fill: number): ValueId {
  const s = e.shapeOf(v);
  const n = s[axis];
  if (n === 0) return v;
  const edge = s.map((d, i) => (i === axis ? 1 : d));
  const rest = e.apply('slice', [v], {
    begin: s.map((_, i) => (i === axis && reverse ? 1 : 0)),
    step: s.map(() => 1),
    count: s.map((d, i) => (i === axis ? n - 1 : d)),
  });
  const edgeValue = fill === 0 ? e.zeros(edge) : e.apply('fill', [], { shape: edge, value: fill });
  return e.apply('concat', reverse ? [rest, edgeValue] : [edgeValue, rest], { axis });
}

/** previous in the other direction: element i holds element i + 1 (i - 1 when reverse), the last one 0. */
const following = (e: Emit, v: ValueId, { axis, reverse }: CumulativeAttrs): ValueId => previous(e, v, { axis, reverse: !reverse }, 0);

// --- cumsum --------------------------------------------------------------------------

const scanAttrs = { axis: Int.optional(), reverse: z.boolean().optional() };
const prepareScan = (wire: { axis?: number; reverse?: boolean }, [s]: readonly Shape[]): CumulativeAttrs => ({
  axis: prepareAxis(wire, s),
  reverse: wire.reverse ?? false,
});
/** The argument's shape, once the axis is known to be one of its axes. */
function axisShape(inShapes: readonly Shape[], { axis }: { axis: number }): Shape {
  const s = inShapes[0];
  if (axis >= s.length) throw new OpError(`axis ${axis} is out of range for shape ${formatShape(s)}`, 0);
  return s;
}

/** cumsum: running sums along the axis (from its end when reverse). */
const cumsumOp: OpDef<'cumsum'> = {
  name: 'cumsum',
  arity: 1,
  attrs: scanAttrs,
  prepare: prepareScan,
  shape: axisShape,
  kernel([x], [s], out, _o, { axis, reverse }) {
    eachLine(s, axis, reverse, (first, stride, n) => {
      let acc = 0;
      for (let i = 0, p = first; i < n; i++, p += stride) {
        acc += x[p];
        out[p] = acc;
      }
    });
  },
  work: ([s]) => sizeOf(s),
  sparsity: ([s], _o, { axis, reverse }, dep) => lineSparsity(s, axis, reverse, false, dep),
  // y = cumsum(x); ẏ = cumsum(ẋ); x̄ = cumsum(ȳ) walked the other way
  jvp: ({ e, attrs }, [xDot]) => (xDot === null ? null : e.apply('cumsum', [xDot], attrs)),
  vjp: ({ e, attrs }, yBar) => [e.apply('cumsum', [yBar], { axis: attrs.axis, reverse: !attrs.reverse })],
};

// --- cumprod and linrec ----------------------------------------------------------------

/** cumprod: running products along the axis; plain IEEE products, zeros included. */
const cumprodOp: OpDef<'cumprod'> = {
  name: 'cumprod',
  arity: 1,
  attrs: scanAttrs,
  prepare: prepareScan,
  shape: axisShape,
  kernel([x], [s], out, _o, { axis, reverse }) {
    eachLine(s, axis, reverse, (first, stride, n) => {
      let acc = 1;
      for (let i = 0, p = first; i < n; i++, p += stride) {
        acc *= x[p];
        out[p] = acc;
      }
    });
  },
  work: ([s]) => sizeOf(s),
  sparsity: ([s], _o, { axis, reverse }, dep) => lineSparsity(s, axis, reverse, false, dep),
  // y_i = x_i y_(i-1) (y_(-1) = 1); ẏ = linrec(x, ẋ · previous(y)); x̄ = previous(y) · linrec(following(x), ȳ) walked back
  jvp({ e, xs: [x], y, attrs }, [xDot]) {
    if (xDot === null) return null;
    return e.apply('linrec', [x, e.zmul(xDot, previous(e, y, attrs, 1))], attrs);
  },
  vjp({ e, xs: [x], y, attrs }, yBar) {
    const back = e.apply('linrec', [following(e, x, attrs), yBar], { axis: attrs.axis, reverse: !attrs.reverse });
    return [e.zmul(previous(e, y, attrs, 1), back)];
  },
};

/**
 * Internal: the linear recurrence s_i = b_i + a_i s_(i-1) along the axis (s_(-1) = 0;
 * i - 1 is i + 1 when reverse), that is s_i = Σ_(j ≤ i) b_j Π_(j < k ≤ i) a_k. Made by
 * cumprod's rules, whose tangents and cotangents it carries, so its products are
 * zero-annihilating. Linear in b; its rules are linrecs again:
 *   ṡ = linrec(a, ḃ + ȧ · previous(s)); b̄ = linrec(following(a), s̄) walked back; ā = b̄ · previous(s).
 */
const linrecOp: OpDef<'linrec'> = {
  name: 'linrec',
  arity: 2,
  attrs: {},
  internal: true,
  shape([as, bs], { axis }) {
    if (!sameShape(as, bs)) throw new OpError(`shapes ${formatShape(as)} and ${formatShape(bs)} differ`, 1);
    if (axis >= as.length) throw new OpError(`axis ${axis} is out of range for shape ${formatShape(as)}`, 0);
    return as;
  },
  kernel([a, b], [s], out, _o, { axis, reverse }) {
    eachLine(s, axis, reverse, (first, stride, n) => {
      let acc = 0;
      for (let i = 0, p = first; i < n; i++, p += stride) {
        acc = b[p] + zmulScalar(a[p], acc);
        out[p] = acc;
      }
    });
  },
  work: ([s]) => sizeOf(s),
  sparsity([s], _o, { axis, reverse }, dep) {
    eachLine(s, axis, reverse, (first, stride, n) => {
      for (let i = 0; i < n; i++) {
        const o = first + i * stride;
        for (let j = 0; j <= i; j++) {
          dep(o, 1, first + j * stride);
          if (j > 0) dep(o, 0, first + j * stride);
        }
      }
    });
  },
  jvp({ e, xs: [a], y, attrs }, [aDot, bDot]) {
    const fromA = aDot === null ? null : e.zmul(aDot, previous(e, y, attrs, 0));
    const drive = fromA === null ? bDot : bDot === null ? fromA : e.add(bDot, fromA);
    return drive === null ? null : e.apply('linrec', [a, drive], attrs);
  },
  vjp({ e, xs: [a], y, attrs }, yBar, wanted) {
    const bBar = e.apply('linrec', [following(e, a, attrs), yBar], { axis: attrs.axis, reverse: !attrs.reverse });
    return [wanted[0] ? e.zmul(bBar, previous(e, y, attrs, 0)) : null, wanted[1] ? bBar : null];
  },
};

// --- softmax and log_softmax -------------------------------------------------------

const prepareSoftmax = (wire: { axis?: number }, [s]: readonly Shape[]): AxisAttrs => ({ axis: prepareAxis(wire, s) });

/**
 * For each line: m = its maximum (a NaN wins), then f(first, stride, n, m, Σ e^(x - m)).
 * Subtracting m keeps every exponential at most 1, so nothing overflows.
 */
function softmaxLines(
  x: Float64Array,
  s: Shape,
  axis: number,
  f: (first: number, stride: number, n: number, m: number, total: number) => void,
): void {
  eachLine(s, axis, false, (first, stride, n) => {
    let m = -Infinity;
    for (let i = 0, p = first; i < n; i++, p += stride) if (x[p] > m || Number.isNaN(x[p])) m = x[p];
    let total = 0;
    for (let i = 0, p = first; i < n; i++, p += stride) total += Math.exp(x[p] - m);
    f(first, stride, n, m, total);
  });
}

/** softmax: e^(x - m) / Σ e^(x - m) along the axis, m the line's maximum. */
const softmaxOp: OpDef<'softmax'> = {
  name: 'softmax',
  arity: 1,
  attrs: { axis: Int.optional() },
  prepare: prepareSoftmax,
  shape: axisShape,
  kernel([x], [s], out, _o, { axis }) {
    softmaxLines(x, s, axis, (first, stride, n, m, total) => {
      for (let i = 0, p = first; i < n; i++, p += stride) out[p] = Math.exp(x[p] - m) / total;
    });
  },
  work: ([s]) => sizeOf(s),
  sparsity: ([s], _o, { axis }, dep) => lineSparsity(s, axis, false, true, dep),
  // ẏ = y (ẋ - Σ y ẋ); the Jacobian diag(y) - y yᵀ is symmetric, so x̄ = y (ȳ - Σ y ȳ)
  jvp: ({ e, y, attrs }, [xDot]) => (xDot === null ? null : e.zmul(y, e.sub(xDot, e.sum(e.zmul(y, xDot), [attrs.axis], true)))),
  vjp: ({ e, y, attrs }, yBar) => [e.zmul(y, e.sub(yBar, e.sum(e.zmul(y, yBar), [attrs.axis], true)))],
};

/** log_softmax: (x - m) - log Σ e^(x - m) along the axis. */
const logSoftmaxOp: OpDef<'log_softmax'> = {
  name: 'log_softmax',
  arity: 1,
  attrs: { axis: Int.optional() },
  prepare: prepareSoftmax,
  shape: axisShape,
  kernel([x], [s], out, _o, { axis }) {
    softmaxLines(x, s, axis, (first, stride, n, m, total) => {
      const lse = Math.log(total);
      for (let i = 0, p = first; i < n; i++, p += stride) out[p] = x[p] - m - lse;
    });
  },
  work: ([s]) => sizeOf(s),
  sparsity: ([s], _o, { axis }, dep) => lineSparsity(s, axis, false, true, dep),
  // softmax = e^y; ẏ = ẋ - Σ softmax ẋ; x̄ = ȳ - softmax Σ ȳ
  jvp: ({ e, y, attrs }, [xDot]) => (xDot === null ? null : e.sub(xDot, e.sum(e.zmul(e.apply('exp', [y]), xDot), [attrs.axis], true))),
  vjp: ({ e, y, attrs }, yBar) => [e.sub(yBar, e.zmul(e.apply('exp', [y]), e.sum(yBar, [attrs.axis], true)))],
};

// --- norm --------------------------------------------------------------------------

/** Below this a sum of squares has lost digits to underflow (2^-968: 2^54 times the least normal). */
const SQUARES_FLOOR = 2 ** -968;

/** Per group the largest |x| (a NaN wins), 0 for an empty group. */
function maxAbs(x: Float64Array, g: Int32Array, out: Float64Array): void {
  out.fill(0);
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    if (a > out[g[i]] || Number.isNaN(a)) out[g[i]] = a;
  }
}

const normKernels: Record<NormAttrs['ord'], (x: Float64Array, g: Int32Array, out: Float64Array) => void> = {
  1(x, g, out) {
    out.fill(0);
    for (let i = 0; i < x.length; i++) out[g[i]] += Math.abs(x[i]);
  },
  // √Σx² as NumPy computes it; where the sum of squares overflows or loses digits to
  // underflow, scaled by the largest |x| instead
  2(x, g, out) {
    const acc = new Float64Array(out.length);
    for (let i = 0; i < x.length; i++) acc[g[i]] += x[i] * x[i];
    maxAbs(x, g, out);
    const scaled = new Float64Array(out.length);
    for (let i = 0; i < x.length; i++) {
      const m = out[g[i]];
      if (m > 0 && m < Infinity) {
        const r = x[i] / m;
        scaled[g[i]] += r * r;
      }
    }
    for (let k = 0; k < out.length; k++) {
      if (acc[k] >= SQUARES_FLOOR && acc[k] < Infinity) out[k] = Math.sqrt(acc[k]);
      else if (out[k] > 0 && out[k] < Infinity) out[k] *= Math.sqrt(scaled[k]);
    }
  },
  inf: maxAbs,
};

/** norm: the vector norm of order 1, 2 or inf over the axes. */
const normOp: OpDef<'norm'> = {
  name: 'norm',
  arity: 1,
  attrs: {
    ord: z.union([z.literal(1), z.literal(2), z.literal('inf')]).optional(),
    axes: z.array(Int).optional(),
    keepdims: z.boolean().optional(),
  },
  prepare: (wire: { ord?: 1 | 2 | 'inf'; axes?: number[]; keepdims?: boolean }, [s]) => ({
    ord: wire.ord ?? 2,
    axes: prepareAxes(wire.axes, s.length),
    keepdims: wire.keepdims ?? false,
  }),
  shape: ([s], { axes, keepdims }) => reducedShape(s, axes, keepdims),
  kernel: ([x], [s], out, _o, { ord, axes }) => normKernels[ord](x, reductionGroups(s, axes).index, out),
  work: ([s]) => sizeOf(s),
  sparsity([s], _o, { axes }, dep) {
    const g = reductionGroups(s, axes).index;
    for (let i = 0; i < g.length; i++) dep(g[i], 0, i);
  },
  // ẏ = Σ g ẋ; x̄ = g ȳ, with g = ∂y/∂x per element (partial below)
  jvp: (ctx, [xDot]) => (xDot === null ? null : ctx.e.sum(ctx.e.zmul(normPartial(ctx), xDot), ctx.attrs.axes, ctx.attrs.keepdims)),
  vjp: (ctx, yBar) => [ctx.e.zmul(normPartial(ctx), ctx.e.reshape(yBar, reducedShape(ctx.inShapes[0], ctx.attrs.axes, true)))],
};

/**
 * ∂y/∂x, argument-shaped: ord 1 sign(x); ord 2 x / y, 0 where y = 0; ord inf sign(x)
 * at the first largest |x| of each group (ties to the first, as max), else 0. Each is
 * 0 at x = 0: a subgradient, as PyTorch's.
 */
function normPartial({ e, xs: [x], y, attrs, inShapes }: Parameters<NonNullable<OpDef<'norm'>['jvp']>>[0]): ValueId {
  const zero = e.literal(0);
  if (attrs.ord === 1) return e.apply('sign', [x]);
  if (attrs.ord === 'inf') {
    const first = e.apply('first_winner', [e.apply('abs', [x])], { axes: attrs.axes, kind: 'max' });
    return e.where(first, e.apply('sign', [x]), zero);
  }
  const yk = e.reshape(y, reducedShape(inShapes[0], attrs.axes, true));
  return e.broadcastTo(e.where(e.apply('ne', [yk, zero]), e.div(x, yk), zero), inShapes[0]);
}

export const cumulativeOps = [cumsumOp, cumprodOp, linrecOp, softmaxOp, logSoftmaxOp, normOp] as const;
