/**
 * Runs equation lists, compiled or interpreted. Compiled code is kept per list
 * (the lists belong to cached plans and derivative programs, so their identity is
 * stable) and per batch size. Small lists are interpreted on their first run and
 * compiled on their second, so a graph seen once does not pay for compilation.
 * The interpreter remains the reference: setExecutionMode('interpreted') forces it.
 */
import type { Eqn, ValueInfo } from '../graph/program.js';
import { runEqns, type Env } from '../engines/interpret.js';
import { sizeOf } from '../tensor/tensor.js';
import { compileSegment, type Segment } from './codegen.js';

export type ExecutionMode = 'compiled' | 'interpreted';
let executionMode: ExecutionMode = 'compiled';

export function setExecutionMode(mode: ExecutionMode): void {
  executionMode = mode;
}

export function getExecutionMode(): ExecutionMode {
  return executionMode;
}

/** Lists with at least this many elements of work are compiled on their first run. */
const COMPILE_AT_ONCE_ELEMENTS = 4096;

interface Tier {
  runs: number;
  segment?: Segment;
}

const tiers = new WeakMap<readonly Eqn[], Map<number, Tier>>();

export function execute(eqns: readonly Eqn[], values: readonly ValueInfo[], env: Env, k: number): void {
  if (executionMode === 'interpreted' || eqns.length === 0) {
    runEqns(eqns, values, env, k);
    return;
  }
  let byK = tiers.get(eqns);
  if (byK === undefined) {
    byK = new Map();
    tiers.set(eqns, byK);
  }
  let tier = byK.get(k);
  if (tier === undefined) {
    tier = { runs: 0 };
    byK.set(k, tier);
  }
  if (tier.segment === undefined) {
    tier.runs++;
    const big = eqns.reduce((n, q) => n + sizeOf(values[q.out].shape), 0) * k >= COMPILE_AT_ONCE_ELEMENTS;
    if (tier.runs < 2 && !big) {
      runEqns(eqns, values, env, k);
      return;
    }
    tier.segment = compileSegment(eqns, values, k);
  }
  tier.segment.run(env);
}

/** The compiled source for a list at batch size k (compiling it if needed): the debug view. */
export function compiledSource(eqns: readonly Eqn[], values: readonly ValueInfo[], k: number): string {
  return compileSegment(eqns, values, k).source;
}
