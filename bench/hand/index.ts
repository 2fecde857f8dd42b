/**
 * Hand-written primal and derivative of every problem, plain loops over Float64Array:
 * the speed limit, and the reference for every engine's error.
 */
import type { Kind, Problem } from '../problems.js';
import { net } from './net.js';
import { rosenbrock } from './rosenbrock.js';
import { seedJacobian, seedScalar } from './seed.js';
import { sinexp } from './sinexp.js';

/**
 * A primal and its derivative on the arguments' data (graph input order). `primal`
 * returns the outputs; `derivative` the blocks in derivd's layout (jacobian:
 * [output][active input], each row-major output.shape ++ input.shape; gradient: per active input).
 */
export interface Impl {
  primal(args: Float64Array[]): ArrayLike<number>[];
  derivative(args: Float64Array[]): ArrayLike<number>[];
}

export function hand(p: Problem): Impl {
  const impls: Record<Kind, () => Impl> = {
    seed: () => seedJacobian,
    seedScalar: () => seedScalar,
    rosenbrock: () => rosenbrock,
    net: () => {
      const [[h, k], [o], [, m]] = p.graph.inputs.map((i) => i.shape);
      return net(h, k, o, m);
    },
    sinexp: () => sinexp,
  };
  return impls[p.kind]();
}
