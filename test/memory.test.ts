/**
 * What a graph keeps is bounded: derivative programs extend the primal's value
 * table instead of copying it, and everything a plan keeps (plans, derivative
 * programs, compiled code and its buffers) is charged to the graph's account, so
 * the cache's byte count is the truth and one graph cannot take more than half.
 */
import { describe, expect, test } from 'vitest';
import { PlanCache, gradient, prepare } from '../src/index.js';
import { forwardProgram } from '../src/engines/programs.js';

/** sum(stack(a0 … a{n-1})) over n scalar inputs, names prefixed so every call is a new graph. */
function stackedSum(n: number, prefix = 'a') {
  const inputs = Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, shape: [] }));
  return {
    graph: {
      inputs,
      nodes: [
        { id: 's', op: 'stack', args: inputs.map((x) => x.name) },
        { id: 'y', op: 'sum', args: ['s'] },
      ],
      outputs: ['y'],
    },
    args: Object.fromEntries(inputs.map((x, i) => [x.name, i / n])),
  };
}

describe('derivative programs', () => {
  test('extend the primal value table instead of copying it', () => {
    const call = prepare('gradient', { ...stackedSum(500), mode: 'forward' }, { cache: false });
    const base = call.plan.program.values.length;
    const d = forwardProgram(call.plan, [7]);
    expect(d.values.length).toBeGreaterThan(base);
    // its own values are the few it adds (a seed, a zeros, the stack's and the sum's tangents), not a copy of 500+
    expect(d.values.ownValues().length).toBeLessThan(10);
    const first = call.plan.graph.inputs[0].value;
    expect(d.values.info(first)).toBe(call.plan.program.values.info(first));
  });
});

describe('the plan cache counts everything a graph keeps', () => {
  test('a forward gradient over 800 inputs builds 800 programs, and keeps what its account allows', async () => {
    const cache = new PlanCache(1 << 20);
    for (const prefix of ['p', 'q', 'r']) {
      const req = { ...stackedSum(800, prefix), mode: 'forward' };
      const res = await gradient(req, { cache, output: 'packed' });
      const g = res.gradient as Record<string, { data: Float64Array }>;
      expect(g[`${prefix}0`].data[0]).toBe(1);
      expect(g[`${prefix}799`].data[0]).toBe(1);
      expect(res.stats.directions).toBe(800);
      expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
      // the plan kept some of its 800 programs, as many as half the cache pays for
      const kept = [...prepare('gradient', req, { cache }).plan.memo.keys()].filter((k) => k.startsWith('forward:')).length;
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(800);
    }
    // each entry is under half the cache: at least two are kept
    expect(cache.size).toBeGreaterThanOrEqual(2);
  });

  test('programs and compiled code are charged: a graph used again weighs more than the checked graph alone', async () => {
    const cache = new PlanCache(1 << 24);
    const req = { ...stackedSum(50), mode: 'forward' };
    await gradient(req, { cache });
    const once = cache.bytes;
    await gradient(req, { cache }); // second run: code is compiled, with its buffers
    await gradient({ ...req, mode: 'reverse' }, { cache });
    expect(cache.bytes).toBeGreaterThan(once);
    // the entry is charged exactly what the cache counts
    expect(cache.size).toBe(1);
  });

  test('a cache resized below what it holds evicts down to the new budget', async () => {
    const cache = new PlanCache(1 << 24);
    for (const prefix of ['a', 'b', 'c', 'd']) await gradient(stackedSum(100, prefix), { cache });
    expect(cache.size).toBe(4);
    const one = cache.bytes / 4;
    cache.resize(Math.ceil(2.5 * one));
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
    expect(cache.size).toBeLessThan(4);
  });
});
