/**
 * One example request per operation, as /docs prefills "Try it out" with them
 * (and openapi.yaml carries them): small real calls that answer 200. POST
 * /v1/jacobian keeps the seed problem (seed-example.ts); the other operations
 * need a scalar output (gradient, hessian, hvp), so they share a small scalar
 * function with closed-form derivatives. The calls on a stored graph name it by
 * its id: registerGraph's example stores it. POST /v1/explain explains the
 * Hessian of that function. A test posts every example.
 */
import { canonicalGraph, explain, graphIdOf, type Operation, OPERATIONS, PlanCache, prepare, respond } from '../api/index.js';
import { ILLUSTRATIVE_TIMINGS, seedExample } from './seed-example.js';

/** f(x, s) = (x · x) e^s: ∇ₓf = 2x e^s, ∂f/∂s = f. */
export const EXAMPLE_GRAPH = {
  inputs: [
    { name: 'x', shape: [3] },
    { name: 's', shape: [] },
  ],
  nodes: [
    { id: 'q', op: 'dot', args: ['x', 'x'] },
    { id: 'e', op: 'exp', args: ['s'] },
    { id: 'f', op: 'mul', args: ['q', 'e'] },
  ],
  outputs: ['f'],
};

/** The id POST /v1/graphs answers for EXAMPLE_GRAPH. */
export const EXAMPLE_GRAPH_ID = graphIdOf(canonicalGraph(EXAMPLE_GRAPH));

const args = { x: [1, 2, 3], s: 0.5 };

/** The body of POST /v1/graphs/{id}/<operation> on EXAMPLE_GRAPH (POST /v1/<operation>: the same with `graph`). */
export const EXAMPLE_CALLS: Record<Operation, Record<string, unknown>> = {
  evaluate: { args },
  jacobian: { args, mode: 'forward' },
  gradient: { args, mode: 'reverse' },
  jvp: { args, tangents: { x: [1, 0, 0], s: 0 } },
  vjp: { args, cotangents: { f: 1 } },
  hessian: { args },
  hvp: { args, vector: { x: [1, 0, 0], s: 1 } },
};

/** POST /v1/explain: what the Hessian call on EXAMPLE_GRAPH would do. */
export const EXPLAIN_EXAMPLE = { operation: 'hessian', graph: EXAMPLE_GRAPH, args };

export interface Example {
  request: unknown;
  response: unknown;
}

/** Computed when the OpenAPI document is first built (a few small calls), not at start-up. */
export function operationExamples(): { inline: Record<Operation, Example>; stored: Record<Operation, Example>; explain: Example } {
  const computed = (op: Operation, request: Record<string, unknown>): Example => {
    // A cache of its own, so each example shows a first call ("miss"); timings vary, so they are illustrative.
    const response = respond(prepare(op, request, { cache: new PlanCache(1 << 20) }), { output: 'json' });
    return { request, response: { ...response, timings: ILLUSTRATIVE_TIMINGS } };
  };
  const inline = {} as Record<Operation, Example>;
  const stored = {} as Record<Operation, Example>;
  for (const op of OPERATIONS) {
    const onGraph = computed(op, { graph: EXAMPLE_GRAPH, ...EXAMPLE_CALLS[op] });
    stored[op] = { request: EXAMPLE_CALLS[op], response: onGraph.response };
    inline[op] = op === 'jacobian' ? seedExample() : onGraph;
  }
  return { inline, stored, explain: { request: EXPLAIN_EXAMPLE, response: explain(EXPLAIN_EXAMPLE) } };
}
