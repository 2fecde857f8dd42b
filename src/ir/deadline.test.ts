/**
 * Cooperative budgets: a call past its budgetMs stops with ComputeDeadlineExceeded
 * (interpreted and compiled), the thread stays usable, and a call within its
 * budget returns what it returns without one.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ComputeDeadlineExceeded, gradient } from '../api/index.js';
import { PlanCache } from '../graph/plan-cache.js';
import { setExecutionMode } from '../compile/execute.js';
import { checkDeadline, withDeadline } from './deadline.js';
import { expectClose } from '../../test/helpers/numeric.js';

afterEach(() => setExecutionMode('compiled'));

/** A gradient of about 120 equations over n elements (at the default, milliseconds at least, whatever the machine). */
function heavy(n = 100_000): unknown {
  const nodes: object[] = [];
  let prev = 'x';
  for (let i = 0; i < 60; i++) {
    nodes.push({ id: `n${i}`, op: i % 2 ? 'sin' : 'cos', args: [prev] });
    prev = `n${i}`;
  }
  nodes.push({ id: 'y', op: 'sum', args: [prev] });
  return {
    graph: { inputs: [{ name: 'x', shape: [n] }], nodes, outputs: ['y'] },
    args: { x: { shape: [n], data: new Float64Array(n).fill(0.5) } },
    mode: 'reverse',
  };
}

describe('budgetMs', () => {
  for (const mode of ['compiled', 'interpreted'] as const) {
    test(`stops a ${mode} computation past its budget, and the next call runs normally`, async () => {
      setExecutionMode(mode);
      const cache = new PlanCache(1 << 26);
      await expect(gradient(heavy(), { budgetMs: 1, cache, output: 'packed' })).rejects.toBeInstanceOf(ComputeDeadlineExceeded);
      const small = {
        graph: { inputs: [{ name: 'x', shape: [] }], nodes: [{ id: 'y', op: 'sin', args: ['x'] }], outputs: ['y'] },
        args: { x: 0.5 },
      };
      const r = await gradient(small, { budgetMs: 10_000, cache });
      expectClose(r.gradient?.x as number, Math.cos(0.5), 1e-15);
      // no deadline is left behind: an unbudgeted heavy call completes
      const full = await gradient(heavy(1000), { cache, output: 'packed' });
      expect(full.gradient.x.data.length).toBe(1000);
    });
  }

  test('the error names the budget', async () => {
    const err = await gradient(heavy(), { budgetMs: 2, cache: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComputeDeadlineExceeded);
    expect((err as ComputeDeadlineExceeded).budgetMs).toBe(2);
    expect((err as Error).message).toMatch(/2 ms/);
  });

  test('a nested deadline never extends the one around it', () => {
    const spin = (ms: number): void => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        /* wait */
      }
    };
    expect(() =>
      withDeadline(1, () =>
        withDeadline(60_000, () => {
          spin(5);
          checkDeadline();
        }),
      ),
    ).toThrow(ComputeDeadlineExceeded);
    expect(() =>
      withDeadline(60_000, () => {
        spin(2);
        checkDeadline();
      }),
    ).not.toThrow();
    expect(() => {
      spin(1);
      checkDeadline();
    }).not.toThrow();
  });
});
