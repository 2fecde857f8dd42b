/**
 * The engine interface: what an engine must compute and what it may declare about
 * a call before running it. Every type an engine of your own needs is here and is
 * exported from the package (src/index.ts); register one with registerEngine and
 * `mode` accepts its name in the library and over HTTP.
 */
import type { Colouring } from '../analysis/colouring.js';
import type { Plan } from '../analysis/plan.js';
import type { JacobianSparsity } from '../analysis/sparsity.js';
import type { Operation } from '../graph/schema.js';
import type { Env } from '../ir/interpret.js';
import type { Tensor } from '../tensor/tensor.js';

/** The primal run at the call's arguments: engines start from it and may reuse its environment. */
export interface Primal {
  /**
   * Points in the batch (the plan is batched: plan.batched), or 1. In a batch every
   * tensor an engine gets or returns has a leading axis of this length (arguments of
   * constant inputs not batched excepted), and derivative programs run with k = batch,
   * one direction at every point at once.
   */
  readonly batch: number;
  /** The arguments, in graph input order. */
  readonly args: readonly Tensor[];
  /**
   * The plan's program values by value id: the arguments, the outputs, and the
   * residuals the derivative programs built for the plan read (runDerived fills in
   * any a new program needs); compiled code keeps no buffer for other values.
   */
  readonly env: Env;
  /** The requested outputs' values. */
  readonly values: Tensor[];
  /** The requested outputs at other arguments (graph input order): for engines that difference or sample. */
  evaluate(args: readonly Tensor[]): Tensor[];
}

/** Derivative blocks, blocks[row][column]; which rows and columns depends on the operation. */
export interface BlockResult {
  blocks: Tensor[][];
  /** Tangent or cotangent directions propagated (perturbations, for difference engines). */
  directions: number;
  /** Set by sweeps compressed by a sparsity pattern: its structurally non-zero entries (directions are then colours). */
  nonZeros?: number;
}

/** A Jacobian's structural pattern and its colourings: what a `format: "coo"` call computes the entries of. */
export interface JacobianPattern {
  readonly sparsity: JacobianSparsity;
  readonly columns: Colouring;
  readonly rows: Colouring;
}

/**
 * The values of a pattern's entries (outputs in order, each row's columns
 * ascending), at every point of a batch: entries[b · nonZeros + e].
 */
export interface EntriesResult {
  entries: Float64Array;
  directions: number;
}

export interface TensorsResult {
  tensors: Tensor[];
  directions: number;
}

/** What an engine expects a call to cost before it runs it. */
export interface CallEstimate {
  /** Nanoseconds of derivative work beyond the one primal evaluation. */
  ns: number;
  /** Equations its derivative programs build (and compile) on the plan's first runs. */
  buildEqns: number;
}

export interface Engine {
  readonly name: string;
  /** Whether it computes batched plans (Primal.batch). Absent: a request with `batched` is refused with this engine. */
  readonly batches?: boolean;
  /** Blocks [output][active input], each of shape output.shape ++ input.shape. */
  jacobian(plan: Plan, primal: Primal): BlockResult;
  /** Blocks [a][b] of the one scalar output's Hessian, shape a.shape ++ b.shape. */
  hessian(plan: Plan, primal: Primal): BlockResult;
  /** J t per output, tangents per active input. Absent: computed from the full Jacobian. */
  jvp?(plan: Plan, primal: Primal, tangents: readonly Tensor[]): TensorsResult;
  /** cᵀ J per active input, cotangents per output. Absent: computed from the full Jacobian. */
  vjp?(plan: Plan, primal: Primal, cotangents: readonly Tensor[]): TensorsResult;
  /**
   * The Jacobian's structurally non-zero entries only (`format: "coo"`), never the
   * dense blocks. Absent: read from the full Jacobian (whose limits then apply).
   */
  sparseJacobian?(plan: Plan, primal: Primal, pattern: JacobianPattern): EntriesResult;
  /** The same for a Hessian's pattern (rows and columns both the active inputs). */
  sparseHessian?(plan: Plan, primal: Primal, pattern: JacobianPattern): EntriesResult;
  /** H v per active input. Absent: computed from the full Hessian. */
  hvp?(plan: Plan, primal: Primal, vector: readonly Tensor[]): TensorsResult;
  /**
   * The cost of `operation` on `plan` with this engine, for auto's choice and the
   * service's placement. Absent: priced as the costlier of auto's candidates.
   */
  estimate?(plan: Plan, operation: Operation): CallEstimate;
  /** How the engine computes `operation`, in words, for auto's reason (e.g. "forward-over-reverse"). Default: its name. */
  method?(operation: Operation): string;
}
