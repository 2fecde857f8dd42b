/**
 * The operations: evaluate, jacobian, gradient, jvp, vjp, hessian, hvp. Each takes
 * the request envelope (the same object the HTTP service receives) and resolves
 * to the result envelope, with timings for each stage.
 *
 *   validate   zod structure, graph semantics, arguments      (validateMs)
 *   plan       activity analysis, cost model, engine choice    (planMs)
 *   evaluate   the primal, once                                (evaluateMs)
 *   differentiate  the chosen engine                          (differentiateMs)
 */
import { differentiate } from '../engines/call.js';
import { runPrimal } from '../engines/primal.js';
import type { Operation, Request } from '../graph/schema.js';
import { withDeadline } from '../ir/deadline.js';
import { writeWireFloat } from '../tensor/nested.js';
import { atPoints } from './batch.js';
import { asRequestError } from './request-error.js';
import { checkReference, compareWithReference, type CheckError } from './compare.js';
import { encodeDerivatives, encoder, named } from './encode.js';
import { countRun, extraOf, prepare, type PreparedCall } from './prepare.js';
import type {
  HessianResultOf,
  JacobianResultOf,
  NamesOf,
  Options,
  OutputFormat,
  OutTensor,
  Result,
  ResultBase,
  TensorFormOf,
} from './types.js';

const now = (): number => performance.now();
/** Milliseconds to the microsecond: finer digits are noise. */
const ms = (t: number): number => Math.round(t * 1000) / 1000;

/** Evaluates and differentiates a prepared call at its own arguments, into the result envelope. */
export function respond<Op extends Operation | 'any' = 'any', F extends OutputFormat = 'nested'>(
  call: PreparedCall,
  options: Options<F> = {},
): Result<Op, F> {
  try {
    return withDeadline(options.budgetMs, () => respondNow(call, options)) as Result<Op, F>;
  } catch (err) {
    throw asRequestError(err, call.request);
  }
}

function respondNow(call: PreparedCall, options: Options): ResultBase {
  const { request: req, operation, plan } = call;
  const t2 = now();
  const at = atPoints(req, plan, req.args, extraOf(req));
  const primal = runPrimal(plan, at.args, at.points);
  const t3 = now();
  const computed = call.differentiate(primal, at.extra);
  const t4 = now();
  countRun(plan, operation, call.mode);

  let check: CheckError | undefined;
  let checkMs: number | undefined;
  if (req.check && operation !== 'evaluate') {
    const reference = differentiate(checkReference(), operation, plan, primal, at.extra, call.pattern);
    check = compareWithReference(computed.tensors, reference.tensors);
    checkMs = now() - t4;
  }

  const json = options.output === 'json';
  const enc = encoder(options.output, req.encoding);
  const inNames = req.activeInputs.map((i) => req.graph.inputs[i].name);
  const outNames = req.outputs.map((o) => o.name);
  const coo = computed.coo;
  // A coo block: its dense shape, the entries' rows and columns, and their values encoded as any tensor.
  const blocks = coo
    ? computed.tensors.map((t, i) => ({
        shape: coo[i].shape,
        rows: Array.from(coo[i].rows),
        cols: Array.from(coo[i].cols),
        values: enc(t),
      }))
    : computed.tensors.map(enc);
  const result: ResultBase = {
    values: named(outNames, primal.values.map(enc)),
    ...encodeDerivatives(operation, inNames, outNames, blocks as OutTensor[]),
    ...(operation === 'evaluate' ? {} : { mode: call.mode, reason: call.reason }),
    stats: {
      directions: computed.directions,
      activeNodes: plan.activeNodes,
      inactiveNodes: plan.inactiveNodes,
      ...(req.batch ? { batch: req.batch.size } : {}),
      ...(computed.nonZeros === undefined ? {} : { nonZeros: computed.nonZeros, colors: computed.directions }),
      // a hit: neither the graph's checks nor the planning ran again
      ...(req.cacheHit === undefined ? {} : { cache: req.cacheHit && call.cached ? 'hit' : 'miss' }),
    },
    timings: {
      validateMs: ms(call.validateMs),
      planMs: ms(call.planMs),
      evaluateMs: ms(t3 - t2),
      differentiateMs: ms(t4 - t3),
      totalMs: 0,
    },
  };
  if (check) {
    result.check = json ? { maxAbsError: writeWireFloat(check.maxAbsError), maxRelError: writeWireFloat(check.maxRelError) } : check;
    result.timings.checkMs = ms(checkMs as number);
  }
  result.timings.totalMs = ms(call.validateMs + call.planMs + (now() - t2));
  return result;
}

/** Validates, plans, evaluates and differentiates in one call, within the budget. */
async function runOperation<Op extends Operation, F extends OutputFormat>(
  operation: Op,
  request: Request | unknown,
  options: Options<F> = {},
): Promise<Result<Op, F>> {
  return withDeadline(options.budgetMs, () => respond<Op, F>(prepare(operation, request, options), options));
}

/** Values of the outputs (derivatives are not computed). */
export const evaluate = <F extends OutputFormat = 'nested', const R = unknown>(request: R, options?: Options<F>) =>
  runOperation('evaluate', request, options) as Promise<Result<'evaluate', TensorFormOf<F, R>, NamesOf<R>>>;
/** Jacobian blocks d output / d active input, each of shape output.shape ++ input.shape (or, with `format: "coo"`, its non-zero entries). */
export const jacobian = <F extends OutputFormat = 'nested', const R = unknown>(request: R, options?: Options<F>) =>
  runOperation('jacobian', request, options) as Promise<JacobianResultOf<TensorFormOf<F, R>, R>>;
/** Gradient of the one scalar output, per active input. */
export const gradient = <F extends OutputFormat = 'nested', const R = unknown>(request: R, options?: Options<F>) =>
  runOperation('gradient', request, options) as Promise<Result<'gradient', TensorFormOf<F, R>, NamesOf<R>>>;
/** Jacobian times `tangents`, per output. */
export const jvp = <F extends OutputFormat = 'nested', const R = unknown>(request: R, options?: Options<F>) =>
  runOperation('jvp', request, options) as Promise<Result<'jvp', TensorFormOf<F, R>, NamesOf<R>>>;
/** `cotangents` times the Jacobian, per active input. */
export const vjp = <F extends OutputFormat = 'nested', const R = unknown>(request: R, options?: Options<F>) =>
  runOperation('vjp', request, options) as Promise<Result<'vjp', TensorFormOf<F, R>, NamesOf<R>>>;
/** Hessian of the one scalar output, a block per ordered pair of active inputs (or, with `format: "coo"`, its non-zero entries). */
export const hessian = <F extends OutputFormat = 'nested', const R = unknown>(request: R, options?: Options<F>) =>
  runOperation('hessian', request, options) as Promise<HessianResultOf<TensorFormOf<F, R>, R>>;
/** Hessian times `vector`, per active input. */
export const hvp = <F extends OutputFormat = 'nested', const R = unknown>(request: R, options?: Options<F>) =>
  runOperation('hvp', request, options) as Promise<Result<'hvp', TensorFormOf<F, R>, NamesOf<R>>>;

export const operations = { evaluate, jacobian, gradient, jvp, vjp, hessian, hvp } satisfies Record<Operation, unknown>;
