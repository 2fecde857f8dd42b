/**
 * The reference interpreter: runs equations in order over an environment of
 * Float64Arrays indexed by value id. Batched values hold k directions back to back
 * ([k, ...shape], batch-major, each direction contiguous). Ops never see the
 * batch: elementwise ops get it as an extra broadcast axis in one kernel call,
 * ops with a batchKernel get the whole batch in one call, and every other op is
 * called once per direction on subarray views.
 *
 * The compiler (src/compile/) fuses elementwise chains into loops and calls
 * evalEqn for the rest; this loop stays as the reference it is tested against.
 */
import type { Eqn, ValueTable } from './program.js';
import { sizeOf, type Shape } from '../tensor/tensor.js';
import { checkDeadline } from './deadline.js';
import { ValueError } from '../ops/types.js';

export { ValueError };

export type Env = (Float64Array | undefined)[];

export function runEqns(eqns: readonly Eqn[], values: ValueTable, env: Env, k: number): void {
  for (const q of eqns) evalEqn(q, values, env, k);
}

/** Runs one equation, writing its value into `out` (of the right size) or a new array, and into env. */
export function evalEqn(q: Eqn, values: ValueTable, env: Env, k: number, out?: Float64Array): void {
  if (q.op.constantArgs === undefined) {
    evalChecked(q, values, env, k, out);
    return;
  }
  // Ops that read values as indices check them: a bad one names its equation's node and argument.
  try {
    evalChecked(q, values, env, k, out);
  } catch (err) {
    if (err instanceof ValueError && err.node === -1) {
      err.node = q.node;
      err.value = q.args[err.arg];
    }
    throw err;
  }
}

function evalChecked(q: Eqn, values: ValueTable, env: Env, k: number, out?: Float64Array): void {
  checkDeadline(); // compiled code runs every non-fused equation through here too
  const info = values.info(q.out);
  if (q.op.sameData && values.info(q.args[0]).batched === info.batched) {
    env[q.out] = env[q.args[0]];
    return;
  }
  const size = sizeOf(info.shape);
  const ins: Float64Array[] = [];
  const inShapes: Shape[] = [];
  for (const a of q.args) {
    ins.push(env[a] as Float64Array);
    inShapes.push(values.info(a).shape);
  }
  if (!info.batched) {
    const o = out ?? new Float64Array(size);
    q.op.kernel(ins, inShapes, o, info.shape, q.attrs);
    env[q.out] = o;
    return;
  }
  const o = out ?? new Float64Array(size * k);
  if (q.op.elementwise) {
    // The batch is a leading axis: batched operands are [k, 1.., ...shape] padded to the output's rank.
    const rank = info.shape.length;
    const physical = q.args.map(
      (a, i): Shape =>
        values.info(a).batched ? [k, ...new Array<number>(rank - inShapes[i].length).fill(1), ...inShapes[i]] : inShapes[i],
    );
    q.op.kernel(ins, physical, o, [k, ...info.shape], q.attrs);
  } else if (q.op.batchKernel) {
    q.op.batchKernel(
      ins,
      inShapes,
      q.args.map((a) => values.info(a).batched),
      k,
      o,
      info.shape,
      q.attrs,
    );
  } else {
    const sizes = inShapes.map(sizeOf);
    const batched = q.args.map((a) => values.info(a).batched);
    for (let b = 0; b < k; b++) {
      const slices = ins.map((x, i) => (batched[i] ? x.subarray(b * sizes[i], (b + 1) * sizes[i]) : x));
      q.op.kernel(slices, inShapes, o.subarray(b * size, (b + 1) * size), info.shape, q.attrs);
    }
  }
  env[q.out] = o;
}
