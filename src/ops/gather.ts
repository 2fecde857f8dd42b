/**
 * Indexing by tensors: gather (NumPy `take` along an axis), scatter_add and
 * scatter_set. The indices are an ordinary argument (an input or any node) whose
 * values are known only when the call runs, so each kernel checks them (an integer
 * in [-n, n), negatives counting from the end) and throws a ValueError naming the
 * argument; the service answers 422 with its path. Indices are never
 * differentiated (constantArgs), so an input used only as indices is not active.
 *
 * With an axis of length n, indices of shape I, and a of shape [...pre, n, ...post],
 * gather's result and scatter's updates have shape [...pre, ...I, ...post].
 */
import { z } from 'zod';
import { formatShape, normaliseAxis, sameShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { OpError, type OpDef, type RuleCtx, ValueError, type ValueId } from './types.js';
import type { AxisAttrs } from './vocabulary.js';

const axisAttr = { axis: z.number().int().optional() };

function prepareAxis(wire: { axis?: number }, s: Shape): AxisAttrs {
  const axis = normaliseAxis(wire.axis ?? 0, s.length);
  if (axis < 0) throw new OpError(`axis ${wire.axis ?? 0} is out of range for rank ${s.length}`, undefined, 'axis');
  return { axis };
}

/** The shape gather gives and scatter's updates must have. */
function gatheredShape(a: Shape, indices: Shape, axis: number): Shape {
  return [...a.slice(0, axis), ...indices, ...a.slice(axis + 1)];
}

/** Index `x` (element `element` of the indices argument, arg `arg`) along an axis of length n, checked; negatives from the end. */
function indexAt(x: number, n: number, arg: number, element: number): number {
  if (!Number.isInteger(x)) throw new ValueError(`element ${element} of the indices, ${String(x)}, is not an integer`, arg);
  const j = x < 0 ? x + n : x;
  if (j < 0 || j >= n) throw new ValueError(`element ${element} of the indices, ${x}, is out of range for an axis of length ${n}`, arg);
  return j;
}

/** Walks (outer, index, inner) blocks: for each index element, the offset of its row in a and in the gathered layout. */
function eachRow(
  a: Shape,
  m: number,
  axis: number,
  idx: Float64Array,
  arg: number,
  visit: (src: number, dst: number, inner: number) => void,
): void {
  const n = a[axis];
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= a[d];
  let inner = 1;
  for (let d = axis + 1; d < a.length; d++) inner *= a[d];
  const rows = new Int32Array(m);
  for (let j = 0; j < m; j++) rows[j] = indexAt(idx[j], n, arg, j);
  for (let o = 0; o < outer; o++) for (let j = 0; j < m; j++) visit((o * n + rows[j]) * inner, (o * m + j) * inner, inner);
}

const gatherOp: OpDef<'gather'> = {
  name: 'gather',
  arity: 2,
  attrs: axisAttr,
  constantArgs: [1],
  prepare: (wire: { axis?: number }, [s]) => prepareAxis(wire, s),
  shape: ([a, indices], { axis }) => gatheredShape(a, indices, axis),
  kernel([x, idx], [a, is], out, _o, { axis }) {
    eachRow(a, sizeOf(is), axis, idx, 1, (src, dst, inner) => {
      for (let t = 0; t < inner; t++) out[dst + t] = x[src + t];
    });
  },
  work: (_s, out) => sizeOf(out),
  jvp: ({ e, xs, attrs }, [aDot]) => (aDot === null ? null : e.apply('gather', [aDot, xs[1]], attrs)),
  vjp: ({ e, xs, inShapes, attrs }, yBar) => [e.apply('scatter_add', [e.zeros(inShapes[0]), xs[1], yBar], attrs), null],
};

/** The shared parts of scatter_add and scatter_set: shape rule (updates shaped as gather's result), kernel. */
function scatter<N extends 'scatter_add' | 'scatter_set'>(name: N, write: (out: Float64Array, at: number, u: number) => void): OpDef<N> {
  return {
    name,
    arity: 3,
    attrs: axisAttr,
    constantArgs: [1],
    prepare: (wire: { axis?: number }, [s]) => prepareAxis(wire, s),
    shape([a, indices, updates], { axis }) {
      const want = gatheredShape(a, indices, axis);
      if (!sameShape(updates, want)) {
        throw new OpError(
          `updates of shape ${formatShape(updates)} do not fit: indices ${formatShape(indices)} along axis ${axis} of ${formatShape(a)} need ${formatShape(want)}`,
          2,
        );
      }
      return a;
    },
    kernel([x, idx, u], [a, is], out, _o, { axis }) {
      out.set(x);
      eachRow(a, sizeOf(is), axis, idx, 1, (dst, src, inner) => {
        for (let t = 0; t < inner; t++) write(out, dst + t, u[src + t]);
      });
    },
    work: (s) => sizeOf(s[0]) + sizeOf(s[2]),
  };
}

/** Tangents of a and updates, zeros where a tangent is symbolically zero. */
function tangents(ctx: RuleCtx<AxisAttrs>, aDot: ValueId | null, uDot: ValueId | null): [ValueId, ValueId] {
  return [aDot ?? ctx.e.zeros(ctx.inShapes[0]), uDot ?? ctx.e.zeros(ctx.inShapes[2])];
}

const scatterAddOp: OpDef<'scatter_add'> = {
  ...scatter('scatter_add', (out, at, u) => {
    out[at] += u;
  }),
  // linear in a and in the updates
  jvp(ctx, [aDot, , uDot]) {
    if (aDot === null && uDot === null) return null;
    const [ta, tu] = tangents(ctx, aDot, uDot);
    return ctx.e.apply('scatter_add', [ta, ctx.xs[1], tu], ctx.attrs);
  },
  vjp: ({ e, xs, attrs }, yBar, [wantA, , wantU]) => [wantA ? yBar : null, null, wantU ? e.apply('gather', [yBar, xs[1]], attrs) : null],
};

const scatterSetOp: OpDef<'scatter_set'> = {
  // repeated indices: the last write wins
  ...scatter('scatter_set', (out, at, u) => {
    out[at] = u;
  }),
  jvp(ctx, [aDot, , uDot]) {
    if (aDot === null && uDot === null) return null;
    const [ta, tu] = tangents(ctx, aDot, uDot);
    return ctx.e.apply('scatter_set', [ta, ctx.xs[1], tu], ctx.attrs);
  },
  // a's cotangent where nothing was written; each update's where it won (the last of its index)
  vjp({ e, xs, inShapes, attrs }, yBar, [wantA, , wantU]) {
    const aBar = wantA ? e.apply('scatter_set', [yBar, xs[1], e.zeros(inShapes[2])], attrs) : null;
    if (!wantU) return [aBar, null, null];
    const rank = inShapes[0].length;
    const won = e.apply('last_index', [xs[1]], { axis: attrs.axis, size: inShapes[0][attrs.axis] });
    // [...I] as [...I, 1, ...]: it then broadcasts over the updates' trailing axes (leading ones are added)
    const mask = e.reshape(won, [...inShapes[1], ...new Array<number>(rank - attrs.axis - 1).fill(1)]);
    return [aBar, null, e.zmul(e.apply('gather', [yBar, xs[1]], attrs), mask)];
  },
};

/** Internal: 1 where an index element is the last with its value (the one scatter_set keeps), else 0; never active. */
const lastIndexOp: OpDef<'last_index'> = {
  name: 'last_index',
  arity: 1,
  attrs: {},
  internal: true,
  shape: ([s]) => s,
  kernel([idx], _s, out, _o, { size }) {
    const last = new Map<number, number>();
    for (let j = 0; j < idx.length; j++) last.set(indexAt(idx[j], size, 0, j), j);
    out.fill(0);
    for (const j of last.values()) out[j] = 1;
  },
};

export const gatherOps = [gatherOp, scatterAddOp, scatterSetOp, lastIndexOp] as const;
