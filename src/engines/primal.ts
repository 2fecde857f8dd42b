/**
 * The primal run: every engine starts from it. Its environment is sized for the
 * derivative programs that will extend it (see programs.ts), so they share it
 * instead of copying it.
 */
import type { Plan } from '../analysis/plan.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import { execute } from '../compile/execute.js';
import type { Env } from '../ir/interpret.js';
import { envSlots, primalKept } from './programs.js';
import type { Primal } from './types.js';

/**
 * `batch`: the points of a batched plan (the arguments of its batched inputs hold
 * them, [B, ...shape]); every output value then has that leading axis too.
 */
export function runPrimal(plan: Plan, args: readonly Tensor[], batch = 1): Primal {
  const { program, graph } = plan;
  // Sized for the derivative programs that will share it (see programs.ts), and filled,
  // so the array stays a dense one as they write their slots.
  const env: Env = new Array(envSlots(plan)).fill(undefined);
  const inputs = graph.inputs;
  for (let i = 0; i < inputs.length; i++) env[inputs[i].value] = args[i].data;
  execute(plan.schedule, program.values, env, batch, plan.account, primalKept(plan));
  // Copies: an output may be an argument (the caller's array) or a buffer compiled code reuses.
  const values: Tensor[] = [];
  for (const v of plan.outputValues) {
    const info = program.values.info(v);
    const data = env[v] as Float64Array;
    if (!plan.batched) values.push({ shape: info.shape, data: data.slice() });
    else
      values.push({ shape: [batch, ...info.shape], data: info.batched ? data.slice(0, batch * sizeOf(info.shape)) : repeat(data, batch) });
  }
  return new PrimalRun(plan, args, env, values, batch);
}

/** `data` again and again, `times` in all: a value shared by every point, given to each. */
export function repeat(data: Float64Array, times: number): Float64Array {
  const out = new Float64Array(data.length * times);
  for (let b = 0; b < times; b++) out.set(data, b * data.length);
  return out;
}

/** A class, not an object literal with a closure: runPrimal is on every call's path, and the closure cost a microsecond there. */
class PrimalRun implements Primal {
  constructor(
    private readonly plan: Plan,
    readonly args: readonly Tensor[],
    readonly env: Env,
    readonly values: Tensor[],
    readonly batch: number,
  ) {}

  evaluate(at: readonly Tensor[]): Tensor[] {
    return runPrimal(this.plan, at, this.batch).values;
  }
}
