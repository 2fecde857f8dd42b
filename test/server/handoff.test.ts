/**
 * A call the main thread validated and planned goes to the pool checked (issue 10,
 * item 6; api/handoff.ts): the worker gets the arguments as transferred buffers and
 * the plan-cache key of the graph, not the body, and answers exactly what the
 * inline path answers; a worker that has not seen the graph asks for it once;
 * `stats.cache` in the responses and `derivd_plan_cache_total` tell the same story
 * whichever thread checked; and `graphId` in a POST /v1/<operation> body works on
 * every path, a body parsed by a worker included.
 */
import { describe, expect, test, vi } from 'vitest';
import type { App } from '../../src/server/app.js';
import type { RunOptions } from '../../src/server/pool.js';
import type { GraphQuestion, PoolTask } from '../../src/server/worker.js';
import { sumSin } from '../helpers/requests.js';
import { metric, useApps, waitFor } from '../helpers/server.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const appWith = useApps();

/**
 * y = sin(x ⊙ w) · h and z = Σ y², where h = Σ (F F) for a 340 × 340 fill F: the
 * product (about 9 ms by the cost model) sends every call to the pool, while the
 * body stays small enough to be parsed and checked on the event loop. `tag` makes
 * a graph no earlier test has cached.
 */
const heavy = (tag: number) => ({
  inputs: [
    { name: 'x', shape: [3] },
    { name: 'w', shape: [3] },
  ],
  nodes: [
    { id: 'f', op: 'fill', shape: [340, 340], value: 0.001 * tag },
    { id: 'm', op: 'matmul', args: ['f', 'f'] },
    { id: 'h', op: 'sum', args: ['m'] },
    { id: 'p', op: 'mul', args: ['x', 'w'] },
    { id: 'q', op: 'sin', args: ['p'] },
    { id: 'y', op: 'mul', args: ['q', 'h'] },
    { id: 'yy', op: 'mul', args: ['y', 'y'] },
    { id: 'z', op: 'sum', args: ['yy'] },
  ],
  outputs: ['y', 'z'],
});

const base64 = (values: readonly number[], shape = [values.length]) => ({
  dtype: 'float64',
  shape,
  data: Buffer.from(Float64Array.from(values).buffer).toString('base64'),
});

const x = [0.1, -0.2, 0.3];
const w = [1.5, 2, -0.5];
const calls = (graph: unknown): [string, Json][] => [
  ['evaluate', { graph, args: { x, w } }],
  ['evaluate', { graph, args: { x: [0.1, 'NaN', 'Infinity'], w } }],
  ['jacobian', { graph, args: { x, w }, constant: ['w'] }],
  ['jacobian', { graph, args: { x: base64(x), w: base64(w) }, encoding: 'base64' }],
  ['gradient', { graph, args: { x, w }, outputs: ['z'] }],
  ['gradient', { graph, args: { x, w }, outputs: ['z'], mode: 'forward', check: true }],
  ['jvp', { graph, args: { x, w }, tangents: { x: [1, 0, -1], w: [0.5, 0.5, 0.5] } }],
  ['vjp', { graph, args: { x, w }, outputs: ['z', 'y'], cotangents: { y: [1, 2, 3], z: -1 } }],
  ['vjp', { graph, args: { x, w }, constant: ['x'], cotangents: { y: base64([1, 2, 3]), z: base64([2], []) } }],
  ['hessian', { graph, args: { x, w }, outputs: ['z'] }],
  ['hvp', { graph, args: { x, w }, outputs: ['z'], constant: ['w'], vector: { x: [1, 2, 3] } }],
];

/** Timings are each run's own, and whether the plan was cached depends on the thread's history. */
const strip = ({ timings: _t, stats: { cache: _c, ...stats }, ...rest }: Json) => ({ ...rest, stats });

/** Every task the pool is given, with the graph questions its worker asked. */
function watch(a: App): { tasks: Omit<PoolTask, 'started'>[]; questions: GraphQuestion[] } {
  const pool = a.pool as NonNullable<App['pool']>;
  const seen = { tasks: [] as Omit<PoolTask, 'started'>[], questions: [] as GraphQuestion[] };
  const run = pool.run.bind(pool);
  vi.spyOn(pool, 'run').mockImplementation((task, options: RunOptions = {}) => {
    seen.tasks.push(task);
    const graphs = options.graphs;
    return run(task, {
      ...options,
      graphs: graphs && ((q) => (seen.questions.push(q), graphs(q))),
    });
  });
  return seen;
}

const post = (op: string, payload: unknown) => ({ method: 'POST' as const, url: `/v1/${op}`, payload: payload as Json });

describe('pooled calls are handed over checked', () => {
  test('every operation, JSON and base64, constants, output subsets, check: the inline answers, computed from the handoff', async () => {
    const pooled = await appWith({ workers: 1 });
    const inline = await appWith({ workers: 0 });
    const seen = watch(pooled);
    const requests = calls(heavy(1));
    for (const [op, body] of requests) {
      const p = await pooled.app.inject(post(op, body));
      const i = await inline.app.inject(post(op, body));
      expect(p.statusCode, p.body).toBe(200);
      expect(i.statusCode, i.body).toBe(200);
      expect(strip(p.json()), `${op} ${JSON.stringify(body).slice(0, 200)}`).toEqual(strip(i.json()));
      expect(p.headers['server-timing']).toContain(`total;dur=${p.json().timings.totalMs.toFixed(3)}`);
    }
    expect(await metric(pooled, 'derivd_computations_total', { where: 'pool' })).toBe(requests.length);
    expect(await metric(pooled, 'derivd_computations_total', { where: 'inline' })).toBe(0);
    // The checked call, never the body: arguments as Float64Arrays, the graph by its cache key.
    expect(seen.tasks).toHaveLength(requests.length);
    for (const task of seen.tasks) {
      expect(task.body).toBeUndefined();
      expect(task.text).toBeUndefined();
      expect(task.handoff?.key).toEqual(expect.any(String));
      for (const t of task.handoff?.request.args ?? []) expect(t.data).toBeInstanceOf(Float64Array);
    }
    // one worker, one graph: it asked for the graph once
    expect(seen.questions).toEqual([{ wants: 'graph' }]);
  });

  test('a worker that has not seen the graph gets it once; stats.cache and /metrics agree whichever thread checked', async () => {
    const a = await appWith({ workers: 1 });
    const seen = watch(a);
    const [first, second] = [heavy(2), heavy(3)];
    const told: string[] = [];
    const send = async (op: string, body: unknown): Promise<Json> => {
      const res = await a.app.inject(post(op, body));
      expect(res.statusCode, res.body).toBe(200);
      told.push(res.json().stats.cache);
      return res.json();
    };
    await send('evaluate', { graph: first, args: { x, w } }); // new to both threads
    await send('evaluate', { graph: first, args: { x: w, w: x } }); // cached in both
    await send('gradient', { graph: first, args: { x, w }, outputs: ['z'] }); // a new plan: checked graph found, planned
    await send('gradient', { graph: first, args: { x, w }, outputs: ['z'] });
    expect(told).toEqual(['miss', 'hit', 'miss', 'hit']);
    expect(seen.questions).toHaveLength(1);
    await send('evaluate', { graph: second, args: { x, w } }); // another graph: asked for again
    expect(seen.questions).toHaveLength(2);
    // a body parsed by the worker (raw-body.ts) and a cheap call inline count the same way
    await send('gradient', sumSin(200_000));
    await send('gradient', sumSin(20));
    expect(await metric(a, 'derivd_computations_total', { where: 'inline' })).toBe(1);
    expect(await metric(a, 'derivd_computations_total', { where: 'pool' })).toBe(6);
    for (const result of ['hit', 'miss'])
      expect(await metric(a, 'derivd_plan_cache_total', { result }), result).toBe(told.filter((c) => c === result).length);
  });

  test('a worker that was replaced has an empty cache: it asks for the graph again, and answers the same', async () => {
    const a = await appWith({ workers: 1 });
    const seen = watch(a);
    const body = { graph: heavy(4), args: { x, w } };
    const before = (await a.app.inject(post('evaluate', body))).json();
    const [thread] = a.pool!.threadIds;
    // a hard stop of the worker (as a budget cut past its grace period does): piscina starts a new one
    await a.pool!.start().threads[0].terminate();
    await waitFor('a new worker', () => a.pool!.threadIds.length === 1 && a.pool!.threadIds[0] !== thread);
    const after = await a.app.inject(post('evaluate', body));
    expect(after.statusCode, after.body).toBe(200);
    expect(strip(after.json())).toEqual(strip(before));
    expect(after.json().stats.cache).toBe('miss'); // the new worker checked the graph
    expect(seen.questions).toHaveLength(2);
  });
});

describe('graphId in a POST /v1/<operation> body', () => {
  test('works inline, through the pool, and in a body parsed by a worker; unknown ids are 404 there too', async () => {
    const a = await appWith({ workers: 1 });
    const big = sumSin(200_000);
    const small = { graph: heavy(5), args: { x, w } };
    const ids: string[] = [];
    for (const g of [big.graph, small.graph]) {
      const res = await a.app.inject({ method: 'POST', url: '/v1/graphs', payload: { graph: g } });
      expect(res.statusCode).toBeLessThan(202);
      ids.push(res.json().id);
    }
    const cases: [string, Json, Json][] = [
      ['gradient', { graphId: ids[0], args: big.args }, big], // a body too large to parse here: the worker parses it
      ['evaluate', { graphId: ids[1], args: small.args }, small], // checked here, then handed over
      ['gradient', { graphId: ids[0], args: { x: [1, 2] } }, { graph: big.graph, args: { x: [1, 2] } }], // a 422 about the args
    ];
    for (const [op, byId, inline] of cases) {
      const r = await a.app.inject(post(op, byId));
      const i = await a.app.inject(post(op, inline));
      expect(r.statusCode, r.body.slice(0, 300)).toBe(i.statusCode);
      if (i.statusCode === 200) expect(strip(r.json())).toEqual(strip(i.json()));
      else expect(r.json().errors).toEqual(i.json().errors);
    }
    expect(await metric(a, 'derivd_computations_total', { where: 'pool' })).toBe(4);

    const unknown = 'f'.repeat(64);
    for (const payload of [
      { graphId: unknown, args: big.args },
      { graphId: unknown, args: {} },
    ]) {
      const res = await a.app.inject(post('gradient', payload));
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ type: 'urn:derivd:problem:unknown-graph', errors: [{ path: 'graphId' }] });
    }
    // both fields, or a malformed id: 400, in a large body as in a small one
    for (const extra of [{ graph: big.graph, graphId: ids[0] }, { graphId: 'nope' }]) {
      for (const args of [big.args, { x: [1] }]) {
        const res = await a.app.inject(post('gradient', { ...extra, args }));
        expect(res.statusCode, JSON.stringify(extra)).toBe(400);
        expect(res.json().errors).toEqual([expect.objectContaining({ path: 'graphId' })]);
      }
    }
  });
});
