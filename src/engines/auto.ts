/**
 * `auto` picks forward or reverse mode from the cost model and says why in words:
 * the element counts first (what a person would compare), then the estimates that
 * decided it, which also weigh what each sweep touches and what each op costs.
 */
import { estimate, type CostWeights, MEASURED_WEIGHTS } from '../analysis/cost.js';
import type { Plan } from '../analysis/plan.js';
import type { Operation } from '../graph/schema.js';

export interface Choice {
  mode: 'forward' | 'reverse';
  reason: string;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function formatNs(ns: number): string {
  return ns < 1e3 ? `${Math.round(ns)} ns` : ns < 1e6 ? `${(ns / 1e3).toPrecision(3)} µs` : `${(ns / 1e6).toPrecision(3)} ms`;
}

export function chooseMode(plan: Plan, operation: Operation, weights: CostWeights = MEASURED_WEIGHTS): Choice {
  const est = estimate(plan, operation, weights);
  const counts = `${plural(est.inputElements, 'active input element')} vs ${plural(est.outputElements, 'output element')}`;
  if (est.forwardNs === 0 && est.reverseNs === 0) return { mode: 'forward', reason: `${counts}; nothing to propagate` };
  const mode = est.forwardNs <= est.reverseNs ? 'forward' : 'reverse';
  const what =
    operation === 'hessian' || operation === 'hvp'
      ? mode === 'forward' ? 'forward-over-forward' : 'forward-over-reverse'
      : mode;
  return {
    mode,
    reason: `${counts}; ${what} estimated at ${formatNs(Math.min(est.forwardNs, est.reverseNs))} vs ${formatNs(Math.max(est.forwardNs, est.reverseNs))}`,
  };
}
