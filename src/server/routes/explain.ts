/**
 * POST /v1/explain: any operation's request plus `operation` (default jacobian),
 * answered with what the call would do (api/explain.ts) without computing it.
 * It checks and plans on the event loop, as POST /v1/graphs checks a graph: the
 * same limits bound it, and nothing is evaluated.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { explain, GRAPH_ID, OPERATIONS, ShapeSchema, withStoredGraph } from '../../api/index.js';
import type { Config } from '../config.js';
import type { GraphRepository } from '../graph-repo.js';
import { objectBody } from '../raw-body.js';
import { ProblemSchema } from '../schemas.js';

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ProblemSchema } } });

const OperationSchema = z
  .enum(OPERATIONS)
  .optional()
  .describe('the operation to explain (default jacobian); the rest of the body is its request');

/**
 * Each operation's request (graph inline or by id) with `operation` beside it. The
 * library checks the body against the operation's own schema; here it is
 * documented by reference to those, not repeated for every operation.
 */
const ExplainRequestSchema = z.object({ operation: OperationSchema }).catchall(z.unknown()).meta({
  id: 'ExplainRequest',
  description:
    'the request of `operation` (JacobianRequest, GradientRequest, ... or their ...RequestByGraphId forms) with `operation` beside it',
});

const ExplainedNodeSchema = z
  .object({
    id: z.string(),
    op: z.string(),
    args: z.array(z.union([z.string(), z.number()])).optional(),
    shape: ShapeSchema.describe("the node's value's shape"),
    active: z.boolean().describe('whether the node carries derivatives for the constant set (varied and useful)'),
    from: z.string().optional().describe('for a node a formula made: its definition, graph.define.NAME'),
  })
  .catchall(z.unknown())
  .meta({ id: 'ExplainedNode', description: 'a node as given or as a formula made it, with its attributes, shape and activity' });

export const ExplanationSchema = z
  .object({
    operation: z.enum(OPERATIONS),
    mode: z.string().describe('the engine the call would run: what auto picks, or the requested mode'),
    reason: z.string().describe('why that engine'),
    directions: z
      .number()
      .int()
      .nonnegative()
      .describe('directions the mode would propagate, by the cost model (colours for a sparse Jacobian or Hessian)'),
    inputs: z.array(z.object({ name: z.string(), shape: ShapeSchema, active: z.boolean().describe('not in `constant`') })),
    nodes: z.array(ExplainedNodeSchema).describe("the graph's own nodes and those its definitions expand to"),
    outputs: z.array(z.object({ name: z.string(), shape: ShapeSchema })).describe('the requested outputs'),
  })
  .meta({ id: 'Explanation' });

export interface ExplainRoutesOptions {
  config: Config;
  graphs: GraphRepository;
}

export async function explainRoutes(app: FastifyInstance, { config, graphs }: ExplainRoutesOptions): Promise<void> {
  const limits = {
    maxNodes: config.maxNodes,
    maxInputs: config.maxInputs,
    maxElements: config.maxElements,
    maxResponseBytes: config.maxResponseBytes,
  };
  app.withTypeProvider<ZodTypeProvider>().post('/v1/explain', {
    schema: {
      summary: 'What a call would do, without computing it',
      description:
        "The body is any operation's request with `operation` beside it (default jacobian). The answer: the nodes the graph expands to (formulas in `define` included), each node's shape, which carry derivatives for the request's constant set, and the mode auto would pick (or the requested one) with its reason. Invalid requests get the problems the operation would give.",
      operationId: 'explain',
      tags: ['compute'],
      body: ExplainRequestSchema,
      response: {
        200: { description: 'The explanation', content: { 'application/json': { schema: ExplanationSchema } } },
        400: problem('The body is not JSON, or does not match the schema (unknown op, formula syntax, ...)'),
        404: problem('`graphId` names no stored graph (urn:derivd:problem:unknown-graph)'),
        413: problem('The body, the graph or the result asked for is over a configured limit'),
        415: problem('The content type is not application/json'),
        422: problem('Valid structure, but not a valid graph or call (cycle, shape mismatch, unknown reference, ...)'),
        503: problem('The service is saturated or shutting down; retry after Retry-After seconds'),
      },
    },
    handler: async (request) => {
      let body: unknown = objectBody(request.body, "expected an object: an operation's request");
      const { graphId } = body as { graphId?: unknown };
      if (Object.hasOwn(body as object, 'graphId')) {
        // found here or in Redis, then resolved as the library resolves it
        const found = typeof graphId === 'string' && GRAPH_ID.test(graphId) ? await graphs.find(graphId) : undefined;
        body = withStoredGraph(body, {}, () => found);
      }
      return explain(body, { limits, strictFloats: true }) as never;
    },
  });
}
