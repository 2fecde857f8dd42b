/**
 * Ops that move elements without arithmetic: reshape, broadcast_to, slice, index,
 * concat, stack, stop_gradient, and the internal transposes of slice and index.
 * All are linear, so their tangents are the op applied to the tangent and their
 * cotangents are the transposed op.
 */
import { z } from 'zod';
import { broadcastShapes } from '../tensor/broadcast.js';
import { mapBinary } from '../tensor/map.js';
import { formatShape, normaliseAxis, sameShape, sizeOf, stridesOf, type Shape } from '../tensor/tensor.js';
import { OpError, type OpDef, type RuleCtx, type ValueId } from './types.js';
import type { AxisAttrs, SliceAttrs } from './vocabulary.js';

const Int = z.number().int();
const IntArray = z.array(Int);
const ZERO = new Float64Array(1);

const prodOf = (s: Shape, from: number, to: number): number => {
  let n = 1;
  for (let i = from; i < to; i++) n *= s[i];
  return n;
};

const copyKernel: OpDef['kernel'] = (ins, _s, out) => out.set(ins[0]);

// --- reshape ---------------------------------------------------------------------

/** reshape: same elements, new shape; one dimension may be -1 (inferred). */
const reshapeOp: OpDef<'reshape'> = {
  name: 'reshape',
  arity: 1,
  attrs: { shape: IntArray },
  prepare(wire: { shape: number[] }, [inShape]) {
    const holes = wire.shape.filter((d) => d === -1).length;
    const bad = wire.shape.findIndex((d) => d < -1);
    if (bad >= 0 || holes > 1) {
      throw new OpError(`expected non-negative dimensions and at most one -1, found ${formatShape(wire.shape)}`, undefined, 'shape');
    }
    if (holes === 0) {
      if (sizeOf(inShape) !== sizeOf(wire.shape)) {
        throw new OpError(
          `cannot reshape ${formatShape(inShape)} (${sizeOf(inShape)} elements) to ${formatShape(wire.shape)} (${sizeOf(wire.shape)} elements)`,
          undefined,
          'shape',
        );
      }
      return { shape: wire.shape };
    }
    const known = wire.shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
    const total = sizeOf(inShape);
    if (known === 0 || total % known !== 0) {
      throw new OpError(`cannot infer the -1 in ${formatShape(wire.shape)} for ${total} elements`, undefined, 'shape');
    }
    return { shape: wire.shape.map((d) => (d === -1 ? total / known : d)) };
  },
  shape([s], a) {
    if (sizeOf(s) !== sizeOf(a.shape)) {
      throw new OpError(
        `cannot reshape ${formatShape(s)} (${sizeOf(s)} elements) to ${formatShape(a.shape)} (${sizeOf(a.shape)} elements)`,
        0,
      );
    }
    return a.shape;
  },
  kernel: copyKernel,
  sameData: true,
  movesElements: true,
  jvp: ({ e, outShape }, [xDot]) => (xDot === null ? null : e.reshape(xDot, outShape)),
  vjp: ({ e, inShapes }, yBar) => [e.reshape(yBar, inShapes[0])],
};

// --- broadcast_to ----------------------------------------------------------------

const broadcastToOp: OpDef<'broadcast_to'> = {
  name: 'broadcast_to',
  arity: 1,
  attrs: { shape: IntArray },
  // The target shape is what a person got wrong, so wire errors point at it.
  prepare(wire: { shape: number[] }, inShapes) {
    try {
      return { shape: [...broadcastToOp.shape(inShapes, wire)] };
    } catch (err) {
      throw err instanceof OpError ? new OpError(err.message, undefined, 'shape') : err;
    }
  },
  shape([s], a) {
    const b = broadcastShapes([s, a.shape]);
    if (a.shape.some((d) => d < 0) || b === null || !sameShape(b, a.shape)) {
      throw new OpError(`cannot broadcast ${formatShape(s)} to ${formatShape(a.shape)}`, 0);
    }
    return a.shape;
  },
  elementwise: true,
  perElement: (x) => x,
  inline: '$0',
  kernel: (ins, s, out, os) => mapBinary((x) => x, ins[0], s[0], ZERO, [], out, os),
  work: (_s, out) => sizeOf(out),
  jvp: ({ e, outShape }, [xDot]) => (xDot === null ? null : e.broadcastTo(xDot, outShape)),
  vjp: ({ e, inShapes }, yBar) => [e.sumTo(yBar, inShapes[0])],
};

// --- slice -----------------------------------------------------------------------

/** Python's slice.indices(n) for integer start/stop: clamps, then counts. */
function resolveSlice(start: number, stop: number, step: number, n: number): [number, number] {
  const clamp = (i: number): number => {
    if (i < 0) {
      i += n;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= n) {
      i = step < 0 ? n - 1 : n;
    }
    return i;
  };
  const b = clamp(start);
  const e = clamp(stop);
  const count = step < 0 ? (e < b ? Math.floor((b - e - 1) / -step) + 1 : 0) : b < e ? Math.floor((e - b - 1) / step) + 1 : 0;
  return [b, count];
}

/**
 * The input offset of every element of a strided box, in row-major order. Kept per
 * shape and box (kernels run many times on the same ones), up to a bound.
 */
const boxCache = new Map<string, Int32Array>();
const BOX_CACHE_ENTRIES = 256;

function boxOffsets(inShape: Shape, a: SliceAttrs): Int32Array {
  const key = `${inShape.join(',')}|${a.begin.join(',')}|${a.step.join(',')}|${a.count.join(',')}`;
  let offsets = boxCache.get(key);
  if (offsets === undefined) {
    offsets = computeBoxOffsets(inShape, a);
    if (boxCache.size >= BOX_CACHE_ENTRIES) boxCache.delete(boxCache.keys().next().value as string);
    boxCache.set(key, offsets);
  }
  return offsets;
}

function computeBoxOffsets(inShape: Shape, a: SliceAttrs): Int32Array {
  const rank = inShape.length;
  const strides = stridesOf(inShape);
  const n = sizeOf(a.count);
  const offsets = new Int32Array(n);
  if (n === 0) return offsets;
  const idx = new Int32Array(rank);
  let off = 0;
  for (let d = 0; d < rank; d++) off += a.begin[d] * strides[d];
  for (let o = 0; o < n; o++) {
    offsets[o] = off;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      off += a.step[d] * strides[d];
      if (idx[d] < a.count[d]) break;
      off -= a.step[d] * strides[d] * a.count[d];
      idx[d] = 0;
    }
  }
  return offsets;
}

const sliceOp: OpDef<'slice'> = {
  name: 'slice',
  movesElements: true,
  arity: 1,
  attrs: { start: IntArray, stop: IntArray, step: IntArray.optional() },
  prepare(wire: { start: number[]; stop: number[]; step?: number[] }, [s]) {
    const step = wire.step ?? s.map(() => 1);
    for (const [k, v] of [
      ['start', wire.start],
      ['stop', wire.stop],
      ['step', step],
    ] as const) {
      if (v.length !== s.length) {
        throw new OpError(`expected ${s.length} entries (one per axis of ${formatShape(s)}), found ${v.length}`, undefined, k);
      }
    }
    const zero = step.indexOf(0);
    if (zero >= 0) throw new OpError('expected a non-zero step, found 0', undefined, `step[${zero}]`);
    const begin: number[] = [];
    const count: number[] = [];
    for (let d = 0; d < s.length; d++) {
      const [b, c] = resolveSlice(wire.start[d], wire.stop[d], step[d], s[d]);
      begin.push(b);
      count.push(c);
    }
    return { begin, step: [...step], count };
  },
  shape: (_s, a) => a.count,
  kernel(ins, [s], out, _o, a) {
    const x = ins[0];
    const offsets = boxOffsets(s, a);
    for (let o = 0; o < offsets.length; o++) out[o] = x[offsets[o]];
  },
  jvp: ({ e, attrs }, [xDot]) => (xDot === null ? null : e.apply('slice', [xDot], attrs)),
  vjp: ({ e, attrs, inShapes }, yBar) => [e.apply('slice_scatter', [yBar], { ...attrs, shape: [...inShapes[0]] })],
};

/** Internal: the transpose of slice, zeros of `shape` with the argument written into the box. */
const sliceScatterOp: OpDef<'slice_scatter'> = {
  name: 'slice_scatter',
  movesElements: true,
  arity: 1,
  attrs: {},
  internal: true,
  shape: (_s, a) => a.shape,
  kernel(ins, _s, out, _o, a) {
    const y = ins[0];
    out.fill(0);
    const offsets = boxOffsets(a.shape, a);
    for (let o = 0; o < offsets.length; o++) out[offsets[o]] = y[o];
  },
  jvp: ({ e, attrs }, [xDot]) => (xDot === null ? null : e.apply('slice_scatter', [xDot], attrs)),
  vjp: ({ e, attrs }, yBar) => [e.apply('slice', [yBar], { begin: attrs.begin, step: attrs.step, count: attrs.count })],
};

// --- index -----------------------------------------------------------------------

const indexOp: OpDef<'index'> = {
  name: 'index',
  movesElements: true,
  arity: 1,
  attrs: { axis: Int.optional(), indices: IntArray },
  prepare(wire: { axis?: number; indices: number[] }, [s]) {
    const axis = normaliseAxis(wire.axis ?? 0, s.length);
    if (axis < 0) throw new OpError(`axis ${wire.axis ?? 0} is out of range for rank ${s.length}`, undefined, 'axis');
    const n = s[axis];
    const indices = wire.indices.map((i, k) => {
      const j = i < 0 ? i + n : i;
      if (j < 0 || j >= n) throw new OpError(`index ${i} is out of range for axis ${axis} of length ${n}`, undefined, `indices[${k}]`);
      return j;
    });
    return { axis, indices };
  },
  shape: ([s], a) => s.map((d, i) => (i === a.axis ? a.indices.length : d)),
  kernel(ins, [s], out, _o, a) {
    const x = ins[0];
    const outer = prodOf(s, 0, a.axis);
    const inner = prodOf(s, a.axis + 1, s.length);
    const n = s[a.axis];
    const m = a.indices.length;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < m; j++) {
        const src = (o * n + a.indices[j]) * inner;
        const dst = (o * m + j) * inner;
        // A loop, not subarray + set: rows are often a single element.
        for (let t = 0; t < inner; t++) out[dst + t] = x[src + t];
      }
    }
  },
  jvp: ({ e, attrs }, [xDot]) => (xDot === null ? null : e.apply('index', [xDot], attrs)),
  vjp: ({ e, attrs, inShapes }, yBar) => [e.apply('index_add', [yBar], { ...attrs, size: inShapes[0][attrs.axis] })],
};

/** Internal: the transpose of index, scatter-adding rows back (repeated indices accumulate). */
const indexAddOp: OpDef<'index_add'> = {
  name: 'index_add',
  arity: 1,
  attrs: {},
  internal: true,
  shape: ([s], a) => s.map((d, i) => (i === a.axis ? a.size : d)),
  kernel(ins, [s], out, _o, a) {
    const y = ins[0];
    const outer = prodOf(s, 0, a.axis);
    const inner = prodOf(s, a.axis + 1, s.length);
    const m = a.indices.length;
    out.fill(0);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < m; j++) {
        const dst = (o * a.size + a.indices[j]) * inner;
        const src = (o * m + j) * inner;
        for (let k = 0; k < inner; k++) out[dst + k] += y[src + k];
      }
    }
  },
  jvp: ({ e, attrs }, [xDot]) => (xDot === null ? null : e.apply('index_add', [xDot], attrs)),
  vjp: ({ e, attrs }, yBar) => [e.apply('index', [yBar], { axis: attrs.axis, indices: attrs.indices })],
};

// --- concat and stack ----------------------------------------------------------

/** Copies each argument's blocks of `inner(i)` elements into the output, side by side along the axis. */
function joinKernel(ins: readonly Float64Array[], outer: number, inners: number[], out: Float64Array): void {
  const total = inners.reduce((p, q) => p + q, 0);
  let offset = 0;
  for (let i = 0; i < ins.length; i++) {
    const inner = inners[i];
    const x = ins[i];
    if (inner < 32) {
      // short runs (a stack of scalars): a plain loop, not a subarray view per run
      for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) out[o * total + offset + j] = x[o * inner + j];
    } else {
      for (let o = 0; o < outer; o++) out.set(x.subarray(o * inner, (o + 1) * inner), o * total + offset);
    }
    offset += inner;
  }
}

/** Tangents with zeros for the null ones: one zeros value per shape (a wide stack has thousands of null tangents). */
function zerosFor({ e, inShapes }: RuleCtx<AxisAttrs>, xDots: readonly (ValueId | null)[]): ValueId[] {
  const zeros = new Map<string, ValueId>();
  return xDots.map((t, i) => {
    if (t !== null) return t;
    const key = inShapes[i].join(',');
    let z = zeros.get(key);
    if (z === undefined) {
      z = e.zeros(inShapes[i]);
      zeros.set(key, z);
    }
    return z;
  });
}

const concatOp: OpDef<'concat'> = {
  name: 'concat',
  movesElements: true,
  arity: 'variadic',
  attrs: { axis: Int.optional() },
  prepare(wire: { axis?: number }, s) {
    const axis = normaliseAxis(wire.axis ?? 0, s[0].length);
    if (axis < 0) throw new OpError(`axis ${wire.axis ?? 0} is out of range for rank ${s[0].length}`, undefined, 'axis');
    return { axis };
  },
  shape(s, { axis }) {
    const first = s[0];
    let len = 0;
    s.forEach((si, i) => {
      if (si.length !== first.length || si.some((d, k) => k !== axis && d !== first[k])) {
        throw new OpError(`cannot concatenate ${formatShape(si)} with ${formatShape(first)} along axis ${axis}`, i);
      }
      len += si[axis];
    });
    return first.map((d, k) => (k === axis ? len : d));
  },
  kernel: (ins, s, out, _o, { axis }) =>
    joinKernel(
      ins,
      prodOf(s[0], 0, axis),
      s.map((si) => prodOf(si, axis, si.length)),
      out,
    ),
  jvp: (ctx, xDots) => ctx.e.apply('concat', zerosFor(ctx, xDots), ctx.attrs),
  vjp({ e, attrs: { axis }, inShapes, outShape }, yBar, wanted) {
    let offset = 0;
    return inShapes.map((s, i) => {
      const begin = outShape.map((_, k) => (k === axis ? offset : 0));
      offset += s[axis];
      return wanted[i] ? e.apply('slice', [yBar], { begin, step: outShape.map(() => 1), count: [...s] }) : null;
    });
  },
};

const stackOp: OpDef<'stack'> = {
  name: 'stack',
  movesElements: true,
  arity: 'variadic',
  attrs: { axis: Int.optional() },
  prepare(wire: { axis?: number }, s) {
    const axis = normaliseAxis(wire.axis ?? 0, s[0].length + 1);
    if (axis < 0) throw new OpError(`axis ${wire.axis ?? 0} is out of range for stacking rank ${s[0].length}`, undefined, 'axis');
    return { axis };
  },
  shape(s, { axis }) {
    s.forEach((si, i) => {
      if (!sameShape(si, s[0])) throw new OpError(`cannot stack ${formatShape(si)} with ${formatShape(s[0])}: shapes must be equal`, i);
    });
    const out = [...s[0]];
    out.splice(axis, 0, s.length);
    return out;
  },
  kernel: (ins, s, out, _o, { axis }) =>
    joinKernel(
      ins,
      prodOf(s[0], 0, axis),
      s.map((si) => prodOf(si, axis, si.length)),
      out,
    ),
  jvp: (ctx, xDots) => ctx.e.apply('stack', zerosFor(ctx, xDots), ctx.attrs),
  vjp: ({ e, attrs: { axis }, inShapes }, yBar, wanted) =>
    inShapes.map((s, i) => (wanted[i] ? e.reshape(e.apply('index', [yBar], { axis, indices: [i] }), s) : null)),
};

// --- stop_gradient ---------------------------------------------------------------

/** The value passes; the derivative is zero at every order (no jvp: never active). */
const stopGradientOp: OpDef<'stop_gradient'> = {
  name: 'stop_gradient',
  arity: 1,
  attrs: {},
  shape: ([s]) => s,
  kernel: copyKernel,
  sameData: true,
};

export const shapeOps = [
  reshapeOp,
  broadcastToOp,
  sliceOp,
  sliceScatterOp,
  indexOp,
  indexAddOp,
  concatOp,
  stackOp,
  stopGradientOp,
] as const;
