/** The library's public shapes: options in, result envelopes out. */
import type { GraphStore } from '../graph/graph-store.js';
import type { PlanCache } from '../graph/plan-cache.js';
import type { Limits } from '../graph/limits.js';
import type { Encoding, Operation } from '../graph/schema.js';
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

/**
 * What a result's tensors are: an output format, or 'base64' for a request with
 * `encoding: "base64"` (TensorFormOf tells which from the request's own type).
 */
export type TensorForm = OutputFormat | 'base64';

/** A result tensor in form F. */
export type OutTensor<F extends TensorForm = TensorForm> = F extends 'packed'
  ? Tensor
  : F extends 'base64'
    ? Base64Tensor
    : F extends 'json'
      ? NestedValue
      : NestedNumbers;

/** The request's `encoding` as its type says: a request of unknown type may ask for either. */
type EncodingOf<R> = unknown extends R
  ? Encoding
  : R extends { readonly encoding?: infer E }
    ? unknown extends E
      ? undefined
      : E
    : undefined;

/**
 * The form of a result's tensors for output format F and a request of type R:
 * 'packed' stays packed; a request that says `encoding: "base64"` gets base64; one
 * that may (its encoding is not known to the type) gets either; otherwise F.
 */
export type TensorFormOf<F extends OutputFormat, R> = F extends 'packed'
  ? 'packed'
  : [EncodingOf<R>] extends ['base64']
    ? 'base64'
    : 'base64' extends EncodingOf<R>
      ? F | 'base64'
      : F;

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
  /** A Jacobian or Hessian computed sparsely (compressed sweeps, or `format: "coo"`): its structurally non-zero entries (per point), and the colours its sweeps took. */
  nonZeros?: number;
  colors?: number;
}

/**
 * A Jacobian block in `format: "coo"`: the dense block's shape, and its structurally
 * non-zero entries sorted by (row, column), rows flat into the output's shape and
 * columns flat into the input's (in a batch, `values` is [points, entries]).
 */
export interface CooBlock<F extends TensorForm = TensorForm> {
  shape: number[];
  rows: number[];
  cols: number[];
  values: OutTensor<F>;
}

/** The names a result is keyed by: its outputs, and its active inputs. */
export interface Names {
  outputs: string;
  inputs: string;
}

type Named<F extends TensorForm, K extends string = string> = Record<K, OutTensor<F>>;
type Grid<F extends TensorForm, A extends string = string, B extends string = string> = Record<A, Named<F, B>>;

/** T's string literals, or string where T does not fix them (string itself, or nothing). */
type Known<T> = [T] extends [never] ? string : string extends T ? string : T;
type ElementOf<T> = T extends readonly (infer E)[] ? E : never;
type NameOf<T> = T extends { readonly name: infer N } ? N : never;
type ConstantOf<R> = R extends { readonly constant: infer C } ? ElementOf<C> : never;

/**
 * The names a request of type R fixes, so that `res.jacobian.r.xs` needs no check for
 * undefined and a misspelt name does not compile: with a literal graph (written in
 * the call, or declared `as const`), the outputs are R's own `outputs` or else the
 * graph's, and the active inputs the graph's inputs not named in `constant`. A
 * request whose type does not fix them (parsed JSON, a graphId, a graph typed as
 * Graph) is keyed by any string, as before.
 */
export type NamesOf<R> = 0 extends 1 & R
  ? Names
  : {
      outputs: R extends { readonly outputs: infer O }
        ? Known<ElementOf<O>>
        : R extends { readonly graph: { readonly outputs: infer O } }
          ? Known<ElementOf<O>>
          : string;
      inputs: R extends { readonly graph: { readonly inputs: infer I } } ? Known<Exclude<NameOf<ElementOf<I>>, ConstantOf<R>>> : string;
    };

/** What every operation returns. */
export interface ResultBase<F extends TensorForm = TensorForm, N extends Names = Names> {
  values: Named<F, N['outputs']>;
  /** The engine that ran (never auto). Absent for evaluate. */
  mode?: string;
  /** Why this engine ran. */
  reason?: string;
  stats: Stats;
  timings: Timings;
  /** Error against the check reference (fd); with output 'json', NaN and ±Infinity are written as strings. */
  check?: { maxAbsError: number | string; maxRelError: number | string };
}

export interface Differentiated<F extends TensorForm, N extends Names = Names> extends ResultBase<F, N> {
  mode: string;
  reason: string;
}

/** Each operation's result: the base, with the operation's own field present. */
export interface ResultOf<F extends TensorForm = TensorForm, N extends Names = Names> {
  evaluate: ResultBase<F, N>;
  jacobian: Differentiated<F, N> & { jacobian: Grid<F, N['outputs'], N['inputs']> };
  gradient: Differentiated<F, N> & { gradient: Named<F, N['inputs']> };
  jvp: Differentiated<F, N> & { jvp: Named<F, N['outputs']> };
  vjp: Differentiated<F, N> & { vjp: Named<F, N['inputs']> };
  hessian: Differentiated<F, N> & { hessian: Grid<F, N['inputs'], N['inputs']> };
  hvp: Differentiated<F, N> & { hvp: Named<F, N['inputs']> };
}

/** A `format: "coo"` Jacobian's result: the blocks are CooBlocks. */
export type CooJacobianResult<F extends TensorForm = TensorForm, N extends Names = Names> = Omit<ResultOf<F, N>['jacobian'], 'jacobian'> & {
  jacobian: Record<N['outputs'], Record<N['inputs'], CooBlock<F>>>;
};

/** What `jacobian` resolves to for a request of type R: coo blocks when R says `format: "coo"`. */
export type JacobianResultOf<F extends TensorForm, R> = R extends { readonly format: 'coo' }
  ? CooJacobianResult<F, NamesOf<R>>
  : ResultOf<F, NamesOf<R>>['jacobian'];

/** A `format: "coo"` Hessian's result: the blocks are CooBlocks. */
export type CooHessianResult<F extends TensorForm = TensorForm, N extends Names = Names> = Omit<ResultOf<F, N>['hessian'], 'hessian'> & {
  hessian: Record<N['inputs'], Record<N['inputs'], CooBlock<F>>>;
};

/** What `hessian` resolves to for a request of type R. */
export type HessianResultOf<F extends TensorForm, R> = R extends { readonly format: 'coo' }
  ? CooHessianResult<F, NamesOf<R>>
  : ResultOf<F, NamesOf<R>>['hessian'];

/** Any operation's result: the base, with every operation's field optional. */
export interface AnyResult<F extends TensorForm = TensorForm> extends ResultBase<F> {
  jacobian?: Grid<F>;
  gradient?: Named<F>;
  jvp?: Named<F>;
  vjp?: Named<F>;
  hessian?: Grid<F>;
  hvp?: Named<F>;
}

/** The result of operation Op in output format F; Result alone is any operation's. */
export type Result<Op extends Operation | 'any' = 'any', F extends TensorForm = TensorForm, N extends Names = Names> = Op extends Operation
  ? ResultOf<F, N>[Op]
  : AnyResult<F>;
