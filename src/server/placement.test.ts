/**
 * What placement prices beyond arithmetic: validating a body and checking a graph
 * not seen before (preflightMs), and building and compiling derivative programs
 * the first times a plan runs (callCost's `warm`), so that work the old estimate
 * left out (a 10,000-node chain "estimated at 0.76 ms" held the event loop 840 ms)
 * goes to the pool.
 */
import { describe, expect, test } from 'vitest';
import { callCost, PlanCache, preflightMs, prepare, respond, warmRuns } from '../api/index.js';
import { DEFAULT_CONFIG } from './config.js';
import { SEED_REQUEST } from './seed-example.js';

const chain = (n: number, shape: number[]) => {
  const nodes = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    op: ['sin', 'exp', 'tanh'][i % 3],
    args: [i === 0 ? 'x' : `n${i - 1}`],
  }));
  const size = shape.reduce((a, b) => a * b, 1);
  const x = shape.length === 2 ? Array.from({ length: shape[0] }, () => new Array(shape[1]).fill(0.1)) : new Array(size).fill(0.1);
  nodes.push({ id: 'y', op: 'sum', args: [`n${n - 1}`] });
  return { graph: { inputs: [{ name: 'x', shape }], nodes, outputs: ['y'] }, args: { x } };
};

describe('first runs cost more than warm ones', () => {
  test('warmRuns counts runs of an operation and engine per plan, up to 2', () => {
    const cache = new PlanCache(1 << 24);
    const runs: number[] = [];
    for (let i = 0; i < 4; i++) {
      const p = prepare('jacobian', SEED_REQUEST, { cache });
      runs.push(warmRuns(p.plan, 'jacobian', p.mode));
      respond(p);
    }
    expect(runs).toEqual([0, 1, 2, 2]);
    const p = prepare('jacobian', { ...SEED_REQUEST, mode: 'reverse' }, { cache });
    expect(warmRuns(p.plan, 'jacobian', 'reverse')).toBe(0); // another engine: its own programs
  });

  test('building (first run) and compiling (first two) are priced', () => {
    const p = prepare('jacobian', SEED_REQUEST, { cache: false });
    const [cold, second, warm] = [0, 1, 2].map((w) => callCost(p.plan, 'jacobian', p.mode, false, w).ms);
    expect(cold).toBeGreaterThan(second);
    expect(second).toBeGreaterThan(warm);
    expect(warm).toBe(callCost(p.plan, 'jacobian', p.mode, false).ms); // the default: warm
  });

  test('a 60-op chain on [3, 700] is sent to the pool on its first runs, inline once warm', () => {
    const p = prepare('gradient', chain(60, [3, 700]), { cache: false });
    expect(callCost(p.plan, 'gradient', p.mode, false, 0).ms).toBeGreaterThan(DEFAULT_CONFIG.inlineMaxCostMs);
    expect(callCost(p.plan, 'gradient', p.mode, false, 2).ms).toBeLessThan(callCost(p.plan, 'gradient', p.mode, false, 0).ms / 2);
  });
});

describe('preflight: validation priced before it runs', () => {
  test('a first-seen 10,000-node graph is priced far above the inline threshold; seen before, it is not', () => {
    const body = JSON.stringify(chain(10_000, []));
    expect(preflightMs(body.length, 10_001, false)).toBeGreaterThan(10 * DEFAULT_CONFIG.inlineMaxCostMs);
    expect(preflightMs(body.length, 10_001, true)).toBeLessThan(DEFAULT_CONFIG.inlineMaxCostMs);
  });

  test('the seed request costs little either way; megabytes of arguments do not', () => {
    const seed = JSON.stringify(SEED_REQUEST);
    expect(preflightMs(seed.length, 12, false)).toBeLessThan(DEFAULT_CONFIG.inlineMaxCostMs);
    expect(preflightMs(12 << 20, 3, true)).toBeGreaterThan(DEFAULT_CONFIG.inlineMaxCostMs);
  });
});
