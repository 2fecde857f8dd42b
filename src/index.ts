/**
 * derivd as a library: exact derivatives of JSON expression graphs.
 *
 * @example
 *   import { jacobian } from 'derivd';
 *   const r = await jacobian({ graph, args: { d, xs: 0.1 }, constant: ['d'] });
 *   r.jacobian.r.xs   // dr/dxs, 21 numbers; r.mode === 'forward'
 */
export {
  evaluate,
  jacobian,
  gradient,
  jvp,
  vjp,
  hessian,
  hvp,
  operations,
  prepare,
  respond,
  SHARED_CACHE,
  ComputeDeadlineExceeded,
  DerivdError,
  DEFAULT_LIMITS,
  PlanCache,
  RequestSchemas,
  GraphSchema,
  OPERATIONS,
  registerEngine,
  findEngine,
  engineNames,
  runPrimal,
  activeShapes,
  outputShapes,
} from './api/index.js';
export type {
  Options,
  OutputFormat,
  Result,
  ResultBase,
  ResultOf,
  AnyResult,
  Stats,
  Timings,
  OutTensor,
  PreparedCall,
  ErrorKind,
  Issue,
  Limits,
  Request,
  Operation,
  Mode,
  WireGraph,
  Engine,
  Primal,
  BlockResult,
  TensorsResult,
  CallEstimate,
  Plan,
  Tensor,
  Shape,
} from './api/index.js';
