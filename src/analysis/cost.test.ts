import { describe, expect, test } from 'vitest';
import { checkRequest } from '../graph/request.js';
import { sizeOf } from '../tensor/tensor.js';
import { chooseEngine } from '../engines/auto.js';
import { estimate } from './cost.js';
import { makePlan, type Plan } from './plan.js';

const fill = (shape: number[], f: (i: number) => number): unknown => {
  let k = 0;
  const build = (d: number): unknown => (d === shape.length ? f(k++) : Array.from({ length: shape[d] }, () => build(d + 1)));
  return build(0);
};

/**
 * Two independent regions. a (4 elements) feeds a matmul-heavy chain ending in a
 * scalar y1: few elements, many flops. b (1 element) feeds an elementwise chain
 * over 6x400 elements ending in y2 (6 elements): many elements, few flops.
 * n = 5 active input elements, m = 7 output elements.
 *   forward = 4·S_a + 1·S_b      reverse = 1·S_a + 6·S_b
 * Reverse wins when S_a > 1.67 S_b, which holds by flops (S_a ≈ 265k) but not by
 * element counts (S_a ≈ 1k vs S_b ≈ 10k).
 */
function twoRegionPlan(): Plan {
  const graph = {
    inputs: [
      { name: 'a', shape: [4] },
      { name: 'b', shape: [] },
      { name: 'K0', shape: [4, 512] },
      { name: 'K1', shape: [512, 512] },
      { name: 'C', shape: [6, 400] },
    ],
    nodes: [
      { id: 'h1', op: 'matmul', args: ['a', 'K0'] },
      { id: 'h2', op: 'matmul', args: ['h1', 'K1'] },
      { id: 'y1', op: 'sum', args: ['h2'] },
      { id: 't', op: 'mul', args: ['b', 'C'] },
      { id: 'u', op: 'sin', args: ['t'] },
      { id: 'v', op: 'exp', args: ['u'] },
      { id: 'y2', op: 'sum', args: ['v'], axes: [1] },
    ],
    outputs: ['y1', 'y2'],
  };
  const args = {
    a: [0.1, 0.2, 0.3, 0.4],
    b: 0.5,
    K0: fill([4, 512], (i) => Math.sin(i)),
    K1: fill([512, 512], (i) => Math.cos(i) / 512),
    C: fill([6, 400], (i) => Math.sin(0.1 * i)),
  };
  return makePlan(checkRequest('jacobian', { graph, args, constant: ['K0', 'K1', 'C'] }));
}

/** The rule that counts elements only: every equation costs its output elements, per direction. */
function elementCountChoice(plan: Plan): 'forward' | 'reverse' {
  const region = (inputName: string): number => {
    const input = plan.graph.inputs.find((i) => i.name === inputName)!;
    const reached = new Set([input.value]);
    let el = 0;
    for (const q of plan.schedule) {
      if (q.args.some((a) => reached.has(a))) {
        reached.add(q.out);
        el += sizeOf(plan.program.values.info(q.out).shape);
      }
    }
    return el;
  };
  const [sa, sb] = [region('a'), region('b')];
  return 4 * sa + sb <= sa + 6 * sb ? 'forward' : 'reverse';
}

describe('cost model', () => {
  test('a matmul-heavy region vs an elementwise one: element counting chooses wrong, the cost model does not', () => {
    const plan = twoRegionPlan();
    const est = estimate(plan, 'jacobian');
    expect([est.inputElements, est.outputElements]).toEqual([5, 7]);
    expect(elementCountChoice(plan)).toBe('forward');
    expect(est.reverseNs).toBeLessThan(est.forwardNs);
    const choice = chooseEngine(plan, 'jacobian');
    expect(choice.engine.name).toBe('reverse');
    expect(choice.reason).toMatch(/^5 active input elements vs 7 output elements; reverse estimated at/);
  });

  test('estimates scale with directions: gradient of a long vector prefers reverse, jvp forward', () => {
    const graph = {
      inputs: [{ name: 'w', shape: [1000] }],
      nodes: [
        { id: 'e', op: 'exp', args: ['w'] },
        { id: 's', op: 'sum', args: ['e'] },
      ],
      outputs: ['s'],
    };
    const w = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const g = makePlan(checkRequest('gradient', { graph, args: { w } }));
    expect(chooseEngine(g, 'gradient').engine.name).toBe('reverse');
    const j = makePlan(checkRequest('jvp', { graph, args: { w }, tangents: { w } }));
    expect(chooseEngine(j, 'jvp').engine.name).toBe('forward');
    const v = makePlan(checkRequest('vjp', { graph, args: { w }, cotangents: { s: 1 } }));
    expect(chooseEngine(v, 'vjp').engine.name).toBe('reverse');
  });

  test('constants add nothing to the derivative estimates', () => {
    const graph = {
      inputs: [
        { name: 'x', shape: [] },
        { name: 'big', shape: [10000] },
      ],
      nodes: [
        { id: 'e', op: 'exp', args: ['big'] },
        { id: 's', op: 'sum', args: ['e'] },
        { id: 'y', op: 'mul', args: ['s', 'x'] },
      ],
      outputs: ['y'],
    };
    const args = { x: 2, big: new Array(10000).fill(0.5) };
    const active = estimate(makePlan(checkRequest('jacobian', { graph, args })), 'jacobian');
    const constant = estimate(makePlan(checkRequest('jacobian', { graph, args, constant: ['big'] })), 'jacobian');
    expect(constant.forwardNs).toBeLessThan(active.forwardNs / 100);
    expect(constant.primalNs).toBe(active.primalNs);
  });
});
