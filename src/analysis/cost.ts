/**
 * The cost model `auto` chooses by. A sweep costs, per equation it touches, a fixed
 * overhead plus a per-op weight times the equation's work (elements, or flops for
 * contractions) times the directions it carries. Forward mode touches, for each
 * active input, what that input varies; reverse mode, for each output, what that
 * output uses (reach.ts counts both in one pass). The weights are measured by `npm run calibrate` (scripts/calibrate-cost.ts)
 * and stored in cost-weights.json.
 */
import type { Eqn } from '../ir/program.js';
import type { Operation } from '../graph/schema.js';
import { sizeOf } from '../tensor/tensor.js';
import weights from './cost-weights.json' with { type: 'json' };
import { colouringsOf, hessianCompression, type Compression } from './colouring.js';
import type { Plan } from './plan.js';
import { reach } from './reach.js';

/**
 * Nanoseconds per unit of work: `primal` once; `jvp`/`vjp` per direction; and
 * `jvpFixed`/`vjpFixed` once per sweep, whatever the number of directions (partials
 * such as cos(x) for sin, computed once and shared by every direction).
 */
export interface OpWeights {
  primal: number;
  jvp: number;
  vjp: number;
  jvpFixed: number;
  vjpFixed: number;
}
/**
 * What a call costs around its arithmetic, measured like the op weights: parsing a
 * body (per byte), checking a
 * graph (per node), reading arguments (per byte of their JSON), building derivative
 * programs and compiling equation lists (per primal equation they cover). A graph
 * seen before skips the first; a plan that ran before skips the last two.
 */
export interface RequestOverheads {
  /** JSON.parse of a request body of numbers, per byte (what the event loop spends before any check). */
  parseNsPerByte: number;
  checkNsPerNode: number;
  validateNsPerByte: number;
  buildNsPerEqn: number;
  compileNsPerEqn: number;
}

export interface CostWeights {
  eqnOverheadNs: number;
  default: OpWeights;
  overheads: RequestOverheads;
  ops: Record<string, OpWeights>;
}

export const MEASURED_WEIGHTS: CostWeights = weights;

export function workOf(plan: Plan, q: Eqn): number {
  const values = plan.program.values;
  const inShapes = q.args.map((a) => values.info(a).shape);
  const outShape = values.info(q.out).shape;
  return q.op.work ? q.op.work(inShapes, outShape, q.attrs) : sizeOf(outShape);
}

export interface Estimate {
  primalNs: number;
  forwardNs: number;
  reverseNs: number;
  /** Active input elements and output elements: what a count-only rule compares. */
  inputElements: number;
  outputElements: number;
  /**
   * Equations the derivative programs of each mode would build (and compile) for
   * this operation: what a call costs beyond arithmetic the first time it runs.
   */
  forwardBuildEqns: number;
  reverseBuildEqns: number;
  /** A Jacobian whose sparsity pays: the colours each mode's compressed sweeps would seed. */
  forwardColours?: number;
  reverseColours?: number;
  /** A Hessian's reverse colours are a star colouring's (its columns share rows; entries are read by symmetry). */
  starColoured?: boolean;
}

/**
 * Storing a residual in the primal and loading it back in a fused derivative loop,
 * per element (ns): 16 bytes at the ~16 GB/s these loops reach. An op whose measured
 * primal cost per element is at most this (arithmetic, square, sqrt) is cheaper to
 * compute again inside the derivative's loop than to keep; moving ops (slices,
 * transposes) cost nothing to recompute, as they are reads through an index map.
 */
const RESIDUAL_ROUND_TRIP_NS = 6;

/** Whether a derivative program should recompute the value q makes rather than read it from the primal. */
export function cheaperToRecompute(q: Eqn, w: CostWeights = MEASURED_WEIGHTS): boolean {
  if (q.op.movesElements && q.op.arity === 1) return true;
  if (!q.op.elementwise || !(q.op.perElement || q.op.perElementWith)) return q.args.length === 0 && q.op.name === 'const';
  return (w.ops[q.op.name] ?? w.default).primal <= RESIDUAL_ROUND_TRIP_NS;
}

/** Seeding a compressed sweep and scattering its results, per entry written or read (ns). */
const DECOMPRESS_NS_PER_ENTRY = 2;

/**
 * The compressed sweeps of a sparse Jacobian (colouring.ts) for each mode, when the
 * cost model prices them below the plain sweeps: `count` sweeps through every active
 * equation, plus seeding and scattering. What the engines run and auto compares.
 */
export function compressionFor(plan: Plan, mode: 'forward' | 'reverse'): Compression | undefined {
  const c = colouringsOf(plan)[mode === 'forward' ? 'columns' : 'rows'];
  if (!c) return undefined;
  const s = sweepsOf(plan, MEASURED_WEIGHTS);
  const side = mode === 'forward' ? s.n : s.m;
  const compressed =
    c.count * (mode === 'forward' ? s.fwdOneNs : s.revOneNs) + DECOMPRESS_NS_PER_ENTRY * (c.sparsity.nonZeros + c.count * side);
  return compressed < (mode === 'forward' ? s.fwdJacNs : s.revJacNs) ? c : undefined;
}

/** What every operation's estimate is made of; one pass over the plan, kept with it. */
interface Sweeps {
  primalNs: number;
  /** Full Jacobians: forward (one sweep per active input) and reverse (one per output). */
  fwdJacNs: number;
  revJacNs: number;
  /** One sweep carrying one direction through every active equation. */
  fwdOneNs: number;
  revOneNs: number;
  n: number;
  m: number;
  /** Equations touched by all forward sweeps together, by all reverse ones, and the active ones. */
  fwdJacEqns: number;
  revJacEqns: number;
  activeEqns: number;
}

function sweeps(plan: Plan, w: CostWeights): Sweeps {
  const values = plan.program.values;
  const nValues = values.length;
  const inSizes = plan.activeValues.map((v) => sizeOf(values.info(v).shape));
  const outSizes = plan.outputValues.map((v) => sizeOf(values.info(v).shape));
  const fwd = reach(nValues, plan.activeValues, inSizes, plan.schedule, false, plan.isActive);
  const rev = reach(nValues, plan.outputValues, outSizes, plan.schedule, true, plan.isActive);
  const out: Sweeps = {
    primalNs: 0,
    fwdJacNs: 0,
    revJacNs: 0,
    fwdOneNs: 0,
    revOneNs: 0,
    n: inSizes.reduce((a, b) => a + b, 0),
    m: outSizes.reduce((a, b) => a + b, 0),
    fwdJacEqns: 0,
    revJacEqns: 0,
    activeEqns: 0,
  };
  for (const q of plan.schedule) {
    const ow = w.ops[q.op.name] ?? w.default;
    const work = workOf(plan, q);
    out.primalNs += w.eqnOverheadNs + ow.primal * work;
    if (!plan.isActive[q.out]) continue;
    // A sweep over q costs overhead + (fixed + weight × directions) × work; summed over the sweeps touching q.
    out.fwdJacNs += fwd.count[q.out] * (w.eqnOverheadNs + ow.jvpFixed * work) + ow.jvp * work * fwd.size[q.out];
    out.revJacNs += rev.count[q.out] * (w.eqnOverheadNs + ow.vjpFixed * work) + ow.vjp * work * rev.size[q.out];
    out.fwdOneNs += w.eqnOverheadNs + (ow.jvpFixed + ow.jvp) * work;
    out.revOneNs += w.eqnOverheadNs + (ow.vjpFixed + ow.vjp) * work;
    out.fwdJacEqns += fwd.count[q.out];
    out.revJacEqns += rev.count[q.out];
    out.activeEqns++;
  }
  return out;
}

/**
 * The estimate of `operation` on `plan`: linear in the plan whatever its numbers of
 * inputs and outputs, and computed once per plan (kept in plan.memo) for the
 * measured weights, so auto's choice and the service's placement share it.
 */
function sweepsOf(plan: Plan, w: CostWeights): Sweeps {
  if (w !== MEASURED_WEIGHTS) return sweeps(plan, w);
  let kept = plan.memo.get('cost:sweeps') as Sweeps | undefined;
  if (kept === undefined) {
    kept = sweeps(plan, w);
    plan.memo.set('cost:sweeps', kept);
  }
  return kept;
}

export function estimate(plan: Plan, operation: Operation, w: CostWeights = MEASURED_WEIGHTS): Estimate {
  const s = sweepsOf(plan, w);
  const { n, m, fwdOneNs: fwdOne, revOneNs: revOne } = s;
  const one = s.activeEqns;
  let forwardNs: number;
  let reverseNs: number;
  let forwardBuildEqns: number;
  let reverseBuildEqns: number;
  // a sparse Jacobian's (Hessian's) compressed sweeps: the colours they seed
  let forwardColours: number | undefined;
  let reverseColours: number | undefined;
  let starColoured = false;
  switch (operation) {
    case 'evaluate':
      forwardNs = reverseNs = forwardBuildEqns = reverseBuildEqns = 0;
      break;
    case 'gradient':
      [forwardNs, reverseNs, forwardBuildEqns, reverseBuildEqns] = [s.fwdJacNs, s.revJacNs, s.fwdJacEqns, s.revJacEqns];
      break;
    case 'jacobian': {
      [forwardNs, reverseNs, forwardBuildEqns, reverseBuildEqns] = [s.fwdJacNs, s.revJacNs, s.fwdJacEqns, s.revJacEqns];
      // A sparse Jacobian's compressed sweeps: as many as colours, one program over every active input (or output).
      const fwd = w === MEASURED_WEIGHTS ? compressionFor(plan, 'forward') : undefined;
      const rev = w === MEASURED_WEIGHTS ? compressionFor(plan, 'reverse') : undefined;
      if (fwd) {
        forwardNs = fwd.count * fwdOne + DECOMPRESS_NS_PER_ENTRY * (fwd.sparsity.nonZeros + fwd.count * n);
        forwardBuildEqns = one;
        forwardColours = fwd.count;
      }
      if (rev) {
        reverseNs = rev.count * revOne + DECOMPRESS_NS_PER_ENTRY * (rev.sparsity.nonZeros + rev.count * m);
        reverseBuildEqns = one;
        reverseColours = rev.count;
      }
      break;
    }
    case 'jvp':
      [forwardNs, reverseNs, forwardBuildEqns, reverseBuildEqns] = [fwdOne, s.revJacNs, one, s.revJacEqns];
      break;
    case 'vjp':
      [forwardNs, reverseNs, forwardBuildEqns, reverseBuildEqns] = [s.fwdJacNs, revOne, s.fwdJacEqns, one];
      break;
    case 'hessian':
      // forward-over-forward: n first-level directions, each with n second-level ones;
      // forward-over-reverse: one gradient program (about a forward and a reverse sweep) per direction.
      forwardNs = n * n * 2 * fwdOne;
      reverseNs = n * (fwdOne + revOne) * 2;
      // a program per active input, each about twice (fof) or three times (for) the active equations
      forwardBuildEqns = plan.activeValues.length * 2 * one;
      reverseBuildEqns = plan.activeValues.length * 3 * one;
      // a sparse Hessian: forward-over-reverse takes one sweep per colour (column or star), one program
      {
        const hc = w === MEASURED_WEIGHTS ? hessianCompression(plan) : undefined;
        if (hc) {
          reverseNs = hc.count * (fwdOne + revOne) * 2 + DECOMPRESS_NS_PER_ENTRY * (hc.sparsity.nonZeros + hc.count * n);
          reverseBuildEqns = 3 * one;
          reverseColours = hc.count;
          starColoured = hc.recovery !== undefined;
        }
      }
      break;
    case 'hvp':
      forwardNs = n * 2 * fwdOne;
      reverseNs = (fwdOne + revOne) * 2;
      forwardBuildEqns = plan.activeValues.length * 2 * one;
      reverseBuildEqns = 3 * one;
      break;
  }
  return {
    primalNs: s.primalNs,
    forwardNs,
    reverseNs,
    inputElements: n,
    outputElements: m,
    forwardBuildEqns,
    reverseBuildEqns,
    ...(forwardColours === undefined ? {} : { forwardColours }),
    ...(reverseColours === undefined ? {} : { reverseColours }),
    ...(starColoured ? { starColoured } : {}),
  };
}
