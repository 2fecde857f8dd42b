/**
 * An op is declared once in vocabulary.ts (its name and kernel attribute types)
 * and defined once, in one entry: its wire attributes, shape rule, primal
 * kernel, and its JVP and VJP rules. Derivative rules are written in terms of ops
 * (they emit equations through an Emit), so a derivative program can itself be
 * differentiated: that is how Hessians are exact (forward-over-reverse).
 */
import type { z } from 'zod';
import type { Shape, Tensor } from '../tensor/tensor.js';
import type { ApplyTail, OpAttrs, OpName } from './vocabulary.js';

declare const brand: unique symbol;

/**
 * A value of a program: an input or the output of an equation, numbered from 0.
 * Branded, so a plain number (an index, a count) is not taken for one: ids come
 * from the IR's value table (src/ir/program.ts), the only place that makes them.
 */
export type ValueId = number & { readonly [brand]: 'ValueId' };

/**
 * Where derivative rules write their results: each call appends one equation (or
 * reuses an identical one) and returns the value it defines. The IR's
 * ProgramBuilder (src/ir/builder.ts) implements it; rules see only this.
 *
 * Attributes passed here are kernel attributes (already normalised: explicit
 * axes, keepdims and so on); only wire attributes go through OpDef.prepare.
 */
export interface Emit {
  /**
   * Appends `name(args; attrs)`; `node` ties the equation to a wire node. `attrs`
   * is the op's OpAttrs entry, required when that has required attributes.
   */
  apply<N extends OpName>(name: N, args: readonly ValueId[], ...tail: ApplyTail<N>): ValueId;
  /** A new input of the program; `batched` when it carries a batch of directions. */
  input(shape: Shape, batched?: boolean): ValueId;
  constant(value: Tensor, node?: number): ValueId;
  /** A number as a scalar constant (one equation per distinct number), as a literal in a wire node's args. */
  literal(x: number): ValueId;
  shapeOf(v: ValueId): Shape;
  isBatched(v: ValueId): boolean;
  add(a: ValueId, b: ValueId): ValueId;
  sub(a: ValueId, b: ValueId): ValueId;
  mul(a: ValueId, b: ValueId): ValueId;
  div(a: ValueId, b: ValueId): ValueId;
  neg(a: ValueId): ValueId;
  /** Multiplication in which 0 annihilates ±Infinity and NaN: every chain-rule product uses it. */
  zmul(a: ValueId, b: ValueId): ValueId;
  where(cond: ValueId, a: ValueId, b: ValueId): ValueId;
  /** `a` itself when it already has `shape`. */
  reshape(a: ValueId, shape: Shape): ValueId;
  broadcastTo(a: ValueId, shape: Shape): ValueId;
  sum(a: ValueId, axes: readonly number[], keepdims: boolean): ValueId;
  /** Sums a cotangent over the axes along which `shape` was broadcast: undoes broadcasting. */
  sumTo(a: ValueId, shape: Shape): ValueId;
  zeros(shape: Shape): ValueId;
  /** Sum of the non-null terms, each broadcast to `shape`; null when all are null. */
  sumTerms(terms: readonly (ValueId | null)[], shape: Shape): ValueId | null;
}

export interface RuleCtx<A> {
  readonly e: Emit;
  /** Primal argument values. */
  readonly xs: readonly ValueId[];
  /** Primal output value. */
  readonly y: ValueId;
  readonly attrs: A;
  readonly inShapes: readonly Shape[];
  readonly outShape: Shape;
}

/**
 * A use of an op that cannot be computed: arguments that do not fit (shape rules)
 * or attributes that are wrong (preparation). `arg` or `attr` names the culprit,
 * which graph checking turns into the path.
 */
export class OpError extends Error {
  constructor(
    message: string,
    readonly arg?: number,
    readonly attr?: string,
  ) {
    super(message);
  }
}

/**
 * A value an op received when the call ran is not one it takes (gather's indices: a
 * non-integer or out of range). The kernel names its argument; the evaluator adds
 * the equation's wire node and the argument's value, so the caller can name the
 * request's argument or node.
 */
export class ValueError extends Error {
  node = -1;
  value = -1;
  constructor(
    message: string,
    readonly arg: number,
  ) {
    super(message);
    this.name = 'ValueError';
  }
}

/** Parsed wire attributes (beside id, op, args), as zod checked them against OpDef.attrs. */
export type WireAttrs = Readonly<Record<string, unknown>>;

/**
 * The definition of op N, its attributes typed by the vocabulary. OpDef without a
 * name is any op: its attributes are those of some op, which is what the IR's
 * equations carry (the builder pairs each op with attributes of its own type).
 * The functions taking attributes are methods, not function-typed properties, on
 * purpose: method parameters are bivariant, which is what lets OpDef<'sum'> be an
 * OpDef.
 */
export interface OpDef<N extends OpName = OpName> {
  readonly name: N;
  /** Number of tensor arguments; 'variadic' means one or more. */
  readonly arity: number | 'variadic';
  /** zod shape of the wire attributes (beside id, op, args). */
  readonly attrs: z.ZodRawShape;
  /** Internal ops are made by derivative rules and are not accepted on the wire. */
  readonly internal?: boolean;
  /** Arguments no derivative flows through (where's condition): they never make the output active. */
  readonly constantArgs?: readonly number[];
  /** Elementwise ops broadcast their arguments; the evaluator batches them in one kernel call. */
  readonly elementwise?: boolean;
  /**
   * For elementwise ops: the function of one element of each argument, which the
   * kernel maps and the compiler calls inside fused loops. The same function, so
   * compiled and interpreted results are the same bits.
   */
  readonly perElement?: (...xs: number[]) => number;
  /**
   * For elementwise ops with attributes (clip): perElement for an equation's
   * attributes, made once per equation; the kernel must map the same function.
   */
  perElementWith?(attrs: OpAttrs[N]): (...xs: number[]) => number;
  /**
   * perElement as a JavaScript expression over $0, $1, … (digits, operators and
   * parentheses only: code.ts refuses anything else), which the compiler writes into
   * fused loops instead of a call: a loop body of many calls outgrows what V8 will
   * inline. It must give perElement's bits for every input (ops/inline.test.ts).
   */
  readonly inline?: string;
  /**
   * The output's elements are the argument's, in the same order (reshape,
   * stop_gradient): the evaluator passes the argument's array on instead of copying.
   * Safe because values are never written after they are computed.
   */
  readonly sameData?: boolean;
  /** Turns parsed wire attributes into the attributes the kernel uses (defaults, normalised axes). */
  prepare?(wire: WireAttrs, inShapes: readonly Shape[]): OpAttrs[N];
  /**
   * For ops that are compositions of others (einsum): the equations a wire node
   * becomes, emitted when the graph is checked, in place of one equation of this op;
   * exactly one of them carries `node`. The kernel is then only a reference.
   */
  expand?(e: Emit, args: readonly ValueId[], attrs: OpAttrs[N], node: number): ValueId;
  /** Output shape; throws OpError naming the argument when the arguments do not fit. */
  shape(inShapes: readonly Shape[], attrs: OpAttrs[N]): Shape;
  /** Primal kernel: writes the result into `out` (row-major, already sized). */
  kernel(ins: readonly Float64Array[], inShapes: readonly Shape[], out: Float64Array, outShape: Shape, attrs: OpAttrs[N]): void;
  /**
   * For ops that are not elementwise: the kernel over a batch of k in one call, instead of
   * one kernel call per batch entry on views (what the evaluator does otherwise). `batched[i]`
   * says whether argument i carries the leading batch axis ([k, ...shape], entry after entry);
   * `out` is [k, ...outShape]. Each entry's bits must be the kernel's for that entry alone.
   */
  batchKernel?(
    ins: readonly Float64Array[],
    inShapes: readonly Shape[],
    batched: readonly boolean[],
    k: number,
    out: Float64Array,
    outShape: Shape,
    attrs: OpAttrs[N],
  ): void;
  /**
   * Every output element is a copy of one argument element (slice, index, transpose,
   * concat, ...): which one is found by running the kernel on element numbers, so such
   * an op needs no sparsity rule of its own.
   */
  readonly movesElements?: boolean;
  /**
   * Which argument elements each output element is computed from, for sparse
   * Jacobians: calls dep(out, arg, element) for every pair, in any order. Structural
   * and conservative: it may name an element whose partial is zero at some point, never
   * leave one out. Absent: elementwise ops by broadcasting, ops that move elements by
   * their kernel, and any other op from every element of every argument (dense).
   */
  sparsity?(inShapes: readonly Shape[], outShape: Shape, attrs: OpAttrs[N], dep: (out: number, arg: number, element: number) => void): void;
  /** Units of work of the primal (elements, or flops for contractions), for the cost model. */
  work?(inShapes: readonly Shape[], outShape: Shape, attrs: OpAttrs[N]): number;
  /**
   * Tangent of the output from the tangents of the arguments (null = symbolic zero).
   * Absent: the op is not differentiable and its output is never active.
   */
  jvp?(ctx: RuleCtx<OpAttrs[N]>, xDots: readonly (ValueId | null)[]): ValueId | null;
  /** Cotangents of the arguments that are `wanted`, from the output cotangent (null = zero). */
  vjp?(ctx: RuleCtx<OpAttrs[N]>, yBar: ValueId, wanted: readonly boolean[]): (ValueId | null)[];
}
