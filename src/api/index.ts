/**
 * The one door to the library: the operations, prepared calls, the plan cache,
 * and what the service asks before it runs a call (counts, cache, cost).
 */
export { evaluate, jacobian, gradient, jvp, vjp, hessian, hvp, operations, respond } from './respond.js';
export { prepare, warmRuns, type PreparedCall } from './prepare.js';
export { CHECK_REFERENCE } from './compare.js';
export { SHARED_CACHE, checkCounts, isGraphCached } from './plan-cache.js';
export { callCost, bodyMs, preflightMs, ENCODE_NS_PER_ELEMENT, type CallCost } from './cost.js';
export type { AnyResult, Differentiated, Options, OutputFormat, OutTensor, Result, ResultBase, ResultOf, Stats, Timings } from './types.js';
export { ComputeDeadlineExceeded, withDeadline } from '../ir/deadline.js';
/** Who hears of a list that failed to compile (it then runs interpreted); the service logs it. */
export { setCompileErrorHandler } from '../compile/execute.js';
