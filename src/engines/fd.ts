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
import type { BlockResult, CallEstimate, Engine, Primal, TensorsResult } from './types.js';

const CBRT_EPS = Math.cbrt(Number.EPSILON);

/** Copies of the arguments, to perturb in place. */
function argsOf(args: readonly Tensor[]): Tensor[] {
  return args.map((t) => ({ shape: t.shape, data: t.data.slice() }));
}

/**
 * For every active input element, evaluates `f` at x ± h and writes the central
 * difference of each of f's results into column q of blocks[r][i]. In a batch
 * (`points`; active arguments then hold every point's copy, [B, ...]) element q is
 * perturbed at every point at once, each by its own step, and blocks have the
 * points first.
 */
function differenceColumns(
  plan: Plan,
  primal: Primal,
  f: (args: Tensor[]) => Tensor[],
  resultShapes: readonly (readonly number[])[],
): BlockResult {
  const args = argsOf(primal.args);
  const points = plan.batched ? primal.batch : 1;
  const lead = plan.batched ? [points] : [];
  let directions = 0;
  const blocks: Tensor[][] = resultShapes.map((rs) =>
    plan.activeValues.map((v) => {
      const is = plan.program.values.info(v).shape;
      return { shape: [...lead, ...rs, ...is], data: new Float64Array(points * sizeOf(rs) * sizeOf(is)) };
    }),
  );
  const x0 = new Float64Array(points);
  const step = new Float64Array(points);
  const xm = new Float64Array(points);
  plan.activeInputs.forEach((inputIndex, i) => {
    const x = args[inputIndex].data;
    const n = x.length / points;
    for (let q = 0; q < n; q++) {
      for (let b = 0; b < points; b++) {
        const at = b * n + q;
        x0[b] = x[at];
        const h = CBRT_EPS * Math.max(1, Math.abs(x0[b]));
        x[at] = x0[b] + h;
        xm[b] = x0[b] - h;
        step[b] = x[at] - xm[b];
      }
      const fp = f(args);
      for (let b = 0; b < points; b++) x[b * n + q] = xm[b];
      const fm = f(args);
      for (let b = 0; b < points; b++) x[b * n + q] = x0[b];
      directions++;
      fp.forEach((t, r) => {
        const out = blocks[r][i].data;
        const m = t.data.length / points;
        for (let b = 0; b < points; b++) {
          const from = b * m;
          const to = b * m * n;
          for (let p = 0; p < m; p++) out[to + p * n + q] = (t.data[from + p] - fm[r].data[from + p]) / step[b];
        }
      });
    }
  });
  return { blocks, directions };
}

/**
 * Central difference of `f` along the direction `dir` (per active input), with a
 * step per point scaled to that point's arguments and direction.
 */
function differenceAlong(plan: Plan, primal: Primal, f: (args: Tensor[]) => Tensor[], dir: readonly Tensor[]): TensorsResult {
  const args = argsOf(primal.args);
  const points = plan.batched ? primal.batch : 1;
  const h = new Float64Array(points);
  let moved = false;
  for (let b = 0; b < points; b++) {
    let xMax = 0;
    let dMax = 0;
    plan.activeInputs.forEach((inputIndex, i) => {
      const x = args[inputIndex].data;
      const n = x.length / points;
      for (let q = b * n; q < (b + 1) * n; q++) {
        xMax = Math.max(xMax, Math.abs(x[q]));
        dMax = Math.max(dMax, Math.abs(dir[i].data[q]));
      }
    });
    // A point with no direction stays where it is, and its difference is zero.
    h[b] = dMax === 0 ? 0 : (CBRT_EPS * Math.max(1, xMax)) / dMax;
    if (dMax !== 0) moved = true;
  }
  if (!moved) return { tensors: f(args).map((t) => ({ shape: t.shape, data: new Float64Array(t.data.length) })), directions: 0 };
  const shifted = (sign: number): Tensor[] => {
    const a = argsOf(args);
    plan.activeInputs.forEach((inputIndex, i) => {
      const x = a[inputIndex].data;
      const n = x.length / points;
      for (let q = 0; q < x.length; q++) x[q] += sign * h[Math.floor(q / n)] * dir[i].data[q];
    });
    return f(a);
  };
  const fp = shifted(1);
  const fm = shifted(-1);
  const tensors = fp.map((t, r) => {
    const data = new Float64Array(t.data.length);
    const m = data.length / points;
    for (let p = 0; p < data.length; p++) {
      const hb = h[Math.floor(p / m)];
      data[p] = hb === 0 ? 0 : (t.data[p] - fm[r].data[p]) / (2 * hb);
    }
    return { shape: t.shape, data };
  });
  return { tensors, directions: 1 };
}

const outputsAt =
  (plan: Plan, points: number) =>
  (args: Tensor[]): Tensor[] =>
    runPrimal(plan, args, points).values;
const gradientAt =
  (plan: Plan, points: number) =>
  (args: Tensor[]): Tensor[] =>
    gradientSweep(plan, runPrimal(plan, args, points));

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
  batches: true,
  jacobian: (plan, p) => differenceColumns(plan, p, outputsAt(plan, p.batch), outputShapes(plan)),
  jvp: (plan, p, tangents) => differenceAlong(plan, p, outputsAt(plan, p.batch), tangents),
  hessian: (plan, p) => differenceColumns(plan, p, gradientAt(plan, p.batch), activeShapes(plan)),
  hvp: (plan, p, vector) => differenceAlong(plan, p, gradientAt(plan, p.batch), vector),
  estimate: fdEstimate,
};
