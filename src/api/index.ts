/**
 * The one door to the library: the operations, prepared calls, the plan cache,
 * and what the service asks before it runs a call (counts, cache, cost).
 */
export { evaluate, jacobian, gradient, jvp, vjp, hessian, hvp, operations, respond } from './respond.js';
export { prepare, warmRuns, type PreparedCall } from './prepare.js';
export { explain, type Explanation, type ExplainedInput, type ExplainedNode, type ExplainRequest } from './explain.js';
export type { Listing } from '../engines/programs.js';
export { handOff, needsGraph, takeOver, type Handoff } from './handoff.js';
/** The result envelope as JSON text, by a writer generated per result layout (the service's responses). */
export { resultJson } from './result-json.js';
export { CHECK_REFERENCE } from './compare.js';
export { SHARED_CACHE, checkCounts, isGraphCached } from './shared-cache.js';
export {
  SHARED_GRAPH_STORE,
  registerGraph,
  storeGraph,
  storedGraph,
  summaryOf,
  unknownGraph,
  checkGraphId,
  withStoredGraph,
  type GraphSummary,
} from './stored.js';
export { GraphStore, canonicalGraph, graphIdOf, storedFromText, GRAPH_ID, type StoredGraph } from '../graph/graph-store.js';
export { callCost, bodyMs, preflightMs, ENCODE_NS_PER_ELEMENT, ENCODE_BASE64_NS_PER_ELEMENT, type CallCost } from './cost.js';
export type {
  AnyResult,
  CooBlock,
  CooJacobianResult,
  CooHessianResult,
  Differentiated,
  Options,
  OutputFormat,
  OutTensor,
  Result,
  ResultBase,
  ResultOf,
  Names,
  NamesOf,
  Stats,
  TensorForm,
  TensorFormOf,
  Timings,
} from './types.js';
export { ComputeDeadlineExceeded, withDeadline } from '../ir/deadline.js';
/** Who hears of a list that failed to compile (it then runs interpreted); the service logs it. */
export { setCompileErrorHandler } from '../compile/execute.js';

// The wire contract and its errors, for the service and for library users.
export { DerivdError, MAX_ISSUES, type ErrorKind, type Issue } from '../graph/errors.js';
export { DEFAULT_LIMITS, type Limits } from '../graph/limits.js';
export { PlanCache } from '../graph/plan-cache.js';
export {
  RequestSchemas,
  CallSchemas,
  RequestByIdSchemas,
  GraphIdSchema,
  GraphSchema,
  ShapeSchema,
  OPERATIONS,
  SCALAR_OPERATIONS,
  type RequestById,
  type Request,
  type Operation,
  type Mode,
  type WireGraph,
  type WireNode,
  type NodeGraph,
  type Encoding,
} from '../graph/schema.js';
export { inferShape, NestedValueSchema, WireFloatSchema, type NestedNumbers } from '../tensor/nested.js';
export { Base64TensorSchema, toBase64, type Base64Tensor } from '../tensor/base64.js';

// The engine plug: everything an engine of your own needs (see engines/types.ts).
export { registerEngine, findEngine, engineNames } from '../engines/registry.js';
export { AUTO_CANDIDATES } from '../engines/auto.js';
export { runPrimal } from '../engines/primal.js';
export { activeShapes, outputShapes } from '../engines/sweeps.js';
export type { Engine, Primal, BlockResult, TensorsResult, CallEstimate } from '../engines/types.js';
export type { Plan } from '../analysis/plan.js';
export type { Tensor, Shape } from '../tensor/tensor.js';
