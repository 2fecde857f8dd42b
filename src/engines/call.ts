/**
 * Running an operation with an engine, whatever the engine: what an engine leaves
 * out (jvp, vjp, hvp) is computed from its full Jacobian or Hessian, and such a
 * call builds that matrix, so it counts against the same limits. The API and the
 * service ask here instead of knowing which engine does what.
 */
import type { Plan } from '../analysis/plan.js';
import type { Operation } from '../graph/schema.js';
import type { Tensor } from '../tensor/tensor.js';
import { blocksTimes, timesBlocks } from './blocks.js';
import { activeShapes, outputShapes } from './sweeps.js';
import type { Engine, Primal } from './types.js';

/** The derivative tensors of a call, flat, in the order the result lays them out. */
export interface Computed {
  tensors: Tensor[];
  directions: number;
}

/** The full matrix a call with `engine` builds on the way (so its limits apply), if any. */
export function fullMatrixOf(engine: Engine, operation: Operation): 'jacobian' | 'hessian' | undefined {
  if ((operation === 'jvp' && !engine.jvp) || (operation === 'vjp' && !engine.vjp)) return 'jacobian';
  if (operation === 'hvp' && !engine.hvp) return 'hessian';
  return undefined;
}

export function differentiate(engine: Engine, operation: Operation, plan: Plan, primal: Primal, extra: readonly Tensor[]): Computed {
  switch (operation) {
    case 'jacobian':
    case 'gradient': {
      const r = engine.jacobian(plan, primal);
      return { tensors: flatten(r.blocks), directions: r.directions };
    }
    case 'hessian': {
      const r = engine.hessian(plan, primal);
      return { tensors: flatten(r.blocks), directions: r.directions };
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

/** Rows of blocks, one after another (Array.prototype.flat is slow on the hot path). */
function flatten(blocks: readonly Tensor[][]): Tensor[] {
  const out: Tensor[] = [];
  for (const row of blocks) for (const t of row) out.push(t);
  return out;
}
