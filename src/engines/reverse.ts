/**
 * Reverse mode: one primal sweep keeps every value, then cotangents flow back, one
 * direction per output element (batched and chunked). Cost ∝ output elements: the
 * right mode for many inputs and few outputs, gradients above all. Hessians and
 * hvp are forward-over-reverse: the gradient program, differentiated forward. A
 * jvp goes through the full Jacobian (no jvp here).
 */
import { hessianCompression } from '../analysis/colouring.js';
import { compressionFor, estimate } from '../analysis/cost.js';
import type { Plan } from '../analysis/plan.js';
import type { Operation } from '../graph/schema.js';
import type { Tensor } from '../tensor/tensor.js';
import { compressedHessian, compressedReverse, hessianEntries, sparseEntries } from './compressed.js';
import { hessianProgram, reverseProgram } from './programs.js';
import { activeShapes, allOf, basisSweeps, outputShapes, singleSweep, transposeBlocks, vjpSweep } from './sweeps.js';
import type { BlockResult, Engine, Primal } from './types.js';

/** Jacobian blocks [output][active input] by reverse mode: one direction per output element. */
function reverseJacobian(plan: Plan, primal: Primal): BlockResult {
  const compression = compressionFor(plan, 'reverse');
  if (compression) return compressedReverse(plan, primal, compression);
  return basisSweeps(primal, plan.batched, outputShapes(plan), activeShapes(plan), (o) => reverseProgram(plan, [o]), true);
}

/** Hessian blocks [a][b] = d(grad_a)/d(x_b), forward-over-reverse: one direction per active input element. */
function hessianForwardOverReverse(plan: Plan, primal: Primal): BlockResult {
  // A sparse Hessian: one sweep per column colour.
  const compression = hessianCompression(plan);
  if (compression) return compressedHessian(plan, primal, compression);
  const inShapes = activeShapes(plan);
  const r = basisSweeps(primal, plan.batched, inShapes, inShapes, (g) => hessianProgram(plan, [g]), false);
  return { blocks: transposeBlocks(r.blocks, inShapes.length), directions: r.directions };
}

/** One forward-over-reverse sweep along `vector` (k = 1): H v for every active input. */
function hvpForwardOverReverse(plan: Plan, primal: Primal, vector: readonly Tensor[]): Tensor[] {
  return singleSweep(plan, hessianProgram(plan, allOf(plan.activeValues)), primal, vector, plan.activeValues);
}

export const reverseEngine: Engine = {
  name: 'reverse',
  batches: true,
  // one sweep per row colour
  sparseJacobian: (plan, primal, pattern) => sparseEntries(plan, primal, pattern.sparsity, pattern.rows, 'reverse'),
  // forward-over-reverse, one sweep per column colour
  sparseHessian: (plan, primal, pattern) => hessianEntries(plan, primal, pattern.sparsity, pattern.columns),
  jacobian: reverseJacobian,
  vjp: (plan, primal, cotangents) => ({ tensors: vjpSweep(plan, primal, cotangents), directions: 1 }),
  hessian: hessianForwardOverReverse,
  hvp: (plan, primal, vector) => ({ tensors: hvpForwardOverReverse(plan, primal, vector), directions: 1 }),
  estimate(plan: Plan, operation: Operation) {
    const e = estimate(plan, operation);
    return { ns: e.reverseNs, buildEqns: e.reverseBuildEqns };
  },
  method: (operation) => (operation === 'hessian' || operation === 'hvp' ? 'forward-over-reverse' : 'reverse'),
};
