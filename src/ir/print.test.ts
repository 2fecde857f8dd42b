/** The printer, on a primal program and the derivative programs built on it. */
import { describe, expect, test } from 'vitest';
import { makePlan } from '../analysis/plan.js';
import { forwardProgram, reverseProgram } from '../engines/programs.js';
import { checkRequest } from '../graph/request.js';
import { ProgramBuilder } from './builder.js';
import { printEqn, printProgram } from './print.js';

const graph = {
  inputs: [{ name: 'x', shape: [3] }],
  nodes: [
    { id: 's', op: 'sin', args: ['x'] },
    { id: 'y', op: 'mul', args: ['s', 2] },
  ],
  outputs: ['y'],
};
const plan = makePlan(checkRequest('jacobian', { graph, args: { x: [1, 2, 3] } }));

describe('printProgram', () => {
  test('a primal program: inputs, then one equation per line with its shape', () => {
    expect(printProgram(plan.program)).toBe(
      [
        'in v0 [3]',
        'v1 = sin v0                      [3]',
        'v2 = const value=2               []',
        'v3 = mul v1 v2                   [3]',
      ].join('\n'),
    );
  });

  test('derivative programs show the primal values they read and their batched seeds (k×)', () => {
    const f = forwardProgram(plan, [0]);
    expect(printProgram({ values: f.values, eqns: f.eqns })).toBe(
      [
        'in v0 [3], v2 [], v4 k×[3]',
        'v5 = cos v0                      [3]',
        'v6 = zmul v5 v4                  k×[3]',
        'v7 = zmul v2 v6                  k×[3]',
      ].join('\n'),
    );
    const r = reverseProgram(plan, [0]);
    expect(printProgram({ values: r.values, eqns: r.eqns })).toBe(
      [
        'in v0 [3], v2 [], v4 k×[3]',
        'v5 = zmul v2 v4                  k×[3]',
        'v6 = cos v0                      [3]',
        'v7 = zmul v6 v5                  k×[3]',
      ].join('\n'),
    );
  });

  test('attributes: lists, booleans, -0, and long constants cut short', () => {
    const e = new ProgramBuilder();
    const x = e.input([2, 3]);
    const s = e.sum(x, [1], true);
    const c = e.constant({ shape: [6], data: Float64Array.of(-0, 1.5, 2, 3, 4, 5) });
    const p = e.program();
    expect(printEqn(p.eqns[0], p.values)).toBe('v1 = sum v0 axes=[1] keepdims=true [2, 1]');
    expect(printEqn(p.eqns[1], p.values)).toBe('v2 = const value=[-0, 1.5, 2, 3, …] [6]');
    expect([s, c]).toEqual([1, 2]);
  });
});
