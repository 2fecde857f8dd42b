/**
 * The primal run: every engine starts from it. Its environment is sized for the
 * derivative programs that will extend it (see programs.ts), so they share it
 * instead of copying it.
 */
import type { Plan } from '../analysis/plan.js';
import type { Env } from '../ir/interpret.js';
import type { Tensor } from '../tensor/tensor.js';
import { execute } from '../compile/execute.js';
import { envSlots } from './programs.js';
import type { Primal } from './types.js';

export function runPrimal(plan: Plan, args: readonly Tensor[]): Primal {
  const { program, graph } = plan;
  // Sized for the derivative programs that will share it (see programs.ts), and filled,
  // so the array stays a dense one as they write their slots.
  const env: Env = new Array(envSlots(plan)).fill(undefined);
  const inputs = graph.inputs;
  for (let i = 0; i < inputs.length; i++) env[inputs[i].value] = args[i].data;
  execute(plan.schedule, program.values, env, 1, plan.account);
  // Copies: an output may be an argument (the caller's array) or a buffer compiled code reuses.
  const values: Tensor[] = [];
  for (const v of plan.outputValues) values.push({ shape: program.values.info(v).shape, data: (env[v] as Float64Array).slice() });
  return new PrimalRun(plan, args, env, values);
}

/** A class, not an object literal with a closure: runPrimal is on every call's path, and the closure cost a microsecond there. */
class PrimalRun implements Primal {
  constructor(
    private readonly plan: Plan,
    readonly args: readonly Tensor[],
    readonly env: Env,
    readonly values: Tensor[],
  ) {}

  evaluate(at: readonly Tensor[]): Tensor[] {
    return runPrimal(this.plan, at).values;
  }
}
