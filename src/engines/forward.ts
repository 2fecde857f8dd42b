/**
 * Forward mode: tangents flow with the primal, one direction per active input
 * element (batched and chunked). Cost ∝ active input elements: the right mode for
 * few inputs and many outputs. Hessians are forward-over-forward. A vjp goes
 * through the full Jacobian (no vjp here).
 */
import { compressionFor, estimate } from '../analysis/cost.js';
import type { Plan } from '../analysis/plan.js';
import type { Operation } from '../graph/schema.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import { compressedForward, sparseEntries } from './compressed.js';
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
  // A sparse Jacobian whose colours the cost model prices below one sweep per input element.
  const compression = compressionFor(plan, 'forward');
  if (compression) return compressedForward(plan, primal, compression);
  const outShapes = outputShapes(plan);
  const r = basisSweeps(primal, plan.batched, activeShapes(plan), outShapes, (g) => forwardProgram(plan, [g]), false);
  return { blocks: transposeBlocks(r.blocks, outShapes.length), directions: r.directions };
}

/** One forward sweep with the given tangents (k = 1): the JVP of every output. */
function forwardJvp(plan: Plan, primal: Primal, tangents: readonly Tensor[]): Tensor[] {
  return singleSweep(plan, forwardProgram(plan, allOf(plan.activeValues)), primal, tangents, plan.outputValues);
}

/**
 * H u for every active input block, by forward-over-forward: one sweep per active
 * input element, chunked over elements; in a batch, one sweep per element for
 * every point at once (k = points, u per point).
 */
function hvpForwardOverForward(plan: Plan, primal: Primal, u: readonly Tensor[]): TensorsResult {
  const points = plan.batched ? primal.batch : 1;
  let directions = 0;
  const tensors = plan.activeValues.map((v, g) => {
    const logical = plan.program.values.info(v).shape;
    const shape = plan.batched ? [points, ...logical] : logical;
    const n = sizeOf(logical);
    const data = new Float64Array(points * n);
    if (n === 0) return { shape, data };
    const d = forwardOverForwardProgram(plan, g);
    const us = u.map((t) => t.data);
    const result = d.results[0];
    const perPoint = result !== null && d.values.info(result).batched;
    if (plan.batched) {
      const direction = new Float64Array(points * n);
      for (let j = 0; j < n; j++) {
        for (let b = 0; b < points; b++) {
          if (j > 0) direction[b * n + j - 1] = 0;
          direction[b * n + j] = 1;
        }
        const env = runDerived(d, primal.env, [...us, direction], points);
        directions++;
        if (result === null) continue;
        const r = env[result] as Float64Array;
        for (let b = 0; b < points; b++) data[b * n + j] = r[perPoint ? b : 0];
      }
      return { shape, data };
    }
    const c = chunkSize(d, n);
    for (let start = 0; start < n; start += c) {
      const k = Math.min(c, n - start);
      const env = runDerived(d, primal.env, [...us, basisChunk(n, start, k)], k);
      directions += k;
      const r = readResult(env, result, perPoint, 1, k);
      if (r !== null) data.set(r.subarray(0, k), start);
    }
    return { shape, data };
  });
  return { tensors, directions };
}

/**
 * Hessian blocks [a][b] by forward-over-forward: H e_i for every active input
 * element i (in a batch, e_i at every point, and blocks with the points first).
 */
function hessianForwardOverForward(plan: Plan, primal: Primal): BlockResult {
  const points = plan.batched ? primal.batch : 1;
  const lead = plan.batched ? [points] : [];
  const shapes = activeShapes(plan);
  const sizes = shapes.map(sizeOf);
  const blocks = shapes.map((a, i) =>
    shapes.map((b, j) => ({ shape: [...lead, ...a, ...b], data: new Float64Array(points * sizes[i] * sizes[j]) })),
  );
  let directions = 0;
  shapes.forEach((_, a) => {
    const n = sizes[a];
    for (let p = 0; p < n; p++) {
      const u = shapes.map((s, i) => ({ shape: [...lead, ...s], data: new Float64Array(points * sizes[i]) }));
      for (let b = 0; b < points; b++) u[a].data[b * n + p] = 1;
      const r = hvpForwardOverForward(plan, primal, u);
      directions += r.directions;
      r.tensors.forEach((t, c) => {
        const m = sizes[c];
        for (let b = 0; b < points; b++) blocks[a][c].data.set(t.data.subarray(b * m, (b + 1) * m), b * n * m + p * m);
      });
    }
  });
  return { blocks, directions };
}

export const forwardEngine: Engine = {
  name: 'forward',
  batches: true,
  // one sweep per column colour
  sparseJacobian: (plan, primal, pattern) => sparseEntries(plan, primal, pattern.sparsity, pattern.columns, 'forward'),
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
