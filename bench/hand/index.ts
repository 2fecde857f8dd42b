/**
 * Hand-written primal and derivative of every problem, the fastest plain loops over
 * Float64Array we can write (impl.ts): the speed limit, and the reference for every
 * engine's error. A new implementation per call of hand(), with its own buffers.
 */
import type { Kind, Problem } from '../problems.js';
import type { Impl } from './impl.js';
import { net } from './net.js';
import { rosenbrock } from './rosenbrock.js';
import { seedJacobian, seedScalar } from './seed.js';
import { sinexp } from './sinexp.js';
import { bratu } from './bratu.js';
import { rowmap } from './rowmap.js';
import { solve } from './solve.js';

export { kept, type Impl } from './impl.js';

export function hand(p: Problem): Impl {
  const n = p.active.reduce((s, i) => s + p.args[i].data.length, 0);
  const impls: Record<Kind, () => Impl> = {
    seed: seedJacobian,
    seedScalar,
    rosenbrock: () => rosenbrock(n),
    net: () => {
      const [[h, k], [o], [, m]] = p.graph.inputs.map((i) => i.shape);
      return net(h, k, o, m);
    },
    sinexp: () => sinexp(n, p.format),
    bratu: () => bratu(p.args[0].data.length),
    rowmap: () => {
      const [r, k] = p.graph.inputs[0].shape;
      return rowmap(r, k);
    },
    solve: () => solve(p.graph.inputs[1].shape[0]),
  };
  return impls[p.kind]();
}
