/**
 * clip(a; min, max) = minimum(maximum(a, min), max), with maximum's and minimum's
 * conventions: NaN (in a or a bound) gives NaN, a tie keeps the first argument (so
 * clip(-0; min 0) is -0), and min > max gives max everywhere (as NumPy). The
 * derivative is that of the composition, by selection: the tangent of a where
 * min ≤ a ≤ max (ties at either bound pass it, as ties go to the first argument),
 * 0 elsewhere and at NaN (a failed comparison sends it to the constant bound).
 */
import { mapUnary } from '../tensor/map.js';
import { readWireFloat, WireFloatSchema } from '../tensor/nested.js';
import { sizeOf } from '../tensor/tensor.js';
import type { OpDef, RuleCtx, ValueId } from './types.js';
import type { ClipAttrs } from './vocabulary.js';

/** The scalar clip for given bounds: maximum's then minimum's rule, written out. */
export function clipper(min: number, max: number): (x: number) => number {
  return (x) => {
    // biome-ignore lint/complexity/useMathMinMax: maximum's tie and NaN rules, not Math.max's
    const m = Number.isNaN(x) || Number.isNaN(min) ? NaN : x >= min ? x : min;
    // biome-ignore lint/complexity/useMathMinMax: minimum's tie and NaN rules, not Math.min's
    return Number.isNaN(m) || Number.isNaN(max) ? NaN : m <= max ? m : max;
  };
}

/** 1 where the derivative passes (min ≤ a ≤ max), else 0: never active, as comparisons are. */
function passes({ e, xs, attrs }: RuleCtx<ClipAttrs>): ValueId {
  const x = xs[0];
  return e.mul(e.apply('ge', [x, e.literal(attrs.min)]), e.apply('le', [x, e.literal(attrs.max)]));
}

export const clipOp: OpDef<'clip'> = {
  name: 'clip',
  arity: 1,
  attrs: { min: WireFloatSchema.optional(), max: WireFloatSchema.optional() },
  prepare(wire: { min?: number | string; max?: number | string }) {
    return { min: readWireFloat(wire.min ?? '-Infinity') as number, max: readWireFloat(wire.max ?? 'Infinity') as number };
  },
  elementwise: true,
  perElementWith: (a) => clipper(a.min, a.max),
  shape: (s) => s[0],
  kernel: (ins, _s, out, _os, a) => mapUnary(clipper(a.min, a.max), ins[0], out),
  work: (_s, out) => sizeOf(out),
  jvp(ctx, [xDot]) {
    if (xDot === null) return null;
    return ctx.e.where(passes(ctx), xDot, ctx.e.literal(0));
  },
  vjp(ctx, yBar) {
    return [ctx.e.where(passes(ctx), yBar, ctx.e.literal(0))];
  },
};
