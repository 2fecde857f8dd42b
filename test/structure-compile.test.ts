/**
 * The compiler against the interpreter on graphs made of the structure, cumulative,
 * softmax and norm ops (eye, diag, diagonal, trace, triu, tril, cumsum, cumprod,
 * softmax, log_softmax, norm) among elementwise ops: the same bits for values,
 * Jacobians in both modes and Hessians. diag, diagonal, triu and tril are read
 * through index maps with holes (their zeros) inside fused loops.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { hessian, jacobian, type Result } from '../src/index.js';
import { setExecutionMode } from '../src/compile/execute.js';
import { compileStats } from '../src/compile/codegen.js';
import { expectClose } from './helpers/numeric.js';
import { numbers } from './helpers/results.js';

const PACKED = { output: 'packed' as const };

afterEach(() => setExecutionMode('compiled'));

async function bothWays(call: () => Promise<Result>): Promise<{ compiled: number[]; interpreted: number[]; segments: number }> {
  setExecutionMode('interpreted');
  const interpreted = numbers(await call());
  setExecutionMode('compiled');
  await call();
  const before = compileStats.segments;
  const compiled = numbers(await call());
  return { compiled, interpreted, segments: compileStats.segments - before };
}

const x = [
  [0.3, -1.2, 0.7, 2.1],
  [1.5, 0.4, -0.6, 0.9],
  [-0.8, 1.1, 0.2, -1.7],
];

const graphs: [string, object][] = [
  [
    'triu, tril and diagonal among elementwise ops',
    {
      inputs: [{ name: 'x', shape: [3, 4] }],
      nodes: [
        { id: 's', op: 'sin', args: ['x'] },
        { id: 'u', op: 'triu', args: ['s'], k: 1 },
        { id: 'l', op: 'tril', args: ['x'], k: -1 },
        { id: 'm', op: 'mul', args: ['u', 'l'] },
        { id: 'e', op: 'exp', args: ['m'] },
        { id: 'd', op: 'diagonal', args: ['e'] },
        { id: 'q', op: 'square', args: ['d'] },
        { id: 'y', op: 'add', args: ['q', 1] },
      ],
      outputs: ['y', 'e'],
    },
  ],
  [
    'diag, eye and trace',
    {
      inputs: [{ name: 'x', shape: [3, 4] }],
      nodes: [
        { id: 'r', op: 'sum', args: ['x'], axes: [1] },
        { id: 'D', op: 'diag', args: ['r'], k: 1 },
        { id: 'I', op: 'eye', n: 4 },
        { id: 'A', op: 'add', args: ['D', 'I'] },
        { id: 'c', op: 'cos', args: ['A'] },
        { id: 'y', op: 'trace', args: ['c'] },
      ],
      outputs: ['y'],
    },
  ],
  [
    'cumsum, cumprod, softmax, log_softmax and norm',
    {
      inputs: [{ name: 'x', shape: [3, 4] }],
      nodes: [
        { id: 'c', op: 'cumsum', args: ['x'], axis: 0 },
        { id: 'p', op: 'cumprod', args: ['x'], reverse: true },
        { id: 's', op: 'softmax', args: ['c'] },
        { id: 'l', op: 'log_softmax', args: ['p'], axis: 0 },
        { id: 'm', op: 'mul', args: ['s', 'l'] },
        { id: 'n', op: 'norm', args: ['m'], axes: [0] },
        { id: 'n1', op: 'norm', args: ['x'], ord: 1, axes: [1] },
        { id: 'ni', op: 'norm', args: ['x'], ord: 'inf' },
        { id: 'y', op: 'add', args: ['n', 'ni'] },
      ],
      outputs: ['y', 'n1'],
    },
  ],
];

describe('compiled code agrees with the interpreter on structure ops', () => {
  test.each(graphs)('%s', async (_name, graph) => {
    let segments = 0;
    for (const mode of ['forward', 'reverse'] as const) {
      const r = await bothWays(() => jacobian({ graph, args: { x }, mode }, PACKED));
      expectClose(r.compiled, r.interpreted, 0, `jacobian ${mode}`);
      segments += r.segments;
    }
    const scalar = { ...(graph as { outputs: string[] }), outputs: [(graph as { outputs: string[] }).outputs[0]] };
    const h = await bothWays(() =>
      hessian(
        {
          graph: {
            ...scalar,
            nodes: [...(graph as { nodes: object[] }).nodes, { id: 'z', op: 'sum', args: [scalar.outputs[0]] }],
            outputs: ['z'],
          },
          args: { x },
        },
        PACKED,
      ),
    );
    expectClose(h.compiled, h.interpreted, 0, 'hessian');
    expect(segments + h.segments).toBeGreaterThan(0);
  });
});
