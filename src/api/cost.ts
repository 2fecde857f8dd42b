/**
 * What a call will cost before it runs, from the cost model and the engine's own
 * estimate (engines/types.ts): what the service decides placement and admission by.
 *
 *   primal once, plus the engine's estimate for the operation (an engine without
 *     one is priced as the costlier of auto's candidates);
 *   plus the check reference's estimate when `check` is asked;
 *   plus encoding the result: about ENCODE_NS_PER_ELEMENT per number of the
 *     result written as JSON numbers (nested arrays, then JSON text), or
 *     ENCODE_BASE64_NS_PER_ELEMENT with `"encoding": "base64"`, which matters for
 *     results of many elements from little arithmetic (a large `fill`, a large Jacobian);
 *   plus, the first times a plan runs an operation, building its derivative
 *     programs (first run) and compiling its equation lists (first two runs), per
 *     equation they cover (the measured `overheads` of cost-weights.json).
 *
 * Before any plan exists, preflightMs prices validation itself (checking a graph
 * not seen before, per node; reading arguments, per byte of body), and bodyMs
 * parsing a body.
 */
import { estimate, MEASURED_WEIGHTS } from '../analysis/cost.js';
import type { Plan } from '../analysis/plan.js';
import { AUTO_CANDIDATES } from '../engines/auto.js';
import { findEngine } from '../engines/registry.js';
import type { CallEstimate, Engine } from '../engines/types.js';
import type { Encoding, Operation } from '../graph/schema.js';
import { resultSize } from '../graph/limits.js';
import { checkReference } from './compare.js';

/**
 * Encoding one result number: toNested (~10 ns) and JSON.stringify of a
 * shortest-round-trip double (~120 ns for 17 significant digits), measured on the
 * development machine; rounded up.
 */
export const ENCODE_NS_PER_ELEMENT = 150;

/**
 * Encoding one result number with `"encoding": "base64"`: toBase64 (8 bytes to
 * 10.7 characters) and JSON.stringify of the string that holds it. Measured with
 * bench/encode-cost.ts on the development machine: 27-35 ns per element from 10^4
 * to 10^6 elements, 42 at 10^3; rounded up. A fifth of the JSON figure.
 */
export const ENCODE_BASE64_NS_PER_ELEMENT = 40;

export interface CallCost {
  /** Estimated milliseconds for the whole call: primal, derivatives, check, encoding. */
  ms: number;
  /** Numbers in the result (values and derivative blocks). */
  resultElements: number;
}

const { overheads } = MEASURED_WEIGHTS;

function engineEstimate(engine: Engine, plan: Plan, operation: Operation): CallEstimate {
  if (engine.estimate) return engine.estimate(plan, operation);
  const worst = AUTO_CANDIDATES.map((c) => c.estimate?.(plan, operation) ?? { ns: 0, buildEqns: 0 });
  return worst.reduce((a, b) => (b.ns > a.ns ? b : a));
}

/**
 * The estimated cost of running `operation` on `plan` with the engine named
 * `mode` (and the check reference when `check`); `warm`: how often the plan has
 * run it before (warmRuns), 2 or more meaning nothing is left to build or compile;
 * `encoding`: how the result is written (the request's `encoding`); `points`: a batch's B.
 */
export function callCost(
  plan: Plan,
  operation: Operation,
  mode: string,
  check: boolean,
  warm = 2,
  encoding: Encoding = 'json',
  points?: number,
): CallCost {
  const engine = findEngine(mode) as Engine;
  const reference = check ? checkReference() : undefined;
  const e = estimate(plan, operation);
  const own = operation === 'evaluate' ? { ns: 0, buildEqns: 0 } : engineEstimate(engine, plan, operation);
  let arithmetic = e.primalNs + own.ns;
  if (reference && operation !== 'evaluate') arithmetic += engineEstimate(reference, plan, operation).ns;
  // A batch runs every equation over its points: the arithmetic scales with them, building and compiling do not.
  let ns = (points ?? 1) * arithmetic;
  if (warm < 2) {
    ns += (plan.schedule.length + own.buildEqns) * overheads.compileNsPerEqn;
    if (warm === 0) ns += own.buildEqns * overheads.buildNsPerEqn;
  }
  const size = resultSize(
    operation,
    plan.activeInputs.map((i) => plan.graph.inputs[i]),
    plan.outputs,
    'json',
    points,
  );
  const elements = size.values + size.derivatives;
  ns += elements * (encoding === 'base64' ? ENCODE_BASE64_NS_PER_ELEMENT : ENCODE_NS_PER_ELEMENT);
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
