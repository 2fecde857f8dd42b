/**
 * Preparing a call: validate the request (through the plan cache), plan it, and
 * choose its engine, once; the prepared call then runs at its own or other
 * arguments, and says what it will cost before it does.
 */
import { makePlan, planBytes, type Plan } from '../analysis/plan.js';
import { chooseEngine } from '../engines/auto.js';
import { differentiate, fullMatrixOf, type Computed } from '../engines/call.js';
import { runPrimal } from '../engines/primal.js';
import { engineNames, findEngine } from '../engines/registry.js';
import type { Engine, Primal } from '../engines/types.js';
import { DEFAULT_LIMITS, checkBlockLimits, type Limits } from '../graph/limits.js';
import { checkRequest, type CheckedRequest } from '../graph/request.js';
import type { Operation, Request } from '../graph/schema.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkReference } from './compare.js';
import { callCost, type CallCost } from './cost.js';
import { cacheOf } from './shared-cache.js';
import { withStoredGraph } from './stored.js';
import type { Options } from './types.js';

/**
 * A call validated, planned and given an engine once: respond() gives its result
 * envelope, run() evaluates and differentiates at other arguments.
 */
export interface PreparedCall {
  readonly operation: Operation;
  readonly request: CheckedRequest;
  readonly plan: Plan;
  readonly engine: Engine;
  /** The engine's name: what `mode` says in the result. */
  readonly mode: string;
  /** Why this engine runs. */
  readonly reason: string;
  /** Whether the plan came from the plan cache. */
  readonly cached: boolean;
  readonly validateMs: number;
  readonly planMs: number;
  /** The derivative tensors at a primal (and tangents, cotangents or vector), in the order the result lays them out. */
  differentiate(primal: Primal, extra: readonly Tensor[]): Computed;
  /** Evaluates and differentiates at new arguments (packed, graph input order): what the benchmarks time. */
  run(args: readonly Tensor[], extra?: readonly Tensor[]): { values: Tensor[]; derivatives: Tensor[]; directions: number };
  /** What respond() will cost, by the cost model and the engine's estimate, counting what its first runs build. */
  cost(): CallCost;
}

const now = (): number => performance.now();

/**
 * Validates and plans `request` once (through the cache). respond() then gives its
 * result envelope; run() evaluates and differentiates at other argument values.
 */
export function prepare(operation: Operation, request: Request | unknown, options: Options = {}): PreparedCall {
  const t0 = now();
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  // `graphId` in place of `graph`: the stored graph, resolved before the checks (which see it inline).
  const req = checkRequest(
    operation,
    withStoredGraph(request, options),
    limits,
    ['auto', ...engineNames()],
    cacheOf(options),
    options.strictFloats,
  );
  return prepareChecked(req, limits, now() - t0);
}

/**
 * Plans a request already checked (by prepare, or by the thread that handed it
 * over: handoff.ts) and chooses its engine; `validateMs`: what checking it took.
 */
export function prepareChecked(req: CheckedRequest, limits: Limits, validateMs: number): PreparedCall {
  const { operation } = req;
  const t1 = now();
  const { plan, cached } = planOf(req);
  const { engine, reason } = pickEngine(plan, req);
  checkFullMatrixLimits(req, plan, engine, limits);
  const t2 = now();
  const extra = extraOf(req);
  const differentiateAt = (primal: Primal, more: readonly Tensor[]): Computed => differentiate(engine, operation, plan, primal, more);
  return {
    operation,
    request: req,
    plan,
    engine,
    mode: engine.name,
    reason,
    cached,
    validateMs,
    planMs: t2 - t1,
    differentiate: differentiateAt,
    run(args, more = extra) {
      const primal = runPrimal(plan, args);
      const d = differentiateAt(primal, more);
      return { values: primal.values, derivatives: d.tensors, directions: d.directions };
    },
    cost: () => callCost(plan, operation, engine.name, req.check, warmRuns(plan, operation, engine.name), req.encoding),
  };
}

/** A call that builds a full Jacobian or Hessian on the way (its engine's, or the check reference's) counts against their limits. */
function checkFullMatrixLimits(req: CheckedRequest, plan: Plan, engine: Engine, limits: Limits): void {
  // Passed once for a plan, an engine and these limits: remembered (a call that fails throws, and is not).
  const key = `full-matrix-ok:${req.operation}:${engine.name}:${req.check}:${limits.maxElements}`;
  if (plan.memo.get(key) === true) return;
  const matrices = new Set([fullMatrixOf(engine, req.operation), req.check ? fullMatrixOf(checkReference(), req.operation) : undefined]);
  const inputs = req.activeInputs.map((i) => req.graph.inputs[i]);
  for (const m of matrices) if (m) checkBlockLimits(m, inputs, req.outputs, limits);
  plan.memo.set(key, true);
}

/** tangents (jvp), cotangents (vjp) or vector (hvp): the tensors an operation takes beside the arguments. */
export function extraOf(req: CheckedRequest): readonly Tensor[] {
  return req.tangents ?? req.cotangents ?? [];
}

/** One plan per graph, constant set and output subset, kept with the graph; `cached` says whether it was there. */
function planOf(req: CheckedRequest): { plan: Plan; cached: boolean } {
  const key = `plan:${req.activeInputs.join(',')}|${req.outputs.map((o) => o.value).join(',')}`;
  const found = req.graphMemo.get(key) as Plan | undefined;
  if (found) return { plan: found, cached: true };
  const plan = makePlan(req);
  if (req.account.charge(planBytes(plan))) req.graphMemo.set(key, plan);
  return { plan, cached: false };
}

function pickEngine(plan: Plan, req: CheckedRequest): { engine: Engine; reason: string } {
  if (req.mode === 'auto') {
    const key = `auto:${req.operation}`;
    let choice = plan.memo.get(key) as ReturnType<typeof chooseEngine> | undefined;
    if (choice === undefined) {
      choice = chooseEngine(plan, req.operation);
      plan.memo.set(key, choice);
    }
    return choice;
  }
  const engine = findEngine(req.mode) as Engine; // checkRequest accepted only registered names
  return { engine, reason: `mode "${req.mode}" was requested` };
}

/**
 * How often a plan has run an operation with an engine (0, 1, or 2 for "twice or
 * more"): its first run builds derivative programs, its first two compile them.
 * A plan that could not keep its programs (see engines/programs.ts) counts as never run.
 */
export function warmRuns(plan: Plan, operation: Operation, mode: string): number {
  if (plan.memo.get('programs-dropped')) return 0;
  return (plan.memo.get(`runs:${operation}:${mode}`) as number | undefined) ?? 0;
}

export function countRun(plan: Plan, operation: Operation, mode: string): void {
  const key = `runs:${operation}:${mode}`;
  plan.memo.set(key, Math.min(2, ((plan.memo.get(key) as number | undefined) ?? 0) + 1));
}
