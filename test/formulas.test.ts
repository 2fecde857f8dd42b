/**
 * The seed problem written as formulas: the same Jacobian as the hand-written
 * node graph (test/fixtures/seed-rs.graph.json), as the analytic derivative and
 * as central differences of the formulas' own values, with d constant; explain's
 * answer for it; and the same over HTTP: POST /v1/jacobian, POST /v1/explain,
 * stored graphs with define, and the problems bad formulas get.
 */
import { describe, expect, test } from 'vitest';
import { evaluate, explain, jacobian, PlanCache, registerGraph, GraphStore } from '../src/index.js';
import { expectClose } from './helpers/numeric.js';
import { d, drdxs, graph as nodeGraph, rRef, xs } from './helpers/seed.js';
import { useApps } from './helpers/server.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The seed as two formulas, x as a range: no nodes at all. */
const formulaGraph = {
  inputs: [
    { name: 'd', shape: [21] },
    { name: 'xs', shape: [] },
  ],
  define: {
    r: 'd - dot(d, f)/dot(f, f)*f',
    f: 'exp(-1.5*(x - xs)^2)',
    x: 'range(start=-10, stop=11)',
  },
  outputs: ['r'],
};

describe('the seed as formulas (library)', () => {
  test('the same values and Jacobian as the node graph, bit for bit, and the analytic derivative', async () => {
    const a = await jacobian({ graph: formulaGraph, args: { d, xs }, constant: ['d'] });
    const b = await jacobian({ graph: nodeGraph, args: { d, xs }, constant: ['d'] });
    expect(a.values).toEqual(b.values);
    expect(a.jacobian).toEqual(b.jacobian);
    expect(Object.keys(a.jacobian!.r)).toEqual(['xs']);
    expectClose(a.values.r as number[], rRef, 1e-12);
    expectClose(a.jacobian!.r.xs as number[], drdxs, 1e-12);
    expect(a.mode).toBe('forward');
    expect(a.stats.directions).toBe(1);
  });

  test('against central differences of the formulas themselves', async () => {
    const h = 1e-6;
    const at = async (v: number) => (await evaluate({ graph: formulaGraph, args: { d, xs: v } })).values.r as number[];
    const [up, down] = [await at(xs + h), await at(xs - h)];
    const fd = up.map((u, i) => (u - down[i]) / (2 * h));
    const res = await jacobian({ graph: formulaGraph, args: { d, xs }, constant: ['d'], mode: 'reverse' });
    expectClose(res.jacobian!.r.xs as number[], fd, 1e-7);
  });

  test('explain: forward with 1 direction when d is constant, every generated node traced to its formula', () => {
    const e = explain({ graph: formulaGraph, args: { d, xs }, constant: ['d'] }, { cache: false });
    expect(e.operation).toBe('jacobian');
    expect(e.mode).toBe('forward');
    expect(e.reason).toMatch(/^1 active input element vs 21 output elements; forward estimated at/);
    expect(e.directions).toBe(1);
    expect(e.inputs).toEqual([
      { name: 'd', shape: [21], active: false },
      { name: 'xs', shape: [], active: true },
    ]);
    expect(e.outputs).toEqual([{ name: 'r', shape: [21] }]);
    const brief = e.nodes.map(({ id, op, args, shape, active, from }) => ({ id, op, args, shape, active, from }));
    expect(brief).toEqual([
      { id: 'r/1', op: 'dot', args: ['d', 'f'], shape: [], active: true, from: 'graph.define.r' },
      { id: 'r/2', op: 'dot', args: ['f', 'f'], shape: [], active: true, from: 'graph.define.r' },
      { id: 'r/3', op: 'div', args: ['r/1', 'r/2'], shape: [], active: true, from: 'graph.define.r' },
      { id: 'r/4', op: 'mul', args: ['r/3', 'f'], shape: [21], active: true, from: 'graph.define.r' },
      { id: 'r', op: 'sub', args: ['d', 'r/4'], shape: [21], active: true, from: 'graph.define.r' },
      { id: 'f/1', op: 'sub', args: ['x', 'xs'], shape: [21], active: true, from: 'graph.define.f' },
      { id: 'f/2', op: 'square', args: ['f/1'], shape: [21], active: true, from: 'graph.define.f' },
      { id: 'f/3', op: 'mul', args: [-1.5, 'f/2'], shape: [21], active: true, from: 'graph.define.f' },
      { id: 'f', op: 'exp', args: ['f/3'], shape: [21], active: true, from: 'graph.define.f' },
      { id: 'x', op: 'range', args: undefined, shape: [21], active: false, from: 'graph.define.x' },
    ]);
    expect(e.nodes.at(-1)).toMatchObject({ start: -10, stop: 11 });
  });

  test('explain: with d active, forward pushes 22 directions; gradient of a scalar picks reverse', () => {
    const e = explain({ graph: formulaGraph, args: { d, xs }, operation: 'jacobian', mode: 'forward' }, { cache: false });
    expect(e.mode).toBe('forward');
    expect(e.reason).toBe('mode "forward" was requested');
    expect(e.directions).toBe(22);
    const scalar = { ...formulaGraph, define: { ...formulaGraph.define, s: 'sum(r^2)' }, outputs: ['s'] };
    const g = explain({ graph: scalar, args: { d, xs }, operation: 'gradient' }, { cache: false });
    expect(g.mode).toBe('reverse');
    expect(g.directions).toBe(1);
    expect(g.outputs).toEqual([{ name: 's', shape: [] }]);
  });

  test('explain refuses what the operation refuses, with the same problems', () => {
    expect(() => explain({ graph: formulaGraph, args: { d }, operation: 'jacobian' })).toThrow(
      'args.xs: missing argument "xs" of shape []',
    );
    expect(() => explain({ graph: formulaGraph, args: { d, xs }, operation: 'integrate' })).toThrow(/^operation: expected one of/);
    expect(() => explain({ graph: formulaGraph, args: { d, xs }, operation: 'gradient' })).toThrow(/gradient needs a scalar output/);
  });

  test('a stored graph keeps define as written; a call by id gives the same Jacobian', async () => {
    const graphStore = new GraphStore(1 << 20);
    const cache = new PlanCache(1 << 24);
    const id = registerGraph(formulaGraph, { graphStore, cache });
    expect(graphStore.get(id)?.graph).toEqual(formulaGraph);
    const byId = await jacobian({ graphId: id, args: { d, xs }, constant: ['d'] }, { graphStore, cache });
    const inline = await jacobian({ graph: nodeGraph, args: { d, xs }, constant: ['d'] });
    expect(byId.jacobian).toEqual(inline.jacobian);
    expect(explain({ graphId: id, args: { d, xs }, constant: ['d'] }, { graphStore, cache }).directions).toBe(1);
  });

  test('a repeated call is a plan-cache hit, and the definitions are keyed by content', async () => {
    const cache = new PlanCache(1 << 24);
    const first = await jacobian({ graph: formulaGraph, args: { d, xs }, constant: ['d'] }, { cache });
    const again = await jacobian({ graph: structuredClone(formulaGraph), args: { d, xs }, constant: ['d'] }, { cache });
    expect([first.stats.cache, again.stats.cache]).toEqual(['miss', 'hit']);
    const other = { ...formulaGraph, define: { ...formulaGraph.define, f: 'exp(-2*(x - xs)^2)' } };
    const changed = await jacobian({ graph: other, args: { d, xs }, constant: ['d'] }, { cache });
    expect(changed.stats.cache).toBe('miss');
    expect(changed.values).not.toEqual(first.values);
  });
});

describe('formulas and explain over HTTP', () => {
  const appWith = useApps();

  test('POST /v1/jacobian with formulas answers what the node graph gets', async () => {
    const { app } = await appWith();
    const post = (graph: unknown) =>
      app.inject({ method: 'POST', url: '/v1/jacobian', payload: { graph, args: { d, xs }, constant: ['d'] } });
    const [a, b] = [await post(formulaGraph), await post(nodeGraph)];
    expect(a.statusCode).toBe(200);
    expect(a.json().jacobian).toEqual(b.json().jacobian);
  });

  test('through the worker pool too: a formula graph handed to a worker gives the same answer', async () => {
    const { app } = await appWith({ workers: 1, inlineMaxCostMs: 0 });
    const body = { graph: formulaGraph, args: { d, xs }, constant: ['d'] };
    const pooled = await app.inject({ method: 'POST', url: '/v1/jacobian', payload: body });
    expect(pooled.statusCode).toBe(200);
    const inline = await jacobian({ graph: nodeGraph, args: { d, xs }, constant: ['d'] });
    expect(pooled.json().jacobian).toEqual(inline.jacobian);
    // an error found by the worker is the same problem
    const bad = { ...body, graph: { ...formulaGraph, define: { ...formulaGraph.define, r: 'd - dot(d, f)/dot(f, f)*g' } } };
    const res = await app.inject({ method: 'POST', url: '/v1/jacobian', payload: bad });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0].path).toBe('graph.define.r');
  });

  test('POST /v1/explain answers the explanation', async () => {
    const { app } = await appWith();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/explain',
      payload: { graph: formulaGraph, args: { d, xs }, constant: ['d'] },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json() as Json;
    expect(body).toMatchObject({ operation: 'jacobian', mode: 'forward', directions: 1, outputs: [{ name: 'r', shape: [21] }] });
    expect(body.nodes).toHaveLength(10);
    expect(body.nodes.find((n: Json) => n.id === 'f')).toEqual({
      id: 'f',
      op: 'exp',
      args: ['f/3'],
      shape: [21],
      active: true,
      from: 'graph.define.f',
    });
  });

  test('POST /v1/explain on a stored graph by graphId', async () => {
    const { app } = await appWith();
    const reg = await app.inject({ method: 'POST', url: '/v1/graphs', payload: { graph: formulaGraph } });
    expect(reg.statusCode).toBe(201);
    const { id } = reg.json() as Json;
    const res = await app.inject({ method: 'POST', url: '/v1/explain', payload: { graphId: id, args: { d, xs }, constant: ['d'] } });
    expect(res.statusCode).toBe(200);
    expect(res.json().directions).toBe(1);
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/explain',
      payload: { graphId: '0'.repeat(64), args: { d, xs } },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().errors[0].path).toBe('graphId');
  });

  test('a formula syntax error is a 400 naming the definition and the column; a shape error a 422', async () => {
    const { app } = await appWith();
    const bad = { ...formulaGraph, define: { ...formulaGraph.define, f: 'exp(-1.5*(x - xs)^2))' } };
    for (const url of ['/v1/jacobian', '/v1/explain']) {
      const res = await app.inject({ method: 'POST', url, payload: { graph: bad, args: { d, xs }, constant: ['d'] } });
      expect(res.statusCode).toBe(400);
      expect(res.json().errors).toEqual([{ path: 'graph.define.f', message: 'unexpected ")" at column 21' }]);
    }
    const wrong = { ...formulaGraph, define: { ...formulaGraph.define, x: 'range(start=-10, stop=12)' } };
    const res = await app.inject({ method: 'POST', url: '/v1/explain', payload: { graph: wrong, args: { d, xs } } });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([
      { path: 'graph.define.r', message: 'dot: lengths of [21] and [22] differ (at column 5: "dot(d, f)")' },
    ]);
  });

  test('explain with an unknown operation is a 400', async () => {
    const { app } = await appWith();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/explain',
      payload: { graph: formulaGraph, args: { d, xs }, operation: 'solve' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe('operation');
  });
});
