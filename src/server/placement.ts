/**
 * Where a compute request runs: inline on the event loop, or in the worker pool,
 * and whether it runs at all.
 *
 * The handler validates and plans every request inline (`prepare`: cheap next to
 * heavy work, and 4xx errors come back without a round-trip to a worker), then
 * asks the prepared call what it will cost (api/cost.ts), which is:
 *
 *   primal once, plus the engine's own estimate for the operation, plus the
 *   check reference's when `check` is asked, plus encoding the result, plus what
 *   the plan's first runs build and compile.
 *
 * Before any of that, api's preflightMs prices validation itself (checking a graph not
 * seen before, per node; reading arguments, per byte of body), so that a large
 * first-seen graph is validated and planned in the pool, not on the event loop.
 *
 * Calls estimated above INLINE_MAX_COST_MS go to the pool, so the work done on the
 * event loop per request is bounded by that threshold (up to the model's error)
 * plus parsing the body, which BODY_LIMIT bounds.
 */
import type { Issue } from '../api/index.js';

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
