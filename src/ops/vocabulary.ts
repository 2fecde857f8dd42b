/**
 * The op vocabulary, declared once: every op's name (wire and internal alike) with
 * the type of the attributes its kernel receives (after OpDef.prepare). OpDef, Emit
 * and the registry are typed by it, so a misspelt op, a missing or mistyped
 * attribute, or a definition missing from the registry is a compile error.
 *
 * Adding an op: a line here, then its definition in a family file (listed in
 * registry.ts). The names are declared rather than derived from the definitions
 * because the definitions' rules call Emit.apply, whose parameter is this union:
 * deriving it would make the type circular.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { StepFunction } from './step-function.js';

/** Attributes of an op that has none: only `{}` fits. */
export interface NoAttrs {
  readonly [key: string]: never;
}

/** Reductions: explicit axes (sorted, non-negative) and whether reduced axes stay as 1. */
export interface ReduceAttrs {
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}
/** Internal groupwise ops of the reductions: the reduced axes. */
export interface GroupAttrs {
  readonly axes: readonly number[];
}
export interface WinnerAttrs extends GroupAttrs {
  readonly kind: 'max' | 'min';
}

/**
 * strongZero is set only by derivative rules (never on the wire): a tangent's zeros
 * then annihilate infinite factors, as zmul does elementwise.
 */
export interface MatmulAttrs {
  strongZero?: boolean;
}
export interface TransposeAttrs {
  readonly perm: readonly number[];
}

/** Kernel form of a slice: per axis the first index, the step and the count. */
export interface SliceAttrs {
  begin: number[];
  step: number[];
  count: number[];
}
export interface IndexAttrs {
  axis: number;
  indices: number[];
}
/** einsum's subscripts, parsed: each operand's letters, the output's, and every letter's length. */
export interface EinsumAttrs {
  readonly inputs: readonly string[];
  readonly output: string;
  readonly sizes: Readonly<Record<string, number>>;
}
export interface AxisAttrs {
  axis: number;
}
/**
 * clip's bounds (±Infinity when not given). Only wire nodes make clip equations, which
 * the builder never merges: its merge key, JSON, writes ±Infinity and NaN alike as null.
 */
export interface ClipAttrs {
  readonly min: number;
  readonly max: number;
}
/** Structure ops (structure.ts): the diagonal, 0 the main one, k > 0 above it, k < 0 below. */
export interface DiagAttrs {
  k: number;
}
/** Cumulative ops (cumulative.ts): the axis walked and whether it is walked from the end. */
export interface CumulativeAttrs {
  axis: number;
  reverse: boolean;
}
export interface NormAttrs extends ReduceAttrs {
  readonly ord: 1 | 2 | 'inf';
}
/** solve: transpose (aᵀ x = b, with a's factors) is set only by derivative rules, never on the wire. */
export interface SolveAttrs {
  transpose?: boolean;
}
/** triangular_solve: which triangle of a is read, whether aᵀ is solved with, and whether its diagonal is taken as ones. */
export interface TriangularSolveAttrs {
  readonly lower: boolean;
  readonly transpose: boolean;
  readonly unit_diagonal: boolean;
}

/** call: expanded into the function's equations when the graph is checked, so never an equation. */
export interface CallAttrs {
  readonly function: string;
}
/**
 * A loop: `body` maps (carry, row t of each sequence) to the next carry, `length`
 * times (from the last row to the first when `reverse`); the value is every carry
 * stacked. `function` names the wire function it came from (for printing).
 */
export interface ScanAttrs {
  readonly function: string;
  readonly length: number;
  readonly reverse: boolean;
  readonly body: StepFunction;
}

export interface OpAttrs {
  // leaves (leaves.ts)
  const: { value: Tensor };
  range: { start: number; stop: number; step: number; length: number };
  fill: { shape: number[]; value: number };
  // unary elementwise (unary.ts)
  neg: NoAttrs;
  exp: NoAttrs;
  log: NoAttrs;
  log1p: NoAttrs;
  expm1: NoAttrs;
  sqrt: NoAttrs;
  square: NoAttrs;
  abs: NoAttrs;
  sin: NoAttrs;
  cos: NoAttrs;
  tan: NoAttrs;
  tanh: NoAttrs;
  sinh: NoAttrs;
  cosh: NoAttrs;
  asin: NoAttrs;
  acos: NoAttrs;
  atan: NoAttrs;
  sigmoid: NoAttrs;
  relu: NoAttrs;
  softplus: NoAttrs;
  erf: NoAttrs;
  asinh: NoAttrs;
  acosh: NoAttrs;
  atanh: NoAttrs;
  log2: NoAttrs;
  log10: NoAttrs;
  cbrt: NoAttrs;
  // binary elementwise, comparisons and where (binary.ts)
  add: NoAttrs;
  sub: NoAttrs;
  mul: NoAttrs;
  div: NoAttrs;
  pow: NoAttrs;
  atan2: NoAttrs;
  maximum: NoAttrs;
  minimum: NoAttrs;
  /** internal */
  zmul: NoAttrs;
  lt: NoAttrs;
  le: NoAttrs;
  gt: NoAttrs;
  ge: NoAttrs;
  eq: NoAttrs;
  ne: NoAttrs;
  where: NoAttrs;
  // piecewise constant elementwise ops, never active (steps.ts)
  sign: NoAttrs;
  floor: NoAttrs;
  ceil: NoAttrs;
  round: NoAttrs;
  // clip (clip.ts)
  clip: ClipAttrs;
  // functions (functions.ts)
  call: CallAttrs;
  scan: ScanAttrs;
  // reductions (reduce.ts)
  sum: ReduceAttrs;
  mean: ReduceAttrs;
  prod: ReduceAttrs;
  max: ReduceAttrs;
  min: ReduceAttrs;
  logsumexp: ReduceAttrs;
  /** internal */
  prod_others: GroupAttrs;
  /** internal */
  prod_others_jvp: GroupAttrs;
  /** internal */
  first_winner: WinnerAttrs;
  // contractions and transpose (linalg.ts)
  dot: NoAttrs;
  matmul: MatmulAttrs;
  /** internal */
  matmul_nt: NoAttrs;
  /** internal */
  matmul_tn: NoAttrs;
  transpose: TransposeAttrs;
  outer: NoAttrs;
  // moving elements (shape.ts)
  reshape: { shape: number[] };
  broadcast_to: { shape: number[] };
  slice: SliceAttrs;
  /** internal */
  slice_scatter: SliceAttrs & { shape: number[] };
  index: IndexAttrs;
  /** internal */
  index_add: IndexAttrs & { size: number };
  concat: AxisAttrs;
  stack: AxisAttrs;
  stop_gradient: NoAttrs;
  // einsum (einsum.ts), expanded into the ops above when a graph is checked
  einsum: EinsumAttrs;
  // indexing by tensors (gather.ts)
  gather: AxisAttrs;
  scatter_add: AxisAttrs;
  scatter_set: AxisAttrs;
  /** internal */
  last_index: AxisAttrs & { size: number };
  // matrix structure (structure.ts)
  eye: { n: number; m: number; k: number };
  diag: DiagAttrs;
  diagonal: DiagAttrs;
  /** internal */
  diagonal_scatter: DiagAttrs & { rows: number; cols: number };
  trace: NoAttrs;
  triu: DiagAttrs;
  tril: DiagAttrs;
  // along an axis: cumulative ops, softmax, norm (cumulative.ts)
  cumsum: CumulativeAttrs;
  cumprod: CumulativeAttrs;
  /** internal */
  linrec: CumulativeAttrs;
  softmax: AxisAttrs;
  log_softmax: AxisAttrs;
  norm: NormAttrs;
  // solves and factorizations (solve.ts)
  solve: SolveAttrs;
  triangular_solve: TriangularSolveAttrs;
  inv: NoAttrs;
  det: NoAttrs;
  logabsdet: NoAttrs;
  cholesky: NoAttrs;
  /** internal */
  adjugate: NoAttrs;
  /** internal */
  adjugate_jvp: NoAttrs;
}

/** Every op derivd knows. */
export type OpName = keyof OpAttrs;

/** The ops whose kernel attributes are exactly A: what a helper making ops of one attribute type may define. */
export type OpNameWith<A> = { [N in OpName]: [OpAttrs[N]] extends [A] ? ([A] extends [OpAttrs[N]] ? N : never) : never }[OpName];

/**
 * What follows the arguments in Emit.apply: the attributes, optional when the op
 * needs none ({} fits them), then the wire node. Meant for one literal name: for a
 * union of names the attributes are those of any of them.
 */
// biome-ignore lint/complexity/noBannedTypes: {} is the empty attribute object here, what an op without required attributes accepts
export type ApplyTail<N extends OpName> = {} extends OpAttrs[N] ? [attrs?: OpAttrs[N], node?: number] : [attrs: OpAttrs[N], node?: number];
