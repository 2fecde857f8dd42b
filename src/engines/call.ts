/**
 * Running an operation with an engine, whatever the engine: what an engine leaves
 * out (jvp, vjp, hvp) is computed from its full Jacobian or Hessian, and such a
 * call builds that matrix, so it counts against the same limits. The API and the
 * service ask here instead of knowing which engine does what.
 */
import type { Plan } from '../analysis/plan.js';
import type { Operation } from '../graph/schema.js';
import { cooLayout } from '../analysis/colouring.js';
import type { JacobianSparsity } from '../analysis/sparsity.js';
import { sizeOf, type Shape, type Tensor } from '../tensor/tensor.js';
import { blocksTimes, timesBlocks } from './blocks.js';
import { activeShapes, outputShapes } from './sweeps.js';
import { cooValues } from './compressed.js';
import type { BlockResult, Engine, EntriesResult, JacobianPattern, Primal } from './types.js';

/** The derivative tensors of a call, flat, in the order the result lays them out. */
export interface Computed {
  tensors: Tensor[];
  directions: number;
  /**
   * A `format: "coo"` Jacobian: each block's dense shape and its entries' rows and
   * columns, parallel to `tensors`, which then hold the entries' values.
   */
  coo?: CooBlockLayout[];
  /** A Jacobian or Hessian computed by compressed sweeps (or as coo): its structurally non-zero entries; directions are colours. */
  nonZeros?: number;
}

/** Where a coo block's values sit: its dense shape, and each value's row (flat in the output) and column (flat in the input). */
export interface CooBlockLayout {
  shape: Shape;
  rows: Int32Array;
  cols: Int32Array;
}

/** The full matrix a call with `engine` builds on the way (so its limits apply), if any. */
export function fullMatrixOf(engine: Engine, operation: Operation): 'jacobian' | 'hessian' | undefined {
  if ((operation === 'jvp' && !engine.jvp) || (operation === 'vjp' && !engine.vjp)) return 'jacobian';
  if (operation === 'hvp' && !engine.hvp) return 'hessian';
  return undefined;
}

export function differentiate(
  engine: Engine,
  operation: Operation,
  plan: Plan,
  primal: Primal,
  extra: readonly Tensor[],
  pattern?: JacobianPattern,
): Computed {
  if ((operation === 'jacobian' || operation === 'hessian') && pattern) return sparseBlocks(engine, operation, plan, primal, pattern);
  switch (operation) {
    case 'jacobian':
    case 'gradient': {
      const r = engine.jacobian(plan, primal);
      return { tensors: flatten(r.blocks), directions: r.directions, ...(r.nonZeros === undefined ? {} : { nonZeros: r.nonZeros }) };
    }
    case 'hessian': {
      const r = engine.hessian(plan, primal);
      return { tensors: flatten(r.blocks), directions: r.directions, ...(r.nonZeros === undefined ? {} : { nonZeros: r.nonZeros }) };
    }
    case 'jvp':
      return engine.jvp
        ? engine.jvp(plan, primal, extra)
        : blocksTimes(outputShapes(plan), engine.jacobian(plan, primal), extra, points(plan, primal));
    case 'vjp':
      return engine.vjp
        ? engine.vjp(plan, primal, extra)
        : timesBlocks(activeShapes(plan), engine.jacobian(plan, primal), extra, points(plan, primal));
    case 'hvp':
      return engine.hvp
        ? engine.hvp(plan, primal, extra)
        : blocksTimes(activeShapes(plan), engine.hessian(plan, primal), extra, points(plan, primal));
    case 'evaluate':
      return { tensors: [], directions: 0 };
  }
}

const points = (plan: Plan, primal: Primal): number | undefined => (plan.batched ? primal.batch : undefined);

/** A `format: "coo"` Jacobian or Hessian: the pattern's entries, from the engine's sparse sweeps or read from its dense blocks. */
function sparseBlocks(engine: Engine, operation: 'jacobian' | 'hessian', plan: Plan, primal: Primal, pattern: JacobianPattern): Computed {
  const sp = pattern.sparsity;
  const points = plan.batched ? primal.batch : 1;
  const sparse = operation === 'jacobian' ? engine.sparseJacobian : engine.sparseHessian;
  const r = sparse
    ? sparse(plan, primal, pattern)
    : entriesOf(plan, operation === 'jacobian' ? engine.jacobian(plan, primal) : engine.hessian(plan, primal), sp, points);
  const layout = cooLayout(plan, sp);
  const rowShapes = operation === 'jacobian' ? outputShapes(plan) : activeShapes(plan);
  const shapes = rowShapes.map((o) => activeShapes(plan).map((a) => [...o, ...a]));
  const coo: CooBlockLayout[] = [];
  layout.blocks.forEach((row, o) => {
    row.forEach((b, a) => {
      coo.push({ shape: plan.batched ? [points, ...shapes[o][a]] : shapes[o][a], rows: b.rows, cols: b.cols });
    });
  });
  return { tensors: flatten(cooValues(plan, sp, r.entries, points)), directions: r.directions, coo, nonZeros: sp.nonZeros };
}

/** The pattern's entries read from dense blocks (an engine without sparse sweeps). */
function entriesOf(plan: Plan, dense: BlockResult, sp: JacobianSparsity, points: number): EntriesResult {
  const nnz = sp.nonZeros;
  const entries = new Float64Array(points * nnz);
  const sizes = activeShapes(plan).map(sizeOf);
  let e = 0;
  sp.outputs.forEach((p, o) => {
    for (let r = 0; r + 1 < p.ptr.length; r++) {
      for (let k = p.ptr[r]; k < p.ptr[r + 1]; k++, e++) {
        const col = p.idx[k];
        const a = sp.columnInput[col];
        const block = dense.blocks[o][a].data;
        const n = sizes[a];
        const m = block.length / points / n;
        for (let b = 0; b < points; b++) entries[b * nnz + e] = block[b * m * n + r * n + col - sp.colOffsets[a]];
      }
    }
  });
  return { entries, directions: dense.directions };
}

/** Rows of blocks, one after another (Array.prototype.flat is slow on the hot path). */
function flatten(blocks: readonly Tensor[][]): Tensor[] {
  const out: Tensor[] = [];
  for (const row of blocks) for (const t of row) out.push(t);
  return out;
}
