/** The library's public shapes: options in, result envelopes out. */
import type { GraphStore } from '../graph/graph-store.js';
import type { PlanCache } from '../graph/plan-cache.js';
import type { Limits } from '../graph/limits.js';
import type { Operation } from '../graph/schema.js';
import type { Base64Tensor } from '../tensor/base64.js';
import type { NestedNumbers, NestedValue } from '../tensor/nested.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * How result tensors are written:
 * 'nested' (default): nested arrays of numbers (NaN and ±Infinity as numbers);
 * 'json': the same with NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity",
 * ready for JSON.stringify (what the HTTP service sends);
 * 'packed': {shape, data: Float64Array}.
 * A request with `encoding: "base64"` gets {dtype, shape, data: base64} tensors instead
 * of nested ones ('nested' and 'json'); 'packed' stays packed.
 */
export type OutputFormat = 'nested' | 'json' | 'packed';

/** A result tensor in output format F. */
export type OutTensor<F extends OutputFormat = OutputFormat> = F extends 'packed'
  ? Tensor
  : F extends 'json'
    ? NestedValue | Base64Tensor
    : NestedNumbers;

export interface Options<F extends OutputFormat = OutputFormat> {
  limits?: Partial<Limits>;
  /**
   * Where checked graphs, plans and derivative programs are kept between calls:
   * a plan cache of your own, false for none, or by default one shared cache.
   */
  cache?: PlanCache | false;
  /** Where registerGraph keeps graphs and `graphId` finds them: a store of your own, or by default one shared store. */
  graphStore?: GraphStore;
  output?: F;
  /**
   * Milliseconds the call may compute: past them it stops between two steps and
   * throws ComputeDeadlineExceeded (the thread stays usable). Default: no limit.
   */
  budgetMs?: number;
  /**
   * Refuse non-finite JavaScript numbers in arguments, tangents, cotangents and
   * vectors (default false). For requests parsed from JSON text, where such a number
   * can only be a literal too large for a double (1e999): the HTTP service sets it.
   */
  strictFloats?: boolean;
}

export interface Timings {
  validateMs: number;
  planMs: number;
  evaluateMs: number;
  differentiateMs: number;
  totalMs: number;
  /** Time spent on the check reference when `check` is asked. */
  checkMs?: number;
}

export interface Stats {
  /** Tangent or cotangent directions propagated (fd: perturbation directions), summed over chunks; in a batch, each carried at every point at once. */
  directions: number;
  /** Graph nodes that carry derivatives (varied and useful); inputs and literals are not counted. */
  activeNodes: number;
  inactiveNodes: number;
  /** Whether the checked graph and its plans came from the plan cache. */
  cache?: 'hit' | 'miss';
  /** Points in a batch (the request's `batched`): every tensor of the result has them as its leading axis. */
  batch?: number;
}

type Named<F extends OutputFormat> = Record<string, OutTensor<F>>;
type Grid<F extends OutputFormat> = Record<string, Named<F>>;

/** What every operation returns. */
export interface ResultBase<F extends OutputFormat = OutputFormat> {
  values: Named<F>;
  /** The engine that ran (never auto). Absent for evaluate. */
  mode?: string;
  /** Why this engine ran. */
  reason?: string;
  stats: Stats;
  timings: Timings;
  /** Error against the check reference (fd); with output 'json', NaN and ±Infinity are written as strings. */
  check?: { maxAbsError: number | string; maxRelError: number | string };
}

export interface Differentiated<F extends OutputFormat> extends ResultBase<F> {
  mode: string;
  reason: string;
}

/** Each operation's result: the base, with the operation's own field present. */
export interface ResultOf<F extends OutputFormat = OutputFormat> {
  evaluate: ResultBase<F>;
  jacobian: Differentiated<F> & { jacobian: Grid<F> };
  gradient: Differentiated<F> & { gradient: Named<F> };
  jvp: Differentiated<F> & { jvp: Named<F> };
  vjp: Differentiated<F> & { vjp: Named<F> };
  hessian: Differentiated<F> & { hessian: Grid<F> };
  hvp: Differentiated<F> & { hvp: Named<F> };
}

/** Any operation's result: the base, with every operation's field optional. */
export interface AnyResult<F extends OutputFormat = OutputFormat> extends ResultBase<F> {
  jacobian?: Grid<F>;
  gradient?: Named<F>;
  jvp?: Named<F>;
  vjp?: Named<F>;
  hessian?: Grid<F>;
  hvp?: Named<F>;
}

/** The result of operation Op in output format F; Result alone is any operation's. */
export type Result<Op extends Operation | 'any' = 'any', F extends OutputFormat = OutputFormat> = Op extends Operation
  ? ResultOf<F>[Op]
  : AnyResult<F>;
