/**
 * POST /v1/<operation> for every operation: the body is the library's request,
 * the response its result. Validation happens in the library (one place, every
 * issue with its path); the zod schemas here document the contract.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { operations, type Result, type Timings } from '../../api.js';
import { OPERATIONS, RequestSchemas, type Operation } from '../../graph/schema.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import { ProblemSchema, ResultSchemas } from '../schemas.js';

const SUMMARIES: Record<Operation, string> = {
  evaluate: 'Values of the outputs',
  jacobian: 'Jacobian of every output with respect to every active input',
  gradient: 'Gradient of the one scalar output',
  jvp: 'Jacobian-vector product (tangents per active input)',
  vjp: 'Vector-Jacobian product (cotangents per output)',
  hessian: 'Hessian of the one scalar output (exact, forward-over-reverse by default)',
  hvp: 'Hessian-vector product',
};

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ProblemSchema } } });
const PROBLEM_RESPONSES = {
  400: problem('The body is not JSON, or does not match the schema (unknown op, wrongly typed attribute, ...)'),
  413: problem('The body or the graph is over a configured limit (BODY_LIMIT, MAX_NODES, MAX_ELEMENTS)'),
  415: problem('The content type is not application/json'),
  422: problem('Valid structure, but not a valid graph or call (cycle, shape mismatch, unknown reference, ...)'),
};

/** Server-Timing: one metric per stage, durations in milliseconds. */
export function serverTiming(t: Timings): string {
  const parts = [['validate', t.validateMs], ['plan', t.planMs], ['evaluate', t.evaluateMs], ['differentiate', t.differentiateMs]];
  if (t.checkMs !== undefined) parts.push(['check', t.checkMs]);
  parts.push(['total', t.totalMs]);
  return parts.map(([name, ms]) => `${name};dur=${(ms as number).toFixed(3)}`).join(', ');
}

export interface ComputeOptions { config: Config; metrics: Metrics }

export async function computeRoutes(app: FastifyInstance, { config, metrics }: ComputeOptions): Promise<void> {
  const limits = { maxNodes: config.maxNodes, maxElements: config.maxElements };
  for (const op of OPERATIONS) {
    app.withTypeProvider<ZodTypeProvider>().post(`/v1/${op}`, {
      schema: {
        summary: SUMMARIES[op],
        tags: ['compute'],
        body: RequestSchemas[op],
        response: {
          200: { description: 'Values and derivatives', content: { 'application/json': { schema: ResultSchemas[op] } } },
          ...PROBLEM_RESPONSES,
        },
      },
      handler: async (request, reply) => {
        const result: Result = await operations[op](request.body, { limits, output: 'json' });
        request.derivd = { operation: op, mode: result.mode, timings: result.timings };
        if (result.mode) metrics.engineRuns.inc({ operation: op, mode: result.mode });
        reply.header('server-timing', serverTiming(result.timings));
        // output 'json' makes every number a wire float, which is what the schema says
        return result as never;
      },
    });
  }
}
