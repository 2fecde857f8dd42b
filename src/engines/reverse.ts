/**
 * Reverse mode: one primal sweep keeps every value, then cotangents flow back, one
 * direction per output element (batched and chunked). Cost ∝ output elements: the
 * right mode for many inputs and few outputs, gradients above all. Hessians and
 * hvp are forward-over-reverse: the gradient program, differentiated forward.
 */
import { jacobianTimes } from './blocks.js';
import { hessianForwardOverReverse, hvpForwardOverReverse, reverseJacobian, reverseVjp } from './sweeps.js';
import type { Engine } from './types.js';

export const reverseEngine: Engine = {
  name: 'reverse',
  jacobian: reverseJacobian,
  jvp: (plan, primal, tangents) => jacobianTimes(plan, reverseJacobian(plan, primal), tangents),
  vjp: (plan, primal, cotangents) => ({ tensors: reverseVjp(plan, primal, cotangents), directions: 1 }),
  hessian: hessianForwardOverReverse,
  hvp: (plan, primal, vector) => ({ tensors: hvpForwardOverReverse(plan, primal, vector), directions: 1 }),
};
