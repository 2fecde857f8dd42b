/**
 * The cost model `auto` chooses by. A sweep costs, per equation it touches, a fixed
 * overhead plus a per-op weight times the equation's work (elements, or flops for
 * contractions) times the directions it carries. Forward mode touches, for each
 * active input, what that input varies; reverse mode, for each output, what that
 * output uses. The weights are measured by `npm run calibrate` (scripts/calibrate-cost.ts)
 * and stored in cost-weights.json.
 */
import type { Eqn } from '../graph/program.js';
import type { Operation } from '../graph/schema.js';
import { sizeOf } from '../tensor/tensor.js';
import { usefulFor, variedFrom } from './activity.js';
import weights from './cost-weights.json' with { type: 'json' };
import type { Plan } from './plan.js';

/**
 * Nanoseconds per unit of work: `primal` once; `jvp`/`vjp` per direction; and
 * `jvpFixed`/`vjpFixed` once per sweep, whatever the number of directions (partials
 * such as cos(x) for sin, computed once and shared by every direction).
 */
export interface OpWeights { primal: number; jvp: number; vjp: number; jvpFixed: number; vjpFixed: number }
export interface CostWeights {
  eqnOverheadNs: number;
  default: OpWeights;
  ops: Record<string, OpWeights>;
}

export const MEASURED_WEIGHTS: CostWeights = weights;

export function workOf(plan: Plan, q: Eqn): number {
  const values = plan.program.values;
  const inShapes = q.args.map((a) => values[a].shape);
  const outShape = values[q.out].shape;
  return q.op.work ? q.op.work(inShapes, outShape, q.attrs) : sizeOf(outShape);
}

type Kind = 'primal' | 'jvp' | 'vjp';

/** A sweep over the `touched` equations carrying k directions (the primal: k = 1, no fixed part). */
function sweepNs(plan: Plan, w: CostWeights, kind: Kind, touched: Uint8Array | null, k: number): number {
  let ns = 0;
  for (const q of plan.schedule) {
    if (touched && !touched[q.out]) continue;
    const ow = w.ops[q.op.name] ?? w.default;
    const fixed = kind === 'jvp' ? ow.jvpFixed : kind === 'vjp' ? ow.vjpFixed : 0;
    ns += w.eqnOverheadNs + (fixed + ow[kind] * k) * workOf(plan, q);
  }
  return ns;
}

export interface Estimate {
  primalNs: number;
  forwardNs: number;
  reverseNs: number;
  /** Active input elements and output elements: what a count-only rule compares. */
  inputElements: number;
  outputElements: number;
}

export function estimate(plan: Plan, operation: Operation, w: CostWeights = MEASURED_WEIGHTS): Estimate {
  const values = plan.program.values;
  const nValues = values.length;
  const inSizes = plan.activeValues.map((v) => sizeOf(values[v].shape));
  const outSizes = plan.outputValues.map((v) => sizeOf(values[v].shape));
  const n = inSizes.reduce((a, b) => a + b, 0);
  const m = outSizes.reduce((a, b) => a + b, 0);
  const primalNs = sweepNs(plan, w, 'primal', null, 1);

  // Full Jacobians: forward per active input over what it varies; reverse per output over what it uses.
  const fwdJac = (): number =>
    plan.activeValues.reduce((acc, v, j) => {
      const touched = variedFrom(plan.schedule, nValues, [v]);
      for (let i = 0; i < nValues; i++) touched[i] &= plan.active[i];
      return acc + sweepNs(plan, w, 'jvp', touched, inSizes[j]);
    }, 0);
  const revJac = (): number =>
    plan.outputValues.reduce((acc, v, o) => {
      const touched = usefulFor(plan.schedule, nValues, [v], true);
      for (let i = 0; i < nValues; i++) touched[i] &= plan.active[i];
      return acc + sweepNs(plan, w, 'vjp', touched, outSizes[o]);
    }, 0);
  const fwdOne = sweepNs(plan, w, 'jvp', plan.active, 1);
  const revOne = sweepNs(plan, w, 'vjp', plan.active, 1);

  let forwardNs: number;
  let reverseNs: number;
  switch (operation) {
    case 'evaluate':
      forwardNs = reverseNs = 0;
      break;
    case 'jacobian':
    case 'gradient':
      forwardNs = fwdJac();
      reverseNs = revJac();
      break;
    case 'jvp':
      forwardNs = fwdOne;
      reverseNs = revJac();
      break;
    case 'vjp':
      forwardNs = fwdJac();
      reverseNs = revOne;
      break;
    case 'hessian':
      // forward-over-forward: n first-level directions, each with n second-level ones;
      // forward-over-reverse: one gradient program (about a forward and a reverse sweep) per direction.
      forwardNs = n * n * 2 * fwdOne;
      reverseNs = n * (fwdOne + revOne) * 2;
      break;
    case 'hvp':
      forwardNs = n * 2 * fwdOne;
      reverseNs = (fwdOne + revOne) * 2;
      break;
  }
  return { primalNs, forwardNs, reverseNs, inputElements: n, outputElements: m };
}
