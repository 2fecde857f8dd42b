/**
 * The forum case as the contract's example: the seed graph (the same graph as
 * test/fixtures/seed-rs.graph.json, which a test keeps identical), the request
 * posted to /v1/jacobian with d constant, and its real response. Timings vary from
 * run to run, so the documented ones are fixed illustrative numbers.
 */
import { PlanCache, prepare, respond } from '../api/index.js';

const x = Array.from({ length: 21 }, (_, i) => i - 10);

export const SEED_GRAPH = {
  inputs: [
    { name: 'd', shape: [21] },
    { name: 'xs', shape: [] },
  ],
  nodes: [
    { id: 'x', op: 'const', value: x },
    { id: 't', op: 'sub', args: ['x', 'xs'] },
    { id: 't2', op: 'square', args: ['t'] },
    { id: 'a', op: 'mul', args: [-1.5, 't2'] },
    { id: 'f', op: 'exp', args: ['a'] },
    { id: 'num', op: 'dot', args: ['d', 'f'] },
    { id: 'den', op: 'dot', args: ['f', 'f'] },
    { id: 'c', op: 'div', args: ['num', 'den'] },
    { id: 'cf', op: 'mul', args: ['c', 'f'] },
    { id: 'r', op: 'sub', args: ['d', 'cf'] },
  ],
  outputs: ['r'],
};

/** d = f(0.3) + 0.01 sin(0..20), the data of the forum case, at xs = 0.1. */
export const SEED_REQUEST = {
  graph: SEED_GRAPH,
  args: { d: x.map((xi, i) => Math.exp(-1.5 * (xi - 0.3) ** 2) + 0.01 * Math.sin(i)), xs: 0.1 },
  constant: ['d'],
  mode: 'forward',
};

export const ILLUSTRATIVE_TIMINGS = { validateMs: 0.05, planMs: 0.02, evaluateMs: 0.01, differentiateMs: 0.01, totalMs: 0.1 };

/** Computed when the OpenAPI document is first built, not at start-up. */
export function seedExample(): { request: unknown; response: unknown } {
  // A cache of its own, so the example always shows a first call ("miss").
  const response = respond(prepare('jacobian', SEED_REQUEST, { cache: new PlanCache(1 << 20) }), { output: 'json' });
  return { request: SEED_REQUEST, response: { ...response, timings: ILLUSTRATIVE_TIMINGS } };
}
