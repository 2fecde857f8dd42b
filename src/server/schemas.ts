/**
 * The HTTP contract's response side, in zod (the request side is the library's
 * RequestSchemas). openapi.yaml is generated from these and the routes; a test
 * checks real responses against them.
 */
import { z } from 'zod';
import { Base64TensorSchema, NestedValueSchema, WireFloatSchema } from '../api/index.js';
import { PROBLEM_TYPES } from './problem.js';

/** A result tensor: nested (the default) or, with the request's `encoding: "base64"`, the binary form. */
const Named = z.record(z.string(), z.union([NestedValueSchema, Base64TensorSchema]));

/** A Jacobian block with `format: "coo"`: its structurally non-zero entries. */
const CooBlockSchema = z
  .object({
    shape: z.array(z.number().int().nonnegative()).describe("the dense block's shape (output.shape ++ input.shape)"),
    rows: z.array(z.number().int().nonnegative()).describe("each entry's row: its flat (row-major) index into the output's shape"),
    cols: z.array(z.number().int().nonnegative()).describe("each entry's column: its flat index into the input's shape"),
    values: z
      .union([NestedValueSchema, Base64TensorSchema])
      .describe(
        'the entries, sorted by (row, col): a tensor of shape [entries] (in a batch, [points, entries]), nested or base64 as `encoding` says',
      ),
  })
  .meta({ id: 'CooBlock', description: 'every structurally non-zero entry of a Jacobian block (values may be 0 at some points)' });
const JacobianGrid = z.record(z.string(), z.record(z.string(), z.union([NestedValueSchema, Base64TensorSchema, CooBlockSchema])));

export const StatsSchema = z.object({
  directions: z.number().int().describe('tangent or cotangent directions propagated (fd: perturbation directions), summed over chunks'),
  activeNodes: z.number().int().describe('graph nodes that carry derivatives'),
  inactiveNodes: z.number().int().describe('the other graph nodes'),
  cache: z.enum(['hit', 'miss']).optional().describe('whether the checked graph and its plans came from the plan cache'),
  nonZeros: z
    .number()
    .int()
    .optional()
    .describe(
      'a Jacobian or Hessian computed sparsely (compressed sweeps, or `format: "coo"`): its structurally non-zero entries (per point)',
    ),
  colors: z.number().int().optional().describe('a Jacobian or Hessian computed sparsely: the colours (compressed sweeps) it took'),
  batch: z
    .number()
    .int()
    .optional()
    .describe('points in a batch (the request named `batched` inputs): every tensor of the result has them as its leading axis'),
});

export const TimingsSchema = z.object({
  validateMs: z.number(),
  planMs: z.number(),
  evaluateMs: z.number(),
  differentiateMs: z.number(),
  totalMs: z.number(),
  checkMs: z.number().optional().describe('time spent on the fd reference when `check` is true'),
});

const common = {
  values: Named.describe('value of each requested output'),
  mode: z.string().optional().describe('the engine that ran: forward, reverse or fd (never auto); absent for evaluate'),
  reason: z.string().optional().describe('why this engine ran, in words'),
  stats: StatsSchema,
  timings: TimingsSchema.describe('milliseconds per stage; also sent as a Server-Timing header'),
  check: z
    .object({ maxAbsError: WireFloatSchema, maxRelError: WireFloatSchema })
    .optional()
    .describe('error against fd, when `check` is true (a wire float: "NaN" when a difference is not a number)'),
};

export const ResultSchemas = {
  evaluate: z.object(common),
  jacobian: z.object({
    ...common,
    jacobian: JacobianGrid.describe(
      '[output][active input]: a tensor of shape output.shape ++ input.shape, or with `format: "coo"` a CooBlock',
    ),
  }),
  gradient: z.object({ ...common, gradient: Named.describe('[active input]: the gradient of the one scalar output') }),
  jvp: z.object({ ...common, jvp: Named.describe('[output]: J · tangents') }),
  vjp: z.object({ ...common, vjp: Named.describe('[active input]: cotangents · J') }),
  hessian: z.object({
    ...common,
    hessian: JacobianGrid.describe(
      '[a][b] for every ordered pair of active inputs: shape a.shape ++ b.shape, or with `format: "coo"` a CooBlock',
    ),
  }),
  hvp: z.object({ ...common, hvp: Named.describe('[active input]: H · vector') }),
};

/** RFC 9457 problem details, with derivd's validation issues. */
export const ProblemSchema = z
  .object({
    type: z.enum(PROBLEM_TYPES).describe('a URI naming the kind of problem (about:blank: the HTTP status says it all)'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional().describe('the request id'),
    errors: z
      .array(
        z.object({
          path: z.string().describe('dot-and-bracket path from the body root, e.g. graph.nodes[3].args[1]'),
          message: z.string(),
        }),
      )
      .optional(),
  })
  .meta({
    id: 'Problem',
    description: 'RFC 9457 problem details; every `type`, when it is sent and whether to retry: docs/problems.md',
  });

export const HealthSchema = z.object({ status: z.string() });
