/**
 * Jacobian sparsity patterns: exact on structured graphs (diagonal, tridiagonal
 * by slices, a reduction, an outer product, a transpose), and conservative on
 * random graphs: every entry the computed Jacobian has that is not zero lies in
 * the pattern.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jacobian } from '../api/respond.js';
import { checkRequest } from '../graph/request.js';
import { activeInputs, randomGraphCase } from '../../test/helpers/random-graph.js';
import { sinExpGraph } from '../../test/helpers/requests.js';
import { makePlan } from './plan.js';
import { jacobianSparsity, type Pattern } from './sparsity.js';

const planOf = (request: object) => makePlan(checkRequest('jacobian', request));
const rowsOf = (p: Pattern): number[][] =>
  Array.from({ length: p.ptr.length - 1 }, (_, r) => Array.from(p.idx.subarray(p.ptr[r], p.ptr[r + 1])));
const x = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i + 1));

describe('patterns of structured graphs', () => {
  it('elementwise: diagonal', () => {
    const graph = sinExpGraph(5);
    const sp = jacobianSparsity(planOf({ graph, args: { x: x(5) } }), 1e6);
    expect(sp && rowsOf(sp.outputs[0])).toEqual([[0], [1], [2], [3], [4]]);
    expect(sp?.nonZeros).toBe(5);
  });

  it('slices: a tridiagonal residual, and a broadcast scalar in every row', () => {
    const graph = {
      inputs: [
        { name: 'u', shape: [6] },
        { name: 'k', shape: [] },
      ],
      nodes: [
        { id: 'l', op: 'slice', args: ['u'], start: [0], stop: [4] },
        { id: 'm', op: 'slice', args: ['u'], start: [1], stop: [5] },
        { id: 'r', op: 'slice', args: ['u'], start: [2], stop: [6] },
        { id: 'm2', op: 'mul', args: [-2, 'm'] },
        { id: 'a', op: 'add', args: ['l', 'm2'] },
        { id: 'lap', op: 'add', args: ['a', 'r'] },
        { id: 'sq', op: 'square', args: ['m'] },
        { id: 'ksq', op: 'mul', args: ['k', 'sq'] },
        { id: 'res', op: 'add', args: ['lap', 'ksq'] },
      ],
      outputs: ['res'],
    };
    const sp = jacobianSparsity(planOf({ graph, args: { u: x(6), k: 0.5 } }), 1e6);
    // columns: u is 0..5, k is 6
    expect(sp && rowsOf(sp.outputs[0])).toEqual([
      [0, 1, 2, 6],
      [1, 2, 3, 6],
      [2, 3, 4, 6],
      [3, 4, 5, 6],
    ]);
  });

  it('a reduction, an outer product, a transpose; constants add nothing', () => {
    const graph = {
      inputs: [
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [2] },
        { name: 'c', shape: [3] },
      ],
      nodes: [
        { id: 's', op: 'sum', args: ['a'], axes: [1] },
        { id: 'o', op: 'outer', args: ['b', 'c'] },
        { id: 't', op: 'transpose', args: ['a'] },
      ],
      outputs: ['s', 'o', 't'],
    };
    const sp = jacobianSparsity(planOf({ graph, args: { a: [x(3), x(3)], b: x(2), c: x(3) }, constant: ['c'] }), 1e6);
    // columns: a is 0..5, b is 6..7 (c is constant)
    expect(sp && rowsOf(sp.outputs[0])).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(sp && rowsOf(sp.outputs[1])).toEqual([[6], [6], [6], [7], [7], [7]]);
    expect(sp && rowsOf(sp.outputs[2])).toEqual([[0], [3], [1], [4], [2], [5]]);
  });

  it('matmul: a row of x per row of y, and a batch of rows', () => {
    const graph = {
      inputs: [
        { name: 'x', shape: [2, 3] },
        { name: 'w', shape: [3, 2] },
        { name: 'b', shape: [2, 1, 3] },
      ],
      nodes: [
        { id: 'y', op: 'matmul', args: ['x', 'w'] },
        { id: 'z', op: 'matmul', args: ['b', 'w'] },
      ],
      outputs: ['y', 'z'],
    };
    const args = { x: [x(3), x(3)], w: [x(2), x(2), x(2)], b: [[x(3)], [x(3)]] };
    const sp = jacobianSparsity(planOf({ graph, args, constant: ['w'] }), 1e6);
    // columns: x is 0..5, b is 6..11 (w constant)
    const y = [
      [0, 1, 2],
      [0, 1, 2],
      [3, 4, 5],
      [3, 4, 5],
    ];
    expect(sp && rowsOf(sp.outputs[0])).toEqual(y);
    expect(sp && rowsOf(sp.outputs[1])).toEqual(y.map((r) => r.map((c) => c + 6)));
  });

  it('gives up (undefined) past its budget', () => {
    const graph = { inputs: [{ name: 'x', shape: [40] }], nodes: [{ id: 'y', op: 'matmul', args: ['x', 'x'] }], outputs: ['y'] };
    expect(jacobianSparsity(planOf({ graph, args: { x: x(40) } }), 1e6)).toBeDefined();
    expect(
      jacobianSparsity(planOf({ graph: { ...graph, nodes: [{ id: 'y', op: 'sin', args: ['x'] }] }, args: { x: x(40) } }), 10),
    ).toBeUndefined();
  });
});

describe('patterns are conservative on random graphs', () => {
  it('every non-zero of the Jacobian is in the pattern', async () => {
    let nonTrivial = 0;
    await fc.assert(
      fc.asyncProperty(randomGraphCase(), async (c) => {
        if (activeInputs(c).length === 0) return;
        const request = { graph: c.graph, args: c.args, constant: c.constant };
        const plan = planOf(request);
        const sp = jacobianSparsity(plan, 1e7);
        expect(sp).toBeDefined();
        if (!sp) return;
        const r = await jacobian({ ...request, mode: 'forward' }, { output: 'packed' });
        const names = plan.activeInputs.map((i) => plan.graph.inputs[i].name);
        plan.outputs.forEach((o, k) => {
          const rows = rowsOf(sp.outputs[k]).map((cols) => new Set(cols));
          names.forEach((name, a) => {
            const block = r.jacobian[o.name][name];
            const n = block.data.length / Math.max(1, rows.length);
            for (let row = 0; row < rows.length; row++) {
              for (let j = 0; j < n; j++) {
                const v = block.data[row * n + j];
                if (v !== 0 && !rows[row].has(sp.colOffsets[a] + j)) {
                  throw new Error(`${o.name}[${row}] / ${name}[${j}] = ${v}, not in the pattern ${JSON.stringify([...rows[row]])}`);
                }
                if (v !== 0) nonTrivial++;
              }
            }
          });
        });
      }),
      { seed: 20261202, numRuns: 300 },
    );
    expect(nonTrivial).toBeGreaterThan(1000);
  });
});

describe('Hessian patterns', () => {
  it('conservative on random graphs with a scalar output: every non-zero of the Hessian is in the pattern', async () => {
    const { hessian } = await import('../api/respond.js');
    const { hessianPattern } = await import('./colouring.js');
    const { withScalarOutput } = await import('../../test/helpers/random-graph.js');
    let nonTrivial = 0;
    await fc.assert(
      fc.asyncProperty(randomGraphCase(), async (c0) => {
        const c = withScalarOutput(c0, 'sumsq');
        if (activeInputs(c).length === 0) return;
        const request = { graph: c.graph, args: c.args, constant: c.constant };
        const plan = makePlan(checkRequest('hessian', request));
        const found = hessianPattern(plan, 1e7);
        expect(found).toBeDefined();
        if (!found) return;
        const sp = found.sparsity;
        const r = await hessian({ ...request, mode: 'reverse' }, { output: 'packed' });
        const names = plan.activeInputs.map((i) => plan.graph.inputs[i].name);
        names.forEach((a, ia) => {
          const rows = rowsOf(sp.outputs[ia]).map((cols) => new Set(cols));
          names.forEach((b, ib) => {
            const block = r.hessian[a][b];
            const n = block.data.length / Math.max(1, rows.length);
            for (let row = 0; row < rows.length; row++) {
              for (let j = 0; j < n; j++) {
                const v = block.data[row * n + j];
                if (v !== 0 && !rows[row].has(sp.colOffsets[ib] + j))
                  throw new Error(`H[${a}][${row}] / ${b}[${j}] = ${v}, not in the pattern`);
                if (v !== 0) nonTrivial++;
              }
            }
          });
        });
      }),
      { seed: 20261206, numRuns: 150 },
    );
    expect(nonTrivial).toBeGreaterThan(500);
  });

  it('exact for a separable sum: the Hessian of Σ sin(x_i) is diagonal, of Rosenbrock 2 × 2 blocks', async () => {
    const { hessianPattern } = await import('./colouring.js');
    const sumSin = {
      inputs: [{ name: 'x', shape: [4] }],
      nodes: [
        { id: 's', op: 'sin', args: ['x'] },
        { id: 'f', op: 'sum', args: ['s'] },
      ],
      outputs: ['f'],
    };
    const h = hessianPattern(makePlan(checkRequest('hessian', { graph: sumSin, args: { x: x(4) } })), 1e6);
    expect(h && rowsOf(h.sparsity.outputs[0])).toEqual([[0], [1], [2], [3]]);
    expect(h?.columns.count).toBe(1);
    // w = [a0, b0, a1, b1]: f = Σ 100 (b - a²)² + (1 - a)², by slices of a reshape
    const rosen = {
      inputs: [{ name: 'w', shape: [4] }],
      nodes: [
        { id: 'W', op: 'reshape', args: ['w'], shape: [2, 2] },
        { id: 'a', op: 'slice', args: ['W'], start: [0, 0], stop: [2, 1] },
        { id: 'b', op: 'slice', args: ['W'], start: [0, 1], stop: [2, 2] },
        { id: 'a2', op: 'square', args: ['a'] },
        { id: 't', op: 'sub', args: ['b', 'a2'] },
        { id: 't2', op: 'square', args: ['t'] },
        { id: 'u', op: 'sub', args: [1, 'a'] },
        { id: 'u2', op: 'square', args: ['u'] },
        { id: 'h', op: 'mul', args: [100, 't2'] },
        { id: 'g', op: 'add', args: ['h', 'u2'] },
        { id: 'f', op: 'sum', args: ['g'] },
      ],
      outputs: ['f'],
    };
    const hr = hessianPattern(makePlan(checkRequest('hessian', { graph: rosen, args: { w: x(4) } })), 1e6);
    expect(hr && rowsOf(hr.sparsity.outputs[0])).toEqual([
      [0, 1],
      [0, 1],
      [2, 3],
      [2, 3],
    ]);
    expect(hr?.columns.count).toBe(2);
  });
});
