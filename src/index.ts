/**
 * derivd as a library: exact derivatives of JSON expression graphs.
 *
 * @example
 *   import { jacobian } from 'derivd';
 *   const r = await jacobian({ graph, args: { d, xs: 0.1 }, constant: ['d'] });
 *   r.jacobian.r.xs   // dr/dxs, 21 numbers; r.mode === 'forward'
 */
export { evaluate, jacobian, gradient, jvp, vjp, hessian, hvp, operations, prepare, respond, SHARED_CACHE, ComputeDeadlineExceeded } from './api/index.js';
export type { Options, OutputFormat, Result, ResultBase, ResultOf, AnyResult, Stats, Timings, OutTensor, PreparedCall } from './api/index.js';
export { DerivdError, type ErrorKind, type Issue } from './graph/errors.js';
export { DEFAULT_LIMITS, type Limits } from './graph/limits.js';
export { GraphCache } from './graph/cache.js';
export { RequestSchemas, GraphSchema, OPERATIONS, MODES, type Request, type Operation, type Mode, type WireGraph } from './graph/schema.js';
export { registerEngine, engineNames } from './engines/registry.js';
export type { Engine } from './engines/types.js';
export type { Tensor, Shape } from './tensor/tensor.js';
