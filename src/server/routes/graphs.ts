/**
 * Stored graphs (graph-repo.ts): POST /v1/graphs registers a graph, GET
 * /v1/graphs/{id} returns it. Calls on a stored graph (POST /v1/graphs/{id}/<operation>)
 * are compute routes (compute.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DerivdError, GRAPH_ID, GraphIdSchema, GraphSchema, storeGraph, summaryOf, unknownGraph } from '../../api/index.js';
import type { Config } from '../config.js';
import type { GraphRepository } from '../graph-repo.js';
import { objectBody } from '../raw-body.js';
import { ProblemSchema } from '../schemas.js';
import { GraphIdParams } from './compute.js';

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ProblemSchema } } });

const RegisterRequestSchema = z.object({ graph: GraphSchema }).strict().meta({ id: 'RegisterGraphRequest' });

const summary = {
  id: GraphIdSchema,
  inputs: GraphSchema.shape.inputs.describe("the graph's declared inputs, in order"),
  outputs: GraphSchema.shape.outputs.describe("the graph's output names, in order"),
  nodes: z.number().int().nonnegative().describe('how many nodes the graph lists in `nodes` (those its formulas make not counted)'),
};
const GraphSummarySchema = z.object(summary).meta({ id: 'GraphSummary' });
const StoredGraphSchema = z
  .object({ ...summary, graph: GraphSchema.describe('the graph in its canonical form (nodes sorted by id), as its id hashes it') })
  .meta({ id: 'StoredGraph' });

export interface GraphRoutesOptions {
  config: Config;
  graphs: GraphRepository;
}

export async function graphRoutes(app: FastifyInstance, { config, graphs }: GraphRoutesOptions): Promise<void> {
  const limits = { maxNodes: config.maxNodes, maxInputs: config.maxInputs, maxElements: config.maxElements };

  app.withTypeProvider<ZodTypeProvider>().post('/v1/graphs', {
    schema: {
      summary: 'Store a graph; later calls name it by its id',
      description:
        'Validates the graph as a call with it inline would (same problems), stores it under its id (SHA-256 of its canonical form; see docs/graph-format.md) and answers its summary. Storing a graph twice is harmless: the second answer is 200 with the same id.',
      operationId: 'registerGraph',
      tags: ['stored graphs'],
      body: RegisterRequestSchema,
      response: {
        200: { description: 'Already stored: its summary', content: { 'application/json': { schema: GraphSummarySchema } } },
        201: {
          description: 'Stored: its summary; Location is /v1/graphs/{id}',
          headers: { location: { type: 'string', description: '/v1/graphs/{id}' } },
          content: { 'application/json': { schema: GraphSummarySchema } },
        },
        400: problem('The body is not JSON, or the graph does not match the schema'),
        413: problem('The graph is over a configured limit (BODY_LIMIT, MAX_NODES, MAX_INPUTS, MAX_ELEMENTS, half of GRAPH_STORE_BYTES)'),
        415: problem('The content type is not application/json'),
        422: problem('Valid structure, but not a valid graph (cycle, shape mismatch, unknown reference, ...)'),
        503: problem('Not stored: the service is saturated or shutting down; retry after Retry-After seconds'),
      },
    },
    handler: async (request, reply) => {
      const body = objectBody(request.body, 'expected an object with the graph: {"graph": {...}}');
      const extra = Object.keys(body).filter((k) => k !== 'graph');
      if (extra.length > 0)
        throw new DerivdError(
          'invalid_request',
          extra.map((k) => ({ path: k, message: `unexpected field ${JSON.stringify(k)}: expected only "graph"` })),
        );
      const { stored, created } = storeGraph((body as { graph?: unknown }).graph, { limits, graphStore: graphs.store });
      await graphs.share(stored);
      reply.code(created ? 201 : 200).header('location', `/v1/graphs/${stored.id}`);
      return summaryOf(stored) as never;
    },
  });

  app.withTypeProvider<ZodTypeProvider>().get('/v1/graphs/:id', {
    schema: {
      summary: 'A stored graph and its summary',
      operationId: 'getGraph',
      tags: ['stored graphs'],
      params: GraphIdParams,
      response: {
        200: { description: 'The stored graph', content: { 'application/json': { schema: StoredGraphSchema } } },
        404: problem('No graph is stored under this id (urn:derivd:problem:unknown-graph)'),
        503: problem('The service is saturated or shutting down; retry after Retry-After seconds'),
      },
    },
    handler: async (request) => {
      const { id } = request.params;
      const stored = GRAPH_ID.test(id) ? await graphs.find(id) : undefined;
      if (!stored) throw unknownGraph(id);
      return { ...summaryOf(stored), graph: stored.graph } as never;
    },
  });
}
