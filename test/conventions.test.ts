/** Conventions that only show through whole engines (per-op ones live in src/ops/ops.test.ts). */
import { describe, expect, test } from 'vitest';
import { jacobian, evaluate, jvp, vjp } from '../src/index.js';
import { expectClose } from './helpers/numeric.js';

describe('zero-annihilating contractions', () => {
  const graph = {
    inputs: [
      { name: 'A', shape: [2, 2] },
      { name: 'x', shape: [2] },
    ],
    nodes: [{ id: 'y', op: 'matmul', args: ['A', 'x'] }],
    outputs: ['y'],
  };
  const args = {
    A: [
      ['Infinity', 1],
      [1, 1],
    ],
    x: [1, 2],
  };

  for (const mode of ['forward', 'reverse'] as const) {
    test(`${mode}: d(A x)/dx = A even where A is infinite`, async () => {
      const res = await jacobian({ graph, args, constant: ['A'], mode });
      expect(res.jacobian!.y.x).toEqual([
        [Infinity, 1],
        [1, 1],
      ]);
    });
  }

  test('the primal stays IEEE: 0 · Infinity is NaN', async () => {
    const res = await evaluate({
      graph,
      args: {
        A: [
          ['Infinity', 1],
          [1, 1],
        ],
        x: [0, 2],
      },
    });
    expect(res.values.y).toEqual([NaN, 2]);
  });
});

describe('outputs never alias arguments', () => {
  test('a packed argument returned as an output is a copy', async () => {
    const data = Float64Array.of(1, 2);
    const graph = { inputs: [{ name: 'x', shape: [2] }], nodes: [], outputs: ['x'] };
    const res = await jacobian({ graph, args: { x: { shape: [2], data } }, mode: 'fd' }, { output: 'packed' });
    const value = res.values.x as { data: Float64Array };
    expect(value.data).not.toBe(data);
    expect([...(res.jacobian!.x.x as { data: Float64Array }).data]).toEqual([1, 0, 0, 1]);
  });
});

describe('where: the condition carries no derivative', () => {
  test('where(sin(x), 1, 2) is not an active node', async () => {
    const graph = {
      inputs: [{ name: 'x', shape: [] }],
      nodes: [
        { id: 's', op: 'sin', args: ['x'] },
        { id: 'w', op: 'where', args: ['s', 1, 2] },
      ],
      outputs: ['w'],
    };
    const res = await jacobian({ graph, args: { x: 0.5 } });
    expect(res.stats).toMatchObject({ activeNodes: 0, inactiveNodes: 2 });
    expect(res.jacobian!.w.x).toBe(0);
  });
});

describe('limits that depend on the engine', () => {
  const graph = { inputs: [{ name: 'x', shape: [40] }], nodes: [{ id: 'y', op: 'exp', args: ['x'] }], outputs: ['y'] };
  const x = new Array(40).fill(0.1);
  const limits = { maxElements: 1000 }; // the 40 x 40 Jacobian has 1600 elements

  test('vjp by forward mode builds the Jacobian, so the Jacobian limit applies', async () => {
    await expect(vjp({ graph, args: { x }, cotangents: { y: x }, mode: 'forward' }, { limits })).rejects.toMatchObject({
      kind: 'limit_exceeded',
    });
    await expect(jvp({ graph, args: { x }, tangents: { x }, mode: 'reverse' }, { limits })).rejects.toMatchObject({
      kind: 'limit_exceeded',
    });
  });

  test('vjp by reverse mode and jvp by forward mode do not', async () => {
    const a = await vjp({ graph, args: { x }, cotangents: { y: x }, mode: 'reverse' }, { limits });
    expectClose(
      a.vjp!.x as number[],
      x.map((xi) => xi * Math.exp(xi)),
      1e-15,
    );
    const b = await jvp({ graph, args: { x }, tangents: { x }, mode: 'forward' }, { limits });
    expectClose(
      b.jvp!.y as number[],
      x.map((xi) => xi * Math.exp(xi)),
      1e-15,
    );
  });
});
