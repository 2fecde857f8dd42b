/**
 * The one-pass sweep counts against their definition (a set walk per input and
 * per output, the quadratic way the cost model used to count them), on random
 * graphs: exact within the budget, an upper bound past it that is exact on trees.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { checkRequest } from '../graph/request.js';
import { sizeOf } from '../tensor/tensor.js';
import { randomGraphCase } from '../../test/helpers/random-graph.js';
import { usefulFor, variedFrom } from './activity.js';
import { makePlan, type Plan } from './plan.js';
import { reach } from './reach.js';

/** Per value: how many per-input (forward) or per-output (reverse) sweeps touch it, and their directions. */
function byDefinition(plan: Plan, backward: boolean): { count: number[]; size: number[] } {
  const n = plan.program.values.length;
  const count = new Array<number>(n).fill(0);
  const size = new Array<number>(n).fill(0);
  const sources = backward ? plan.outputValues : plan.activeValues;
  for (const v of sources) {
    const touched = backward ? usefulFor(plan.schedule, n, [v], true) : variedFrom(plan.schedule, n, [v]);
    for (let i = 0; i < n; i++) {
      if (!(touched[i] && plan.isActive[i])) continue;
      count[i]++;
      size[i] += sizeOf(plan.program.values.info(v).shape);
    }
  }
  return { count, size };
}

function counts(plan: Plan, backward: boolean, budget?: number) {
  const values = plan.program.values;
  const sources = backward ? plan.outputValues : plan.activeValues;
  const r = reach(
    values.length,
    sources,
    sources.map((v) => sizeOf(values.info(v).shape)),
    plan.schedule,
    backward,
    plan.isActive,
    budget,
  );
  return { count: [...r.count], size: [...r.size] };
}

describe('sweep counts in one pass', () => {
  test('exact on random graphs, both directions', () => {
    fc.assert(
      fc.property(randomGraphCase({ maxInputs: 4 }), (c) => {
        const plan = makePlan(checkRequest('jacobian', { graph: c.graph, args: c.args, constant: c.constant }));
        for (const backward of [false, true]) expect(counts(plan, backward)).toEqual(byDefinition(plan, backward));
      }),
      { numRuns: 100, seed: 80 },
    );
  });

  test('past the budget, an upper bound that never exceeds all sources', () => {
    fc.assert(
      fc.property(randomGraphCase({ maxInputs: 4 }), (c) => {
        const plan = makePlan(checkRequest('jacobian', { graph: c.graph, args: c.args, constant: c.constant }));
        for (const backward of [false, true]) {
          const exact = byDefinition(plan, backward);
          const bound = counts(plan, backward, 0);
          const sources = backward ? plan.outputValues : plan.activeValues;
          const total = sources.reduce((a, v) => a + sizeOf(plan.program.values.info(v).shape), 0);
          bound.count.forEach((b, i) => {
            expect(b).toBeGreaterThanOrEqual(exact.count[i]);
            expect(b).toBeLessThanOrEqual(sources.length);
            expect(bound.size[i]).toBeGreaterThanOrEqual(exact.size[i]);
            expect(bound.size[i]).toBeLessThanOrEqual(total);
          });
        }
      }),
      { numRuns: 100, seed: 81 },
    );
  });

  test('the bound is exact on a tree: a sum of 20,000 stacked scalars', () => {
    const inputs = Array.from({ length: 20_000 }, (_, i) => ({ name: `a${i}`, shape: [] }));
    const graph = {
      inputs,
      nodes: [
        { id: 's', op: 'stack', args: inputs.map((x) => x.name) },
        { id: 'y', op: 'sum', args: ['s'] },
      ],
      outputs: ['y'],
    };
    const args = Object.fromEntries(inputs.map((x) => [x.name, 1]));
    const plan = makePlan(
      checkRequest('gradient', { graph, args }, { maxNodes: 10, maxInputs: 20_000, maxElements: 1e7, maxResponseBytes: 1e9 }),
    );
    const fwd = counts(plan, false); // 20,000 × 20,003 values: past the exact budget
    const y = plan.outputValues[0];
    expect(fwd.count[y]).toBe(20_000);
    expect(fwd.size[y]).toBe(20_000);
    expect(counts(plan, true).count[plan.graph.inputs[0].value]).toBe(1); // one output uses a0
  });
});
