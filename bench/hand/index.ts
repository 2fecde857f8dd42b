/**
 * Hand-written primal and derivative of every problem, plain loops over Float64Array:
 * the speed limit, and the reference for every engine's error.
 */
import type { Kind, Problem } from '../problems.js';
import type { Impl } from './impl.js';
import { net } from './net.js';
import { rosenbrock } from './rosenbrock.js';
import { seedJacobian, seedScalar } from './seed.js';
import { sinexp } from './sinexp.js';

export type { Impl };

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
