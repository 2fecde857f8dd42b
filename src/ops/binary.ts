/**
 * Binary elementwise ops (NumPy broadcasting, number literals allowed anywhere).
 * maximum and minimum route the derivative by selection to the winner, to the
 * first argument on ties, so nothing is multiplied by a 0/1 mask.
 */
import { binaryBase, binaryOp, constantBinaryOp, binaryShape, type PlainOpName } from './elementwise.js';
import { mapTernary } from '../tensor/map.js';
import type { OpDef, RuleCtx, ValueId } from './types.js';
import type { NoAttrs } from './vocabulary.js';

/** a * b, except that 0 times anything (±Infinity, NaN) is 0: the chain-rule product. */
export function zmulScalar(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : a * b;
}

/** Derivative of maximum/minimum: the tangent or cotangent of the winning argument. */
function selecting<N extends PlainOpName>(name: N, f: (a: number, b: number) => number, firstWins: 'ge' | 'le'): OpDef<N> {
  const cond = ({ e, xs }: RuleCtx<NoAttrs>): ValueId => e.apply(firstWins, [xs[0], xs[1]]);
  return {
    ...binaryBase(name, f),
    jvp(ctx, [aDot, bDot]) {
      const { e } = ctx;
      const zero = e.literal(0);
      return e.broadcastTo(e.where(cond(ctx), aDot ?? zero, bDot ?? zero), ctx.outShape);
    },
    vjp(ctx, yBar, wanted) {
      const { e } = ctx;
      const zero = e.literal(0);
      const c = cond(ctx);
      return [
        wanted[0] ? e.sumTo(e.where(c, yBar, zero), ctx.inShapes[0]) : null,
        wanted[1] ? e.sumTo(e.where(c, zero, yBar), ctx.inShapes[1]) : null,
      ];
    },
  };
}

// Not Math.max/min: a tie returns the first argument, so maximum(-0, 0) is -0 (the documented tie rule).
function nanMax(a: number, b: number): number {
  // biome-ignore lint/complexity/useMathMinMax: the tie rule above
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : a >= b ? a : b;
}
function nanMin(a: number, b: number): number {
  // biome-ignore lint/complexity/useMathMinMax: the tie rule above
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : a <= b ? a : b;
}

export const binaryOps = [
  binaryOp('add', (a, b) => a + b, ['one', 'one'], '$0 + $1'),
  binaryOp('sub', (a, b) => a - b, ['one', 'minus_one'], '$0 - $1'),
  // y = a b; ∂a = b, ∂b = a
  binaryOp('mul', (a, b) => a * b, [({ xs }) => xs[1], ({ xs }) => xs[0]], '$0 * $1'),
  // y = a / b; ∂a = 1/b, ∂b = -y/b
  binaryOp('div', (a, b) => a / b, [({ e, xs }) => e.div(e.literal(1), xs[1]), ({ e, xs, y }) => e.neg(e.div(y, xs[1]))], '$0 / $1'),
  // y = a^b; ∂a = b a^(b-1) (0 when b = 0), ∂b = y ln a (0 when y = 0)
  binaryOp('pow', Math.pow, [
    ({ e, xs }) => e.zmul(xs[1], e.apply('pow', [xs[0], e.sub(xs[1], e.literal(1))])),
    ({ e, xs, y }) => e.zmul(y, e.apply('log', [xs[0]])),
  ]),
  // y = atan2(a, b) (NumPy order: a is y, b is x); ∂a = b/(a² + b²), ∂b = -a/(a² + b²)
  binaryOp('atan2', Math.atan2, [
    ({ e, xs }) => e.div(xs[1], e.add(e.apply('square', [xs[0]]), e.apply('square', [xs[1]]))),
    ({ e, xs }) => e.div(e.neg(xs[0]), e.add(e.apply('square', [xs[0]]), e.apply('square', [xs[1]]))),
  ]),
  // Ties go to the first argument.
  selecting('maximum', nanMax, 'ge'),
  selecting('minimum', nanMin, 'le'),
  // Internal: the chain-rule product (see zmulScalar).
  {
    ...binaryOp('zmul', zmulScalar, [({ xs }) => xs[1], ({ xs }) => xs[0]], '($0 === 0 || $1 === 0 ? 0 : $0 * $1)'),
    internal: true,
  },
] as const;

/** Comparisons return 1.0 or 0.0 and are never active. */
export const comparisonOps = [
  constantBinaryOp('lt', (a, b) => (a < b ? 1 : 0)),
  constantBinaryOp('le', (a, b) => (a <= b ? 1 : 0)),
  constantBinaryOp('gt', (a, b) => (a > b ? 1 : 0)),
  constantBinaryOp('ge', (a, b) => (a >= b ? 1 : 0)),
  constantBinaryOp('eq', (a, b) => (a === b ? 1 : 0)),
  constantBinaryOp('ne', (a, b) => (a !== b ? 1 : 0)),
] as const;

const select = (c: number, a: number, b: number): number => (c !== 0 ? a : b);

/**
 * where(cond, a, b): a where cond != 0, else b. Its derivative selects the
 * tangent of the branch taken, so a NaN or Infinity in the other branch (or in
 * its derivative) never leaks in.
 */
export const whereOp: OpDef<'where'> = {
  name: 'where',
  arity: 3,
  attrs: {},
  constantArgs: [0],
  elementwise: true,
  perElement: select,
  inline: '($0 !== 0 ? $1 : $2)',
  shape: binaryShape,
  kernel: (ins, s, out, os) => mapTernary(select, ins[0], s[0], ins[1], s[1], ins[2], s[2], out, os),
  work: (_s, out) => out.reduce((p, d) => p * d, 1),
  jvp({ e, xs, outShape }, [, aDot, bDot]) {
    if (aDot === null && bDot === null) return null;
    const zero = e.literal(0);
    return e.broadcastTo(e.where(xs[0], aDot ?? zero, bDot ?? zero), outShape);
  },
  vjp({ e, xs, inShapes }, yBar, wanted) {
    const zero = e.literal(0);
    return [
      null,
      wanted[1] ? e.sumTo(e.where(xs[0], yBar, zero), inShapes[1]) : null,
      wanted[2] ? e.sumTo(e.where(xs[0], zero, yBar), inShapes[2]) : null,
    ];
  },
};
