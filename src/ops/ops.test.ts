/**
 * One table-driven test for every op in the registry (wire and internal).
 *
 * CASES has exactly one entry per op, so an op added without a case fails the
 * "every op has a case" test. A case is one of:
 *   - 'diff': differentiable (jvp and vjp). At random points in a safe domain:
 *       1. JVP against Richardson central differences along one random direction;
 *       2. VJP by <J t, c> = <t, Jᵀ c>, with J t from the op's own JVP (to rounding)
 *          and from finite differences;
 *       3. k = 3 directions in one batched run against three k = 1 runs, for the
 *          JVP and the VJP;
 *       4. forward-over-reverse: jvpEqns applied to the equations vjpEqns made (the
 *          cotangent fixed) against central differences of that VJP program, and
 *          forward-over-forward likewise (jvpEqns over a JVP program, first tangent
 *          fixed): together they differentiate every rule, internal ops included;
 *       5. seeding a random subset of the arguments, and (separately) each one alone.
 *   - 'forward': has a jvp but no vjp (internal ops that only appear in programs
 *     that are differentiated forward, never in reverse: matmul_nt, matmul_tn):
 *     checks 1, 3, 5 and forward-over-forward.
 *   - 'nondiff': no jvp and no vjp; its kernel is checked on examples, and no
 *     tangent or cotangent flows through it.
 * Then: primal kernels of the elementwise ops against Math.* or independent formulas,
 * and the conventions at non-smooth and singular points.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { variedFrom } from '../analysis/activity.js';
import { runEqns, type Env } from '../ir/interpret.js';
import { jvpEqns, vjpEqns } from '../ir/transform.js';
import type { Eqn } from '../ir/program.js';
import { sizeOf, stridesOf, type Shape } from '../tensor/tensor.js';
import { ProgramBuilder } from '../ir/builder.js';
import { ProgramStep } from '../ir/step.js';
import { ALL_OPS, getOp } from './registry.js';
import type { OpDef, ValueId } from './types.js';
import type { GroupAttrs, OpAttrs, OpName } from './vocabulary.js';
import { absInner, along, centralDiff, expectClose, inner, randomArray, rng, type Rng } from '../../test/helpers/numeric.js';
import { ADJOINT_REL, ANALYTIC_REL, BATCH_REL, FD_REL, FD_STEP, FORMULA_REL } from '../../test/helpers/tolerances.js';
import { indices } from '../../test/helpers/shapes.js';

const FC = { seed: 0x5eed, numRuns: 30 } as const;
const K = 3;

// --- cases -----------------------------------------------------------------------

interface Sample {
  shapes: Shape[];
  /** Kernel attributes (what Emit.apply takes). */
  attrs: object;
}

/** Draws the argument values for a sample (one array per argument). */
type Values = (r: Rng, shapes: readonly Shape[], attrs?: any) => Float64Array[];

interface DiffCase {
  kind: 'diff' | 'forward';
  sample: fc.Arbitrary<Sample>;
  values: Values;
  /** Arguments that never get a tangent (where's condition). */
  constArgs?: readonly number[];
  /** Why forward-over-forward is not checked (it would need a derivative the op family never provides). */
  noForwardOverForward?: string;
  /** Why forward-over-reverse is not checked (likewise). */
  noForwardOverReverse?: string;
}

interface Example {
  args: { shape: Shape; data: number[] }[];
  attrs: object;
  out: { shape: Shape; data: number[] };
}

interface NonDiffCase {
  kind: 'nondiff';
  examples: Example[];
}

/**
 * An op a checked graph expands into other ops (einsum): its kernel is the reference
 * definition, checked on examples; its derivatives are its expansion's, checked
 * against finite differences beside the op (einsum.test.ts).
 */
interface ExpandedCase {
  kind: 'expanded';
  examples: Example[];
}

type Case = DiffCase | NonDiffCase | ExpandedCase;

type Sampler = (r: Rng) => number;
const uni =
  (lo: number, hi: number): Sampler =>
  (r) =>
    r.uniform(lo, hi);
/** ±[lo, hi): away from 0 (abs, relu, denominators). */
const away =
  (lo: number, hi: number): Sampler =>
  (r) =>
    r.sign() * r.uniform(lo, hi);
/** Mostly `s`, sometimes an exact 0 (prod, mul and zmul are smooth there). */
const withZeros =
  (s: Sampler): Sampler =>
  (r) =>
    r.next() < 0.2 ? 0 : s(r);

/** Argument i drawn by samplers[i] (the last sampler for the rest). */
const each =
  (...samplers: Sampler[]): Values =>
  (r, shapes) =>
    shapes.map((s, i) => randomArray(sizeOf(s), () => samplers[Math.min(i, samplers.length - 1)](r)));

/** All values of the one argument distinct and at least 0.3 apart (max and min: no ties within the step). */
const distinct: Values = (r, [s]) => {
  const n = sizeOf(s);
  const perm = r.shuffle(Array.from({ length: n }, (_, i) => i));
  return [Float64Array.from(perm, (p) => 0.4 * (p - n / 2) + r.uniform(0, 0.1))];
};

/** maximum/minimum: a ∈ ℤ + [0.2, 0.4), b ∈ ℤ + [0.6, 0.8), so |a - b| ≥ 0.2 wherever they meet. */
const separated: Values = (r, [as, bs]) => [
  randomArray(sizeOf(as), () => r.int(-2, 2) + r.uniform(0.2, 0.4)),
  randomArray(sizeOf(bs), () => r.int(-2, 2) + r.uniform(0.6, 0.8)),
];

const dim = fc.integer({ min: 1, max: 3 });
const shapeArb = (minRank = 0, maxRank = 3, d = dim): fc.Arbitrary<number[]> => fc.array(d, { minLength: minRank, maxLength: maxRank });
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A shape that broadcasts to `out`: leading axes dropped, any axis possibly 1; often `out` itself. */
const broadcastsTo = (out: readonly number[]): fc.Arbitrary<number[]> =>
  fc.oneof(
    fc.constant<number[]>([...out]),
    fc
      .tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))
      .map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d))),
  );

/** n argument shapes that broadcast together (scalars, vectors, matrices, rank 3). */
const broadcasting = (n: number, maxRank = 3): fc.Arbitrary<Sample> =>
  shapeArb(0, maxRank).chain((out) => fc.array(broadcastsTo(out), { minLength: n, maxLength: n }).map((shapes) => ({ shapes, attrs: {} })));

const unarySample: fc.Arbitrary<Sample> = shapeArb().map((s) => ({ shapes: [s], attrs: {} }));

const reduceSample: fc.Arbitrary<Sample> = shapeArb().chain((s) =>
  fc.record({ axes: fc.subarray(range(s.length)), keepdims: fc.boolean() }).map((attrs) => ({ shapes: [s], attrs })),
);

const groupSample: fc.Arbitrary<Sample> = shapeArb().chain((s) =>
  fc.subarray(range(s.length)).map((axes) => ({ shapes: [s], attrs: { axes } })),
);

const matmulSample: fc.Arbitrary<Sample> = fc
  .record({
    m: dim,
    k: dim,
    n: dim,
    aVec: fc.boolean(),
    bVec: fc.boolean(),
    batch: shapeArb(0, 2).chain((out) => fc.tuple(broadcastsTo(out), broadcastsTo(out))),
  })
  .map(({ m, k, n, aVec, bVec, batch: [ba, bb] }) => ({
    shapes: [aVec ? [k] : [...ba, m, k], bVec ? [k] : [...bb, k, n]],
    attrs: {},
  }));

/** matmul_nt: a [.., m, k], b stored [.., n, k]; matmul_tn: a stored [.., k, m], b [.., k, n]; batch dims broadcast. */
const storedMatmulSample = (layout: 'nt' | 'tn'): fc.Arbitrary<Sample> =>
  fc
    .record({ m: dim, k: dim, n: dim, batch: shapeArb(0, 2).chain((out) => fc.tuple(broadcastsTo(out), broadcastsTo(out))) })
    .map(({ m, k, n, batch: [ba, bb] }) => ({
      shapes:
        layout === 'nt'
          ? [
              [...ba, m, k],
              [...bb, n, k],
            ]
          : [
              [...ba, k, m],
              [...bb, k, n],
            ],
      attrs: {},
    }));

/** A square argument [..., n, n] (n up to 4, so det's adjugate takes its general path) and its batch. */
const squareSample: fc.Arbitrary<Sample> = fc
  .record({ n: fc.integer({ min: 1, max: 4 }), batch: shapeArb(0, 2) })
  .map(({ n, batch }) => ({ shapes: [[...batch, n, n]], attrs: {} }));

/** solve's arguments: a [..., n, n] with b [n] or [..., n, k], batch dimensions broadcasting. */
const solveSample: fc.Arbitrary<Sample> = fc
  .record({
    n: fc.integer({ min: 1, max: 4 }),
    k: dim,
    vector: fc.boolean(),
    batch: shapeArb(0, 2).chain((out) => fc.tuple(broadcastsTo(out), broadcastsTo(out))),
  })
  .map(({ n, k, vector, batch: [ba, bb] }) => ({ shapes: [[...ba, n, n], vector ? [n] : [...bb, n, k]], attrs: {} }));

/**
 * Argument 0 [..., n, n] diagonally dominant: uniform(-1, 1) plus n + 1 on the diagonal, so it,
 * each of its triangles and the symmetric matrix of its lower triangle are well conditioned (the
 * last positive definite). Other arguments uniform(-2, 2).
 */
const squareFirst: Values = (r, shapes) =>
  shapes.map((s, i) => {
    const x = randomArray(sizeOf(s), () => r.uniform(i === 0 ? -1 : -2, i === 0 ? 1 : 2));
    if (i === 0) {
      const n = s[s.length - 1];
      for (let t = 0; t < x.length; t += n * n) for (let j = 0; j < n; j++) x[t + j * n + j] += n + 1;
    }
    return x;
  });

/** Wire slice attributes: half of them a non-empty box, half anything (clamping, negative indices and steps). */
const sliceWire = (s: readonly number[]): fc.Arbitrary<{ start: number[]; stop: number[]; step: number[] }> => {
  const axis = (n: number): fc.Arbitrary<[number, number, number]> =>
    fc.oneof(
      fc
        .tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 1, max: n }), fc.constantFrom(1, 2), fc.boolean())
        .map(([i, len, step, back]): [number, number, number] => {
          const j = Math.min(n, i + len);
          return back ? [j - 1, i - 1 < 0 ? -n - 1 : i - 1, -step] : [i, j, step];
        }),
      fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -5, max: 5 }), fc.constantFrom(-2, -1, 1, 2, 3)),
    );
  return fc.tuple(...s.map(axis)).map((t) => ({ start: t.map((a) => a[0]), stop: t.map((a) => a[1]), step: t.map((a) => a[2]) }));
};

const sliceSample: fc.Arbitrary<{ s: number[]; attrs: { begin: number[]; step: number[]; count: number[] } }> = shapeArb(
  1,
  3,
  fc.integer({ min: 1, max: 4 }),
).chain((s) => sliceWire(s).map((wire) => ({ s, attrs: getOp('slice').prepare!(wire, [s]) })));

const indexSample: fc.Arbitrary<{ s: number[]; axis: number; indices: number[] }> = shapeArb(1, 3).chain((s) =>
  fc
    .integer({ min: 0, max: s.length - 1 })
    .chain((axis) =>
      fc.array(fc.integer({ min: 0, max: s[axis] - 1 }), { minLength: 1, maxLength: 4 }).map((indices) => ({ s, axis, indices })),
    ),
);

/** An array and an indices shape (rank 0 to 2) for gather and the scatters, along one of the array's axes. */
const gatherSample: fc.Arbitrary<{ s: number[]; axis: number; is: number[] }> = shapeArb(1, 3).chain((s) =>
  fc
    .record({ axis: fc.integer({ min: 0, max: s.length - 1 }), is: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }) })
    .map(({ axis, is }) => ({ s, axis, is })),
);

const gatheredShape = (s: Shape, is: Shape, axis: number): number[] => [...s.slice(0, axis), ...is, ...s.slice(axis + 1)];

/** Integer indices into an axis of length n, some negative (from the end), repeats likely. */
const indexValues = (r: Rng, is: Shape, n: number): Float64Array => randomArray(sizeOf(is), () => r.int(-n, n - 1));

/** Batched matrices ([..., rows, cols], rank 2 to 4) and a diagonal k that meets the matrix. */
const matrixSample: fc.Arbitrary<{ shapes: number[][]; attrs: { k: number } }> = fc
  .tuple(shapeArb(0, 2), dim, dim)
  .chain(([batch, rows, cols]) =>
    fc.integer({ min: 1 - rows, max: cols - 1 }).map((k) => ({ shapes: [[...batch, rows, cols]], attrs: { k } })),
  );

/** One axis of a shape of rank 1 to 3. */
const axisSample: fc.Arbitrary<Sample> = shapeArb(1, 3).chain((s) =>
  fc.integer({ min: 0, max: s.length - 1 }).map((axis) => ({ shapes: [s], attrs: { axis } })),
);

/** One axis walked either way. */
const cumulativeSample: fc.Arbitrary<{ shapes: number[][]; attrs: { axis: number; reverse: boolean } }> = shapeArb(
  1,
  3,
  fc.integer({ min: 1, max: 4 }),
).chain((s) =>
  fc.record({ axis: fc.integer({ min: 0, max: s.length - 1 }), reverse: fc.boolean() }).map((attrs) => ({ shapes: [s], attrs })),
);

/** scatter_add and scatter_set: an array, integer indices (never differentiated) and updates of the gathered shape. */
const scatterCase: DiffCase = {
  kind: 'diff',
  sample: gatherSample.map(({ s, axis, is }) => ({ shapes: [s, is, gatheredShape(s, is, axis)], attrs: { axis } })),
  values: (r, [s, is, u], attrs) => [
    randomArray(sizeOf(s), () => r.uniform(-3, 3)),
    indexValues(r, is, s[(attrs as { axis: number }).axis]),
    randomArray(sizeOf(u), () => r.uniform(-3, 3)),
  ],
  constArgs: [1],
};

const compare: Record<string, (a: number, b: number) => boolean> = {
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
};

/**
 * Unary ops: a safe domain for the derivative checks and a reference for the primal.
 * `exact`: the reference is the same IEEE function (Math.*), so results must be
 * identical everywhere, specials included; otherwise an independent formula, compared
 * to FORMULA_REL on moderate arguments.
 */
interface UnarySpec {
  domain: Sampler;
  ref: (x: number) => number;
  exact: boolean;
  /** dy/dx, written independently of the op's rule. */
  d: (x: number) => number;
  /** Where an inexact reference is itself accurate to FORMULA_REL. */
  formulaRange?: [number, number];
}

/** erf by its Maclaurin series 2/√π Σ (-1)ⁿ x²ⁿ⁺¹ / (n! (2n + 1)); fine in double precision for |x| ≤ 3. */
function erfSeries(x: number): number {
  let term = x; // (-1)ⁿ x²ⁿ⁺¹ / n!
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-18 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const UNARY: Record<string, UnarySpec> = {
  neg: { domain: uni(-3, 3), ref: (x) => -x, exact: true, d: () => -1 },
  exp: { domain: uni(-3, 3), ref: Math.exp, exact: true, d: Math.exp },
  log: { domain: uni(0.1, 4), ref: Math.log, exact: true, d: (x) => 1 / x },
  log1p: { domain: uni(-0.8, 3), ref: Math.log1p, exact: true, d: (x) => 1 / (1 + x) },
  expm1: { domain: uni(-3, 3), ref: Math.expm1, exact: true, d: Math.exp },
  sqrt: { domain: uni(0.1, 4), ref: Math.sqrt, exact: true, d: (x) => 0.5 / Math.sqrt(x) },
  square: { domain: uni(-3, 3), ref: (x) => x * x, exact: true, d: (x) => 2 * x },
  abs: { domain: away(0.1, 3), ref: Math.abs, exact: true, d: Math.sign },
  sin: { domain: uni(-3, 3), ref: Math.sin, exact: true, d: Math.cos },
  cos: { domain: uni(-3, 3), ref: Math.cos, exact: true, d: (x) => -Math.sin(x) },
  tan: { domain: uni(-1.2, 1.2), ref: Math.tan, exact: true, d: (x) => 1 / Math.cos(x) ** 2 },
  tanh: { domain: uni(-3, 3), ref: Math.tanh, exact: true, d: (x) => 1 / Math.cosh(x) ** 2 },
  sinh: { domain: uni(-3, 3), ref: Math.sinh, exact: true, d: Math.cosh },
  cosh: { domain: uni(-3, 3), ref: Math.cosh, exact: true, d: Math.sinh },
  asin: { domain: uni(-0.9, 0.9), ref: Math.asin, exact: true, d: (x) => 1 / Math.sqrt((1 - x) * (1 + x)) },
  acos: { domain: uni(-0.9, 0.9), ref: Math.acos, exact: true, d: (x) => -1 / Math.sqrt((1 - x) * (1 + x)) },
  atan: { domain: uni(-3, 3), ref: Math.atan, exact: true, d: (x) => 1 / (1 + x * x) },
  sigmoid: {
    domain: uni(-3, 3),
    ref: (x) => 1 / (1 + Math.exp(-x)),
    exact: false,
    d: (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2,
    formulaRange: [-30, 30],
  },
  relu: { domain: away(0.1, 3), ref: (x) => Math.max(x, 0), exact: true, d: (x) => (x > 0 ? 1 : 0) },
  softplus: {
    domain: uni(-3, 3),
    ref: (x) => Math.log(1 + Math.exp(x)),
    exact: false,
    d: (x) => 1 / (1 + Math.exp(-x)),
    formulaRange: [-5, 30],
  },
  erf: { domain: uni(-3, 3), ref: erfSeries, exact: false, d: (x) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x), formulaRange: [-2, 2] },
  asinh: { domain: uni(-3, 3), ref: Math.asinh, exact: true, d: (x) => 1 / Math.sqrt(1 + x * x) },
  // acosh' and atanh' are infinite at 1 and ±1
  acosh: { domain: uni(1.1, 4), ref: Math.acosh, exact: true, d: (x) => 1 / Math.sqrt(x * x - 1) },
  atanh: { domain: uni(-0.9, 0.9), ref: Math.atanh, exact: true, d: (x) => 1 / (1 - x * x) },
  log2: { domain: uni(0.1, 4), ref: Math.log2, exact: true, d: (x) => 1 / (x * Math.LN2) },
  log10: { domain: uni(0.1, 4), ref: Math.log10, exact: true, d: (x) => 1 / (x * Math.LN10) },
  // cbrt' is infinite at 0
  cbrt: { domain: away(0.2, 3), ref: Math.cbrt, exact: true, d: (x) => 1 / (3 * Math.cbrt(x) ** 2) },
};

/** clip's bounds (kernel attributes): integers or infinite, sometimes min > max. */
const clipSample: fc.Arbitrary<Sample> = fc
  .tuple(shapeArb(), fc.constantFrom(-Infinity, -2, -1, 0, 1), fc.constantFrom(Infinity, -1, 0, 1, 2))
  .map(([s, min, max]) => ({ shapes: [s], attrs: { min, max } }));

/** Piecewise constant ops: their values at the specials and either side of integers and halves. */
const STEP_X = [-2.5, -1.5, -0.5, -0.4, -0, 0, 0.4, 0.5, 0.6, 1.5, 2.5, 3.7, -3.7, 1e300, -5e-324, Infinity, -Infinity, NaN];
const stepCase = (f: (x: number) => number): NonDiffCase => ({
  kind: 'nondiff',
  examples: [
    { args: [{ shape: [STEP_X.length], data: STEP_X }], attrs: {}, out: { shape: [STEP_X.length], data: STEP_X.map(f) } },
    { args: [{ shape: [2, 0], data: [] }], attrs: {}, out: { shape: [2, 0], data: [] } },
  ],
});

/**
 * scan's body for a case: next carry = sin(0.7 c + x c) + 0.5 c, or without x
 * sin(0.7 c) + 0.5 c, elementwise over the carry's shape, with a sum in it so that a
 * non-elementwise op runs inside the loop too.
 */
function scanBody(s: Shape, withX: boolean): ProgramStep {
  const e = new ProgramBuilder();
  const c = e.input(s);
  const inputs = [c];
  let v = e.mul(c, e.literal(0.7));
  if (withX) {
    const x = e.input(s);
    inputs.push(x);
    v = e.add(v, e.mul(x, c));
  }
  const total = e.sum(e.apply('tanh', [c]), range(s.length), true);
  const output = e.add(e.add(e.apply('sin', [v]), e.mul(c, e.literal(0.5))), e.mul(total, e.literal(0.1)));
  return new ProgramStep({ program: e.program(), inputs, output }, 'step');
}

const scanSample: fc.Arbitrary<Sample> = fc
  .record({ s: shapeArb(0, 2), length: fc.integer({ min: 1, max: 4 }), withX: fc.boolean(), reverse: fc.boolean() })
  .map(({ s, length, withX, reverse }) => ({
    shapes: withX ? [s, [length, ...s]] : [s],
    attrs: { function: 'step', length, reverse, body: scanBody(s, withX) },
  }));

/** Ops no equation applies, so no case can run: why. */
const NOT_EQUATIONS: Record<string, string> = {
  call: "expanded into the called function's equations when the graph is checked (graph/check.test.ts, test/functions.test.ts)",
};

const CASES: Record<string, Case> = {
  // leaves
  const: {
    kind: 'nondiff',
    examples: [
      { args: [], attrs: { value: { shape: [], data: Float64Array.of(2.5) } }, out: { shape: [], data: [2.5] } },
      {
        args: [],
        attrs: { value: { shape: [2, 2], data: Float64Array.of(1, NaN, -Infinity, -0) } },
        out: { shape: [2, 2], data: [1, NaN, -Infinity, -0] },
      },
    ],
  },
  range: {
    kind: 'nondiff',
    examples: [
      { args: [], attrs: getOp('range').prepare!({ stop: 3 }, []), out: { shape: [3], data: [0, 1, 2] } },
      { args: [], attrs: getOp('range').prepare!({ start: 1, stop: 2, step: 0.25 }, []), out: { shape: [4], data: [1, 1.25, 1.5, 1.75] } },
      { args: [], attrs: getOp('range').prepare!({ start: 0, stop: -3, step: -1 }, []), out: { shape: [3], data: [0, -1, -2] } },
      { args: [], attrs: getOp('range').prepare!({ start: 5, stop: 1 }, []), out: { shape: [0], data: [] } },
    ],
  },
  fill: {
    kind: 'nondiff',
    examples: [
      { args: [], attrs: { shape: [2, 3], value: -1.5 }, out: { shape: [2, 3], data: [-1.5, -1.5, -1.5, -1.5, -1.5, -1.5] } },
      { args: [], attrs: { shape: [], value: NaN }, out: { shape: [], data: [NaN] } },
    ],
  },

  // unary elementwise: domains in UNARY
  ...Object.fromEntries(
    Object.entries(UNARY).map(([name, u]): [string, DiffCase] => [name, { kind: 'diff', sample: unarySample, values: each(u.domain) }]),
  ),

  // binary elementwise
  add: { kind: 'diff', sample: broadcasting(2), values: each(uni(-3, 3)) },
  sub: { kind: 'diff', sample: broadcasting(2), values: each(uni(-3, 3)) },
  mul: { kind: 'diff', sample: broadcasting(2), values: each(withZeros(uni(-3, 3))) },
  div: { kind: 'diff', sample: broadcasting(2), values: each(uni(-3, 3), away(0.3, 3)) },
  pow: { kind: 'diff', sample: broadcasting(2), values: each(uni(0.3, 3), uni(-3, 3)) },
  // |a| ≥ 0.2: never near the branch cut along the negative b axis
  atan2: { kind: 'diff', sample: broadcasting(2), values: each(away(0.2, 3), away(0.2, 3)) },
  maximum: { kind: 'diff', sample: broadcasting(2), values: separated },
  minimum: { kind: 'diff', sample: broadcasting(2), values: separated },
  zmul: { kind: 'diff', sample: broadcasting(2), values: each(withZeros(uni(-3, 3))) },

  // comparisons: 1.0 or 0.0, NaN compares false (ne true), -0 equals 0; broadcasting
  ...Object.fromEntries(
    (
      [
        ['lt', [0, 0, 1, 0, 0, 0]],
        ['le', [1, 0, 1, 1, 0, 0]],
        ['gt', [0, 1, 0, 0, 0, 1]],
        ['ge', [1, 1, 0, 1, 0, 1]],
        ['eq', [1, 0, 0, 1, 0, 0]],
        ['ne', [0, 1, 1, 0, 1, 1]],
      ] as const
    ).map(([name, out]): [string, NonDiffCase] => [
      name,
      {
        kind: 'nondiff',
        examples: [
          {
            // a = [1, 2, 1, -0, NaN, Infinity] against b = [1, 1, 2, 0, NaN, 1e308]
            args: [
              { shape: [6], data: [1, 2, 1, -0, NaN, Infinity] },
              { shape: [6], data: [1, 1, 2, 0, NaN, 1e308] },
            ],
            attrs: {},
            out: { shape: [6], data: [...out] },
          },
          {
            // broadcasting: [2, 1] against [3]
            args: [
              { shape: [2, 1], data: [1, 2] },
              { shape: [3], data: [0, 1, 2] },
            ],
            attrs: {},
            out: {
              shape: [2, 3],
              data: [
                [1, 0],
                [1, 1],
                [1, 2],
                [2, 0],
                [2, 1],
                [2, 2],
              ].map(([a, b]) => (compare[name](a, b) ? 1 : 0)),
            },
          },
        ],
      },
    ]),
  ),

  where: {
    kind: 'diff',
    sample: broadcasting(3),
    values: (r, shapes) => [randomArray(sizeOf(shapes[0]), () => r.pick([0, 1, -2, 0.5])), ...each(uni(-3, 3))(r, shapes.slice(1))],
    constArgs: [0],
  },

  // piecewise constant: never active; sign(±0) = ±0, round halves to even
  sign: {
    kind: 'nondiff',
    examples: [
      {
        args: [{ shape: [7], data: [-2, -0, 0, 3, NaN, -Infinity, 5e-324] }],
        attrs: {},
        out: { shape: [7], data: [-1, -0, 0, 1, NaN, -1, 1] },
      },
    ],
  },
  floor: stepCase(Math.floor),
  ceil: stepCase(Math.ceil),
  round: {
    kind: 'nondiff',
    examples: [
      {
        args: [{ shape: [STEP_X.length], data: STEP_X }],
        attrs: {},
        // -2.5 → -2, -1.5 → -2, -0.5 → -0, 0.5 → 0, 1.5 → 2, 2.5 → 2
        out: { shape: [STEP_X.length], data: [-2, -2, -0, -0, -0, 0, 0, 0, 1, 2, 2, 4, -4, 1e300, -0, Infinity, -Infinity, NaN] },
      },
      {
        // beside 2^52 every double is a multiple of 0.5: ties there go to the even neighbour too
        args: [{ shape: [4], data: [4503599627370495.5, 4503599627370494.5, 0.49999999999999994, -0.49999999999999994] }],
        attrs: {},
        out: { shape: [4], data: [4503599627370496, 4503599627370494, 0, -0] },
      },
    ],
  },
  // a ∈ ℤ + [0.2, 0.8): at least 0.2 from every bound
  clip: { kind: 'diff', sample: clipSample, values: (r, [s]) => [randomArray(sizeOf(s), () => r.int(-3, 3) + r.uniform(0.2, 0.8))] },

  // functions: a loop whose derivatives are loops over derived bodies
  scan: { kind: 'diff', sample: scanSample, values: each(uni(-1.5, 1.5)) },

  // reductions
  sum: { kind: 'diff', sample: reduceSample, values: each(uni(-3, 3)) },
  mean: { kind: 'diff', sample: reduceSample, values: each(uni(-3, 3)) },
  prod: { kind: 'diff', sample: reduceSample, values: each(withZeros(uni(-1.5, 1.5))) },
  max: { kind: 'diff', sample: reduceSample, values: distinct },
  min: { kind: 'diff', sample: reduceSample, values: distinct },
  logsumexp: { kind: 'diff', sample: reduceSample, values: each(uni(-3, 3)) },
  prod_others: {
    kind: 'diff',
    sample: groupSample,
    values: each(withZeros(uni(-1.5, 1.5))),
    // its tangent and cotangent are prod_others_jvp, which has no jvp: that would be a third derivative of prod
    noForwardOverForward: 'third order of prod',
    noForwardOverReverse: 'third order of prod',
  },
  prod_others_jvp: {
    kind: 'nondiff',
    examples: [
      // one group [2, 3, 4]: ∂(Π_{j≠i} x_j) along (1, 0, 0) is (0, 4, 3)
      {
        args: [
          { shape: [3], data: [2, 3, 4] },
          { shape: [3], data: [1, 0, 0] },
        ],
        attrs: { axes: [0] },
        out: { shape: [3], data: [0, 4, 3] },
      },
      // two zeros in a group: only the other zero's element has a non-zero tangent
      {
        args: [
          { shape: [3], data: [0, 0, 5] },
          { shape: [3], data: [1, 2, 3] },
        ],
        attrs: { axes: [0] },
        out: { shape: [3], data: [10, 5, 0] },
      },
      // rows of [2, 2] are groups: [[1, 2], [3, 4]], ẋ = [[1, 1], [1, 1]]: each y_i = the other element
      {
        args: [
          { shape: [2, 2], data: [1, 2, 3, 4] },
          { shape: [2, 2], data: [1, 1, 1, 1] },
        ],
        attrs: { axes: [1] },
        out: { shape: [2, 2], data: [1, 1, 1, 1] },
      },
      // no axes: every element is its own group, the empty product is constant
      {
        args: [
          { shape: [2], data: [3, 4] },
          { shape: [2], data: [1, 1] },
        ],
        attrs: { axes: [] },
        out: { shape: [2], data: [0, 0] },
      },
    ],
  },
  first_winner: {
    kind: 'nondiff',
    examples: [
      {
        args: [{ shape: [2, 3], data: [1, 3, 3, 2, 2, 0] }],
        attrs: { axes: [1], kind: 'max' },
        out: { shape: [2, 3], data: [0, 1, 0, 1, 0, 0] },
      },
      {
        args: [{ shape: [2, 3], data: [1, 3, 3, 2, 2, 0] }],
        attrs: { axes: [1], kind: 'min' },
        out: { shape: [2, 3], data: [1, 0, 0, 0, 0, 1] },
      },
      {
        args: [{ shape: [2, 3], data: [1, 3, 3, 2, 2, 0] }],
        attrs: { axes: [0], kind: 'max' },
        out: { shape: [2, 3], data: [0, 1, 1, 1, 0, 0] },
      },
      { args: [{ shape: [2, 2], data: [2, 2, 2, 2] }], attrs: { axes: [0, 1], kind: 'min' }, out: { shape: [2, 2], data: [1, 0, 0, 0] } },
      { args: [{ shape: [4], data: [1, NaN, NaN, 5] }], attrs: { axes: [0], kind: 'max' }, out: { shape: [4], data: [0, 1, 0, 0] } },
      {
        args: [{ shape: [3], data: [-Infinity, -Infinity, -Infinity] }],
        attrs: { axes: [0], kind: 'max' },
        out: { shape: [3], data: [1, 0, 0] },
      },
    ],
  },

  // linear algebra
  dot: { kind: 'diff', sample: fc.integer({ min: 1, max: 4 }).map((n) => ({ shapes: [[n], [n]], attrs: {} })), values: each(uni(-2, 2)) },
  matmul: { kind: 'diff', sample: matmulSample, values: each(uni(-2, 2)) },
  // internal: a bᵀ and aᵀ b with the transposed operand stored as such (matmul's reverse rules)
  matmul_nt: { kind: 'forward', sample: storedMatmulSample('nt'), values: each(uni(-2, 2)) },
  matmul_tn: { kind: 'forward', sample: storedMatmulSample('tn'), values: each(uni(-2, 2)) },
  transpose: {
    kind: 'diff',
    sample: shapeArb(0, 4).chain((s) =>
      fc.shuffledSubarray(range(s.length), { minLength: s.length, maxLength: s.length }).map((perm) => ({ shapes: [s], attrs: { perm } })),
    ),
    values: each(uni(-3, 3)),
  },
  outer: {
    kind: 'diff',
    sample: fc.tuple(shapeArb(0, 2), shapeArb(0, 2)).map((shapes) => ({ shapes, attrs: {} })),
    values: each(uni(-3, 3)),
  },

  // solves and factorizations (solve.ts), argument 0 well conditioned
  // transpose (aᵀ x = b with a's factors) is a kernel attribute that only rules set
  solve: {
    kind: 'diff',
    sample: solveSample.chain((s) => fc.boolean().map((t) => ({ ...s, attrs: t ? { transpose: true } : {} }))),
    values: squareFirst,
  },
  triangular_solve: {
    kind: 'diff',
    sample: solveSample.chain((s) =>
      fc.record({ lower: fc.boolean(), transpose: fc.boolean(), unit_diagonal: fc.boolean() }).map((attrs) => ({ ...s, attrs })),
    ),
    values: squareFirst,
  },
  inv: { kind: 'diff', sample: squareSample, values: squareFirst },
  det: { kind: 'diff', sample: squareSample, values: squareFirst },
  // internal: det's derivative; differentiated forward only
  adjugate: {
    kind: 'forward',
    sample: squareSample,
    values: squareFirst,
    // its tangent is adjugate_jvp, which has no jvp: that would be a third derivative of det
    noForwardOverForward: 'third order of det',
  },
  adjugate_jvp: {
    kind: 'nondiff',
    examples: [
      // n = 2: adj is linear, its tangent adj(ȧ)
      {
        args: [
          { shape: [2, 2], data: [5, 6, 7, 8] },
          { shape: [2, 2], data: [1, 2, 3, 4] },
        ],
        attrs: {},
        out: { shape: [2, 2], data: [4, -2, -3, 1] },
      },
      // at a = I: d adj = tr(ȧ) I - ȧ
      {
        args: [
          { shape: [3, 3], data: [1, 0, 0, 0, 1, 0, 0, 0, 1] },
          { shape: [3, 3], data: [1, 2, 0, 0, 0, 0, 0, 0, 3] },
        ],
        attrs: {},
        out: { shape: [3, 3], data: [3, -2, 0, 0, 4, 0, 0, 0, 1] },
      },
      // rank n - 3: every (n - 2)-minor vanishes, so does the tangent
      {
        args: [
          { shape: [3, 3], data: new Array(9).fill(0) },
          { shape: [3, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
        ],
        attrs: {},
        out: { shape: [3, 3], data: new Array(9).fill(0) },
      },
      // n = 1: adj = [1] is constant
      {
        args: [
          { shape: [1, 1], data: [2] },
          { shape: [1, 1], data: [5] },
        ],
        attrs: {},
        out: { shape: [1, 1], data: [0] },
      },
    ],
  },
  logabsdet: { kind: 'diff', sample: squareSample, values: squareFirst },
  cholesky: { kind: 'diff', sample: squareSample, values: squareFirst },

  // moving elements
  reshape: {
    kind: 'diff',
    sample: shapeArb().chain((s) =>
      fc
        .oneof(
          fc.constant([sizeOf(s)]),
          fc
            .tuple(
              fc.shuffledSubarray(s, { minLength: s.length, maxLength: s.length }),
              fc.array(fc.integer({ min: 0, max: s.length }), { maxLength: 2 }),
            )
            .map(([dims, ones]) => {
              const t = [...dims];
              for (const p of ones) t.splice(Math.min(p, t.length), 0, 1);
              return t;
            }),
        )
        .map((shape) => ({ shapes: [s], attrs: { shape } })),
    ),
    values: each(uni(-3, 3)),
  },
  broadcast_to: {
    kind: 'diff',
    sample: shapeArb().chain((out) => broadcastsTo(out).map((s) => ({ shapes: [s], attrs: { shape: out } }))),
    values: each(uni(-3, 3)),
  },
  slice: { kind: 'diff', sample: sliceSample.map(({ s, attrs }) => ({ shapes: [s], attrs })), values: each(uni(-3, 3)) },
  slice_scatter: {
    kind: 'diff',
    sample: sliceSample.map(({ s, attrs }) => ({ shapes: [attrs.count], attrs: { ...attrs, shape: s } })),
    values: each(uni(-3, 3)),
  },
  index: {
    kind: 'diff',
    sample: indexSample.map(({ s, axis, indices }) => ({ shapes: [s], attrs: { axis, indices } })),
    values: each(uni(-3, 3)),
  },
  index_add: {
    kind: 'diff',
    sample: indexSample.map(({ s, axis, indices }) => ({
      shapes: [s.map((d, i) => (i === axis ? indices.length : d))],
      attrs: { axis, indices, size: s[axis] },
    })),
    values: each(uni(-3, 3)),
  },
  einsum: {
    kind: 'expanded',
    examples: [
      {
        args: [
          { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
          { shape: [3, 2], data: [1, 0, 2, 1, 0, 3] },
        ],
        attrs: { inputs: ['ij', 'jk'], output: 'ik', sizes: { i: 2, j: 3, k: 2 } },
        out: { shape: [2, 2], data: [5, 11, 14, 23] },
      },
      {
        args: [{ shape: [2, 2], data: [1, 2, 3, 4] }],
        attrs: { inputs: ['ii'], output: '', sizes: { i: 2 } },
        out: { shape: [], data: [5] },
      },
    ],
  },
  // indexing by tensors: the indices argument holds integers (negatives count from the end) and is never differentiated
  gather: {
    kind: 'diff',
    sample: gatherSample.map(({ s, axis, is }) => ({ shapes: [s, is], attrs: { axis } })),
    values: (r, [s, is], attrs) => [
      randomArray(sizeOf(s), () => r.uniform(-3, 3)),
      indexValues(r, is, s[(attrs as { axis: number }).axis]),
    ],
    constArgs: [1],
  },
  scatter_add: scatterCase,
  scatter_set: scatterCase,
  last_index: {
    kind: 'nondiff',
    examples: [
      { args: [{ shape: [5], data: [1, 3, 1, -1, 0] }], attrs: { axis: 0, size: 4 }, out: { shape: [5], data: [0, 0, 1, 1, 1] } },
      { args: [{ shape: [2, 2], data: [2, 2, 2, 0] }], attrs: { axis: 0, size: 3 }, out: { shape: [2, 2], data: [0, 0, 1, 1] } },
    ],
  },
  concat: {
    kind: 'diff',
    sample: shapeArb(1, 3).chain((s) =>
      fc
        .tuple(fc.integer({ min: 0, max: s.length - 1 }), fc.array(dim, { minLength: 1, maxLength: 3 }))
        .map(([axis, lens]) => ({ shapes: lens.map((l) => s.map((d, i) => (i === axis ? l : d))), attrs: { axis } })),
    ),
    values: each(uni(-3, 3)),
  },
  stack: {
    kind: 'diff',
    sample: shapeArb(0, 2).chain((s) =>
      fc
        .tuple(fc.integer({ min: 0, max: s.length }), fc.integer({ min: 1, max: 3 }))
        .map(([axis, n]) => ({ shapes: Array.from({ length: n }, () => s), attrs: { axis } })),
    ),
    values: each(uni(-3, 3)),
  },
  stop_gradient: {
    kind: 'nondiff',
    examples: [{ args: [{ shape: [3], data: [1, NaN, -0] }], attrs: {}, out: { shape: [3], data: [1, NaN, -0] } }],
  },

  // matrix structure (structure.ts)
  eye: {
    kind: 'nondiff',
    examples: [
      { args: [], attrs: { n: 2, m: 2, k: 0 }, out: { shape: [2, 2], data: [1, 0, 0, 1] } },
      { args: [], attrs: { n: 2, m: 3, k: 1 }, out: { shape: [2, 3], data: [0, 1, 0, 0, 0, 1] } },
      { args: [], attrs: { n: 3, m: 2, k: -1 }, out: { shape: [3, 2], data: [0, 0, 1, 0, 0, 1] } },
      { args: [], attrs: { n: 2, m: 2, k: 2 }, out: { shape: [2, 2], data: [0, 0, 0, 0] } },
    ],
  },
  diag: {
    kind: 'diff',
    sample: fc.tuple(dim, fc.integer({ min: -2, max: 2 })).map(([n, k]) => ({ shapes: [[n]], attrs: { k } })),
    values: each(uni(-3, 3)),
  },
  diagonal: { kind: 'diff', sample: matrixSample, values: each(uni(-3, 3)) },
  diagonal_scatter: {
    kind: 'diff',
    sample: matrixSample.map(({ shapes: [s], attrs: { k } }) => {
      const [rows, cols] = s.slice(-2);
      const len = k >= 0 ? Math.min(rows, cols - k) : Math.min(rows + k, cols);
      return { shapes: [[...s.slice(0, -2), len]], attrs: { k, rows, cols } };
    }),
    values: each(uni(-3, 3)),
  },
  trace: { kind: 'diff', sample: matrixSample.map(({ shapes }) => ({ shapes, attrs: {} })), values: each(uni(-3, 3)) },
  triu: { kind: 'diff', sample: matrixSample, values: each(uni(-3, 3)) },
  tril: { kind: 'diff', sample: matrixSample, values: each(uni(-3, 3)) },

  // along an axis (cumulative.ts)
  cumsum: { kind: 'diff', sample: cumulativeSample, values: each(uni(-3, 3)) },
  cumprod: { kind: 'diff', sample: cumulativeSample, values: each(withZeros(uni(-1.5, 1.5))) },
  linrec: {
    kind: 'diff',
    sample: cumulativeSample.map(({ shapes: [s], attrs }) => ({ shapes: [s, s], attrs })),
    values: each(withZeros(uni(-1.5, 1.5)), uni(-2, 2)),
  },
  softmax: { kind: 'diff', sample: axisSample, values: each(uni(-3, 3)) },
  log_softmax: { kind: 'diff', sample: axisSample, values: each(uni(-3, 3)) },
  norm: {
    kind: 'diff',
    sample: reduceSample.chain(({ shapes, attrs }) =>
      fc.constantFrom<1 | 2 | 'inf'>(1, 2, 'inf').map((ord) => ({ shapes, attrs: { ...attrs, ord } })),
    ),
    // |x| distinct, at least 0.3 apart and away from 0: no kink or tie within the step
    values: (r, [s]) => {
      const n = sizeOf(s);
      const perm = r.shuffle(Array.from({ length: n }, (_, i) => i));
      return [Float64Array.from(perm, (p) => r.sign() * (0.3 + 0.4 * p + r.uniform(0, 0.1)))];
    },
  },
};

// --- running programs -------------------------------------------------------------

type Input = [ValueId, Float64Array];

/** Runs `eqns` (all of e's by default) from the given inputs; batched inputs hold k directions back to back. */
function evaluate(e: ProgramBuilder, inputs: readonly Input[], k = 1, eqns: readonly Eqn[] = e.eqns): Env {
  const env: Env = [];
  for (const [v, d] of inputs) env[v] = d;
  runEqns(eqns, e.values, env, k);
  return env;
}

const cat = (parts: readonly Float64Array[]): Float64Array => {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** Direction q of a batched value holding k directions. */
const part = (a: Float64Array, k: number, q: number): Float64Array => {
  const n = a.length / k;
  return a.subarray(q * n, (q + 1) * n);
};

interface Primal {
  e: ProgramBuilder;
  xs: ValueId[];
  y: ValueId;
  eqns: Eqn[];
}

/** Emit.apply by a name known at run time (a case's), with that case's attributes. */
function applyNamed(e: ProgramBuilder, name: string, xs: readonly ValueId[], attrs: object = {}): ValueId {
  return e.applyOp(getOp(name as OpName), xs, attrs as OpAttrs[OpName]);
}

function primal(name: string, shapes: readonly Shape[], attrs: object): Primal {
  const e = new ProgramBuilder();
  const xs = shapes.map((s) => e.input(s));
  const y = applyNamed(e, name, xs, attrs);
  return { e, xs, y, eqns: [...e.eqns] };
}

function valueAt(p: Primal, X: readonly Float64Array[]): Float64Array {
  return evaluate(
    p.e,
    p.xs.map((v, i): Input => [v, X[i]]),
    1,
    p.eqns,
  )[p.y]!;
}

interface DerivProgram extends Primal {
  /** Tangent input of each seeded argument (batched). */
  tIn: ValueId[];
  /** Cotangent input (batched); undefined for ops without vjp. */
  cIn: ValueId | undefined;
  yDot: ValueId | undefined;
  /** Cotangent of each seeded argument. */
  bars: (ValueId | undefined)[];
  /** Whether any argument that was not seeded got a cotangent anyway. */
  strayBar: boolean;
}

/** The op, its JVP along the seeded arguments and (when it has one) its VJP, in one program. */
function derivProgram(name: string, shapes: readonly Shape[], attrs: object, seeded: readonly number[]): DerivProgram {
  const p = primal(name, shapes, attrs);
  const { e, xs, y } = p;
  const tangents = new Map<ValueId, ValueId>();
  const tIn = seeded.map((i) => {
    const t = e.input(shapes[i], true);
    tangents.set(xs[i], t);
    return t;
  });
  jvpEqns(e, p.eqns, tangents);
  const yDot = tangents.get(y);
  if (!getOp(name as OpName).vjp) return { ...p, tIn, cIn: undefined, yDot, bars: [], strayBar: false };
  const cIn = e.input(e.shapeOf(y), true);
  const varied = new Uint8Array(e.values.length);
  varied[y] = 1;
  for (const i of seeded) varied[xs[i]] = 1;
  const cot = new Map<ValueId, ValueId>([[y, cIn]]);
  vjpEqns(e, p.eqns, varied, cot);
  const strayBar = xs.some((v, i) => !seeded.includes(i) && cot.has(v));
  return { ...p, tIn, cIn, yDot, bars: seeded.map((i) => cot.get(xs[i])), strayBar };
}

interface ForwardForward extends Primal {
  /** The first-level tangent inputs (unbatched: constants of the JVP program) and the JVP program. */
  uIn: ValueId[];
  jvpProgram: Eqn[];
  dir: ValueId;
  tIn: ValueId[];
  dirDot: ValueId | undefined;
}

/** Forward-over-forward: the JVP program with tangents u as constant inputs, then jvpEqns over it. */
function forwardOverForward(name: string, shapes: readonly Shape[], attrs: object, seeded: readonly number[]): ForwardForward {
  const p = primal(name, shapes, attrs);
  const { e, xs, y } = p;
  const first = new Map<ValueId, ValueId>();
  const uIn = seeded.map((i) => {
    const u = e.input(shapes[i]);
    first.set(xs[i], u);
    return u;
  });
  jvpEqns(e, p.eqns, first);
  const jvpProgram = [...e.eqns];
  const second = new Map<ValueId, ValueId>();
  const tIn = seeded.map((i) => {
    const t = e.input(shapes[i], true);
    second.set(xs[i], t);
    return t;
  });
  jvpEqns(e, jvpProgram, second);
  const dir = first.get(y)!;
  return { ...p, uIn, jvpProgram, dir, tIn, dirDot: second.get(dir) };
}

interface SecondOrder extends Primal {
  cIn: ValueId;
  /** primal + VJP equations: the program whose derivative is taken. */
  vjpProgram: Eqn[];
  bars: ValueId[];
  tIn: ValueId[];
  barDots: (ValueId | undefined)[];
}

/** Forward-over-reverse: the VJP program with the cotangent as a constant input, then jvpEqns over it. */
function secondOrder(name: string, shapes: readonly Shape[], attrs: object, seeded: readonly number[]): SecondOrder {
  const p = primal(name, shapes, attrs);
  const { e, xs, y } = p;
  const cIn = e.input(e.shapeOf(y));
  const varied = new Uint8Array(e.values.length);
  varied[y] = 1;
  for (const i of seeded) varied[xs[i]] = 1;
  const cot = new Map<ValueId, ValueId>([[y, cIn]]);
  vjpEqns(e, p.eqns, varied, cot);
  const bars = seeded.map((i) => cot.get(xs[i])!);
  const vjpProgram = [...e.eqns];
  const tangents = new Map<ValueId, ValueId>();
  const tIn = seeded.map((i) => {
    const t = e.input(shapes[i], true);
    tangents.set(xs[i], t);
    return t;
  });
  jvpEqns(e, vjpProgram, tangents);
  return { ...p, cIn, vjpProgram, bars, tIn, barDots: bars.map((b) => tangents.get(b)) };
}

// --- the checks -----------------------------------------------------------------

const diffArgs = (c: DiffCase, shapes: readonly Shape[]): number[] => range(shapes.length).filter((i) => !c.constArgs?.includes(i));

/** Checks 1-4 at one random point, with tangents on the `seeded` arguments only. */
function checkPoint(name: string, c: DiffCase, { shapes, attrs }: Sample, seed: number, seeded: readonly number[]): void {
  const r = rng(seed);
  const X = c.values(r, shapes, attrs);
  const p = primal(name, shapes, attrs);
  const outShape = p.e.shapeOf(p.y);
  const T = seeded.map((i) => range(K).map(() => randomArray(sizeOf(shapes[i]), () => r.uniform(-1, 1))));
  const C = range(K).map(() => randomArray(sizeOf(outShape), () => r.uniform(-1, 1)));
  const reversible = c.kind === 'diff';
  const where = `${name} at shapes ${JSON.stringify(shapes)}, attrs ${JSON.stringify(attrs)}, seeded ${JSON.stringify(seeded)}`;

  const d = derivProgram(name, shapes, attrs, seeded);
  expect(d.yDot, `${where}: no tangent`).toBeDefined();
  const yDotV = d.yDot!;
  expect(d.e.shapeOf(yDotV), where).toEqual(outShape);
  expect(d.e.isBatched(yDotV), where).toBe(true);
  if (reversible) {
    expect(d.strayBar, `${where}: an unseeded argument got a cotangent`).toBe(false);
    seeded.forEach((i, j) => {
      expect(d.bars[j], `${where}: no cotangent for argument ${i}`).toBeDefined();
      expect(d.e.shapeOf(d.bars[j]!), where).toEqual(shapes[i]);
      expect(d.e.isBatched(d.bars[j]!), where).toBe(true);
    });
  }
  const runD = (dirs: readonly number[]): Env =>
    evaluate(
      d.e,
      [
        ...d.xs.map((v, i): Input => [v, X[i]]),
        ...d.tIn.map((v, j): Input => [v, cat(dirs.map((q) => T[j][q]))]),
        ...(d.cIn === undefined ? [] : [[d.cIn, cat(dirs.map((q) => C[q]))] as Input]),
      ],
      dirs.length,
    );
  const single = range(K).map((q) => runD([q]));
  const batched = runD(range(K));

  // 1. JVP against finite differences along T[.][0].
  const moved = (s: number): Float64Array[] =>
    X.map((x, i) => {
      const j = seeded.indexOf(i);
      return j < 0 ? x : along(x, T[j][0], s);
    });
  const [fd] = centralDiff((s) => [valueAt(p, moved(s))], FD_STEP);
  const yDot = single[0][yDotV]!;
  expectClose(yDot, fd, FD_REL, `${where}: jvp vs fd`);

  // 3. k = 3 directions at once equal three single runs.
  const batchedMatches = (v: ValueId): void => {
    for (let q = 0; q < K; q++) {
      const b = part(batched[v]!, K, q);
      const s = single[q][v]!;
      expectClose(b, s, BATCH_REL, `${where}: direction ${q} batched vs alone`);
    }
  };
  batchedMatches(yDotV);

  // 4b. Forward-over-forward (the engines' other second-order mode): the derivative of the
  // JVP along T[.][1] with the first tangent fixed at T[.][0], against finite differences.
  if (c.noForwardOverForward === undefined) {
    const ff = forwardOverForward(name, shapes, attrs, seeded);
    const ffAt = (Xs: readonly Float64Array[], withTangents: boolean, eqns: readonly Eqn[]): Env =>
      evaluate(
        ff.e,
        [
          ...ff.xs.map((v, i): Input => [v, Xs[i]]),
          ...ff.uIn.map((v, j): Input => [v, T[j][0]]),
          ...(withTangents ? ff.tIn.map((v, j): Input => [v, T[j][1]]) : []),
        ],
        1,
        eqns,
      );
    const moved1 = (s: number): Float64Array[] =>
      X.map((x, i) => {
        const j = seeded.indexOf(i);
        return j < 0 ? x : along(x, T[j][1], s);
      });
    const [fdff] = centralDiff((s) => [ffAt(moved1(s), false, ff.jvpProgram)[ff.dir]!], FD_STEP);
    const gotff = ff.dirDot === undefined ? new Float64Array(fdff.length) : ffAt(X, true, ff.e.eqns)[ff.dirDot]!;
    expectClose(gotff, fdff, FD_REL, `${where}: forward-over-forward vs fd`);
  }
  if (!reversible) return;
  for (const b of d.bars) batchedMatches(b!);

  // 2. <J t, c> = <t, Jᵀ c>, with J t from the JVP (to rounding) and from finite differences.
  const bars = d.bars.map((b) => single[0][b!]!);
  const lhs = inner(yDot, C[0]);
  let rhs = 0;
  let rhsScale = 0;
  bars.forEach((bar, j) => {
    rhs += inner(T[j][0], bar);
    rhsScale += absInner(T[j][0], bar);
  });
  const scale = Math.max(absInner(yDot, C[0]), rhsScale);
  expectClose(lhs, rhs, ADJOINT_REL, { label: `${where}: <Jt, c> vs <t, J'c>`, scale, floor: 0 });
  const fdScale = C[0].reduce((acc, cj, i) => acc + Math.abs(cj) * Math.max(1, Math.abs(fd[i])), 0);
  const lhsFd = inner(fd, C[0]);
  expectClose(lhsFd, rhs, FD_REL, { label: `${where}: <fd, c> vs <t, J'c>`, scale: fdScale, floor: 0 });

  // 4. Forward-over-reverse against finite differences of the VJP program.
  if (c.noForwardOverReverse !== undefined) return;
  const h = secondOrder(name, shapes, attrs, seeded);
  const at = (Xs: readonly Float64Array[], withTangents: boolean, eqns: readonly Eqn[]): Env =>
    evaluate(
      h.e,
      [...h.xs.map((v, i): Input => [v, Xs[i]]), [h.cIn, C[0]], ...(withTangents ? h.tIn.map((v, j): Input => [v, T[j][0]]) : [])],
      1,
      eqns,
    );
  const env = at(X, true, h.e.eqns);
  const fd2 = centralDiff((s) => {
    const en = at(moved(s), false, h.vjpProgram);
    return h.bars.map((b) => en[b]!);
  }, FD_STEP);
  h.barDots.forEach((bd, j) => {
    const got = bd === undefined ? new Float64Array(fd2[j].length) : env[bd]!;
    expectClose(got, fd2[j], FD_REL, `${where}: d(J'c)/dx for argument ${seeded[j]} vs fd`);
  });
}

// --- tests: the table ---------------------------------------------------------------

const names = Object.keys(CASES).sort();
const diffNames = names.filter((n) => CASES[n].kind === 'diff' || CASES[n].kind === 'forward');
const nondiffNames = names.filter((n) => CASES[n].kind === 'nondiff');
const expandedNames = names.filter((n) => CASES[n].kind === 'expanded');

describe('op table', () => {
  it('has exactly one case per op in ALL_OPS', () => {
    expect([...names, ...Object.keys(NOT_EQUATIONS)].sort()).toEqual(ALL_OPS.map((o) => o.name).sort());
  });

  it.each(names)('%s: its case kind matches its rules', (name) => {
    const op = getOp(name as OpName);
    const kind = CASES[name].kind;
    expect(op.jvp !== undefined, 'has jvp').toBe(kind === 'diff' || kind === 'forward');
    expect(op.vjp !== undefined, 'has vjp').toBe(kind === 'diff');
    expect(op.expand !== undefined, 'is expanded').toBe(kind === 'expanded');
  });

  it('every op without a jvp has no vjp either', () => {
    for (const op of ALL_OPS) if (!op.jvp) expect(op.vjp, op.name).toBeUndefined();
  });
});

describe.each(diffNames)('%s', (name) => {
  const c = CASES[name] as DiffCase;
  const withSeeds = c.sample.chain((s) => {
    const all = diffArgs(c, s.shapes);
    return fc.tuple(
      fc.constant(s),
      fc.oneof({ weight: 2, arbitrary: fc.constant(all) }, { weight: 1, arbitrary: fc.subarray(all, { minLength: 1 }) }),
    );
  });

  it(
    c.kind === 'diff'
      ? 'jvp, vjp, batching and second order agree with finite differences'
      : 'jvp, batching and forward-over-forward agree with finite differences',
    () => {
      fc.assert(
        fc.property(withSeeds, fc.integer(), ([s, seeded], seed) => checkPoint(name, c, s, seed, seeded)),
        FC,
      );
    },
  );

  it('works with each argument seeded alone', () => {
    fc.assert(
      fc.property(c.sample, fc.integer(), (s, seed) => {
        for (const i of diffArgs(c, s.shapes)) checkPoint(name, c, s, seed, [i]);
      }),
      { ...FC, numRuns: 8 },
    );
  });

  it('is not called by jvpEqns with all-null tangents, nor by vjpEqns without a cotangent', () => {
    fc.assert(
      fc.property(c.sample, ({ shapes, attrs }) => {
        const p = primal(name, shapes, attrs);
        const op = getOp(name as OpName);
        const calls = { jvp: 0, vjp: 0 };
        const spy: OpDef = {
          ...op,
          jvp: (ctx, xDots) => (calls.jvp++, op.jvp!(ctx, xDots)),
          vjp: op.vjp && ((ctx, yBar, wanted) => (calls.vjp++, op.vjp!(ctx, yBar, wanted))),
        };
        const eqns: Eqn[] = p.eqns.map((q) => ({ ...q, op: spy }));
        const other = p.e.input([2]);
        const tangents = new Map<ValueId, ValueId>([[other, p.e.input([2], true)]]);
        jvpEqns(p.e, eqns, tangents);
        expect(calls.jvp).toBe(0);
        expect(tangents.has(p.y)).toBe(false);
        const varied = new Uint8Array(p.e.values.length).fill(1);
        const cot = new Map<ValueId, ValueId>([[other, p.e.input([2], true)]]);
        vjpEqns(p.e, eqns, varied, cot);
        expect(calls.vjp).toBe(0);
        expect(p.xs.some((v) => cot.has(v))).toBe(false);
      }),
      { ...FC, numRuns: 5 },
    );
  });
});

/** The op's kernel on an example's arguments gives the example's output (shape and values). */
function expectExample(name: string, ex: Example): void {
  const e = new ProgramBuilder();
  const xs = ex.args.map((a) => e.input(a.shape));
  const y = applyNamed(e, name, xs, ex.attrs);
  expect(e.shapeOf(y)).toEqual(ex.out.shape);
  const env = evaluate(
    e,
    xs.map((v, i): Input => [v, Float64Array.from(ex.args[i].data)]),
  );
  // toEqual tells -0 from 0 and takes NaN as equal to NaN
  expect(Array.from(env[y]!)).toEqual(ex.out.data);
}

describe.each(expandedNames)('%s (expanded into other ops)', (name) => {
  const c = CASES[name] as ExpandedCase;
  it.each(c.examples.map((ex, i) => [i, ex] as const))('reference kernel example %i', (_i, ex) => expectExample(name, ex));
});

describe.each(nondiffNames)('%s (not differentiable)', (name) => {
  const c = CASES[name] as NonDiffCase;

  it.each(c.examples.map((ex, i) => [i, ex] as const))('kernel example %i', (_i, ex) => expectExample(name, ex));

  it('is never varied and passes no tangent or cotangent', () => {
    const ex = c.examples[0];
    const e = new ProgramBuilder();
    const xs = ex.args.map((a) => e.input(a.shape));
    const y = applyNamed(e, name, xs, ex.attrs);
    // z = y + u with u seeded too: a derivative does flow past y (a leaf has no argument
    // to seed at all), so each check below has a positive control
    const u = e.input(ex.out.shape);
    const z = e.add(y, u);
    const eqns = [...e.eqns];
    const seeds = [...xs, u];
    const varied = variedFrom(eqns, e.values.length, seeds);
    expect([varied[y], varied[z]]).toEqual([0, 1]);
    const tangents = new Map(seeds.map((v): [ValueId, ValueId] => [v, e.input(e.shapeOf(v), true)]));
    jvpEqns(e, eqns, tangents);
    expect([tangents.has(y), tangents.has(z)]).toEqual([false, true]);
    const cot = new Map<ValueId, ValueId>([[z, e.input(e.shapeOf(z), true)]]);
    vjpEqns(e, eqns, varied, cot);
    expect([cot.has(y), cot.has(u)]).toEqual([false, true]);
    // every value marked varied: only the op's own lack of a rule keeps its arguments out
    const all = new Map<ValueId, ValueId>([[z, e.input(e.shapeOf(z), true)]]);
    vjpEqns(e, eqns, new Uint8Array(e.values.length).fill(1), all);
    expect([all.has(y), all.has(u), xs.some((v) => all.has(v))]).toEqual([true, true, false]);
  });
});

describe('prod_others_jvp', () => {
  /** Σ_{j ≠ i} ẋ_j Π_{l ∉ {i, j}} x_l over i's group, spelled out. */
  function naive(x: Float64Array, dx: Float64Array, shape: Shape, axes: readonly number[]): number[] {
    const strides = stridesOf(shape);
    const group = (i: number): string =>
      shape.map((d, ax) => (axes.includes(ax) ? '*' : String(Math.floor(i / strides[ax]) % d))).join(',');
    const ids = range(x.length).map(group);
    return range(x.length).map((i) => {
      let acc = 0;
      for (let j = 0; j < x.length; j++) {
        if (j === i || ids[j] !== ids[i]) continue;
        let p = dx[j];
        for (let l = 0; l < x.length; l++) if (l !== i && l !== j && ids[l] === ids[i]) p *= x[l];
        acc += p;
      }
      return acc;
    });
  }

  it('matches the naive sum of products, zeros included', () => {
    fc.assert(
      fc.property(groupSample, fc.integer(), ({ shapes: [s], attrs }, seed) => {
        const r = rng(seed);
        const x = randomArray(sizeOf(s), () => (r.next() < 0.3 ? 0 : r.uniform(-2, 2)));
        const dx = randomArray(sizeOf(s), () => r.uniform(-1, 1));
        const e = new ProgramBuilder();
        const [xv, dv] = [e.input(s), e.input(s)];
        const y = e.apply('prod_others_jvp', [xv, dv], attrs as GroupAttrs);
        const got = evaluate(e, [
          [xv, x],
          [dv, dx],
        ])[y]!;
        expectClose(got, naive(x, dx, s, (attrs as { axes: number[] }).axes), 1e-14, `prod_others_jvp over axes ${JSON.stringify(attrs)}`);
      }),
      FC,
    );
  });
});

// --- primal kernels of the elementwise ops ------------------------------------------

/** Runs one op on the given arguments. */
function apply(
  name: string,
  args: readonly { shape: Shape; data: ArrayLike<number> }[],
  attrs: object = {},
): { shape: Shape; data: Float64Array } {
  const e = new ProgramBuilder();
  const xs = args.map((a) => e.input(a.shape));
  const y = applyNamed(e, name, xs, attrs);
  const env = evaluate(
    e,
    xs.map((v, i): Input => [v, Float64Array.from(args[i].data)]),
  );
  return { shape: e.shapeOf(y), data: env[y]! };
}

const SPECIALS = [0, -0, 1, -1, 0.5, -2.5, 1e-300, -1e-300, 5e-324, 1e300, -1e300, 710, -710, -745, 40, Infinity, -Infinity, NaN];

describe('unary primal kernels', () => {
  it.each(Object.keys(UNARY))('%s against its reference', (name) => {
    const u = UNARY[name];
    const r = rng(7);
    if (u.exact) {
      // the same IEEE function: identical everywhere, -0 and specials included
      const x = [...SPECIALS, ...range(200).map(() => r.uniform(-10, 10)), ...range(50).map(() => u.domain(r))];
      expect(Array.from(apply(name, [{ shape: [x.length], data: x }]).data)).toEqual(x.map(u.ref));
    } else {
      // the series for erf cancels badly beyond |x| = 2; erf.test.ts has exact references everywhere
      const [lo, hi] = u.formulaRange!;
      const x = [...range(9).map((i) => lo + ((hi - lo) * i) / 8), ...range(200).map(() => r.uniform(lo, hi))];
      const got = apply(name, [{ shape: [x.length], data: x }]).data;
      expectClose(got, x.map(u.ref), FORMULA_REL, { label: name, floor: 0 });
    }
  });

  it('sigmoid, softplus and erf at the specials', () => {
    const x = [Infinity, -Infinity, NaN, 0, -0];
    expect(Array.from(apply('sigmoid', [{ shape: [5], data: x }]).data)).toEqual([1, 0, NaN, 0.5, 0.5]);
    expect(Array.from(apply('softplus', [{ shape: [5], data: x }]).data)).toEqual([Infinity, 0, NaN, Math.LN2, Math.LN2]);
    expect(Array.from(apply('erf', [{ shape: [5], data: x }]).data)).toEqual([1, -1, NaN, 0, -0]);
  });

  it.each(Object.keys(UNARY))("%s' (jvp at tangent 1) against the textbook derivative", (name) => {
    const u = UNARY[name];
    const r = rng(11);
    const x = Float64Array.from(range(100), () => u.domain(r));
    const e = new ProgramBuilder();
    const xv = e.input([x.length]);
    const y = applyNamed(e, name, [xv]);
    const t = e.input([x.length], true);
    const tangents = new Map<ValueId, ValueId>([[xv, t]]);
    jvpEqns(e, [...e.eqns], tangents);
    const got = evaluate(e, [
      [xv, x],
      [t, new Float64Array(x.length).fill(1)],
    ])[tangents.get(y)!]!;
    expectClose(got, Array.from(x, u.d), ANALYTIC_REL, { label: `${name}'`, floor: 0 });
  });
});

describe('binary and ternary primal kernels (with broadcasting)', () => {
  const VALUES = [0, -0, 1, -1, 2, 0.5, -3, 1e-300, Infinity, -Infinity, NaN];
  const BINARY: Record<string, (a: number, b: number) => number> = {
    add: (a, b) => a + b,
    sub: (a, b) => a - b,
    mul: (a, b) => a * b,
    div: (a, b) => a / b,
    pow: Math.pow,
    atan2: Math.atan2,
    // NaN wins; a tie (including -0 against 0) returns the first argument
    maximum: (a, b) => (a === b ? a : Math.max(a, b)),
    minimum: (a, b) => (a === b ? a : Math.min(a, b)),
    // 0 annihilates everything, ±Infinity and NaN included
    zmul: (a, b) => (a === 0 || b === 0 ? 0 : a * b),
    ...Object.fromEntries(Object.entries(compare).map(([n, f]) => [n, (a: number, b: number) => (f(a, b) ? 1 : 0)])),
  };

  /** Element of an argument of shape s read at output multi-index idx (NumPy broadcasting). */
  const read = (data: Float64Array, s: Shape, idx: readonly number[]): number => {
    const off = idx.length - s.length;
    let flat = 0;
    s.forEach((d, ax) => (flat = flat * d + (d === 1 ? 0 : idx[ax + off])));
    return data[flat];
  };

  const check = (name: string, f: (...v: number[]) => number, n: number): void => {
    fc.assert(
      fc.property(broadcasting(n), fc.integer(), ({ shapes }, seed) => {
        const r = rng(seed);
        const args = shapes.map((s) => ({
          shape: s,
          data: randomArray(sizeOf(s), () => (name === 'where' && r.next() < 0.5 ? 0 : r.pick(VALUES))),
        }));
        const out = apply(name, args);
        const rank = Math.max(...shapes.map((s) => s.length));
        // per axis the dimension that is not 1 (they agree), or 1
        const expected = range(rank).map((i) => shapes.map((s) => s[s.length - rank + i] ?? 1).find((d) => d !== 1) ?? 1);
        expect(out.shape).toEqual(expected);
        const want = [...indices(expected)].map((idx) => f(...args.map((a) => read(a.data, a.shape, idx))));
        expect(Array.from(out.data)).toEqual(want);
      }),
      FC,
    );
  };

  it.each(Object.keys(BINARY))('%s', (name) => check(name, BINARY[name], 2));
  it('where', () => check('where', (c, a, b) => (c !== 0 ? a : b), 3));
});

// --- conventions --------------------------------------------------------------------

interface Derivatives {
  y: number[];
  /** JVP along the seeded tangents. */
  jvp: number[];
  /** VJP of c: one cotangent per input (zeros when none flows). */
  vjp: number[][];
  /** Forward-over-reverse: the derivative of the VJP of c along the seeded tangents, per input. */
  hvp: number[][];
}

/**
 * Derivatives of a small program built by `build` over inputs of `shapes` at X, with
 * tangents T (null: that input is not seeded) and output cotangent c.
 */
function derivatives(
  shapes: readonly Shape[],
  build: (e: ProgramBuilder, xs: ValueId[]) => ValueId,
  X: readonly number[][],
  T: readonly (number[] | null)[],
  c: readonly number[],
): Derivatives {
  const setup = () => {
    const e = new ProgramBuilder();
    const xs = shapes.map((s) => e.input(s));
    const y = build(e, xs);
    return { e, xs, y, eqns: [...e.eqns] };
  };
  const seeds = (e: ProgramBuilder, xs: ValueId[]): { tangents: Map<ValueId, ValueId>; inputs: Input[] } => {
    const tangents = new Map<ValueId, ValueId>();
    const inputs: Input[] = [];
    xs.forEach((v, i) => {
      const t = T[i];
      if (t === null) return;
      const tv = e.input(shapes[i], true);
      tangents.set(v, tv);
      inputs.push([tv, Float64Array.from(t)]);
    });
    return { tangents, inputs };
  };
  const primalInputs = (xs: ValueId[]): Input[] => xs.map((v, i) => [v, Float64Array.from(X[i])]);

  // JVP
  const f = setup();
  const s1 = seeds(f.e, f.xs);
  jvpEqns(f.e, f.eqns, s1.tangents);
  const yDot = s1.tangents.get(f.y);
  const env1 = evaluate(f.e, [...primalInputs(f.xs), ...s1.inputs]);
  const n = sizeOf(f.e.shapeOf(f.y));
  const jvp = yDot === undefined ? new Array<number>(n).fill(0) : Array.from(env1[yDot]!);

  // VJP, then forward over it
  const g = setup();
  const varied = new Uint8Array(g.e.values.length);
  for (const v of g.xs) varied[v] = 1;
  for (const q of g.eqns) if (q.op.jvp && q.args.some((a) => varied[a])) varied[q.out] = 1;
  const cIn = g.e.input(g.e.shapeOf(g.y));
  const cot = new Map<ValueId, ValueId>([[g.y, cIn]]);
  vjpEqns(g.e, g.eqns, varied, cot);
  const vjpProgram = [...g.e.eqns];
  const s2 = seeds(g.e, g.xs);
  jvpEqns(g.e, vjpProgram, s2.tangents);
  const env2 = evaluate(g.e, [...primalInputs(g.xs), [cIn, Float64Array.from(c)], ...s2.inputs]);
  const read = (v: ValueId | undefined, i: number): number[] =>
    v === undefined ? new Array<number>(sizeOf(shapes[i])).fill(0) : Array.from(env2[v]!);
  return {
    y: Array.from(env1[f.y]!),
    jvp,
    vjp: g.xs.map((v, i) => read(cot.get(v), i)),
    hvp: g.xs.map((v, i) => {
      const bar = cot.get(v);
      return read(bar === undefined ? undefined : s2.tangents.get(bar), i);
    }),
  };
}

const unary =
  (name: string) =>
  (e: ProgramBuilder, [x]: ValueId[]): ValueId =>
    applyNamed(e, name, [x]);
const hasNaN = (d: Derivatives): boolean => [d.jvp, ...d.vjp, ...d.hvp].some((a) => a.some((v) => !Number.isFinite(v)));

describe('conventions', () => {
  it("abs'(0) = 0", () => {
    const d = derivatives([[3]], unary('abs'), [[-1, 0, 2]], [[1, 1, 1]], [1, 1, 1]);
    expect(d.jvp).toEqual([-1, 0, 1]);
    expect(d.vjp).toEqual([[-1, 0, 1]]);
    expect(d.hvp).toEqual([[0, 0, 0]]);
  });

  it("relu'(0) = 0", () => {
    const d = derivatives([[3]], unary('relu'), [[-1, 0, 2]], [[1, 1, 1]], [1, 1, 1]);
    expect(d.y).toEqual([0, 0, 2]);
    expect(d.jvp).toEqual([0, 0, 1]);
    expect(d.vjp).toEqual([[0, 0, 1]]);
    expect(d.hvp).toEqual([[0, 0, 0]]);
  });

  it.each(['maximum', 'minimum'])('%s sends the derivative of a tie to the first argument', (name) => {
    const op = (e: ProgramBuilder, [a, b]: ValueId[]): ValueId => applyNamed(e, name, [a, b]);
    // element 0 is a tie; element 1 is won by b
    const b1 = name === 'maximum' ? 3 : -3;
    const X = [
      [1, 0],
      [1, b1],
    ];
    expect(derivatives([[2], [2]], op, X, [[1, 1], null], [1, 1]).jvp).toEqual([1, 0]);
    expect(derivatives([[2], [2]], op, X, [null, [1, 1]], [1, 1]).jvp).toEqual([0, 1]);
    expect(
      derivatives(
        [[2], [2]],
        op,
        X,
        [
          [1, 1],
          [1, 1],
        ],
        [1, 1],
      ).vjp,
    ).toEqual([
      [1, 0],
      [0, 1],
    ]);
    // -0 against 0 is a tie too, and a broadcast scalar collects every tie it wins
    expect(derivatives([[], [3]], op, [[0], [-0, 0, 0]], [[1], [1, 1, 1]], [1, 1, 1]).vjp).toEqual([[3], [0, 0, 0]]);
  });

  it.each([
    ['max', [1], [0, 1, 0, 1, 0, 0], [2, 4]],
    ['min', [1], [1, 0, 0, 0, 0, 1], [1, 6]],
    ['max', [0], [0, 1, 1, 1, 0, 0], [4, 2, 3]],
    ['min', [0], [1, 0, 0, 0, 1, 1], [1, 5, 6]],
    ['max', [0, 1], [0, 1, 0, 0, 0, 0], [2]],
    ['min', [0, 1], [0, 0, 0, 0, 0, 1], [6]],
  ] as const)('%s over axes %j sends the derivative to the first winner in row-major order', (name, axes, bar, dot) => {
    // [[1, 3, 3], [2, 2, 0]]: ties within rows and within the whole
    const op = (e: ProgramBuilder, [x]: ValueId[]): ValueId => e.apply(name, [x], { axes: [...axes], keepdims: false });
    const d = derivatives([[2, 3]], op, [[1, 3, 3, 2, 2, 0]], [[1, 2, 3, 4, 5, 6]], new Array<number>(dot.length).fill(1));
    expect(d.vjp).toEqual([bar]);
    expect(d.jvp).toEqual(dot);
    // all equal: the first element of each group
    const all = derivatives(
      [[2, 2]],
      (e, [x]) => e.apply(name, [x], { axes: [0], keepdims: true }),
      [[2, 2, 2, 2]],
      [[1, 2, 3, 4]],
      [1, 1],
    );
    expect(all.vjp).toEqual([[1, 1, 0, 0]]);
    expect(all.jvp).toEqual([1, 2]);
  });

  it('clip is minimum(maximum(a, min), max): ties at either bound pass the derivative, NaN stops it', () => {
    const clip =
      (min: number, max: number) =>
      (e: ProgramBuilder, [x]: ValueId[]) =>
        e.apply('clip', [x], { min, max });
    const x = [-2, -1, 0, 1, 2, NaN, -0];
    const ones = x.map(() => 1);
    const d = derivatives([[x.length]], clip(-1, 1), [x], [ones], ones);
    expect(d.y).toEqual([-1, -1, 0, 1, 1, NaN, -0]);
    expect(d.jvp).toEqual([0, 1, 1, 1, 0, 0, 1]);
    expect(d.vjp).toEqual([[0, 1, 1, 1, 0, 0, 1]]);
    expect(d.hvp).toEqual([x.map(() => 0)]);
    // the same as the composition, value and derivative, at every point (ties to the first argument)
    const composed =
      (min: number, max: number) =>
      (e: ProgramBuilder, [v]: ValueId[]) =>
        e.apply('minimum', [e.apply('maximum', [v, e.literal(min)]), e.literal(max)]);
    for (const [min, max] of [
      [-1, 1],
      [0, 0],
      [1, -1], // min > max: max everywhere, as NumPy
      [-Infinity, 0],
      [0, Infinity],
      [-Infinity, Infinity],
      [NaN, 1],
      [0, -0],
    ]) {
      expect(derivatives([[x.length]], clip(min, max), [x], [ones], ones), `clip(${min}, ${max})`).toEqual(
        derivatives([[x.length]], composed(min, max), [x], [ones], ones),
      );
    }
    expect(derivatives([[x.length]], clip(1, -1), [x], [ones], ones).y).toEqual([-1, -1, -1, -1, -1, NaN, -1]);
  });

  it.each([
    ['cbrt', 0],
    ['acosh', 1],
    ['atanh', 1],
    ['atanh', -1],
    ['log2', 0],
    ['log10', 0],
  ] as const)('%s at %d, where its derivative is infinite: a zero tangent or cotangent gives 0', (name, at) => {
    const d = derivatives([[2]], unary(name), [[at, 2 * at || 0.5]], [[0, 1]], [0, 1]);
    expect([d.jvp[0], d.vjp[0][0], d.hvp[0][0]]).toEqual([0, 0, 0]);
    expect(hasNaN({ ...d, jvp: [d.jvp[1]], vjp: [[d.vjp[0][1]]], hvp: [[d.hvp[0][1]]] })).toBe(false);
    expect(Math.abs(derivatives([[1]], unary(name), [[at]], [[1]], [1]).jvp[0])).toBe(Infinity);
  });

  it('a zero tangent or cotangent times an infinite partial is 0, not NaN', () => {
    // sqrt'(0) = log'(0) = ∞
    const s = derivatives([[2]], unary('sqrt'), [[0, 4]], [[0, 1]], [0, 1]);
    expect(s).toEqual({ y: [0, 2], jvp: [0, 0.25], vjp: [[0, 0.25]], hvp: [[0, -1 / 32]] });
    const l = derivatives([[2]], unary('log'), [[0, 2]], [[0, 1]], [0, 1]);
    expect(l).toEqual({ y: [-Infinity, Math.log(2)], jvp: [0, 0.5], vjp: [[0, 0.5]], hvp: [[0, -0.25]] });
    // ... while a non-zero one gives the IEEE infinity
    expect(derivatives([[1]], unary('sqrt'), [[0]], [[1]], [1]).jvp).toEqual([Infinity]);
    // pow at a = 0: ∂y/∂b = y ln a = 0 · -∞, taken as 0
    const p = derivatives([[], []], (e, [a, b]) => e.apply('pow', [a, b]), [[0], [2]], [[1], [1]], [1]);
    expect(p.jvp).toEqual([0]);
    expect(p.vjp).toEqual([[0], [0]]);
    // zmul itself
    expect(
      Array.from(
        apply('zmul', [
          { shape: [4], data: [0, Infinity, NaN, 0] },
          { shape: [4], data: [Infinity, 0, 0, NaN] },
        ]).data,
      ),
    ).toEqual([0, 0, 0, 0]);
  });

  it('where(x > 0, sqrt(x), 0) leaks nothing from the branch not taken', () => {
    const prog = (e: ProgramBuilder, [x]: ValueId[]): ValueId =>
      e.where(e.apply('gt', [x, e.literal(0)]), e.apply('sqrt', [x]), e.literal(0));
    const d = derivatives([[3]], prog, [[-1, 0, 4]], [[1, 1, 1]], [1, 1, 1]);
    expect(d).toEqual({ y: [0, 0, 2], jvp: [0, 0, 0.25], vjp: [[0, 0, 0.25]], hvp: [[0, 0, -1 / 32]] });
  });

  it('where(x > 0, log(x), x) leaks nothing from the branch not taken', () => {
    const prog = (e: ProgramBuilder, [x]: ValueId[]): ValueId => e.where(e.apply('gt', [x, e.literal(0)]), e.apply('log', [x]), x);
    const d = derivatives([[3]], prog, [[0, -1, 2]], [[1, 1, 1]], [1, 1, 1]);
    expect(d).toEqual({ y: [0, -1, Math.log(2)], jvp: [1, 1, 0.5], vjp: [[1, 1, 0.5]], hvp: [[0, 0, -0.25]] });
  });

  it("where's condition gets no tangent and no cotangent", () => {
    const prog = (e: ProgramBuilder, [c, a, b]: ValueId[]): ValueId => e.where(c, a, b);
    const d = derivatives(
      [[2], [2], [2]],
      prog,
      [
        [0, 1],
        [1, 2],
        [3, 4],
      ],
      [[1, 1], null, null],
      [1, 1],
    );
    expect(d.jvp).toEqual([0, 0]);
    expect(d.vjp).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
    ]);
  });

  it('softplus and sigmoid are accurate for large |x|', () => {
    const x = [800, -800, 40, -40, -745, 1e308, -1e308];
    const d = derivatives(
      [[x.length]],
      unary('softplus'),
      [x],
      [x.map(() => 1)],
      x.map(() => 1),
    );
    expect(d.y.slice(0, 2)).toEqual([800, 0]);
    expect(d.y[2]).toBe(40); // 40 + e^-40 rounds to 40
    expectClose(d.y[3], Math.exp(-40), 1e-15, { label: 'softplus(-40)', floor: 0 });
    expect(d.y[4]).toBe(5e-324); // e^-745, the least subnormal
    expect(d.y.slice(5)).toEqual([1e308, 0]);
    expect(d.jvp).toEqual([1, 0, 1, Math.exp(-40) / (1 + Math.exp(-40)), 5e-324, 1, 0]);
    expect(hasNaN(d)).toBe(false);
    const s = derivatives([[2]], unary('sigmoid'), [[800, -800]], [[1, 1]], [1, 1]);
    expect(s).toEqual({ y: [1, 0], jvp: [0, 0], vjp: [[0, 0]], hvp: [[0, 0]] });
  });

  it('domain errors give IEEE results, never exceptions', () => {
    const cases: [string, number[][], number][] = [
      ['log', [[-1]], NaN],
      ['log', [[0]], -Infinity],
      ['sqrt', [[-1]], NaN],
      ['log1p', [[-2]], NaN],
      ['log1p', [[-1]], -Infinity],
      ['asin', [[2]], NaN],
      ['acos', [[-1.5]], NaN],
      ['pow', [[-8], [1 / 3]], NaN],
      ['pow', [[0], [-1]], Infinity],
      ['div', [[1], [0]], Infinity],
      ['div', [[-1], [0]], -Infinity],
      ['div', [[0], [0]], NaN],
      ['exp', [[1000]], Infinity],
      ['acosh', [[0.5]], NaN],
      ['atanh', [[2]], NaN],
      ['atanh', [[1]], Infinity],
      ['log2', [[-1]], NaN],
      ['log10', [[0]], -Infinity],
      ['cbrt', [[-8]], -2],
      ['asinh', [[-Infinity]], -Infinity],
    ];
    for (const [name, X, want] of cases) {
      const shapes = X.map(() => [] as Shape);
      let d: Derivatives | undefined;
      expect(() => {
        d = derivatives(
          shapes,
          (e, xs) => applyNamed(e, name, xs),
          X,
          X.map(() => [1]),
          [1],
        );
      }, name).not.toThrow();
      expect(d!.y, `${name}(${X.join(', ')})`).toEqual([want]);
    }
  });

  it('stop_gradient has no jvp: the value passes, the derivative is zero', () => {
    const op = getOp('stop_gradient');
    expect(op.jvp).toBeUndefined();
    expect(op.vjp).toBeUndefined();
    // y = x · stop_gradient(x): dy/dx = stop_gradient(x) = x, not 2x
    const d = derivatives([[]], (e, [x]) => e.mul(x, e.apply('stop_gradient', [x])), [[3]], [[1]], [1]);
    expect(d).toEqual({ y: [9], jvp: [3], vjp: [[3]], hvp: [[0]] });
  });
});
