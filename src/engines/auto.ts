/**
 * `auto` is not an engine but a choice among candidates, by the estimates they
 * give (engines/types.ts), said in words: the element counts first (what a person
 * would compare), then the estimates that decided it, which also weigh what each
 * sweep touches and what each op costs.
 */
import { estimate } from '../analysis/cost.js';
import type { Plan } from '../analysis/plan.js';
import type { Operation } from '../graph/schema.js';
import { forwardEngine } from './forward.js';
import { reverseEngine } from './reverse.js';
import type { Engine } from './types.js';

/** What auto chooses among, cheaper first on a tie. */
export const AUTO_CANDIDATES: readonly Engine[] = [forwardEngine, reverseEngine];

export interface Choice {
  engine: Engine;
  reason: string;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function formatNs(ns: number): string {
  return ns < 1e3 ? `${Math.round(ns)} ns` : ns < 1e6 ? `${(ns / 1e3).toPrecision(3)} µs` : `${(ns / 1e6).toPrecision(3)} ms`;
}

export function chooseEngine(plan: Plan, operation: Operation): Choice {
  const est = estimate(plan, operation);
  // A sparse Jacobian (Hessian): the colours its compressed sweeps need, per mode that compresses.
  const reverseColour = operation !== 'hessian' ? 'row colour' : est.starColoured ? 'star colour' : 'column colour';
  const colours = [
    est.forwardColours === undefined ? '' : `${plural(est.forwardColours, 'column colour')} for forward`,
    est.reverseColours === undefined
      ? ''
      : `${plural(est.reverseColours, reverseColour)} for ${operation === 'hessian' ? 'forward-over-reverse' : 'reverse'}`,
  ].filter((x) => x !== '');
  const counts = `${plural(est.inputElements, 'active input element')} vs ${plural(est.outputElements, 'output element')}${
    colours.length > 0 ? ` (sparse: ${colours.join(', ')})` : ''
  }`;
  const priced = AUTO_CANDIDATES.map((engine) => ({ engine, ns: engine.estimate?.(plan, operation).ns ?? Infinity }));
  const best = priced.reduce((a, b) => (b.ns < a.ns ? b : a));
  if (priced.every((p) => p.ns === 0)) return { engine: best.engine, reason: `${counts}; nothing to propagate` };
  const others = priced
    .filter((p) => p !== best)
    .map((p) => formatNs(p.ns))
    .join(' vs ');
  const what = best.engine.method?.(operation) ?? best.engine.name;
  return { engine: best.engine, reason: `${counts}; ${what} estimated at ${formatNs(best.ns)} vs ${others}` };
}
