/**
 * The worker pool (issue 4): requests the cost model calls heavy run in worker
 * threads, so the event loop keeps answering; cheap ones and every 4xx stay
 * inline; a pooled computation over COMPUTE_BUDGET_MS is stopped with a 504 and its
 * worker goes on (issue 8: between two steps), or is replaced when one step runs
 * past the grace period; a client that leaves cancels its task; shutdown lets pooled
 * work finish; pooled results are the inline ones; WORKERS=0 turns the pool off.
 *
 * The heavy request is a 700 x 700 matrix product of two fills (no large body to
 * send; about 0.4 s here), estimated far above INLINE_MAX_COST_MS.
 */
import { Writable } from 'node:stream';
import { describe, expect, test, vi } from 'vitest';
import type { App } from '../../src/server/app.js';
import { DEFAULT_CONFIG, type Config } from '../../src/server/config.js';
import { callCost, ENCODE_BASE64_NS_PER_ELEMENT, ENCODE_NS_PER_ELEMENT } from '../../src/api/index.js';
import { SEED_REQUEST } from '../../src/server/seed-example.js';
import { prepare } from '../../src/api/index.js';
import { matmulRequest, metric, sleep, timer, useApps, waitFor } from '../helpers/server.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// The budget cut (504) is the fallback for calls the cost model underestimates; a
// call estimated over the budget is refused before it runs (422, admission.test.ts).
// Here nothing is refused, so HEAVY under a short budget reaches the cut.
vi.mock(import('../../src/server/placement.js'), async (importOriginal) => ({ ...(await importOriginal()), overBudget: () => undefined }));

const matmul = matmulRequest;
/** Sizes for the cost model's matmul weight (the WebAssembly gemm): heavy far above the inline threshold, medium above it. */
const HEAVY_N = 1190;
const MEDIUM_N = 340;
const HEAVY = matmul(HEAVY_N);
/** Estimated at about 9 ms (pooled at the default threshold), computed in a few tens of ms. */
const MEDIUM = matmul(MEDIUM_N);
/** Twenty 600 x 600 products in a row, tens of ms each (WebAssembly gemm): a budget check between every two. */
const MATMUL_CHAIN = {
  graph: {
    inputs: [],
    nodes: [
      { id: 'm0', op: 'fill', shape: [600, 600], value: 1 / 600 },
      ...Array.from({ length: 20 }, (_, i) => ({ id: `m${i + 1}`, op: 'matmul', args: [`m${i}`, 'm0'] })),
      { id: 's', op: 'sum', args: ['m20'] },
    ],
    outputs: ['s'],
  },
  args: {},
};

const appWith = useApps();
async function listening(config: Partial<Config> = {}): Promise<App & { base: string }> {
  const a = await appWith(config);
  return { ...a, base: await a.app.listen({ port: 0, host: '127.0.0.1' }) };
}

const post = (base: string, op: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${base}/v1/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });

describe('placement by the cost model', () => {
  test('the seed Jacobian is estimated far below the threshold, the heavy product far above', () => {
    const seed = prepare('jacobian', SEED_REQUEST);
    expect(callCost(seed.plan, 'jacobian', seed.mode, false).ms).toBeLessThan(0.1);
    const heavy = prepare('evaluate', HEAVY);
    expect(callCost(heavy.plan, 'evaluate', heavy.mode, false).ms).toBeGreaterThan(100);
    const medium = prepare('evaluate', MEDIUM);
    expect(callCost(medium.plan, 'evaluate', medium.mode, false).ms).toBeGreaterThan(DEFAULT_CONFIG.inlineMaxCostMs);
  });

  test('fd, check and the size of the result count', () => {
    const n = 2000;
    const req = {
      graph: {
        inputs: [{ name: 'x', shape: [n] }],
        nodes: [
          { id: 'q', op: 'square', args: ['x'] },
          { id: 's', op: 'sum', args: ['q'] },
        ],
        outputs: ['s'],
      },
      args: { x: Array(n).fill(1) },
    };
    const rev = prepare('gradient', req);
    const fd = prepare('gradient', { ...req, mode: 'fd' });
    const revMs = callCost(rev.plan, 'gradient', rev.mode, false).ms;
    expect(callCost(fd.plan, 'gradient', 'fd', false).ms).toBeGreaterThan(50 * revMs); // 2n primals
    expect(callCost(rev.plan, 'gradient', rev.mode, true).ms).toBeGreaterThan(50 * revMs); // check runs fd too
    // a million numbers to encode, from almost no arithmetic
    const fill = prepare('evaluate', {
      graph: { inputs: [], nodes: [{ id: 'f', op: 'fill', shape: [1000, 1000], value: 0.1 }], outputs: ['f'] },
      args: {},
    });
    expect(callCost(fill.plan, 'evaluate', fill.mode, false)).toMatchObject({ resultElements: 1e6 });
    expect(callCost(fill.plan, 'evaluate', fill.mode, false).ms).toBeGreaterThan(100);
  });

  test('a base64 result is priced by its own encoding cost, so it stays inline where JSON numbers would not', async () => {
    const fill = (n: number, encoding?: 'base64') => ({
      graph: { inputs: [], nodes: [{ id: 'f', op: 'fill', shape: [n, n], value: 0.1 }], outputs: ['f'] },
      args: {},
      ...(encoding ? { encoding } : {}),
    });
    const json = prepare('evaluate', fill(1000)).cost().ms;
    const b64 = prepare('evaluate', fill(1000, 'base64')).cost().ms;
    expect(json - b64).toBeCloseTo((1e6 * (ENCODE_NS_PER_ELEMENT - ENCODE_BASE64_NS_PER_ELEMENT)) / 1e6, 6);
    expect(b64).toBeLessThan(json / 3);
    // 40,000 numbers: about 6 ms as JSON (pooled at the default 5 ms), under 2 ms as base64 (inline)
    const a = await appWith({ workers: 1 });
    for (const encoding of [undefined, 'base64'] as const) {
      const res = await a.app.inject({ method: 'POST', url: '/v1/evaluate', payload: fill(200, encoding) });
      expect(res.statusCode).toBe(200);
    }
    expect(await metric(a, 'derivd_computations_total', { operation: 'evaluate', where: 'pool' })).toBe(1);
    expect(await metric(a, 'derivd_computations_total', { operation: 'evaluate', where: 'inline' })).toBe(1);
  });
});

describe('the event loop stays free', () => {
  test('a heavy request runs in the pool while /healthz keeps answering', async () => {
    const svc = await listening(); // the default configuration: WORKERS = cores, INLINE_MAX_COST_MS = 5
    // Every worker started and warmed up first, as main.ts does at boot: a worker's
    // warm-up (warmup.ts) takes a core for a few hundred ms, which is not this test's subject.
    await Promise.all(Array.from({ length: svc.pool!.size }, () => post(svc.base, 'evaluate', MEDIUM)));
    let done = false;
    const heavy = post(svc.base, 'evaluate', HEAVY).then((r) => ((done = true), r));
    await waitFor('the heavy request to start computing', () => svc.pool!.running === 1);
    // /healthz answers that came while the heavy request was still computing in the worker:
    // computed inline, it would block the event loop and leave none. (How fast they come
    // is not asserted: with the rest of the suite on the same cores it is the scheduler's.)
    let answeredWhileComputing = 0;
    while (!done) {
      const res = await fetch(`${svc.base}/healthz`);
      expect(res.status).toBe(200);
      if (!done && svc.pool!.running === 1) answeredWhileComputing++;
      await sleep(10);
    }
    expect(answeredWhileComputing).toBeGreaterThanOrEqual(5);

    const res = await heavy;
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).values.s).toBe(HEAVY_N ** 3);
    expect(res.headers.get('server-timing')).toMatch(/, total;dur=[\d.]+, queue;dur=[\d.]+$/);
    expect(await metric(svc, 'derivd_computations_total', { operation: 'evaluate', where: 'pool' })).toBe(svc.pool!.size + 1);
    expect(await metric(svc, 'derivd_computations_total', { where: 'inline' })).toBe(0);
  });

  test('cheap requests run inline and never start the pool; 4xx come from validation, inline', async () => {
    const a = await appWith();
    const ok = await a.app.inject({ method: 'POST', url: '/v1/jacobian', payload: SEED_REQUEST });
    expect(ok.statusCode).toBe(200);
    const bad = await a.app.inject({
      method: 'POST',
      url: '/v1/evaluate',
      payload: { ...HEAVY, graph: { ...HEAVY.graph, outputs: ['nope'] } },
    });
    expect(bad.statusCode).toBe(422);
    expect(await metric(a, 'derivd_computations_total', { operation: 'jacobian', where: 'inline' })).toBe(1);
    expect(await metric(a, 'derivd_computations_total', { where: 'pool' })).toBe(0);
    expect(a.pool!.threadIds).toEqual([]);
    expect(await metric(a, 'derivd_pool_threads')).toBe(0);
  });

  test('WORKERS=0: no pool; every request runs inline, heavy ones too', async () => {
    const a = await appWith({ workers: 0 });
    expect(a.pool).toBeNull();
    const res = await a.app.inject({ method: 'POST', url: '/v1/evaluate', payload: MEDIUM });
    expect(res.statusCode).toBe(200);
    expect(res.json().values.s).toBe(MEDIUM_N ** 3);
    expect(res.headers['server-timing']).not.toMatch(/queue/);
    expect(await metric(a, 'derivd_computations_total', { operation: 'evaluate', where: 'inline' })).toBe(1);
    expect(await metric(a, 'derivd_computations_total', { where: 'pool' })).toBe(0);
    expect((await a.app.inject({ method: 'GET', url: '/metrics' })).body).not.toMatch(/derivd_pool_threads /);
  });
});

/** A tensor in the binary wire form. */
const base64 = (values: readonly number[], shape = [values.length]) => ({
  dtype: 'float64',
  shape,
  data: Buffer.from(Float64Array.from(values).buffer).toString('base64'),
});

describe('pooled results are the inline results', () => {
  // Timings are each run's own; stats.cache depends on what the threads that handled the
  // call had cached (each worker has its own). With inlineMaxCostMs 0 every body here is
  // parsed by the worker (raw-body.ts); calls checked on the event loop and handed over
  // are compared with the inline ones in handoff.test.ts and handoff-random.test.ts.
  const strip = ({ timings: _t, stats: { cache: _c, ...stats }, ...rest }: Json) => ({ ...rest, stats });

  test('the seed Jacobian, and fd with check, through the pool equal the inline ones', async () => {
    const pooled = await appWith({ workers: 1, inlineMaxCostMs: 0 }); // everything to the pool
    const inline = await appWith({ workers: 0 });
    const requests: [string, unknown][] = [
      ['jacobian', SEED_REQUEST],
      ['jacobian', { ...SEED_REQUEST, constant: [], mode: 'fd', check: true }],
      ['evaluate', { ...SEED_REQUEST, args: { ...SEED_REQUEST.args, xs: 'NaN' } }],
      // base64 in and out: the encoding travels with the body to the worker
      [
        'jacobian',
        { ...SEED_REQUEST, args: { d: base64(SEED_REQUEST.args.d), xs: base64([SEED_REQUEST.args.xs], []) }, encoding: 'base64' },
      ],
    ];
    for (const [op, body] of requests) {
      const p = await pooled.app.inject({ method: 'POST', url: `/v1/${op}`, payload: body as object });
      const i = await inline.app.inject({ method: 'POST', url: `/v1/${op}`, payload: body as object });
      expect(p.statusCode).toBe(200);
      expect(i.statusCode).toBe(200);
      expect(p.headers['content-type']).toBe(i.headers['content-type']);
      expect(strip(p.json())).toEqual(strip(i.json()));
      expect(Object.keys(p.json().timings)).toEqual(Object.keys(i.json().timings));
      expect(p.headers['server-timing']).toContain(`total;dur=${p.json().timings.totalMs.toFixed(3)}`); // the worker's own timings
    }
    expect(await metric(pooled, 'derivd_computations_total', { where: 'pool' })).toBe(requests.length);
    expect(await metric(pooled, 'derivd_computations_total', { where: 'inline' })).toBe(0);
    expect(await metric(pooled, 'derivd_engine_runs_total', { operation: 'jacobian', mode: 'fd' })).toBe(1);
  });
});

describe('the compute budget', () => {
  /** The app with its log lines collected. */
  async function logged(config: Partial<Config>): Promise<App & { lines: Json[] }> {
    const lines: Json[] = [];
    const log = new Writable({
      write(chunk, _enc, cb) {
        lines.push(
          ...String(chunk)
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l)),
        );
        cb();
      },
    });
    return { ...(await appWith({ ...config, logLevel: 'info' }, log)), lines };
  }

  test('past COMPUTE_BUDGET_MS a pooled computation stops between two steps: 504, and the same worker takes the next request', async () => {
    const a = await logged({ workers: 1, computeBudgetMs: 150 });
    a.pool!.start();
    const [before] = a.pool!.threadIds;
    const budget = timer(150); // the worker's budget starts later, when it starts the task
    const res = await a.app.inject({
      method: 'POST',
      url: '/v1/evaluate',
      payload: MATMUL_CHAIN,
      headers: { 'x-request-id': 'over-budget' },
    });
    expect(budget.fired).toBe(true); // not stopped before its budget
    expect(res.statusCode).toBe(504);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({
      type: 'urn:derivd:problem:compute-budget-exceeded',
      status: 504,
      instance: 'over-budget',
      detail: expect.stringContaining('COMPUTE_BUDGET_MS (150 ms)'),
    });
    const line = a.lines.find((l) => l.reqId === 'over-budget' && l.msg === 'request');
    expect(line).toMatchObject({ status: 504, where: 'pool', threadId: before, terminated: false });
    expect(await metric(a, 'derivd_pool_cancelled_total', { reason: 'budget' })).toBe(1);

    // No replacement: the worker that stopped runs the next request.
    const next = await a.app.inject({ method: 'POST', url: '/v1/evaluate', payload: MEDIUM, headers: { 'x-request-id': 'next' } });
    expect(next.statusCode).toBe(200);
    expect(next.json().values.s).toBe(MEDIUM_N ** 3);
    expect(a.lines.find((l) => l.reqId === 'next' && l.msg === 'request')).toMatchObject({ threadId: before });
    expect(a.pool!.threadIds).toEqual([before]);
    expect(await metric(a, 'derivd_pool_threads_started_total')).toBe(1);
  });

  test('a single step that runs on past the grace period gets its worker replaced (504), and the next request succeeds', async () => {
    // budget 100 ms + grace max(1 s, 25 %) = 1.1 s; one 2500 x 2500 matmul kernel takes seconds
    // (1.6 · 10¹⁰ multiply-adds: about 1.6 s even at the WebAssembly gemm's 20 GFLOP/s).
    const a = await logged({ workers: 1, computeBudgetMs: 100 });
    a.pool!.start();
    const [before] = a.pool!.threadIds;
    const grace = timer(1100);
    const res = await a.app.inject({
      method: 'POST',
      url: '/v1/evaluate',
      payload: matmul(2500),
      headers: { 'x-request-id': 'one-kernel' },
    });
    expect(grace.fired).toBe(true); // not terminated before the budget and its grace period
    expect(res.statusCode).toBe(504);
    expect(res.json()).toMatchObject({
      type: 'urn:derivd:problem:compute-budget-exceeded',
      detail: expect.stringContaining('COMPUTE_BUDGET_MS (100 ms)'),
    });
    expect(a.lines.find((l) => l.reqId === 'one-kernel' && l.msg === 'request')).toMatchObject({
      status: 504,
      threadId: before,
      terminated: true,
    });

    // the worker that ran it is gone, and a new one took its place
    await waitFor('a replacement worker', () => a.pool!.threadIds.length === 1 && a.pool!.threadIds[0] !== before);
    expect(await metric(a, 'derivd_pool_cancelled_total', { reason: 'budget' })).toBe(1);
    const next = await a.app.inject({ method: 'POST', url: '/v1/evaluate', payload: MEDIUM });
    expect(next.statusCode).toBe(200);
    expect(next.json().values.s).toBe(MEDIUM_N ** 3);
    expect(await metric(a, 'derivd_pool_threads_started_total')).toBe(2);
  });

  test('a client that goes away cancels its pooled computation', async () => {
    const svc = await listening({ workers: 1 });
    svc.pool!.start();
    const [before] = svc.pool!.threadIds;
    const client = new AbortController();
    const heavy = post(svc.base, 'evaluate', HEAVY, client.signal).catch((err: Error) => err);
    await waitFor('the heavy request to start computing', () => svc.pool!.running === 1);
    client.abort();
    expect(await heavy).toBeInstanceOf(Error);
    await waitFor('the cancellation', async () => (await metric(svc, 'derivd_pool_cancelled_total', { reason: 'disconnect' })) === 1);
    await waitFor('a replacement worker', () => svc.pool!.threadIds.length === 1 && svc.pool!.threadIds[0] !== before);
    const next = await post(svc.base, 'evaluate', MEDIUM);
    expect(next.status).toBe(200);
    expect(((await next.json()) as Json).values.s).toBe(MEDIUM_N ** 3);
    // The aborted request's server socket lingers some 4 s after a fetch abort (plain
    // Fastify does the same), which close() would wait for: not this test's subject.
    svc.app.server.closeAllConnections();
  });
});

describe('shutdown', () => {
  test('close() lets a pooled request in flight finish, then terminates the workers', async () => {
    const svc = await listening({ workers: 1 });
    const threads = svc.pool!.start().threads;
    const heavy = post(svc.base, 'evaluate', HEAVY);
    await waitFor('the heavy request to start computing', () => svc.pool!.running === 1);
    const closing = svc.app.close();
    const res = await heavy;
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).values.s).toBe(HEAVY_N ** 3);
    await closing;
    expect(svc.pool!.threadIds).toEqual([]);
    expect(threads.map((t) => t.threadId)).toEqual([-1]); // a Worker's threadId is -1 once it has exited
  });
});
