/**
 * Validation itself placed by cost (issue 8, items 1 and 5): a large graph the plan
 * cache has not seen is validated, planned, admitted and computed in a worker, not
 * on the event loop; its errors and refusals come back the same; counts over
 * MAX_NODES / MAX_INPUTS are refused inline by counting alone; and each pooled
 * thread's plan cache gets its share of CACHE_BYTES.
 */
import { describe, expect, test } from 'vitest';
import { SHARED_CACHE } from '../../src/api/index.js';
import { cacheShare } from '../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { metric, useApps } from '../helpers/server.js';

const appWith = useApps();

/** A chain of n elementwise nodes over x (shape []), ending in y. */
function chain(n: number, extra: object[] = []) {
  const nodes: object[] = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    op: ['sin', 'cos'][i % 2],
    args: [i === 0 ? 'x' : `n${i - 1}`],
  }));
  return { graph: { inputs: [{ name: 'x', shape: [] }], nodes: [...nodes, ...extra], outputs: [`n${n - 1}`] }, args: { x: 0.5 } };
}

const post = (op: string, payload: object) => ({ method: 'POST' as const, url: `/v1/${op}`, payload });

describe('a large first-seen graph is validated in the pool', () => {
  test('a 2,000-node chain: computed by a worker, same answer as inline', async () => {
    const pooled = await appWith({ workers: 1 });
    const inline = await appWith({ workers: 0 });
    const req = chain(2000);
    const a = await pooled.app.inject(post('gradient', req));
    const b = await inline.app.inject(post('gradient', req));
    expect(a.statusCode).toBe(200);
    expect(a.json().gradient).toEqual(b.json().gradient);
    expect(await metric(pooled, 'derivd_computations_total', { operation: 'gradient', where: 'pool' })).toBe(1);
    expect(await metric(pooled, 'derivd_computations_total', { where: 'inline' })).toBe(0);
    // the main thread never checked it; the worker did, and /metrics counts what the response says
    expect(a.json().stats.cache).toBe('miss');
    expect(await metric(pooled, 'derivd_plan_cache_total', { result: 'miss' })).toBe(1);
    expect(await metric(pooled, 'derivd_plan_cache_total')).toBe(1);
  });

  test('its validation errors come back from the worker with their paths', async () => {
    const a = await appWith({ workers: 1 });
    const broken = chain(2000, [{ id: 'bad', op: 'neg', args: ['nowhere'] }]);
    const res = await a.app.inject(post('evaluate', broken));
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ type: 'urn:derivd:problem:invalid-graph', errors: [{ path: 'graph.nodes[2000].args[0]' }] });
    expect(a.pool!.threadIds.length).toBe(1); // it went to the pool
  });

  test('the cost-based refusal is made in the worker too', async () => {
    const a = await appWith({ workers: 1, computeBudgetMs: 200 });
    // 2,000 cheap nodes beside a 1500 × 1500 product: far over a 200 ms budget
    const heavy = chain(2000, [
      { id: 'f', op: 'fill', shape: [1500, 1500], value: 1 },
      { id: 'm', op: 'matmul', args: ['f', 'f'] },
      { id: 's', op: 'sum', args: ['m'] },
    ]);
    heavy.graph.outputs = ['s'];
    const res = await a.app.inject(post('evaluate', heavy));
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ type: 'urn:derivd:problem:estimated-over-budget', errors: [{ path: 'graph' }] });
    expect(a.pool!.threadIds.length).toBe(1);
    expect(await metric(a, 'derivd_shed_total', { reason: 'estimated_over_budget' })).toBe(1);
  });

  test('a small graph stays inline; one over MAX_INPUTS is refused inline, by counting, however large its checking would be', async () => {
    const wide = (n: number) => {
      const inputs = Array.from({ length: n }, (_, i) => ({ name: `a${i}`, shape: [] }));
      return {
        graph: {
          inputs,
          nodes: [
            { id: 's', op: 'stack', args: inputs.map((x) => x.name) },
            { id: 'y', op: 'sum', args: ['s'] },
          ],
          outputs: ['y'],
        },
        args: {},
      };
    };
    const a = await appWith({ workers: 1, maxInputs: 500 });
    expect((await a.app.inject(post('gradient', chain(20)))).statusCode).toBe(200);
    const res = await a.app.inject(post('gradient', wide(3000))); // checking 3,000 inputs is priced far above the threshold
    expect(res.statusCode).toBe(413);
    expect(res.json().errors).toEqual([{ path: 'graph.inputs', message: 'expected at most 500 inputs (MAX_INPUTS), found 3000' }]);
    expect(a.pool!.threadIds).toEqual([]); // nothing reached the pool
    // a body too large to parse inline is refused by the worker that parses it, just the same
    const b = await appWith({ workers: 1 });
    const big = await b.app.inject(post('gradient', wide(20_000)));
    expect(big.statusCode).toBe(413);
    expect(big.json().errors).toEqual([{ path: 'graph.inputs', message: 'expected at most 10000 inputs (MAX_INPUTS), found 20000' }]);
  });
});

describe('CACHE_BYTES', () => {
  test('is split evenly between the main thread and the workers', async () => {
    expect(cacheShare({ ...DEFAULT_CONFIG, cacheBytes: 90 << 20, workers: 2 })).toBe(30 << 20);
    expect(cacheShare({ ...DEFAULT_CONFIG, cacheBytes: 90 << 20, workers: 0 })).toBe(90 << 20);
    await appWith({ cacheBytes: 48 << 20, workers: 2 });
    expect(SHARED_CACHE.maxBytes).toBe(16 << 20);
  });

  test("/metrics reports every thread's plan-cache bytes, within CACHE_BYTES together", async () => {
    const cacheBytes = 8 << 20;
    const a = await appWith({ workers: 1, cacheBytes });
    await a.app.inject(post('gradient', chain(20))); // inline: the main thread's cache
    await a.app.inject(post('gradient', chain(2000))); // the worker's
    const main = await metric(a, 'derivd_plan_cache_bytes', { thread: 'main' });
    const all = await metric(a, 'derivd_plan_cache_bytes');
    expect(main).toBeGreaterThan(0);
    expect(all).toBeGreaterThan(main); // the worker's sample is there too
    expect(all).toBeLessThanOrEqual(cacheBytes);
  });
});
