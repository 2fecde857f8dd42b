/**
 * Preparing a call: validate the request (through the plan cache), plan it, and
 * choose its engine, once; the prepared call then runs at its own or other
 * arguments, and says what it will cost before it does.
 */
import { cooSparsity, hessianPattern } from '../analysis/colouring.js';
import { makePlan, planBytes, type Plan } from '../analysis/plan.js';
import { chooseEngine } from '../engines/auto.js';
import { differentiate, fullMatrixOf, type Computed } from '../engines/call.js';
import { runPrimal } from '../engines/primal.js';
import { listings, type Listing } from '../engines/programs.js';
import { findEngine, modeNames } from '../engines/registry.js';
import type { Engine, JacobianPattern, Primal } from '../engines/types.js';
import { DerivdError } from '../graph/errors.js';
import { DEFAULT_LIMITS, checkBlockLimits, resultSize, type Limits } from '../graph/limits.js';
import { checkRequest, type CheckedRequest } from '../graph/request.js';
import type { Operation, Request } from '../graph/schema.js';
import type { Tensor } from '../tensor/tensor.js';
import { atPoints } from './batch.js';
import { asRequestError } from './request-error.js';
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
  /** A `format: "coo"` Jacobian's pattern and colourings (absent: dense blocks). */
  readonly pattern?: JacobianPattern;
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
  /** The generated code of the primal and of the derivative programs built so far, commented (run the call first). */
  generatedCode(): Listing[];
}

const now = (): number => performance.now();

/**
 * Validates and plans `request` once (through the cache). respond() then gives its
 * result envelope; run() evaluates and differentiates at other argument values.
 */
export function prepare(operation: Operation, request: Request | unknown, options: Options = {}): PreparedCall {
  const t0 = now();
  const limits = options.limits ? { ...DEFAULT_LIMITS, ...options.limits } : DEFAULT_LIMITS;
  // `graphId` in place of `graph`: the stored graph, resolved before the checks (which see it inline).
  const req = checkRequest(operation, withStoredGraph(request, options), limits, modeNames(), cacheOf(options), options.strictFloats);
  return prepareChecked(req, limits, now() - t0);
}

/**
 * Plans a request already checked (by prepare, or by the thread that handed it
 * over: handoff.ts) and chooses its engine; `validateMs`: what checking it took,
 * `plannedMs`: planning done before (by the thread that handed it over).
 */
export function prepareChecked(req: CheckedRequest, limits: Limits, validateMs: number, plannedMs = 0): PreparedCall {
  const t1 = now();
  const { plan, cached, engine, reason, pattern } = callShapeOf(req, limits);
  const t2 = now();
  return new Prepared(req, plan, engine, reason, cached, validateMs, plannedMs + t2 - t1, pattern);
}

/** A class, not an object of closures: prepare is on every call's path, and closures cost there. */
class Prepared implements PreparedCall {
  readonly operation: Operation;
  readonly mode: string;
  constructor(
    readonly request: CheckedRequest,
    readonly plan: Plan,
    readonly engine: Engine,
    readonly reason: string,
    readonly cached: boolean,
    readonly validateMs: number,
    readonly planMs: number,
    readonly pattern?: JacobianPattern,
  ) {
    this.operation = request.operation;
    this.mode = engine.name;
  }

  differentiate(primal: Primal, extra: readonly Tensor[]): Computed {
    return differentiate(this.engine, this.operation, this.plan, primal, extra, this.pattern);
  }

  run(
    args: readonly Tensor[],
    extra: readonly Tensor[] = extraOf(this.request),
  ): { values: Tensor[]; derivatives: Tensor[]; directions: number } {
    try {
      const at = atPoints(this.request, this.plan, args, extra);
      const primal = runPrimal(this.plan, at.args, at.points);
      const d = this.differentiate(primal, at.extra);
      return { values: primal.values, derivatives: d.tensors, directions: d.directions };
    } catch (err) {
      throw asRequestError(err, this.request);
    }
  }

  /**
   * The generated JavaScript of the plan's primal and of every derivative program
   * built for it so far (run the call first), each equation commented with its
   * printed form and its wire node's path: for reading what the compiler made.
   */
  generatedCode(): Listing[] {
    return listings(this.plan);
  }

  cost(): CallCost {
    const { plan, operation, mode, request } = this;
    return callCost(plan, operation, mode, request.check, warmRuns(plan, operation, mode), request.encoding, request.batch?.size);
  }
}

/** What a remembered call shape keeps beside its key: the record and its map slot. */
const CALL_SHAPE_BYTES = 160;

/** What a call's plan, engine and limit checks come to: the same for every call of one shape. */
interface CallShape {
  plan: Plan;
  cached: boolean;
  engine: Engine;
  reason: string;
  /** A `format: "coo"` Jacobian's pattern and colourings. */
  pattern?: JacobianPattern;
}

/**
 * The plan, the engine and why, for a checked request, with the full-matrix limits
 * checked: remembered with the graph under one key for everything they depend on
 * (operation, mode, check, active inputs, outputs, batch, MAX_ELEMENTS), so a call
 * of a shape seen before finds them in one lookup. A call that fails throws and is
 * not remembered.
 */
function callShapeOf(req: CheckedRequest, limits: Limits): CallShape {
  // A batch's limits depend on its size, which changes from call to call: not remembered.
  // The lean path's shapeKey names the same things (and the encoding) without building them again.
  const key = req.batch
    ? undefined
    : req.shapeKey !== undefined
      ? `call:${req.shapeKey}:${req.mode}:${req.check}`
      : `call:${req.operation}:${req.mode}:${req.check}:${limits.maxElements},${limits.maxResponseBytes}:${req.format ?? ''}:${req.encoding}:${req.activeInputs.join(',')}|${req.outputs.map((o) => o.value).join(',')}`;
  const known = key === undefined ? undefined : (req.graphMemo.get(key) as CallShape | undefined);
  if (known) return { ...known, cached: true };
  const { plan, cached } = planOf(req);
  const { engine, reason } = pickEngine(plan, req);
  if (req.batch && !engine.batches) {
    throw new DerivdError('invalid_request', [
      {
        path: 'batched',
        message: `engine "${engine.name}" does not compute batches of points (it does not declare \`batches\`): send one request per point, or choose another mode`,
      },
    ]);
  }
  const pattern = req.format === 'coo' ? cooPatternOf(req, plan, engine, limits) : undefined;
  checkFullMatrixLimits(req, engine, limits);
  // Kept only with its plan (a plan the account could not keep is rebuilt, and so is this), and charged like it.
  const kept = cached || req.graphMemo.get(planKey(req)) === plan;
  if (key !== undefined && kept && req.account.charge(CALL_SHAPE_BYTES + 2 * key.length))
    req.graphMemo.set(key, { plan, cached, engine, reason, pattern });
  return { plan, cached, engine, reason, pattern };
}

/** Pattern entries the sparsity analysis of a coo call may hold over all values, per element MAX_ELEMENTS allows. */
const PATTERN_ENTRIES_PER_ELEMENT = 4;

/** JSON bytes of one coo entry beyond its value: its row and column (at most 10 digits each) and two commas. */
const COO_INDEX_BYTES = 22;

/**
 * A `format: "coo"` Jacobian's pattern, its entries counted against MAX_ELEMENTS
 * (with the values, at every point of a batch) and their JSON against
 * MAX_RESPONSE_BYTES: a diagonal Jacobian of 10^5 × 10^5 is 10^5 entries.
 */
function cooPatternOf(req: CheckedRequest, plan: Plan, engine: Engine, limits: Limits): JacobianPattern {
  // The patterns of every value the outputs are computed through count together: a few times MAX_ELEMENTS.
  const budget = PATTERN_ENTRIES_PER_ELEMENT * limits.maxElements;
  const hessian = req.operation === 'hessian';
  const found = hessian ? hessianPattern(plan, budget) : cooSparsity(plan, budget);
  const over = (message: string): never => {
    throw new DerivdError('limit_exceeded', [{ path: 'format', message }]);
  };
  if (!found) {
    return over(
      `the ${hessian ? 'Hessian' : 'Jacobian'}'s structural pattern, with those of the values it is computed through, has more than ${PATTERN_ENTRIES_PER_ELEMENT} × MAX_ELEMENTS (${limits.maxElements}) entries; ask for dense blocks, fewer outputs, or mark inputs constant`,
    );
  }
  const points = req.batch?.size ?? 1;
  const entries = points * found.sparsity.nonZeros;
  const values = resultSize('evaluate', [], req.outputs, req.encoding, req.batch?.size);
  if (entries + values.values > limits.maxElements) {
    over(
      `the result would hold ${entries + values.values} numbers (values ${values.values}, ${hessian ? 'Hessian' : 'Jacobian'} entries ${entries}), more than MAX_ELEMENTS (${limits.maxElements})`,
    );
  }
  const bytes = values.bytes + entries * (req.encoding === 'base64' ? 11 : 25) + found.sparsity.nonZeros * COO_INDEX_BYTES;
  if (bytes > limits.maxResponseBytes)
    over(`the result could take up to ${bytes} bytes as JSON, more than MAX_RESPONSE_BYTES (${limits.maxResponseBytes})`);
  // an engine without sparse sweeps reads the entries from its dense Jacobian (Hessian), whose limits then apply
  const inputs = req.activeInputs.map((i) => req.graph.inputs[i]);
  if (!(hessian ? engine.sparseHessian : engine.sparseJacobian))
    checkBlockLimits(req.operation, inputs, req.outputs, limits, req.batch?.size);
  return found;
}

/** A call that builds a full Jacobian or Hessian on the way (its engine's, or the check reference's) counts against their limits. */
function checkFullMatrixLimits(req: CheckedRequest, engine: Engine, limits: Limits): void {
  const coo = req.format === 'coo';
  const matrices = new Set<'jacobian' | 'hessian' | undefined>([
    fullMatrixOf(engine, req.operation),
    req.check ? fullMatrixOf(checkReference(), req.operation) : undefined,
    // the check reference (fd) of a coo result reads its entries from the dense one
    coo && req.check && !checkReference().sparseJacobian && req.operation === 'jacobian' ? ('jacobian' as const) : undefined,
    coo && req.check && !checkReference().sparseHessian && req.operation === 'hessian' ? ('hessian' as const) : undefined,
  ]);
  const inputs = req.activeInputs.map((i) => req.graph.inputs[i]);
  for (const m of matrices) if (m) checkBlockLimits(m, inputs, req.outputs, limits, req.batch?.size);
}

/** tangents (jvp), cotangents (vjp) or vector (hvp): the tensors an operation takes beside the arguments. */
export function extraOf(req: CheckedRequest): readonly Tensor[] {
  return req.tangents ?? req.cotangents ?? [];
}

/** One plan per graph, constant set and output subset, kept with the graph; `cached` says whether it was there. */
function planKey(req: CheckedRequest): string {
  const batched = req.batch ? `|batch:${req.batch.inputs.join(',')}` : '';
  return `plan:${req.activeInputs.join(',')}|${req.outputs.map((o) => o.value).join(',')}${batched}`;
}

function planOf(req: CheckedRequest): { plan: Plan; cached: boolean } {
  const key = planKey(req);
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
  const runs = (plan.memo.get(key) as number | undefined) ?? 0;
  if (runs < 2) plan.memo.set(key, runs + 1);
}
