/**
 * Compressed sweeps against plain ones, on random graphs: the Jacobian from one
 * sweep per colour is the Jacobian from one sweep per element, bit for bit but for
 * the sign of a zero (a structural zero is written +0; a plain sweep may compute
 * -0 there), in forward and reverse mode, at one point and in a batch.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { colouringsOf, hessianCompression } from '../analysis/colouring.js';
import { makePlan } from '../analysis/plan.js';
import { checkRequest } from '../graph/request.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import { activeInputs, randomGraphCase, withScalarOutput } from '../../test/helpers/random-graph.js';
import { sinExpGraph } from '../../test/helpers/requests.js';
import { compressedForward, compressedHessian, compressedReverse } from './compressed.js';
import { runPrimal } from './primal.js';
import { forwardProgram, hessianProgram, reverseProgram } from './programs.js';
import { activeShapes, basisSweeps, outputShapes, transposeBlocks } from './sweeps.js';

function expectSameBlocks(label: string, got: Tensor[][], want: Tensor[][]): void {
  got.forEach((row, o) => {
    row.forEach((t, a) => {
      const w = want[o][a];
      expect(t.shape, `${label} [${o}][${a}] shape`).toEqual(w.shape);
      for (let i = 0; i < t.data.length; i++) {
        const [x, y] = [t.data[i], w.data[i]];
        if (!(Object.is(x, y) || (x === 0 && y === 0))) throw new Error(`${label} [${o}][${a}] element ${i}: compressed ${x}, plain ${y}`);
      }
    });
  });
}

/**
 * A star-coloured Hessian reads H[i][j] from the sweep that holds it alone, or H[j][i]
 * from the one that holds that: each entry is the plain one at (i, j) or at (j, i),
 * bit for bit (but for the sign of a zero), and the two differ by summation order only.
 */
function expectSymmetricBlocks(got: Tensor[][], want: Tensor[][], sizes: readonly number[]): void {
  got.forEach((row, a) => {
    row.forEach((t, b) => {
      const [m, n] = [sizes[a], sizes[b]];
      for (let p = 0; p < m; p++) {
        for (let q = 0; q < n; q++) {
          const x = t.data[p * n + q];
          const [here, there] = [want[a][b].data[p * n + q], want[b][a].data[q * m + p]];
          const same = (y: number) => Object.is(x, y) || (x === 0 && y === 0);
          if (!same(here) && !same(there))
            throw new Error(`hessian [${a}][${b}] (${p}, ${q}): star ${x}, plain ${here} and transposed ${there}`);
          expect(Math.abs(here - there)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(here)));
        }
      }
    });
  });
}

describe('compressed sweeps give the plain Jacobian', () => {
  it('forward and reverse, on random graphs', () => {
    let forward = 0;
    let reverse = 0;
    fc.assert(
      fc.property(randomGraphCase(), (c) => {
        if (activeInputs(c).length === 0) return;
        const plan = makePlan(checkRequest('jacobian', { graph: c.graph, args: c.args, constant: c.constant }));
        const primal = runPrimal(plan, checkRequest('jacobian', { graph: c.graph, args: c.args, constant: c.constant }).args);
        const { columns, rows } = colouringsOf(plan);
        if (columns) {
          forward++;
          const plain = basisSweeps(primal, false, activeShapes(plan), outputShapes(plan), (g) => forwardProgram(plan, [g]), false);
          const r = compressedForward(plan, primal, columns);
          expect(r.directions).toBe(columns.count);
          expectSameBlocks('forward', r.blocks, transposeBlocks(plain.blocks, plan.outputValues.length));
        }
        if (rows) {
          reverse++;
          const plain = basisSweeps(primal, false, outputShapes(plan), activeShapes(plan), (o) => reverseProgram(plan, [o]), true);
          expectSameBlocks('reverse', compressedReverse(plan, primal, rows).blocks, plain.blocks);
        }
      }),
      { seed: 20261203, numRuns: 300 },
    );
    // the property must not hold vacuously
    expect(forward).toBeGreaterThan(50);
    expect(reverse).toBeGreaterThan(50);
  });
});

describe('compressed Hessians give the plain Hessian', () => {
  it('forward-over-reverse, on random graphs with a scalar output', () => {
    let compressed = 0;
    let starred = 0;
    fc.assert(
      fc.property(randomGraphCase(), (c0) => {
        const c = withScalarOutput(c0, 'sumsq');
        if (activeInputs(c).length === 0) return;
        const checked = checkRequest('hessian', { graph: c.graph, args: c.args, constant: c.constant });
        const plan = makePlan(checked);
        const primal = runPrimal(plan, checked.args);
        const hc = hessianCompression(plan);
        if (!hc) return;
        compressed++;
        const shapes = activeShapes(plan);
        const plain = basisSweeps(primal, false, shapes, shapes, (g) => hessianProgram(plan, [g]), false);
        const r = compressedHessian(plan, primal, hc);
        expect(r.directions).toBe(hc.count);
        const want = transposeBlocks(plain.blocks, shapes.length);
        if (hc.recovery) {
          starred++;
          expectSymmetricBlocks(r.blocks, want, shapes.map(sizeOf));
        } else expectSameBlocks('hessian', r.blocks, want);
      }),
      { seed: 20261207, numRuns: 300 },
    );
    expect(compressed).toBeGreaterThan(30);
    expect(starred).toBeGreaterThan(5);
  });
});

describe('sparse Jacobians through the public call', () => {
  it('a diagonal Jacobian in one sweep, against its analytic derivative, in every mode', async () => {
    const { jacobian } = await import('../api/respond.js');
    const n = 300;
    const x = Array.from({ length: n }, (_, i) => Math.sin(i) * 2);
    const graph = sinExpGraph(n);
    for (const mode of ['auto', 'forward', 'reverse'] as const) {
      const r = await jacobian({ graph, args: { x }, mode }, { output: 'packed' });
      expect(r.stats, mode).toMatchObject({ directions: 1, colors: 1, nonZeros: n });
      const J = r.jacobian.y.x.data;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const want = i === j ? (Math.cos(x[i]) + Math.sin(x[i])) * Math.exp(x[i]) : 0;
          if (Math.abs(J[i * n + j] - want) > 1e-12 * Math.max(1, Math.abs(want)))
            throw new Error(`${mode} J[${i}][${j}] = ${J[i * n + j]}, want ${want}`);
        }
      }
      if (mode === 'auto') expect(r.reason).toContain('(sparse: 1 column colour for forward, 1 row colour for reverse)');
    }
  });

  it('a tridiagonal residual in three sweeps', async () => {
    const { jacobian } = await import('../api/respond.js');
    const n = 50;
    const graph = {
      inputs: [{ name: 'u', shape: [n] }],
      nodes: [
        { id: 'l', op: 'slice', args: ['u'], start: [0], stop: [n - 2] },
        { id: 'm', op: 'slice', args: ['u'], start: [1], stop: [n - 1] },
        { id: 'r', op: 'slice', args: ['u'], start: [2], stop: [n] },
        { id: 'm2', op: 'mul', args: [-2, 'm'] },
        { id: 'a', op: 'add', args: ['l', 'm2'] },
        { id: 'lap', op: 'add', args: ['a', 'r'] },
        { id: 'c', op: 'pow', args: ['m', 3] },
        { id: 'res', op: 'add', args: ['lap', 'c'] },
      ],
      outputs: ['res'],
    };
    const u = Array.from({ length: n }, (_, i) => Math.cos(i));
    const r = await jacobian({ graph, args: { u }, mode: 'forward' }, { output: 'packed' });
    expect(r.stats.directions).toBe(3);
    const J = r.jacobian.res.u.data;
    for (let i = 0; i < n - 2; i++) {
      for (let j = 0; j < n; j++) {
        const want = j === i ? 1 : j === i + 2 ? 1 : j === i + 1 ? -2 + 3 * u[i + 1] ** 2 : 0;
        expect(Math.abs(J[i * n + j] - want)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      }
    }
  });
});
