/**
 * Large bodies are parsed by a worker, not on the event loop (raw-body.ts): the
 * answer is the one the inline path gives, a malformed large body is the same 400
 * malformed-body problem (errors[] at the root), and small bodies are parsed inline.
 */
import { describe, expect, test } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { bodyMs } from '../../src/api/index.js';
import { expectClose } from '../helpers/numeric.js';
import { sumSin } from '../helpers/requests.js';
import { metric, useApps } from '../helpers/server.js';

const appWith = useApps();

const post = (payload: string) => ({
  method: 'POST' as const,
  url: '/v1/gradient',
  payload,
  headers: { 'content-type': 'application/json' },
});

describe('large bodies are parsed in the pool', () => {
  test('a body priced above INLINE_MAX_COST_MS: parsed, validated and computed by a worker, the inline answer', async () => {
    const text = JSON.stringify(sumSin(200_000));
    expect(bodyMs(text.length)).toBeGreaterThan(DEFAULT_CONFIG.inlineMaxCostMs);
    const pooled = await appWith({ workers: 1 });
    const inline = await appWith({ workers: 0 });
    const a = await pooled.app.inject(post(text));
    const b = await inline.app.inject(post(text));
    expect(a.statusCode).toBe(200);
    expect(a.json().gradient).toEqual(b.json().gradient);
    // and both are the derivative of Σ sin x
    expectClose(a.json().gradient.x, sumSin(200_000).args.x.map(Math.cos), 1e-15);
    expect(await metric(pooled, 'derivd_computations_total', { operation: 'gradient', where: 'pool' })).toBe(1);
    // the worker checked the graph: a miss, counted as the response says, though the main thread never read it
    expect(a.json().stats.cache).toBe('miss');
    expect(await metric(pooled, 'derivd_plan_cache_total', { result: 'miss' })).toBe(1);
    expect(await metric(pooled, 'derivd_plan_cache_total')).toBe(1);
  });

  test('a large body that is not JSON: 400 malformed-body, errors[] at the root, as for a small one', async () => {
    const a = await appWith({ workers: 1 });
    const text = JSON.stringify(sumSin(200_000)).slice(0, -3); // cut short
    const res = await a.app.inject(post(text));
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({ type: 'urn:derivd:problem:malformed-body', status: 400 });
    expect(body.errors).toEqual([{ path: '', message: body.detail }]);
    expect(a.pool!.threadIds.length).toBe(1); // a worker found it out
    const small = await a.app.inject(post('{"graph":'));
    expect(small.json()).toMatchObject({ type: 'urn:derivd:problem:malformed-body', errors: [{ path: '' }] });
  });

  test('small bodies are parsed inline, and so is everything without a pool', async () => {
    expect(bodyMs(JSON.stringify(sumSin(20)).length)).toBeLessThan(DEFAULT_CONFIG.inlineMaxCostMs);
    const a = await appWith({ workers: 1 });
    expect((await a.app.inject(post(JSON.stringify(sumSin(20))))).statusCode).toBe(200);
    expect(a.pool!.threadIds).toEqual([]);
    expect(await metric(a, 'derivd_plan_cache_total')).toBe(1);
  });
});
