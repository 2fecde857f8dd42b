/**
 * gather, scatter_add and scatter_set end to end: NumPy's semantics, derivatives
 * against hand-computed ones, indices checked when the call runs (422 naming the
 * argument or the node), and an input used only as indices costing no direction.
 */
import { describe, expect, it } from 'vitest';
import { DerivdError, evaluate, gradient, jacobian } from '../src/index.js';
import { useApps } from './helpers/server.js';

const A = [
  [1, 2],
  [3, 4],
  [5, 6],
];

const gatherGraph = (axis: number, indexShape: number[]) => ({
  inputs: [
    { name: 'a', shape: [3, 2] },
    { name: 'idx', shape: indexShape },
  ],
  nodes: [{ id: 'g', op: 'gather', args: ['a', 'idx'], axis }],
  outputs: ['g'],
});

describe('gather', () => {
  it('takes rows or columns by an index tensor, as NumPy take does (negatives from the end)', async () => {
    const rows = await evaluate({
      graph: gatherGraph(0, [2, 2]),
      args: {
        a: A,
        idx: [
          [2, 0],
          [-1, 1],
        ],
      },
    });
    expect(rows.values.g).toEqual([
      [
        [5, 6],
        [1, 2],
      ],
      [
        [5, 6],
        [3, 4],
      ],
    ]);
    const cols = await evaluate({ graph: gatherGraph(1, []), args: { a: A, idx: -1 } });
    expect(cols.values.g).toEqual([2, 4, 6]);
  });

  it('its gradient adds the cotangent back at every index (repeats accumulate), in both modes', async () => {
    const graph = { ...gatherGraph(0, [3]), nodes: [...gatherGraph(0, [3]).nodes, { id: 's', op: 'sum', args: ['g'] }], outputs: ['s'] };
    for (const mode of ['forward', 'reverse'] as const) {
      const r = await gradient({ graph, args: { a: A, idx: [2, 2, 0] }, mode });
      expect((r.gradient as Record<string, unknown>).a).toEqual([
        [1, 1],
        [0, 0],
        [2, 2],
      ]);
      // an input used only as indices carries no direction: 6 for a, none for idx
      if (mode === 'forward') expect(r.stats.directions).toBe(6);
    }
  });

  it('a non-integer or out-of-range index is a 422 naming the argument, or the node that holds it', async () => {
    const bad = async (req: object): Promise<DerivdError> => {
      try {
        await jacobian(req);
      } catch (err) {
        return err as DerivdError;
      }
      throw new Error('no error');
    };
    const fromInput = await bad({ graph: gatherGraph(0, [2]), args: { a: A, idx: [0, 1.5] } });
    expect(fromInput).toBeInstanceOf(DerivdError);
    expect(fromInput.kind).toBe('invalid_graph');
    expect(fromInput.issues).toEqual([{ path: 'args.idx', message: 'element 1 of the indices, 1.5, is not an integer' }]);
    const computed = {
      inputs: [{ name: 'a', shape: [3, 2] }],
      nodes: [
        { id: 'i', op: 'const', value: [0, 3] },
        { id: 'g', op: 'gather', args: ['a', 'i'] },
      ],
      outputs: ['g'],
    };
    const fromNode = await bad({ graph: computed, args: { a: A } });
    expect(fromNode.issues).toEqual([
      { path: 'graph.nodes[1].args[1]', message: 'element 1 of the indices, 3, is out of range for an axis of length 3' },
    ]);
  });
});

describe('scatter_add and scatter_set', () => {
  const scatterGraph = (op: 'scatter_add' | 'scatter_set') => ({
    inputs: [
      { name: 'a', shape: [5] },
      { name: 'u', shape: [3] },
    ],
    nodes: [
      { id: 'i', op: 'const', value: [1, 3, 1] },
      { id: 'y', op, args: ['a', 'i', 'u'] },
    ],
    outputs: ['y'],
  });
  const args = { a: [1, 2, 3, 4, 5], u: [10, 20, 30] };

  it('scatter_add accumulates repeated indices; its Jacobian is the identity and the index pattern', async () => {
    for (const mode of ['forward', 'reverse'] as const) {
      const r = await jacobian({ graph: scatterGraph('scatter_add'), args, mode });
      expect(r.values.y).toEqual([1, 42, 3, 24, 5]);
      const j = (r.jacobian as Record<string, Record<string, unknown>>).y;
      expect(j.a).toEqual([0, 1, 2, 3, 4].map((r) => [0, 1, 2, 3, 4].map((c) => (r === c ? 1 : 0))));
      expect(j.u).toEqual([
        [0, 0, 0],
        [1, 0, 1],
        [0, 0, 0],
        [0, 1, 0],
        [0, 0, 0],
      ]);
    }
  });

  it('scatter_set keeps the last write of a repeated index; overwritten elements and updates get no derivative', async () => {
    for (const mode of ['forward', 'reverse'] as const) {
      const r = await jacobian({ graph: scatterGraph('scatter_set'), args, mode });
      expect(r.values.y).toEqual([1, 30, 3, 20, 5]);
      const j = (r.jacobian as Record<string, Record<string, unknown>>).y;
      expect(j.a).toEqual([0, 1, 2, 3, 4].map((r) => [0, 1, 2, 3, 4].map((c) => (r === c && r !== 1 && r !== 3 ? 1 : 0))));
      expect(j.u).toEqual([
        [0, 0, 0],
        [0, 0, 1],
        [0, 0, 0],
        [0, 1, 0],
        [0, 0, 0],
      ]);
    }
  });

  it('updates of the wrong shape are refused when the graph is checked', async () => {
    const graph = scatterGraph('scatter_add');
    graph.inputs[1].shape = [2];
    await expect(jacobian({ graph, args: { a: args.a, u: [1, 2] } })).rejects.toMatchObject({
      issues: [{ path: 'graph.nodes[1].args[2]' }],
    });
  });
});

describe('over HTTP', () => {
  const appWith = useApps();
  it('answers inline and pooled, and a bad index is a 422 with its path either way', async () => {
    for (const config of [{ workers: 0 }, { workers: 1, inlineMaxCostMs: 0 }]) {
      const { app } = await appWith(config);
      const ok = await app.inject({
        method: 'POST',
        url: '/v1/jacobian',
        payload: { graph: gatherGraph(0, [2]), args: { a: A, idx: [2, -3] } },
      });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json().values.g).toEqual([
        [5, 6],
        [1, 2],
      ]);
      const bad = await app.inject({
        method: 'POST',
        url: '/v1/jacobian',
        payload: { graph: gatherGraph(0, [2]), args: { a: A, idx: [2, 7] } },
      });
      expect(bad.statusCode, bad.body).toBe(422);
      expect(bad.json().errors).toEqual([
        { path: 'args.idx', message: 'element 1 of the indices, 7, is out of range for an axis of length 3' },
      ]);
    }
  });
});
