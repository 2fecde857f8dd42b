/**
 * The engine interface. An engine computes every derivative operation its own way
 * (forward: one sweep per active input element; reverse: one per output element;
 * fd: two primal evaluations per direction); all share the plan and the primal.
 */
import type { Plan } from '../analysis/plan.js';
import type { Tensor } from '../tensor/tensor.js';
import type { BlockResult, Primal } from './sweeps.js';

export interface TensorsResult {
  tensors: Tensor[];
  directions: number;
}

export interface Engine {
  readonly name: string;
  /** Blocks [output][active input] of shape output.shape ++ input.shape. */
  jacobian(plan: Plan, primal: Primal): BlockResult;
  /** J t for each output; tangents per active input. */
  jvp(plan: Plan, primal: Primal, tangents: readonly Tensor[]): TensorsResult;
  /** cᵀ J for each active input; cotangents per output. */
  vjp(plan: Plan, primal: Primal, cotangents: readonly Tensor[]): TensorsResult;
  /** Blocks [a][b] of the scalar output's Hessian, shape a.shape ++ b.shape. */
  hessian(plan: Plan, primal: Primal): BlockResult;
  /** H v for each active input. */
  hvp(plan: Plan, primal: Primal, vector: readonly Tensor[]): TensorsResult;
}
