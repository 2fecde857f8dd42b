/**
 * Forward mode: tangents flow with the primal, one direction per active input
 * element (batched and chunked). Cost ∝ active input elements: the right mode for
 * few inputs and many outputs. Hessians are forward-over-forward. A vjp goes
 * through the full Jacobian (no vjp here).
 */
import { estimate } from '../analysis/cost.js';
import type { Plan } from '../analysis/plan.js';
import type { Operation } from '../graph/schema.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import { forwardOverForwardProgram, forwardProgram, runDerived } from './programs.js';
import {
  activeShapes,
  allOf,
  basisChunk,
  basisSweeps,
  chunkSize,
  outputShapes,
  readResult,
  singleSweep,
  transposeBlocks,
} from './sweeps.js';
import type { BlockResult, Engine, Primal, TensorsResult } from './types.js';

/** Jacobian blocks [output][active input] by forward mode: one direction per active input element. */
function forwardJacobian(plan: Plan, primal: Primal): BlockResult {
  const outShapes = outputShapes(plan);
  const r = basisSweeps(primal.env, activeShapes(plan), outShapes, (g) => forwardProgram(plan, [g]), false);
  return { blocks: transposeBlocks(r.blocks, outShapes.length), directions: r.directions };
}

/** One forward sweep with the given tangents (k = 1): the JVP of every output. */
function forwardJvp(plan: Plan, primal: Primal, tangents: readonly Tensor[]): Tensor[] {
  return singleSweep(plan, forwardProgram(plan, allOf(plan.activeValues)), primal, tangents, plan.outputValues);
}

/** H u for every active input block, by forward-over-forward (one sweep per active input element). */
function hvpForwardOverForward(plan: Plan, primal: Primal, u: readonly Tensor[]): TensorsResult {
  let directions = 0;
  const tensors = plan.activeValues.map((v, g) => {
    const shape = plan.program.values.info(v).shape;
    const n = sizeOf(shape);
    const data = new Float64Array(n);
    if (n === 0) return { shape, data };
    const d = forwardOverForwardProgram(plan, g);
    const c = chunkSize(d, n);
    for (let start = 0; start < n; start += c) {
      const k = Math.min(c, n - start);
      const env = runDerived(d, primal.env, [...u.map((t) => t.data), basisChunk(n, start, k)], k);
      directions += k;
      const r = readResult(env, d.results[0], d.results[0] !== null && d.values.info(d.results[0]).batched, 1, k);
      if (r !== null) data.set(r.subarray(0, k), start);
    }
    return { shape, data };
  });
  return { tensors, directions };
}

/** Hessian blocks [a][b] by forward-over-forward: H e_i for every active input element i. */
function hessianForwardOverForward(plan: Plan, primal: Primal): BlockResult {
  const shapes = activeShapes(plan);
  const blocks = shapes.map((a) => shapes.map((b) => ({ shape: [...a, ...b], data: new Float64Array(sizeOf(a) * sizeOf(b)) })));
  let directions = 0;
  shapes.forEach((aShape, a) => {
    const n = sizeOf(aShape);
    for (let p = 0; p < n; p++) {
      const u = shapes.map((s) => ({ shape: s, data: new Float64Array(sizeOf(s)) }));
      u[a].data[p] = 1;
      const r = hvpForwardOverForward(plan, primal, u);
      directions += r.directions;
      r.tensors.forEach((t, b) => {
        blocks[a][b].data.set(t.data, p * t.data.length);
      });
    }
  });
  return { blocks, directions };
}

export const forwardEngine: Engine = {
  name: 'forward',
  jacobian: forwardJacobian,
  jvp: (plan, primal, tangents) => ({ tensors: forwardJvp(plan, primal, tangents), directions: 1 }),
  hessian: hessianForwardOverForward,
  hvp: hvpForwardOverForward,
  estimate(plan: Plan, operation: Operation) {
    const e = estimate(plan, operation);
    return { ns: e.forwardNs, buildEqns: e.forwardBuildEqns };
  },
  method: (operation) => (operation === 'hessian' || operation === 'hvp' ? 'forward-over-forward' : 'forward'),
};
