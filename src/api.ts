/**
 * The one door: evaluate, jacobian, gradient, jvp, vjp, hessian, hvp. Each takes
 * the request envelope (the same object the HTTP service receives) and resolves
 * to the result envelope, with timings for each stage.
 *
 *   validate   zod structure, graph semantics, arguments      (validateMs)
 *   plan       activity analysis, cost model, engine choice    (planMs)
 *   evaluate   the primal, once                                (evaluateMs)
 *   differentiate  the chosen engine                          (differentiateMs)
 */
import { chooseMode } from './engines/auto.js';
import { withDeadline } from './engines/deadline.js';
import { engineNames, findEngine } from './engines/registry.js';
import { runPrimal, type Primal } from './engines/sweeps.js';
import type { Engine } from './engines/types.js';
import { makePlan, planBytes, type Plan } from './analysis/plan.js';
import { checkCounts as checkGraphCounts, DEFAULT_LIMITS, type Limits } from './graph/check.js';
import { GraphCache, graphKey } from './graph/cache.js';
import { checkBlockLimits, checkRequest, type CheckedRequest } from './graph/request.js';
import type { Operation, Request } from './graph/schema.js';
import { toNested, writeWireFloat, type NestedNumbers, type NestedValue } from './tensor/nested.js';
import type { Tensor } from './tensor/tensor.js';

export interface Options {
  limits?: Partial<Limits>;
  /**
   * Where checked graphs, plans and derivative programs are kept between calls:
   * a GraphCache of your own, false for none, or by default one shared cache.
   */
  cache?: GraphCache | false;
  /**
   * 'nested' (default): nested arrays of numbers (NaN and ±Infinity as numbers);
   * 'json': the same with NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity",
   * ready for JSON.stringify (what the HTTP service sends);
   * 'packed': {shape, data: Float64Array}.
   */
  output?: 'nested' | 'json' | 'packed';
  /**
   * Milliseconds the call may compute: past them it stops between two steps and
   * throws ComputeDeadlineExceeded (the thread stays usable). Default: no limit.
   */
  budgetMs?: number;
  /**
   * Refuse non-finite JavaScript numbers in arguments, tangents, cotangents and
   * vectors (default false). For requests parsed from JSON text, where such a number
   * can only be a literal too large for a double (1e999): the HTTP service sets it.
   */
  strictFloats?: boolean;
}

export type OutTensor = NestedNumbers | NestedValue | Tensor;

export interface Timings {
  validateMs: number;
  planMs: number;
  evaluateMs: number;
  differentiateMs: number;
  totalMs: number;
  /** Time spent on the fd reference when `check` is asked. */
  checkMs?: number;
}

export interface Stats {
  /** Tangent or cotangent directions propagated (fd: perturbation directions), summed over chunks. */
  directions: number;
  /** Graph nodes that carry derivatives (varied and useful); inputs and literals are not counted. */
  activeNodes: number;
  inactiveNodes: number;
  /** Whether the checked graph and its plans came from the cache. */
  cache?: 'hit' | 'miss';
}

export interface Result {
  values: Record<string, OutTensor>;
  jacobian?: Record<string, Record<string, OutTensor>>;
  gradient?: Record<string, OutTensor>;
  jvp?: Record<string, OutTensor>;
  vjp?: Record<string, OutTensor>;
  hessian?: Record<string, Record<string, OutTensor>>;
  hvp?: Record<string, OutTensor>;
  /** The engine that ran: forward, reverse or fd (never auto). Absent for evaluate. */
  mode?: string;
  /** Why this engine ran. */
  reason?: string;
  stats: Stats;
  timings: Timings;
  /** Error against fd; with output 'json', NaN and ±Infinity are written as strings. */
  check?: { maxAbsError: number | string; maxRelError: number | string };
}

/** What an engine computed, before it is named and encoded. */
interface Computed {
  /** Flat list of derivative tensors in the order `encode` lays them out. */
  tensors: Tensor[];
  directions: number;
}

const now = (): number => performance.now();
/** Milliseconds to the microsecond: finer digits are noise. */
const ms = (t: number): number => Math.round(t * 1000) / 1000;

async function run(operation: Operation, request: Request | unknown, options: Options = {}): Promise<Result> {
  return withDeadline(options.budgetMs, () => respond(prepare(operation, request, options), options));
}

/** Evaluates and differentiates a prepared call at its own arguments, into the result envelope. */
export function respond(call: Prepared, options: Options = {}): Result {
  return withDeadline(options.budgetMs, () => respondNow(call, options));
}

function respondNow(call: Prepared, options: Options): Result {
  const { request: req, operation } = call;
  const t2 = now();
  const primal = runPrimal(call.plan, req.args);
  const t3 = now();
  const computed = call.differentiate(primal, extraOf(req));
  const t4 = now();
  countRun(call.plan, operation, call.mode);

  let check: ReturnType<typeof compare> | undefined;
  let checkMs: number | undefined;
  if (req.check && operation !== 'evaluate') {
    const reference = compute(findEngine('fd') as Engine, operation, call.plan, primal, extraOf(req));
    check = compare(computed.tensors, reference.tensors);
    checkMs = now() - t4;
  }

  const json = options.output === 'json';
  const enc = options.output === 'packed' ? (t: Tensor): OutTensor => t : (t: Tensor): OutTensor => toNested(t, json);
  const inNames = req.active.map((i) => req.graph.inputs[i].name);
  const outNames = req.outputs.map((o) => o.name);
  const result: Result = {
    values: named(outNames, primal.values.map(enc)),
    ...encode(operation, inNames, outNames, computed.tensors.map(enc)),
    ...(operation === 'evaluate' ? {} : { mode: call.mode, reason: call.reason }),
    stats: {
      directions: computed.directions,
      activeNodes: call.plan.activeNodes,
      inactiveNodes: call.plan.inactiveNodes,
      // a hit: neither the graph's checks nor the planning ran again
      ...(req.cacheHit === undefined ? {} : { cache: req.cacheHit && call.cached ? 'hit' : 'miss' }),
    },
    timings: { validateMs: ms(call.validateMs), planMs: ms(call.planMs), evaluateMs: ms(t3 - t2), differentiateMs: ms(t4 - t3), totalMs: 0 },
  };
  if (check) {
    result.check = json ? { maxAbsError: writeWireFloat(check.maxAbsError), maxRelError: writeWireFloat(check.maxRelError) } : check;
    result.timings.checkMs = ms(checkMs as number);
  }
  result.timings.totalMs = ms(call.validateMs + call.planMs + (now() - t2));
  return result;
}

/**
 * How often a plan has run an operation with an engine (0, 1, or 2 for "twice or
 * more"): its first run builds derivative programs, its first two compile them.
 * A plan that could not keep its programs (see sweeps' memo) counts as never run.
 */
export function warmRuns(plan: Plan, operation: Operation, mode: string): number {
  if (plan.memo.get('programs-dropped')) return 0;
  return (plan.memo.get(`runs:${operation}:${mode}`) as number | undefined) ?? 0;
}

function countRun(plan: Plan, operation: Operation, mode: string): void {
  const key = `runs:${operation}:${mode}`;
  plan.memo.set(key, Math.min(2, ((plan.memo.get(key) as number | undefined) ?? 0) + 1));
}

/** tangents (jvp), cotangents (vjp) or vector (hvp): the tensors an operation takes beside the arguments. */
function extraOf(req: CheckedRequest): readonly Tensor[] {
  return req.directions ?? req.cotangents ?? [];
}

/**
 * A call planned once and run many times: the plan, the engine chosen for it, and
 * a function from the primal (and tangents, cotangents or vector) to the
 * derivative tensors, in the order the result lays them out.
 */
export interface PreparedCall {
  readonly operation: Operation;
  readonly plan: Plan;
  readonly mode: string;
  readonly reason: string;
  differentiate(primal: Primal, extra: readonly Tensor[]): Computed;
}

/** The shared cache, unless the caller brings one or asks for none. */
/**
 * 256 MiB: what compiled code keeps for one large problem (a gradient over 10^6
 * elements keeps about 115 MB of buffers; allocating them per run instead made it
 * 8 times slower) fits in the half of it one graph may take.
 */
export const SHARED_CACHE = new GraphCache(256 * 1024 * 1024);
const cacheOf = (options: Options): GraphCache | undefined => (options.cache === false ? undefined : options.cache ?? SHARED_CACHE);

/**
 * Refuses a request over MAX_NODES or MAX_INPUTS (limit_exceeded) by counting
 * alone: what the service checks before deciding where to validate the rest.
 */
export function checkCounts(request: unknown, options: Options = {}): void {
  checkGraphCounts((request as { graph?: unknown } | null)?.graph, { ...DEFAULT_LIMITS, ...options.limits });
}

/**
 * Whether the graph of `request` is in the cache `options` name (the shared one by
 * default), without touching its recency or the hit counts: what the service asks
 * before deciding where even validation should run.
 */
export function isGraphCached(request: unknown, options: Options = {}): boolean {
  const cache = cacheOf(options);
  const key = cache ? graphKey((request as { graph?: unknown } | null)?.graph, { ...DEFAULT_LIMITS, ...options.limits }) : undefined;
  return key !== undefined && (cache as GraphCache).has(key);
}

/** One plan per graph, constant set and output subset, kept with the graph; `cached` says whether it was there. */
function planOf(req: CheckedRequest): { plan: Plan; cached: boolean } {
  const key = `plan:${req.active.join(',')}|${req.outputs.map((o) => o.value).join(',')}`;
  const found = req.graphMemo.get(key) as Plan | undefined;
  if (found) return { plan: found, cached: true };
  const plan = makePlan(req);
  if (req.account.charge(planBytes(plan))) req.graphMemo.set(key, plan);
  return { plan, cached: false };
}

function prepareChecked(req: CheckedRequest, limits: Limits): PreparedCall & { cached: boolean } {
  const { plan, cached } = planOf(req);
  const { engine, mode, reason } = pickEngine(plan, req);
  // Some engines get a jvp or vjp from the full Jacobian: it counts against the limits then.
  const operation = req.operation;
  const viaJacobian = (operation === 'jvp' && mode === 'reverse') || (operation === 'vjp' && (mode !== 'reverse' || req.check));
  if (viaJacobian) checkBlockLimits('jacobian', req.active.map((i) => req.graph.inputs[i]), req.outputs, limits);
  return { operation, plan, mode, reason, cached, differentiate: (primal, extra) => compute(engine, operation, plan, primal, extra) };
}

/** A call validated and planned once: what respond() and run() need, with the time each stage took. */
export interface Prepared extends PreparedCall {
  readonly request: CheckedRequest;
  /** Whether the plan came from the cache. */
  readonly cached: boolean;
  readonly validateMs: number;
  readonly planMs: number;
  /** Evaluates and differentiates at new arguments (packed, graph input order): what the benchmarks time. */
  run(args: readonly Tensor[], extra?: readonly Tensor[]): { values: Tensor[]; derivatives: Tensor[]; directions: number };
}

/**
 * Validates and plans `request` once (through the cache). respond() then gives its
 * result envelope; run() evaluates and differentiates at other argument values.
 */
export function prepare(operation: Operation, request: Request | unknown, options: Options = {}): Prepared {
  const t0 = now();
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const req = checkRequest(operation, request, limits, ['auto', ...engineNames()], cacheOf(options), options.strictFloats);
  const t1 = now();
  const call = prepareChecked(req, limits);
  const t2 = now();
  return {
    ...call,
    request: req,
    validateMs: t1 - t0,
    planMs: t2 - t1,
    run(args, extra = extraOf(req)) {
      const primal = runPrimal(call.plan, args);
      const d = call.differentiate(primal, extra);
      return { values: primal.values, derivatives: d.tensors, directions: d.directions };
    },
  };
}

function pickEngine(plan: Plan, req: CheckedRequest): { engine: Engine; mode: string; reason: string } {
  if (req.mode === 'auto') {
    const key = `auto:${req.operation}`;
    let choice = plan.memo.get(key) as ReturnType<typeof chooseMode> | undefined;
    if (choice === undefined) {
      choice = chooseMode(plan, req.operation);
      plan.memo.set(key, choice);
    }
    return { engine: findEngine(choice.mode) as Engine, mode: choice.mode, reason: choice.reason };
  }
  const engine = findEngine(req.mode) as Engine; // checkRequest accepted only registered names
  return { engine, mode: engine.name, reason: `mode "${req.mode}" was requested` };
}

function compute(engine: Engine, operation: Operation, plan: Plan, primal: Primal, extra: readonly Tensor[]): Computed {
  switch (operation) {
    case 'jacobian':
    case 'gradient': {
      const r = engine.jacobian(plan, primal);
      return { tensors: flatten(r.blocks), directions: r.directions };
    }
    case 'hessian': {
      const r = engine.hessian(plan, primal);
      return { tensors: flatten(r.blocks), directions: r.directions };
    }
    case 'jvp':
      return engine.jvp(plan, primal, extra);
    case 'vjp':
      return engine.vjp(plan, primal, extra);
    case 'hvp':
      return engine.hvp(plan, primal, extra);
    case 'evaluate':
      return { tensors: [], directions: 0 };
  }
}

/** Rows of blocks, one after another (Array.prototype.flat is slow on the hot path). */
function flatten(blocks: readonly Tensor[][]): Tensor[] {
  const out: Tensor[] = [];
  for (const row of blocks) for (const t of row) out.push(t);
  return out;
}

/** Lays derivative tensors out under the operation's name, keyed by output and input names. */
function encode(operation: Operation, inNames: string[], outNames: string[], t: OutTensor[]): Partial<Result> {
  const grid = (rows: string[], cols: string[]) =>
    named(rows, rows.map((_, r) => named(cols, t.slice(r * cols.length, (r + 1) * cols.length))));
  switch (operation) {
    case 'evaluate': return {};
    case 'jacobian': return { jacobian: grid(outNames, inNames) };
    case 'gradient': return { gradient: named(inNames, t) };
    case 'hessian': return { hessian: grid(inNames, inNames) };
    case 'jvp': return { jvp: named(outNames, t) };
    case 'vjp': return { vjp: named(inNames, t) };
    case 'hvp': return { hvp: named(inNames, t) };
  }
}

/** An object from names: Object.fromEntries keeps `__proto__` an ordinary own key. */
function named<T>(names: readonly string[], items: readonly T[]): Record<string, T> {
  return Object.fromEntries(names.map((n, i) => [n, items[i]]));
}

/**
 * Max-norm error against the fd reference, relative to max(1, max|ref|). Entries
 * that agree exactly (the same infinity, or NaN in both) count as no error; a
 * disagreement involving NaN makes the error NaN.
 */
function compare(got: readonly Tensor[], ref: readonly Tensor[]): { maxAbsError: number; maxRelError: number } {
  let maxAbs = 0;
  let refMax = 0;
  got.forEach((g, i) => {
    const r = ref[i].data;
    for (let k = 0; k < r.length; k++) {
      const a = g.data[k];
      const b = r[k];
      if (Object.is(a, b) || a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
      const d = Math.abs(a - b);
      maxAbs = Number.isNaN(d) || Number.isNaN(maxAbs) ? NaN : Math.max(maxAbs, d);
      if (Number.isFinite(b)) refMax = Math.max(refMax, Math.abs(b));
    }
  });
  return { maxAbsError: maxAbs, maxRelError: maxAbs / Math.max(1, refMax) };
}

/** Values of the outputs (derivatives are not computed). */
export const evaluate = (request: Request | unknown, options?: Options): Promise<Result> => run('evaluate', request, options);
/** Jacobian blocks d output / d active input, each of shape output.shape ++ input.shape. */
export const jacobian = (request: Request | unknown, options?: Options): Promise<Result> => run('jacobian', request, options);
/** Gradient of the one scalar output, per active input. */
export const gradient = (request: Request | unknown, options?: Options): Promise<Result> => run('gradient', request, options);
/** Jacobian times `tangents`, per output. */
export const jvp = (request: Request | unknown, options?: Options): Promise<Result> => run('jvp', request, options);
/** `cotangents` times the Jacobian, per active input. */
export const vjp = (request: Request | unknown, options?: Options): Promise<Result> => run('vjp', request, options);
/** Hessian of the one scalar output, a block per ordered pair of active inputs. */
export const hessian = (request: Request | unknown, options?: Options): Promise<Result> => run('hessian', request, options);
/** Hessian times `vector`, per active input. */
export const hvp = (request: Request | unknown, options?: Options): Promise<Result> => run('hvp', request, options);

export { ComputeDeadlineExceeded, withDeadline } from './engines/deadline.js';
/** Who hears of a list that failed to compile (it then runs interpreted); the service logs it. */
export { setCompileErrorHandler } from './compile/execute.js';

export const operations = { evaluate, jacobian, gradient, jvp, vjp, hessian, hvp } satisfies Record<Operation, unknown>;
