/**
 * Helpers that turn one line of math into a full elementwise OpDef, as JAX's
 * defjvp and tfjs's unaryKernelFunc do. Chain-rule products use zmul, so a zero
 * tangent times an infinite partial is zero, not NaN.
 */
import type { z } from 'zod';
import { broadcastShapes } from '../tensor/broadcast.js';
import { mapBinary, mapUnary, type Binary, type Unary } from '../tensor/map.js';
import { formatShape, type Shape } from '../tensor/tensor.js';
import { OpError, type OpDef, type RuleCtx, type ValueId } from './types.js';
import type { NoAttrs, OpNameWith } from './vocabulary.js';

const noAttrs = {} satisfies z.ZodRawShape;

/** ∂y/∂x as ops, from the primal argument x and output y. */
export type UnaryPartial = (ctx: RuleCtx<NoAttrs>, x: ValueId, y: ValueId) => ValueId;

/** The ops without attributes: the elementwise helpers make only these. */
export type PlainOpName = OpNameWith<NoAttrs>;

/** An elementwise op of one argument with no derivative (sign, floor, ...): its output is never active. */
export function constantUnaryOp<N extends PlainOpName>(name: N, f: Unary, inline?: string): OpDef<N> {
  return {
    name,
    arity: 1,
    attrs: noAttrs,
    elementwise: true,
    perElement: f,
    inline,
    shape: (s) => s[0],
    kernel: (ins, _s, out) => mapUnary(f, ins[0], out),
    work: (_s, out) => sizeOfShape(out),
  };
}

export function unaryOp<N extends PlainOpName>(name: N, f: Unary, partial: UnaryPartial | 'linear', inline?: string): OpDef<N> {
  return {
    ...constantUnaryOp(name, f, inline),
    // A linear op's rules apply the op itself; its attributes are spelt out ({}) because N is generic here.
    jvp(ctx, [xDot]) {
      if (xDot === null) return null;
      if (partial === 'linear') return ctx.e.apply(name, [xDot], {});
      return ctx.e.zmul(partial(ctx, ctx.xs[0], ctx.y), xDot);
    },
    vjp(ctx, yBar) {
      if (partial === 'linear') return [ctx.e.apply(name, [yBar], {})];
      return [ctx.e.zmul(partial(ctx, ctx.xs[0], ctx.y), yBar)];
    },
  };
}

/** Partial derivatives of a binary op as ops, each broadcastable to the output shape; 'one' and 'minus_one' mark linear arguments. */
export type BinaryPartial = ((ctx: RuleCtx<NoAttrs>) => ValueId) | 'one' | 'minus_one';

/** The broadcast shape of all arguments; a clash is reported at the first argument that does not fit the ones before it. */
export function binaryShape(s: readonly Shape[]): Shape {
  let acc: Shape = s[0];
  for (let i = 1; i < s.length; i++) {
    const next = broadcastShapes([acc, s[i]]);
    if (next === null) {
      const before = i === 1 ? formatShape(s[0]) : `${s.slice(0, i).map(formatShape).join(', ')} (broadcast to ${formatShape(acc)})`;
      throw new OpError(`argument shape ${formatShape(s[i])} does not broadcast with ${before}`, i);
    }
    acc = next;
  }
  return acc;
}

/** The parts every broadcasting binary op shares: shape rule, kernel, work. */
export function binaryBase<N extends PlainOpName>(name: N, f: Binary, inline?: string): OpDef<N> {
  return {
    name,
    arity: 2,
    attrs: noAttrs,
    elementwise: true,
    perElement: f,
    inline,
    shape: binaryShape,
    kernel: (ins, s, out, os) => mapBinary(f, ins[0], s[0], ins[1], s[1], out, os),
    work: (_s, out) => sizeOfShape(out),
  };
}

export function binaryOp<N extends PlainOpName>(name: N, f: Binary, partials: [BinaryPartial, BinaryPartial], inline?: string): OpDef<N> {
  const scaled = (ctx: RuleCtx<NoAttrs>, i: number, t: ValueId): ValueId => {
    const p = partials[i];
    if (p === 'one') return t;
    if (p === 'minus_one') return ctx.e.neg(t);
    return ctx.e.zmul(p(ctx), t);
  };
  return {
    ...binaryBase(name, f, inline),
    jvp(ctx, xDots) {
      const terms = xDots.map((t, i) => (t === null ? null : scaled(ctx, i, t)));
      return ctx.e.sumTerms(terms, ctx.outShape);
    },
    vjp(ctx, yBar, wanted) {
      return wanted.map((w, i) => (w ? ctx.e.sumTo(scaled(ctx, i, yBar), ctx.inShapes[i]) : null));
    },
  };
}

/** An elementwise op with no derivative (comparisons): its output is never active. */
export const constantBinaryOp = binaryBase;

function sizeOfShape(s: Shape): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}
