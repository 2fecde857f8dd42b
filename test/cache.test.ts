/**
 * The plan cache: a graph resent (also with JSON keys and nodes reordered) is a hit,
 * any real change is a miss, a changed literal changes the result, and the cache is
 * bounded by bytes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { DerivdError, PlanCache, jacobian, evaluate, gradient } from '../src/index.js';
import { isGraphCached } from '../src/api/index.js';

const graph = JSON.parse(readFileSync(new URL('./fixtures/seed-rs.graph.json', import.meta.url), 'utf8'));
const x = Array.from({ length: 21 }, (_, i) => i - 10);
const d = x.map((xi, i) => Math.exp(-1.5 * (xi - 0.3) ** 2) + 0.01 * Math.sin(i));
const request = (g: unknown = graph, extra: object = {}) => ({ graph: g, args: { d, xs: 0.1 }, constant: ['d'], ...extra });

/** Every object's keys in reverse order, recursively (JSON means the same). */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, reverseKeys(x)]),
    );
  return v;
}

describe('plan cache', () => {
  test('the same graph resent is a hit, and gives the same numbers', async () => {
    const cache = new PlanCache(1 << 24);
    const first = await jacobian(request(), { cache });
    const second = await jacobian(request(), { cache });
    expect([first.stats.cache, second.stats.cache]).toEqual(['miss', 'hit']);
    expect(second.jacobian).toEqual(first.jacobian);
    expect([cache.hits, cache.misses, cache.size]).toEqual([1, 1, 1]);
  });

  test('reordered JSON keys and a reordered node array are still a hit', async () => {
    const cache = new PlanCache(1 << 24);
    const first = await jacobian(request(), { cache });
    const shuffled = { ...graph, nodes: [...graph.nodes].reverse() };
    const res = await jacobian(request(reverseKeys(shuffled)), { cache });
    expect(res.stats.cache).toBe('hit');
    expect(res.jacobian).toEqual(first.jacobian);
  });

  test('every real change is a miss', async () => {
    const cache = new PlanCache(1 << 24);
    await jacobian(request(), { cache });
    const changedLiteral = { ...graph, nodes: graph.nodes.map((n: { id: string }) => (n.id === 'a' ? { ...n, args: [-1.25, 't2'] } : n)) };
    const changedConst = {
      ...graph,
      nodes: graph.nodes.map((n: { id: string; value?: number[] }) => (n.id === 'x' ? { ...n, value: n.value!.map((v) => v + 1) } : n)),
    };
    const changedShape = {
      ...graph,
      inputs: [
        { name: 'd', shape: [21] },
        { name: 'xs', shape: [1] },
      ],
    };
    const scalar = {
      ...graph,
      nodes: [...graph.nodes, { id: 'r2', op: 'square', args: ['r'] }, { id: 's', op: 'sum', args: ['r2'] }],
      outputs: ['r', 's'],
    };
    expect((await jacobian(request(changedLiteral), { cache })).stats.cache).toBe('miss');
    expect((await jacobian(request(changedConst), { cache })).stats.cache).toBe('miss');
    expect((await jacobian({ ...request(changedShape), args: { d, xs: [0.1] } }, { cache })).stats.cache).toBe('miss');
    // same graph, other constant set or output subset: the graph's checks are reused, but the plan is new
    expect((await jacobian(request(graph, { constant: [] }), { cache })).stats.cache).toBe('miss');
    expect((await jacobian(request(graph, { constant: [] }), { cache })).stats.cache).toBe('hit');
    expect((await gradient(request(scalar, { outputs: ['s'] }), { cache })).stats.cache).toBe('miss');
    expect((await jacobian(request(scalar, { outputs: ['r'] }), { cache })).stats.cache).toBe('miss');
  });

  test('changing a literal changes the result (nothing stale is served)', async () => {
    const cache = new PlanCache(1 << 24);
    const g = (k: number) => ({ inputs: [{ name: 'x', shape: [] }], nodes: [{ id: 'y', op: 'mul', args: [k, 'x'] }], outputs: ['y'] });
    const a = await jacobian({ graph: g(2), args: { x: 1 } }, { cache });
    const b = await jacobian({ graph: g(3), args: { x: 1 } }, { cache });
    const c = await evaluate({ graph: g(-0), args: { x: 1 } }, { cache });
    const e = await evaluate({ graph: g(0), args: { x: 1 } }, { cache });
    expect([a.jacobian!.y.x, b.jacobian!.y.x]).toEqual([2, 3]);
    expect(Object.is(c.values.y, -0) && Object.is(e.values.y, 0)).toBe(true);
  });

  test('argument values never come from the cache', async () => {
    const cache = new PlanCache(1 << 24);
    const g = { inputs: [{ name: 'x', shape: [2] }], nodes: [{ id: 'y', op: 'exp', args: ['x'] }], outputs: ['y'] };
    await evaluate({ graph: g, args: { x: [0, 1] } }, { cache });
    const res = await evaluate({ graph: g, args: { x: [1, 2] } }, { cache });
    expect(res.stats.cache).toBe('hit');
    expect(res.values.y).toEqual([Math.exp(1), Math.exp(2)]);
  });

  test('is bounded by bytes, evicting the least recently used graph', async () => {
    const g = (k: number) => ({ inputs: [], nodes: [{ id: 'c', op: 'const', value: new Array(1000).fill(k) }], outputs: ['c'] });
    // room for three entries of this size (const data, equations, key, plan, and the code compiled
    // on the second run with its buffers, as the cache counts them)
    const twice = async (k: number, cache: PlanCache): Promise<void> => {
      for (let i = 0; i < 2; i++) await evaluate({ graph: g(k), args: {} }, { cache });
    };
    const probe = new PlanCache(1 << 24);
    await twice(9, probe);
    const cache = new PlanCache(3.5 * probe.bytes);
    for (const k of [1, 2, 3]) await twice(k, cache);
    expect(cache.size).toBe(3);
    await evaluate({ graph: g(1), args: {} }, { cache }); // 1 is now the most recent
    await twice(4, cache); // evicts 2, the least recent
    expect(cache.size).toBe(3);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
    expect((await evaluate({ graph: g(1), args: {} }, { cache })).stats.cache).toBe('hit');
    expect((await evaluate({ graph: g(2), args: {} }, { cache })).stats.cache).toBe('miss');
    const tiny = new PlanCache(100);
    await evaluate({ graph: g(5), args: {} }, { cache: tiny });
    expect(tiny.size).toBe(0); // too big to keep: used once, not cached
  });

  test('isGraphCached looks without touching: no hit or miss counted', async () => {
    const cache = new PlanCache(1 << 24);
    expect(isGraphCached(request(graph), { cache })).toBe(false);
    await jacobian(request(graph), { cache });
    const { hits, misses } = cache;
    expect(isGraphCached(request(graph), { cache })).toBe(true);
    expect(isGraphCached({ ...request(graph), graph: { ...graph, nodes: [...graph.nodes].reverse() } }, { cache })).toBe(true);
    expect(isGraphCached({ graph: 'nonsense' }, { cache })).toBe(false);
    expect(isGraphCached(request(graph), { cache: false })).toBe(false);
    expect([cache.hits, cache.misses]).toEqual([hits, misses]);
  });

  test('invalid graphs are never cached, and errors are the same on every try', async () => {
    const cache = new PlanCache(1 << 24);
    const bad = { ...graph, nodes: [...graph.nodes, { id: 'loop', op: 'neg', args: ['loop'] }] };
    const a = await jacobian(request(bad), { cache }).catch((e) => e);
    const b = await jacobian(request(bad), { cache }).catch((e) => e);
    // both rejected (a result has no issues either, so undefined against undefined would pass)
    expect([a, b].map((e) => e instanceof DerivdError && e.kind)).toEqual(['invalid_graph', 'invalid_graph']);
    expect(a.issues).toEqual([{ path: 'graph.nodes[10]', message: expect.stringContaining('cycle') }]);
    expect(b.issues).toEqual(a.issues);
    expect(cache.size).toBe(0);
  });
});
