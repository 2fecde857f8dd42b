/**
 * The lean cache-hit path (src/graph/fast-check.ts) against the full validation:
 * on a cached graph, every request, valid or broken, must give exactly what the
 * full path gives (the same checked values, or the same error with the same
 * issues), and valid ones must take the lean path.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { evaluate, PlanCache } from '../src/index.js';
import { fastCheck } from '../src/graph/fast-check.js';
import { DEFAULT_LIMITS } from '../src/graph/limits.js';
import { checkRequest } from '../src/graph/request.js';
import type { Operation } from '../src/graph/schema.js';
import { OPERATIONS } from '../src/graph/schema.js';
import { randomGraphCase, type GraphCase } from './helpers/random-graph.js';

const MODES = ['auto', 'forward', 'reverse', 'fd'];
const SEED = 20261202;

/** What a check gives: the checked essentials, or the error's kind and issues. */
function outcome(f: () => ReturnType<typeof checkRequest>): unknown {
  try {
    const r = f();
    return {
      args: r.args.map((t) => [t.shape, [...t.data].map((x) => (Object.is(x, -0) ? '-0' : x))]),
      activeInputs: r.activeInputs,
      outputs: r.outputs.map((o) => o.name),
      mode: r.mode,
      check: r.check,
      encoding: r.encoding,
      tangents: r.tangents?.map((t) => [...t.data]),
      cotangents: r.cotangents?.map((t) => [...t.data]),
    };
  } catch (err) {
    const e = err as { kind?: string; issues?: unknown };
    return { kind: e.kind, issues: e.issues };
  }
}

function requestOf(c: GraphCase, op: Operation): Record<string, unknown> {
  return {
    graph: c.graph,
    args: c.args,
    ...(c.constant.length ? { constant: c.constant } : {}),
    ...(op === 'jvp' ? { tangents: c.tangents } : {}),
    ...(op === 'vjp' ? { cotangents: c.cotangents } : {}),
    ...(op === 'hvp' ? { vector: c.vector } : {}),
  };
}

/** Ways to break or vary an envelope, each applied to a valid request. */
const VARIANTS: [string, (r: Record<string, unknown>, c: GraphCase) => Record<string, unknown>][] = [
  ['as is', (r) => r],
  ['mode forward, check', (r) => ({ ...r, mode: 'forward', check: true })],
  ['encoding base64', (r) => ({ ...r, encoding: 'base64' })],
  ['unknown encoding', (r) => ({ ...r, encoding: 'hex' })],
  ['unknown mode', (r) => ({ ...r, mode: 'sideways' })],
  ['empty mode', (r) => ({ ...r, mode: '' })],
  ['check not a boolean', (r) => ({ ...r, check: 'yes' })],
  ['unknown field', (r) => ({ ...r, extra: 1 })],
  ['a missing argument', (r, c) => ({ ...r, args: Object.fromEntries(Object.entries(c.args).slice(1)) })],
  ['an extra argument', (r, c) => ({ ...r, args: { ...c.args, nope: 1 } })],
  ['an argument of the wrong shape', (r, c) => ({ ...r, args: { ...c.args, [Object.keys(c.args)[0]]: [[1, 2], [3]] } })],
  ['an argument that is a string', (r, c) => ({ ...r, args: { ...c.args, [Object.keys(c.args)[0]]: 'one' } })],
  ['args an array', (r) => ({ ...r, args: [] })],
  ['an unknown constant', (r) => ({ ...r, constant: ['nope'] })],
  ['constant not a list', (r) => ({ ...r, constant: 'x' })],
  ['every input constant', (r, c) => ({ ...r, constant: c.graph.inputs.map((i) => i.name) })],
  ['outputs: the first one', (r, c) => ({ ...r, outputs: [c.graph.outputs[0]] })],
  ['outputs: a duplicate', (r, c) => ({ ...r, outputs: [c.graph.outputs[0], c.graph.outputs[0]] })],
  ['outputs: unknown', (r) => ({ ...r, outputs: ['nope'] })],
  ['outputs: empty', (r) => ({ ...r, outputs: [] })],
  ['a tangent missing', (r) => ({ ...r, tangents: {}, cotangents: {}, vector: {} })],
  [
    'a literal too large (JSON.parse reads 1e999 as Infinity)',
    (r, c) => ({ ...r, args: { ...c.args, [Object.keys(c.args)[0]]: Infinity } }),
  ],
];

describe('the lean cache-hit path', () => {
  test('gives exactly what the full validation gives, on random graphs and broken envelopes', () => {
    const cases = fc.sample(randomGraphCase({ maxNodes: 10 }), { seed: SEED, numRuns: 40 });
    expect(cases).toHaveLength(40);
    let lean = 0;
    let compared = 0;
    for (const c of cases) {
      const cache = new PlanCache(1 << 26);
      for (const op of OPERATIONS) {
        const valid = requestOf(c, op);
        // warm the cache with the valid request; afterwards the graph's quick key is known
        outcome(() => checkRequest(op, valid, DEFAULT_LIMITS, MODES, cache, true));
        for (const [, vary] of VARIANTS) {
          const request = vary(valid, c);
          const full = outcome(() => checkRequest(op, request, DEFAULT_LIMITS, MODES, undefined, true));
          const hit = outcome(() => checkRequest(op, request, DEFAULT_LIMITS, MODES, cache, true));
          expect(hit, `${op}: ${JSON.stringify(request).slice(0, 200)}`).toEqual(full);
          compared++;
          if (fastCheck(op, request, DEFAULT_LIMITS, MODES, cache, true) !== undefined) lean++;
        }
      }
    }
    expect(compared).toBe(40 * OPERATIONS.length * VARIANTS.length);
    // the valid variants of cacheable graphs take the lean path (a fair share of all)
    expect(lean).toBeGreaterThan(compared / 20);
  });

  test('a valid request on a cached graph takes it, and any unknown field sends it the full way', () => {
    const cache = new PlanCache(1 << 24);
    const graph = { inputs: [{ name: 'x', shape: [2] }], nodes: [{ id: 'y', op: 'sin', args: ['x'] }], outputs: ['y'] };
    const request = { graph, args: { x: [1, 2] } };
    expect(fastCheck('jacobian', request, DEFAULT_LIMITS, MODES, cache, false)).toBeUndefined(); // not cached yet
    checkRequest('jacobian', request, DEFAULT_LIMITS, MODES, cache);
    const hits = cache.hits;
    const fast = fastCheck('jacobian', request, DEFAULT_LIMITS, MODES, cache, false);
    expect(fast?.cacheHit).toBe(true);
    expect(cache.hits).toBe(hits + 1); // counted like any hit
    // the same graph with its keys in another order is found once the full path has seen it
    const reordered = { graph: { outputs: ['y'], nodes: graph.nodes, inputs: graph.inputs }, args: { x: [1, 2] } };
    expect(fastCheck('jacobian', reordered, DEFAULT_LIMITS, MODES, cache, false)).toBeUndefined();
    checkRequest('jacobian', reordered, DEFAULT_LIMITS, MODES, cache);
    expect(fastCheck('jacobian', reordered, DEFAULT_LIMITS, MODES, cache, false)).toBeDefined();
    expect(fastCheck('jacobian', { ...request, encoding: 'base64' }, DEFAULT_LIMITS, MODES, cache, false)?.encoding).toBe('base64');
    expect(fastCheck('jacobian', { ...request, encoding: 'hex' }, DEFAULT_LIMITS, MODES, cache, false)).toBeUndefined();
    expect(fastCheck('jacobian', { ...request, extra: 1 }, DEFAULT_LIMITS, MODES, cache, false)).toBeUndefined();
  });

  test('-0, NaN and ±Infinity in a graph never reach it: 1/0 and 1/-0 stay different graphs', async () => {
    const cache = new PlanCache(1 << 24);
    const graphWith = (d: number) => ({
      inputs: [{ name: 'x', shape: [] }],
      nodes: [{ id: 'y', op: 'div', args: [1, d] }],
      outputs: ['y', 'x'],
    });
    const plus = await evaluate({ graph: graphWith(0), args: { x: 1 } }, { cache });
    await evaluate({ graph: graphWith(0), args: { x: 1 } }, { cache }); // now aliased
    const minus = await evaluate({ graph: graphWith(-0), args: { x: 1 } }, { cache });
    expect([plus.values.y, minus.values.y]).toEqual([Infinity, -Infinity]);
    expect(fastCheck('evaluate', { graph: graphWith(-0), args: { x: 1 } }, DEFAULT_LIMITS, MODES, cache, false)).toBeUndefined();
  });
});

describe('stored graphs on the lean path', () => {
  test('a call by id takes it, with the stored graph frozen and its quick key remembered', async () => {
    const { registerGraph, jacobian, GraphStore } = await import('../src/index.js');
    const { quickGraphKey } = await import('../src/graph/plan-cache.js');
    const cache = new PlanCache(1 << 24);
    const graphStore = new GraphStore(1 << 20);
    const graph = { inputs: [{ name: 'x', shape: [2] }], nodes: [{ id: 'y', op: 'sin', args: ['x'] }], outputs: ['y'] };
    const id = registerGraph(graph, { cache, graphStore });
    const first = await jacobian({ graphId: id, args: { x: [1, 2] } }, { cache, graphStore });
    const stored = graphStore.get(id)?.graph;
    expect(Object.isFrozen(stored) && Object.isFrozen(stored?.nodes?.[0])).toBe(true);
    // the very same string each time: its hash is computed once
    expect(quickGraphKey(stored, DEFAULT_LIMITS)).toBe(quickGraphKey(stored, DEFAULT_LIMITS));
    expect(fastCheck('jacobian', { graph: stored, args: { x: [1, 2] } }, DEFAULT_LIMITS, MODES, cache, false)).toBeDefined();
    const again = await jacobian({ graphId: id, args: { x: [1, 2] } }, { cache, graphStore });
    expect(again.jacobian).toEqual(first.jacobian);
    expect(again.stats.cache).toBe('hit');
  });
});

describe('a graph object sent again', () => {
  const fresh = () => ({
    inputs: [{ name: 'x', shape: [3] }],
    nodes: [
      { id: 'c', op: 'const', value: [1, 2, 3] },
      { id: 'y', op: 'mul', args: ['x', 'c'] },
    ],
    outputs: ['y'],
  });

  test('keeps its key while it holds the same, and gets the right one after any change', async () => {
    const { quickGraphKey } = await import('../src/graph/plan-cache.js');
    const key = (g: unknown) => quickGraphKey(g, DEFAULT_LIMITS);
    const g: Record<string, any> = fresh(); // eslint-disable-line @typescript-eslint/no-explicit-any
    const first = key(g);
    expect(key(g)).toBe(first);
    const changes: [string, (h: Record<string, any>) => void][] = [
      // eslint-disable-line @typescript-eslint/no-explicit-any
      ['a number', (h) => void (h.nodes[0].value[1] = 5)],
      ['-0, which JSON cannot write', (h) => void (h.nodes[0].value[1] = -0)],
      ['NaN', (h) => void (h.nodes[0].value[1] = Number.NaN)],
      ['a key order', (h) => void (h.nodes[1] = { op: 'mul', id: 'y', args: ['x', 'c'] })],
      ['a new key', (h) => void (h.nodes[1].extra = 1)],
      ['an undefined value', (h) => void (h.nodes[1].extra = undefined)],
      ['a string', (h) => void (h.outputs[0] = 'c')],
      ['an array length', (h) => void h.nodes[0].value.push(4)],
      ['a hole', (h) => void (h.nodes[0].value.length = 4)],
      ['a prototype', (h) => void Object.setPrototypeOf(h.nodes[0], { op: 'const' })],
    ];
    for (const [what, change] of changes) {
      const h = fresh();
      expect(key(h), what).toBe(first);
      expect(key(h), what).toBe(first);
      change(h);
      // what a graph object never seen before, changed the same way, gets
      const other = fresh();
      change(other);
      expect(key(h), what).toBe(key(other));
      expect(key(h), what).not.toBe(first);
    }
  });

  test('a graph changed in place between calls computes with what it holds now', async () => {
    const cache = new PlanCache(1 << 24);
    const g = fresh();
    const request = { graph: g, args: { x: [1, 1, 1] } };
    expect((await evaluate(request, { cache })).values.y).toEqual([1, 2, 3]);
    (g.nodes[0].value as number[])[2] = 7;
    expect((await evaluate(request, { cache })).values.y).toEqual([1, 2, 7]);
  });
});
