/**
 * Unary elementwise ops. One line each: the primal and ∂y/∂x written as ops.
 * Conventions at non-smooth points: abs'(0) = 0 and relu'(0) = 0. The piecewise
 * constant ones (sign, floor, ceil, round) are in steps.ts.
 */
import { erf } from './erf.js';
import { unaryOp } from './elementwise.js';
import type { Emit, ValueId } from './types.js';

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** σ(x) without overflow for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const ex = Math.exp(x);
  return ex / (1 + ex);
}

/** log(1 + e^x) for every x: max(x, 0) + log1p(e^-|x|), no cut-off. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** √((1 - x)(1 + x)) as ops. */
function oneMinusSquareRoot(e: Emit, x: ValueId): ValueId {
  return e.apply('sqrt', [e.mul(e.sub(e.literal(1), x), e.add(e.literal(1), x))]);
}

export const unaryOps = [
  // y = -x; linear
  unaryOp('neg', (x) => -x, 'linear', '-$0'),
  // y = e^x; y' = y
  unaryOp('exp', Math.exp, (_c, _x, y) => y),
  // y = ln x; y' = 1/x
  unaryOp('log', Math.log, ({ e }, x) => e.div(e.literal(1), x)),
  // y = ln(1 + x); y' = 1/(1 + x)
  unaryOp('log1p', Math.log1p, ({ e }, x) => e.div(e.literal(1), e.add(e.literal(1), x))),
  // y = e^x - 1; y' = e^x
  unaryOp('expm1', Math.expm1, ({ e }, x) => e.apply('exp', [x])),
  // y = √x; y' = 1/(2y)
  unaryOp('sqrt', Math.sqrt, ({ e }, _x, y) => e.div(e.literal(0.5), y)),
  // y = x²; y' = 2x
  unaryOp(
    'square',
    (x) => x * x,
    ({ e }, x) => e.mul(e.literal(2), x),
    '$0 * $0',
  ),
  // y = |x|; y' = sign(x), 0 at 0
  unaryOp('abs', Math.abs, ({ e }, x) => e.apply('sign', [x])),
  unaryOp('sin', Math.sin, ({ e }, x) => e.apply('cos', [x])),
  unaryOp('cos', Math.cos, ({ e }, x) => e.neg(e.apply('sin', [x]))),
  // y = tan x; y' = 1 + y²
  unaryOp('tan', Math.tan, ({ e }, _x, y) => e.add(e.literal(1), e.apply('square', [y]))),
  // y = tanh x; y' = 1/cosh²x (not 1 - y², which rounds to 0 for |x| > 19)
  unaryOp('tanh', Math.tanh, ({ e }, x) => e.div(e.literal(1), e.apply('square', [e.apply('cosh', [x])]))),
  unaryOp('sinh', Math.sinh, ({ e }, x) => e.apply('cosh', [x])),
  unaryOp('cosh', Math.cosh, ({ e }, x) => e.apply('sinh', [x])),
  // y = asin x; y' = 1/√((1 - x)(1 + x)), factored to keep precision near ±1
  unaryOp('asin', Math.asin, ({ e }, x) => e.div(e.literal(1), oneMinusSquareRoot(e, x))),
  // y = acos x; y' = -1/√((1 - x)(1 + x))
  unaryOp('acos', Math.acos, ({ e }, x) => e.div(e.literal(-1), oneMinusSquareRoot(e, x))),
  // y = atan x; y' = 1/(1 + x²)
  unaryOp('atan', Math.atan, ({ e }, x) => e.div(e.literal(1), e.add(e.literal(1), e.apply('square', [x])))),
  // y = σ(x); y' = σ(x) σ(-x) (not y (1 - y), which rounds to 0 for x > 37)
  unaryOp('sigmoid', sigmoid, ({ e }, x, y) => e.mul(y, e.apply('sigmoid', [e.neg(x)]))),
  // y = max(x, 0); y' = 1 for x > 0, else 0 (so relu'(0) = 0)
  unaryOp(
    'relu',
    (x) => (x > 0 ? x : x === 0 || x < 0 ? 0 : x),
    ({ e }, x) => e.apply('gt', [x, e.literal(0)]),
  ),
  // y = log(1 + e^x); y' = σ(x)
  unaryOp('softplus', softplus, ({ e }, x) => e.apply('sigmoid', [x])),
  // y = erf x; y' = (2/√π) e^(-x²)
  unaryOp('erf', erf, ({ e }, x) => e.mul(e.literal(TWO_OVER_SQRT_PI), e.apply('exp', [e.neg(e.apply('square', [x]))]))),
  // y = asinh x; y' = 1/√(x² + 1)
  unaryOp('asinh', Math.asinh, ({ e }, x) => e.div(e.literal(1), e.apply('sqrt', [e.add(e.apply('square', [x]), e.literal(1))]))),
  // y = acosh x; y' = 1/√((x - 1)(x + 1)), factored to keep precision near 1
  unaryOp('acosh', Math.acosh, ({ e }, x) => e.div(e.literal(1), e.apply('sqrt', [e.mul(e.sub(x, e.literal(1)), e.add(x, e.literal(1)))]))),
  // y = atanh x; y' = 1/((1 - x)(1 + x)), factored likewise near ±1
  unaryOp('atanh', Math.atanh, ({ e }, x) => e.div(e.literal(1), e.mul(e.sub(e.literal(1), x), e.add(e.literal(1), x)))),
  // y = log₂ x; y' = log₂e / x
  unaryOp('log2', Math.log2, ({ e }, x) => e.div(e.literal(Math.LOG2E), x)),
  // y = log₁₀ x; y' = log₁₀e / x
  unaryOp('log10', Math.log10, ({ e }, x) => e.div(e.literal(Math.LOG10E), x)),
  // y = ∛x; y' = 1/(3y²) (Infinity at 0)
  unaryOp('cbrt', Math.cbrt, ({ e }, _x, y) => e.div(e.literal(1), e.mul(e.literal(3), e.apply('square', [y])))),
] as const;
