/**
 * Stored graphs over HTTP: POST /v1/graphs (201, then 200; Location; the summary),
 * GET /v1/graphs/{id}, 404 unknown-graph for an id stored nowhere, and
 * POST /v1/graphs/{id}/<operation> answering exactly what POST /v1/<operation>
 * answers with the graph inline (bodies compared without timings and the cache
 * flag, on random graphs, inline and through the worker pool). API keys apply.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { newKey } from '../helpers/access.js';
import { randomGraphCase, withScalarOutput, type GraphCase } from '../helpers/random-graph.js';
import { metric, useApps } from '../helpers/server.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const OPS = ['evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp'] as const;
type Op = (typeof OPS)[number];

const appWith = useApps();
type App = Awaited<ReturnType<typeof appWith>>['app'];

const graph = {
  inputs: [{ name: 'x', shape: [2] }],
  nodes: [
    { id: 'y', op: 'square', args: ['x'] },
    { id: 's', op: 'sum', args: ['y'] },
  ],
  outputs: ['s'],
};

const register = (app: App, g: unknown) => app.inject({ method: 'POST', url: '/v1/graphs', payload: { graph: g } });

/** The call of `op` on a case, without its graph (the graph of gradient, hessian and hvp has a scalar output). */
function callOf(c: GraphCase, op: Op): { graph: unknown; call: Json } {
  const s = ['gradient', 'hessian', 'hvp'].includes(op) ? withScalarOutput(c, 'sumsq') : c;
  const call: Json = { args: s.args, constant: s.constant };
  if (op === 'jvp') call.tangents = s.tangents;
  if (op === 'vjp') call.cotangents = s.cotangents;
  if (op === 'hvp') call.vector = s.vector;
  return { graph: s.graph, call };
}

/** A response as compared: status, and the body without timings, the cache flag or the request id. */
function comparable(res: { statusCode: number; json: () => Json }): Json {
  const body = res.json();
  if (res.statusCode !== 200) return { status: res.statusCode, type: body.type, errors: body.errors };
  return { status: 200, ...body, timings: undefined, stats: { ...body.stats, cache: undefined } };
}

async function expectSameAnswers(app: App, c: GraphCase): Promise<void> {
  for (const op of OPS) {
    const { graph: g, call } = callOf(c, op);
    const stored = await register(app, g);
    expect(stored.statusCode, stored.body).toBeLessThan(202);
    const id = stored.json().id as string;
    const inline = await app.inject({ method: 'POST', url: `/v1/${op}`, payload: { graph: g, ...call } });
    const byId = await app.inject({ method: 'POST', url: `/v1/graphs/${id}/${op}`, payload: call });
    expect(comparable(byId), `${op} on ${JSON.stringify(g)}`).toEqual(comparable(inline));
    if (byId.statusCode === 200) expect(byId.headers['server-timing']).toMatch(/validate;dur=.*total;dur=/);
  }
}

describe('POST /v1/graphs and GET /v1/graphs/{id}', () => {
  test('201 with the summary and Location, then 200 with the same id; GET returns the canonical graph', async () => {
    const { app } = await appWith({ workers: 0 });
    const first = await register(app, graph);
    expect(first.statusCode).toBe(201);
    const summary = first.json();
    expect(summary).toEqual({ id: expect.stringMatching(/^[0-9a-f]{64}$/), inputs: [{ name: 'x', shape: [2] }], outputs: ['s'], nodes: 2 });
    expect(first.headers.location).toBe(`/v1/graphs/${summary.id}`);
    const again = await register(app, { outputs: ['s'], nodes: [...graph.nodes].reverse(), inputs: graph.inputs });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(summary);
    expect(again.headers.location).toBe(first.headers.location);

    const got = await app.inject({ method: 'GET', url: `/v1/graphs/${summary.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual({
      ...summary,
      graph: { inputs: graph.inputs, nodes: [graph.nodes[1], graph.nodes[0]], outputs: ['s'] }, // nodes sorted by id
    });
  });

  test('an invalid graph gets the problem a call with it inline gets; extra fields are 400', async () => {
    const { app } = await appWith({ workers: 0 });
    const broken = { ...graph, nodes: [{ id: 's', op: 'sum', args: ['s'] }] };
    const stored = await register(app, broken);
    const inline = await app.inject({ method: 'POST', url: '/v1/evaluate', payload: { graph: broken, args: { x: [1, 2] } } });
    expect(stored.statusCode).toBe(422);
    expect(comparable(stored)).toEqual(comparable(inline));
    const extra = await app.inject({ method: 'POST', url: '/v1/graphs', payload: { graph, args: {} } });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().errors).toEqual([{ path: 'args', message: 'unexpected field "args": expected only "graph"' }]);
    const none = await app.inject({ method: 'POST', url: '/v1/graphs', payload: {} });
    expect(none.statusCode).toBe(400);
    expect(none.json().errors[0].path).toBe('graph');
  });

  test('an id stored nowhere is 404 unknown-graph, on GET and on every operation', async () => {
    const { app } = await appWith({ workers: 0 });
    for (const id of ['0'.repeat(64), 'not-an-id']) {
      const got = await app.inject({ method: 'GET', url: `/v1/graphs/${id}` });
      expect(got.statusCode).toBe(404);
      expect(got.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(got.json()).toMatchObject({ type: 'urn:derivd:problem:unknown-graph', status: 404, errors: [{ path: 'graphId' }] });
      for (const op of OPS) {
        const res = await app.inject({ method: 'POST', url: `/v1/graphs/${id}/${op}`, payload: { args: { x: [1, 2] } } });
        expect(res.statusCode).toBe(404);
        expect(res.json().type).toBe('urn:derivd:problem:unknown-graph');
      }
    }
    const inBody = await app.inject({ method: 'POST', url: '/v1/evaluate', payload: { graphId: 'a'.repeat(64), args: {} } });
    expect(inBody.statusCode).toBe(404);
  });

  test('a call on a stored graph carries no graph of its own (400); graphId in a /v1 body works too', async () => {
    const { app } = await appWith({ workers: 0 });
    const id = (await register(app, graph)).json().id;
    const res = await app.inject({ method: 'POST', url: `/v1/graphs/${id}/evaluate`, payload: { graph, args: { x: [1, 2] } } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ path: 'graph', message: 'unexpected field "graph": the URL names the stored graph' }]);
    const viaBody = await app.inject({ method: 'POST', url: '/v1/gradient', payload: { graphId: id, args: { x: [1, 2] } } });
    expect(viaBody.statusCode).toBe(200);
    expect(viaBody.json().gradient).toEqual({ x: [2, 4] });
  });

  test('API keys apply to /v1/graphs like every /v1 route', async () => {
    const { key, digest } = newKey();
    const { app } = await appWith({ workers: 0, apiKeyDigests: [digest] });
    expect((await register(app, graph)).statusCode).toBe(401);
    const ok = await app.inject({ method: 'POST', url: '/v1/graphs', payload: { graph }, headers: { authorization: `Bearer ${key}` } });
    expect(ok.statusCode).toBeLessThan(202);
    const id = ok.json().id;
    expect((await app.inject({ method: 'GET', url: `/v1/graphs/${id}` })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: `/v1/graphs/${id}/evaluate`, payload: { args: { x: [1, 2] } } })).statusCode).toBe(401);
  });
});

test('rate limits count /v1/graphs requests like every /v1 request', async () => {
  const { app } = await appWith({ workers: 0, rateLimitPerMinute: 2 });
  const id = (await register(app, graph)).json().id;
  expect((await app.inject({ method: 'GET', url: `/v1/graphs/${id}` })).statusCode).toBe(200);
  const third = await app.inject({ method: 'POST', url: `/v1/graphs/${id}/evaluate`, payload: { args: { x: [1, 2] } } });
  expect(third.statusCode).toBe(429);
  expect(third.json().type).toBe('urn:derivd:problem:rate-limited');
});

test('a graph over half of GRAPH_STORE_BYTES is refused with 413', async () => {
  const { app } = await appWith({ workers: 0, graphStoreBytes: 1024 * 1024 });
  const nodes = Array.from({ length: 5000 }, (_, i) => ({ id: `n${i}`, op: 'add', args: [i === 0 ? 'x' : `n${i - 1}`, 1] }));
  const res = await register(app, { inputs: [{ name: 'x', shape: [] }], nodes, outputs: ['n4999'] });
  expect(res.statusCode).toBe(413);
  expect(res.json().errors[0]).toMatchObject({ path: 'graph', message: expect.stringMatching(/over half the graph store/) });
});

describe('POST /v1/graphs/{id}/<operation> answers what POST /v1/<operation> does', () => {
  test('on random graphs, every operation, inline', async () => {
    const { app } = await appWith({ workers: 0 });
    const cases = fc.sample(randomGraphCase({ maxNodes: 12 }), { numRuns: 25, seed: 20_251_202 });
    for (const c of cases) await expectSameAnswers(app, c);
  });

  test('through the worker pool (every call pooled), and with a body too large to parse on the event loop', async () => {
    const a = await appWith({ workers: 1, inlineMaxCostMs: 0 });
    const { app } = a;
    const cases = fc.sample(randomGraphCase({ maxNodes: 8 }), { numRuns: 3, seed: 7 });
    for (const c of cases) await expectSameAnswers(app, c);
    // inlineMaxCostMs 0: every body is kept as text (raw-body.ts); the worker adds the stored graph
    const id = (await register(app, graph)).json().id;
    const res = await app.inject({ method: 'POST', url: `/v1/graphs/${id}/gradient`, payload: { args: { x: [1, 2] } } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().gradient).toEqual({ x: [2, 4] });
    const withGraph = await app.inject({ method: 'POST', url: `/v1/graphs/${id}/gradient`, payload: { graph, args: { x: [1, 2] } } });
    expect(withGraph.statusCode).toBe(400);
    expect(await metric(a, 'derivd_computations_total', { where: 'inline' })).toBe(0);
    expect(await metric(a, 'derivd_computations_total', { where: 'pool' })).toBeGreaterThan(40);
  }, 60_000);
});
