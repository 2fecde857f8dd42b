/**
 * Forward mode: tangents flow with the primal, one direction per active input
 * element (batched and chunked). Cost ∝ active input elements: the right mode for
 * few inputs and many outputs. Hessians are forward-over-forward.
 */
import { timesJacobian } from './blocks.js';
import { forwardJacobian, forwardJvp, hessianForwardOverForward, hvpForwardOverForward } from './sweeps.js';
import type { Engine } from './types.js';

export const forwardEngine: Engine = {
  name: 'forward',
  jacobian: forwardJacobian,
  jvp: (plan, primal, tangents) => ({ tensors: forwardJvp(plan, primal, tangents), directions: 1 }),
  vjp: (plan, primal, cotangents) => timesJacobian(plan, forwardJacobian(plan, primal), cotangents),
  hessian: hessianForwardOverForward,
  hvp: hvpForwardOverForward,
};

