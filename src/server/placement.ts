/**
 * Where a compute request runs: inline on the event loop, or in the worker pool.
 *
 * The handler validates and plans every request inline (`prepare`: cheap next to
 * heavy work, and 4xx errors come back without a round-trip to a worker), then
 * asks the cost model what the call will cost:
 *
 *   primal once, plus the engine that will run —
 *     forward / reverse   the model's estimate for that mode (auto already chose
 *                         the cheaper one, so this is min(forward, reverse));
 *     fd                  two primals per direction (a Hessian or HVP: per
 *                         direction, a primal and a reverse gradient);
 *   plus the fd reference when `check` is asked;
 *   plus encoding the result (nested arrays, then JSON text): about
 *     ENCODE_NS_PER_ELEMENT per number of the result, which matters for results of
 *     many elements from little arithmetic (a large `fill`, a large Jacobian).
 *
 *   plus, the first times a plan runs an operation, building its derivative
 *     programs (first run) and compiling its equation lists (first two runs), per
 *     primal equation they cover (the measured `overheads` of cost-weights.json).
 *
 * Before any of that, preflightMs prices validation itself (checking a graph not
 * seen before, per node; reading arguments, per byte of body), so that a large
 * first-seen graph is validated and planned in the pool, not on the event loop.
 *
 * Calls estimated above INLINE_MAX_COST_MS go to the pool, so the work done on the
 * event loop per request is bounded by that threshold (up to the model's error)
 * plus parsing the body, which BODY_LIMIT bounds.
 */
import { estimate, MEASURED_WEIGHTS, type Estimate } from '../analysis/cost.js';
import type { Plan } from '../analysis/plan.js';
import type { Issue } from '../graph/errors.js';
import type { Operation } from '../graph/schema.js';

/**
 * Encoding one result number: toNested (~10 ns) and JSON.stringify of a
 * shortest-round-trip double (~120 ns for 17 significant digits), measured on the
 * development machine; rounded up.
 */
export const ENCODE_NS_PER_ELEMENT = 150;

export interface CallCost {
  /** Estimated milliseconds for the whole call: primal, derivatives, check, encoding. */
  ms: number;
  /** Numbers in the result (values and derivative blocks). */
  resultElements: number;
}

/** Numbers in the result: the values of every output plus the derivative blocks. */
function resultElements(operation: Operation, e: Estimate): number {
  const n = e.inputElements;
  const m = e.outputElements;
  switch (operation) {
    case 'evaluate': return m;
    case 'jacobian': return m + m * n;
    case 'gradient': return m + n;
    case 'jvp': return m + m;
    case 'vjp': return m + n;
    case 'hessian': return m + n * n;
    case 'hvp': return m + n;
  }
}

/** The cost model's estimate, computed once per plan and shared with auto's choice (see analysis/cost.ts). */
const estimateOf = (plan: Plan, operation: Operation): Estimate => estimate(plan, operation);

/** Finite differences: what the fd engine does for `operation` (src/engines/fd.ts). */
function fdNs(plan: Plan, operation: Operation, e: Estimate): number {
  const n = e.inputElements;
  switch (operation) {
    case 'evaluate': return 0;
    case 'jacobian':
    case 'gradient':
    case 'vjp':
      return 2 * n * e.primalNs;
    case 'jvp':
      return 3 * e.primalNs;
    case 'hessian':
    case 'hvp': {
      const gradientNs = e.primalNs + estimateOf(plan, 'gradient').reverseNs;
      return (operation === 'hessian' ? 2 * n : 3) * gradientNs;
    }
  }
}

const { overheads } = MEASURED_WEIGHTS;

/**
 * The estimated cost of running `operation` with the prepared plan and engine
 * `mode`; `warm`: how often the plan has run it before (api's warmRuns), 2 or more
 * meaning nothing is left to build or compile.
 */
export function callCost(plan: Plan, operation: Operation, mode: string, check: boolean, warm = 2): CallCost {
  const e = estimateOf(plan, operation);
  let ns = e.primalNs;
  if (warm < 2) {
    const built = mode === 'forward' ? e.forwardBuildEqns : mode === 'reverse' ? e.reverseBuildEqns : 0;
    ns += (plan.schedule.length + built) * overheads.compileNsPerEqn;
    if (warm === 0) ns += built * overheads.buildNsPerEqn;
  }
  if (operation !== 'evaluate') {
    if (mode === 'forward') ns += e.forwardNs;
    else if (mode === 'reverse') ns += e.reverseNs;
    else if (mode === 'fd') ns += fdNs(plan, operation, e);
    else ns += Math.max(e.forwardNs, e.reverseNs); // an engine the model does not know: assume the worse mode
    if (check) ns += fdNs(plan, operation, e); // the fd reference, whatever engine ran
  }
  const elements = resultElements(operation, e);
  ns += elements * ENCODE_NS_PER_ELEMENT;
  return { ms: ns / 1e6, resultElements: elements };
}

/** Milliseconds the event loop would spend parsing and reading a body of `chars` characters. */
export function bodyMs(chars: number): number {
  return (chars * (overheads.parseNsPerByte + overheads.validateNsPerByte)) / 1e6;
}

/**
 * Milliseconds of validation a request body will cost before any plan exists:
 * reading its arguments (per byte), and, for a graph not in the cache, checking
 * it (per node and input). What decides whether even validation belongs in the pool.
 */
export function preflightMs(bodyBytes: number, graphItems: number, graphCached: boolean): number {
  return (bodyBytes * overheads.validateNsPerByte + (graphCached ? 0 : graphItems * overheads.checkNsPerNode)) / 1e6;
}

/**
 * Cost-based admission: a pooled call is refused (422 estimated-over-budget) when
 * its estimate alone is over OVER_BUDGET_FACTOR × COMPUTE_BUDGET_MS, instead of
 * holding a worker for the whole budget and then getting a 504.
 *
 * The factor is 1 because the model errs low on heavy calls, never high: it prices
 * compiled arithmetic calibrated on small, cache-resident tensors, and large ones
 * run slower (measured estimate / CPU time 0.03 to 0.62 over ten heavy shapes:
 * matmuls of 300 to 1000, elementwise chains over 10^6, large results, Hessians).
 * So a call estimated over the budget would be cut anyway. A larger factor would
 * let through the issue's reproducer, a 3162 × 3162 matmul estimated at 34 s
 * against the 30 s budget (1.14 ×). On hardware faster than the calibration
 * machine the model can err high: recalibrate there (npm run calibrate).
 */
export const OVER_BUDGET_FACTOR = 1;

/** The issue to refuse a call with, or undefined when it may run. Pure: the worker calls it too. */
export function overBudget(estimatedMs: number, budgetMs: number): Issue | undefined {
  if (!(estimatedMs > OVER_BUDGET_FACTOR * budgetMs)) return undefined;
  const s = (ms: number): string => `${Number((ms / 1000).toPrecision(3))} s`;
  return {
    path: 'graph',
    message: `the cost model estimated ${s(estimatedMs)} of computation for this call, over COMPUTE_BUDGET_MS (${budgetMs} ms): it would be stopped before it finished. Send a smaller graph, or run it with a larger COMPUTE_BUDGET_MS`,
  };
}

/** A call refused by overBudget (422, urn:derivd:problem:estimated-over-budget). */
export class EstimatedOverBudget extends Error {
  constructor(readonly issues: Issue[]) {
    super(issues.map((i) => i.message).join('; '));
    this.name = 'EstimatedOverBudget';
  }
}
