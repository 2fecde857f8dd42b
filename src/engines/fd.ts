/**
 * Central finite differences, the independent reference for `check`:
 * f'(x) ≈ (f(x + h) - f(x - h)) / 2h with h = ∛ε · max(1, |x|) per element, which
 * balances O(h²) truncation against O(ε/h) rounding (about 1e-10 relative for
 * smooth functions). The step actually taken, (x + h) - (x - h), is what we divide
 * by, so its rounding does not enter. Costs two primal evaluations per direction;
 * a Hessian is fd of the reverse-mode gradient. A vjp goes through the full Jacobian.
 */
import { estimate } from '../analysis/cost.js';
import type { Plan } from '../analysis/plan.js';
import type { Operation } from '../graph/schema.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import { runPrimal } from './primal.js';
import { activeShapes, gradientSweep, outputShapes } from './sweeps.js';
import type { BlockResult, CallEstimate, Engine, TensorsResult } from './types.js';

const CBRT_EPS = Math.cbrt(Number.EPSILON);

/** Copies of the arguments, to perturb in place. */
function argsOf(args: readonly Tensor[]): Tensor[] {
  return args.map((t) => ({ shape: t.shape, data: t.data.slice() }));
}

/**
 * For every active input element, evaluates `f` at x ± h and writes the central
 * difference of each of f's results into column q of blocks[r][i].
 */
function differenceColumns(
  plan: Plan,
  at: readonly Tensor[],
  f: (args: Tensor[]) => Tensor[],
  resultShapes: readonly (readonly number[])[],
): BlockResult {
  const args = argsOf(at);
  let directions = 0;
  const blocks: Tensor[][] = resultShapes.map((rs) =>
    plan.activeValues.map((v) => {
      const is = plan.program.values.info(v).shape;
      return { shape: [...rs, ...is], data: new Float64Array(sizeOf(rs) * sizeOf(is)) };
    }),
  );
  plan.activeInputs.forEach((inputIndex, i) => {
    const x = args[inputIndex].data;
    const n = x.length;
    for (let q = 0; q < n; q++) {
      const x0 = x[q];
      const h = CBRT_EPS * Math.max(1, Math.abs(x0));
      const xp = x0 + h;
      const xm = x0 - h;
      x[q] = xp;
      const fp = f(args);
      x[q] = xm;
      const fm = f(args);
      x[q] = x0;
      const step = xp - xm;
      directions++;
      fp.forEach((t, r) => {
        const out = blocks[r][i].data;
        for (let p = 0; p < t.data.length; p++) out[p * n + q] = (t.data[p] - fm[r].data[p]) / step;
      });
    }
  });
  return { blocks, directions };
}

/** Central difference of `f` along the direction `dir` (per active input). */
function differenceAlong(plan: Plan, at: readonly Tensor[], f: (args: Tensor[]) => Tensor[], dir: readonly Tensor[]): TensorsResult {
  const args = argsOf(at);
  let xMax = 0;
  let dMax = 0;
  plan.activeInputs.forEach((inputIndex, i) => {
    for (const x of args[inputIndex].data) xMax = Math.max(xMax, Math.abs(x));
    for (const d of dir[i].data) dMax = Math.max(dMax, Math.abs(d));
  });
  const base = f(args);
  if (dMax === 0) return { tensors: base.map((t) => ({ shape: t.shape, data: new Float64Array(t.data.length) })), directions: 0 };
  const h = (CBRT_EPS * Math.max(1, xMax)) / dMax;
  const shifted = (sign: number): Tensor[] => {
    const a = argsOf(args);
    plan.activeInputs.forEach((inputIndex, i) => {
      const x = a[inputIndex].data;
      for (let q = 0; q < x.length; q++) x[q] += sign * h * dir[i].data[q];
    });
    return f(a);
  };
  const fp = shifted(1);
  const fm = shifted(-1);
  const tensors = fp.map((t, r) => {
    const data = new Float64Array(t.data.length);
    for (let p = 0; p < data.length; p++) data[p] = (t.data[p] - fm[r].data[p]) / (2 * h);
    return { shape: t.shape, data };
  });
  return { tensors, directions: 1 };
}

const outputsAt =
  (plan: Plan) =>
  (args: Tensor[]): Tensor[] =>
    runPrimal(plan, args).values;
const gradientAt =
  (plan: Plan) =>
  (args: Tensor[]): Tensor[] =>
    gradientSweep(plan, runPrimal(plan, args));

/** Two primals per direction; for a Hessian or hvp, a primal and a reverse gradient per direction. */
function fdEstimate(plan: Plan, operation: Operation): CallEstimate {
  const e = estimate(plan, operation);
  const n = e.inputElements;
  switch (operation) {
    case 'evaluate':
      return { ns: 0, buildEqns: 0 };
    case 'jacobian':
    case 'gradient':
    case 'vjp':
      return { ns: 2 * n * e.primalNs, buildEqns: 0 };
    case 'jvp':
      return { ns: 3 * e.primalNs, buildEqns: 0 };
    case 'hessian':
    case 'hvp': {
      // only these pay for the gradient: its estimate is asked for nothing else
      const gradientNs = e.primalNs + estimate(plan, 'gradient').reverseNs;
      return { ns: (operation === 'hessian' ? 2 * n : 3) * gradientNs, buildEqns: 0 };
    }
  }
}

export const fdEngine: Engine = {
  name: 'fd',
  jacobian: (plan, p) => differenceColumns(plan, p.args, outputsAt(plan), outputShapes(plan)),
  jvp: (plan, p, tangents) => differenceAlong(plan, p.args, outputsAt(plan), tangents),
  hessian: (plan, p) => differenceColumns(plan, p.args, gradientAt(plan), activeShapes(plan)),
  hvp: (plan, p, vector) => differenceAlong(plan, p.args, gradientAt(plan), vector),
  estimate: fdEstimate,
};
