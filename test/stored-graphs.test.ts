/**
 * Stored graphs in the library: the id (SHA-256 of the canonical form: JCS of the
 * graph with its nodes sorted by id), registerGraph's validation (the same errors
 * as a request with the graph inline), `graphId` in place of `graph` for every
 * operation, unknown ids, the LRU store, and the plan-cache hit of a stored graph.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalGraph,
  DerivdError,
  GraphStore,
  graphIdOf,
  operations,
  OPERATIONS,
  PlanCache,
  registerGraph,
  type Operation,
  type NodeGraph,
} from '../src/index.js';
import { storedFromText } from '../src/api/index.js';

const graph: NodeGraph = {
  inputs: [
    { name: 'x', shape: [2] },
    { name: 'w', shape: [2] },
  ],
  nodes: [
    { id: 'p', op: 'mul', args: ['x', 'w'] },
    { id: 'e', op: 'exp', args: ['p'] },
    { id: 's', op: 'sum', args: ['e'] },
  ],
  outputs: ['s'],
};
const args = { x: [0.5, -1], w: [2, 0.25] };
const extra: Record<Operation, object> = {
  evaluate: {},
  jacobian: {},
  gradient: {},
  jvp: { tangents: { x: [1, 0], w: [0, 1] } },
  vjp: { cotangents: { s: 2 } },
  hessian: {},
  hvp: { vector: { x: [1, 2], w: [3, 4] } },
};

/** The same graph with every object's keys reversed and the nodes in another order. */
function shuffled(g: NodeGraph): NodeGraph {
  const rev = (o: object): Record<string, unknown> => Object.fromEntries(Object.entries(o).reverse());
  return rev({ ...g, nodes: [...g.nodes].reverse().map(rev), inputs: g.inputs.map(rev) }) as unknown as NodeGraph;
}

const withoutTimings = (r: object): object => ({
  ...r,
  timings: undefined,
  stats: { ...(r as { stats: object }).stats, cache: undefined },
});

describe('the id', () => {
  it('is the SHA-256 of the JCS text of the graph with its nodes sorted by id', () => {
    const text =
      '{"inputs":[{"name":"x","shape":[2]},{"name":"w","shape":[2]}],"nodes":[{"args":["p"],"id":"e","op":"exp"},' +
      '{"args":["x","w"],"id":"p","op":"mul"},{"args":["e"],"id":"s","op":"sum"}],"outputs":["s"]}';
    expect(canonicalGraph(graph)).toBe(text);
    const id = createHash('sha256').update(text).digest('hex');
    expect(graphIdOf(text)).toBe(id);
    expect(registerGraph(graph, { graphStore: new GraphStore(1 << 20) })).toBe(id);
  });

  it('does not depend on key order or node order, but on input order, output order and every value', () => {
    const store = new GraphStore(1 << 20);
    const id = registerGraph(graph, { graphStore: store });
    expect(registerGraph(shuffled(graph), { graphStore: store })).toBe(id);
    expect(registerGraph({ ...graph, inputs: [...graph.inputs].reverse() }, { graphStore: store })).not.toBe(id);
    const twoOutputs = { ...graph, outputs: ['s', 'e'] };
    expect(registerGraph(twoOutputs, { graphStore: store })).not.toBe(
      registerGraph({ ...twoOutputs, outputs: ['e', 's'] }, { graphStore: store }),
    );
    const literal = { ...graph, nodes: [...graph.nodes, { id: 'k', op: 'add', args: ['s', 1.5] }], outputs: ['k'] };
    expect(registerGraph(literal, { graphStore: store })).not.toBe(
      registerGraph({ ...literal, nodes: [...graph.nodes, { id: 'k', op: 'add', args: ['s', 1.25] }] }, { graphStore: store }),
    );
    expect(store.size).toBe(6);
  });

  it('writes numbers as JSON.stringify does (JCS) and sorts keys by UTF-16 code units', () => {
    const g = {
      inputs: [{ name: 'é', shape: [] }],
      nodes: [
        { id: 'b', op: 'mul', args: ['é', 1e21] },
        { id: 'a', op: 'add', args: ['b', 1e-7] },
        { id: 'Z', op: 'add', args: ['a', -0] },
      ],
      outputs: ['Z'],
    } as NodeGraph;
    expect(canonicalGraph(g)).toBe(
      '{"inputs":[{"name":"é","shape":[]}],"nodes":[{"args":["a",0],"id":"Z","op":"add"},{"args":["b",1e-7],"id":"a","op":"add"},' +
        '{"args":["é",1e+21],"id":"b","op":"mul"}],"outputs":["Z"]}',
    );
  });
});

describe('registerGraph', () => {
  it('refuses an invalid graph with the error a request with it inline gets', async () => {
    const broken: unknown[] = [
      { ...graph, nodes: [...graph.nodes, { id: 'q', op: 'no_such_op', args: ['x'] }] }, // invalid_request
      { ...graph, nodes: [...graph.nodes.slice(0, 2), { id: 's', op: 'sum', args: ['s'] }] }, // invalid_graph: a cycle
      { ...graph, outputs: ['nothing'] }, // invalid_graph: unknown output
      {
        ...graph,
        inputs: [
          { name: 'x', shape: [2] },
          { name: 'w', shape: 'two' },
        ],
      }, // invalid_request
    ];
    for (const g of broken) {
      let registered: unknown;
      try {
        registerGraph(g, { graphStore: new GraphStore(1 << 20) });
      } catch (err) {
        registered = err;
      }
      expect(registered).toBeInstanceOf(DerivdError);
      const inline = await operations.evaluate({ graph: g, args }).catch((err: unknown) => err);
      expect(inline).toBeInstanceOf(DerivdError);
      expect({ kind: (registered as DerivdError).kind, issues: (registered as DerivdError).issues }).toEqual({
        kind: (inline as DerivdError).kind,
        issues: (inline as DerivdError).issues,
      });
    }
  });

  it('refuses a graph over MAX_NODES as a request would (limit_exceeded)', () => {
    const err = (() => {
      try {
        registerGraph(graph, { limits: { maxNodes: 2 } });
      } catch (e) {
        return e as DerivdError;
      }
    })();
    expect(err?.kind).toBe('limit_exceeded');
    expect(err?.issues[0].path).toBe('graph.nodes');
  });
});

describe('graphId in place of graph', () => {
  it.each(OPERATIONS)('%s returns what the same request with the graph inline returns', async (op) => {
    const id = registerGraph(graph);
    const byId = await operations[op]({ graphId: id, args, ...extra[op] });
    const inline = await operations[op]({ graph, args, ...extra[op] });
    expect(withoutTimings(byId)).toEqual(withoutTimings(inline));
  });

  it('an unknown id is unknown_graph at graphId; a malformed one and both fields are invalid_request', async () => {
    const unknown = await operations.evaluate({ graphId: 'f'.repeat(64), args }, { graphStore: new GraphStore(1 << 20) }).catch((e) => e);
    expect(unknown).toBeInstanceOf(DerivdError);
    expect(unknown).toMatchObject({ kind: 'unknown_graph', issues: [{ path: 'graphId' }] });
    const malformed = await operations.evaluate({ graphId: 'F'.repeat(64), args }).catch((e) => e);
    expect(malformed).toMatchObject({ kind: 'invalid_request', issues: [{ path: 'graphId' }] });
    const both = await operations.evaluate({ graph, graphId: registerGraph(graph), args }).catch((e) => e);
    expect(both).toMatchObject({
      kind: 'invalid_request',
      issues: [{ path: 'graphId', message: 'expected either graph or graphId, found both' }],
    });
  });

  it('uses the store given in the options', async () => {
    const mine = new GraphStore(1 << 20);
    const id = registerGraph({ ...graph, outputs: ['e'] }, { graphStore: mine });
    await expect(operations.evaluate({ graphId: id, args }, { graphStore: mine })).resolves.toMatchObject({
      values: { e: [Math.E, Math.exp(-0.25)] },
    });
    await expect(operations.evaluate({ graphId: id, args })).rejects.toMatchObject({ kind: 'unknown_graph' });
  });

  it('a stored graph is a plan-cache hit from its first call: registering put it there', async () => {
    const cache = new PlanCache(1 << 26);
    const id = registerGraph(graph, { cache });
    expect(cache.size).toBe(1);
    await operations.gradient({ graphId: id, args }, { cache });
    expect([cache.hits, cache.misses]).toEqual([1, 0]);
    const again = await operations.gradient({ graphId: id, args }, { cache });
    expect(again.stats.cache).toBe('hit');
    // and the graph inline, in another key and node order, finds the same entry
    const inline = await operations.gradient({ graph: shuffled(graph), args }, { cache });
    expect(inline.stats.cache).toBe('hit');
    expect(cache.size).toBe(1);
  });
});

describe('GraphStore', () => {
  const entry = (n: number) => storedFromText(canonicalGraph({ ...graph, outputs: ['s'], inputs: [{ name: `x${n}`, shape: [] }] }));

  it('is an LRU bounded by bytes (four per character of the canonical text)', () => {
    const one = entry(0);
    expect(one.bytes).toBe(4 * one.text.length);
    const store = new GraphStore(3 * one.bytes + 10);
    const [a, b, c, d] = [entry(1), entry(2), entry(3), entry(4)];
    for (const e of [a, b, c]) expect(store.set(e)).toBe(true);
    expect(store.get(a.id)).toBe(a); // a is now the most recently used
    store.set(d);
    expect([store.has(a.id), store.has(b.id), store.has(c.id), store.has(d.id)]).toEqual([true, false, true, true]);
    expect(store.bytes).toBe(a.bytes + c.bytes + d.bytes);
  });

  it('keeps the order of use when the most recent graph is asked for again and again', () => {
    const one = entry(0);
    const store = new GraphStore(3 * one.bytes + 10);
    const [a, b, c, d, e] = [entry(1), entry(2), entry(3), entry(4), entry(5)];
    for (const x of [a, b, c]) store.set(x);
    store.get(c.id); // already the most recent: stays so
    store.get(a.id);
    store.get(a.id);
    store.set(d); // b is the least recent
    expect([a, b, c, d].map((x) => store.has(x.id))).toEqual([true, false, true, true]);
    store.delete(d.id); // the most recent leaves
    store.get(c.id); // now c is the most recent, a the least
    store.set(e);
    store.set(b);
    expect([a, b, c, d, e].map((x) => store.has(x.id))).toEqual([false, true, true, false, true]);
  });

  it('keeps no graph over half its size, and registerGraph says so (limit_exceeded)', () => {
    const store = new GraphStore(100);
    expect(store.set(entry(1))).toBe(false);
    expect(() => registerGraph(graph, { graphStore: store })).toThrow(/over half the graph store/);
  });
});
