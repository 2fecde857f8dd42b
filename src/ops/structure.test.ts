/**
 * eye, diag, diagonal, trace, triu and tril against NumPy's own examples (values
 * written out from NumPy 2), their wire errors, their derivatives through the
 * library, and their Jacobian sparsity patterns, which must be exact.
 */
import { describe, expect, it } from 'vitest';
import { makePlan } from '../analysis/plan.js';
import { jacobianSparsity } from '../analysis/sparsity.js';
import { evaluate, hessian, jacobian } from '../api/respond.js';
import { DerivdError } from '../graph/errors.js';
import { checkRequest } from '../graph/request.js';
import { toNested } from '../tensor/nested.js';
import { sizeOf } from '../tensor/tensor.js';

/** arange(n) reshaped to `shape`, offset by `from`. */
const arange = (shape: number[], from = 0): number[] => Array.from({ length: sizeOf(shape) }, (_, i) => i + from);

/** A graph with one input x and one node y. */
const oneNode = (op: string, shape: number[] | null, attrs: object = {}) => ({
  inputs: shape === null ? [] : [{ name: 'x', shape }],
  nodes: [{ id: 'y', op, args: shape === null ? [] : ['x'], ...attrs }],
  outputs: ['y'],
});

async function value(op: string, shape: number[] | null, x: number[], attrs: object = {}): Promise<{ shape: number[]; data: number[] }> {
  const r = await evaluate({ graph: oneNode(op, shape, attrs), args: shape === null ? {} : { x: packed(shape, x) } }, { output: 'packed' });
  const y = r.values.y as unknown as { shape: number[]; data: Float64Array };
  return { shape: [...y.shape], data: Array.from(y.data) };
}

/** The wire (nested) form of a tensor; non-finite numbers as strings. */
const packed = (shape: number[], data: number[]): unknown => toNested({ shape, data: Float64Array.from(data) }, true);

async function errorOf(graph: object, args: object): Promise<string[]> {
  try {
    await evaluate({ graph, args });
  } catch (err) {
    if (err instanceof DerivdError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('no error');
}

describe('eye', () => {
  it.each([
    [{ n: 3 }, [3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1]],
    [{ n: 2, m: 3, k: 1 }, [2, 3], [0, 1, 0, 0, 0, 1]],
    [{ n: 3, m: 2, k: -1 }, [3, 2], [0, 0, 1, 0, 0, 1]],
    [{ n: 2, k: 2 }, [2, 2], [0, 0, 0, 0]],
    [{ n: 2, m: 4, k: -3 }, [2, 4], [0, 0, 0, 0, 0, 0, 0, 0]],
    [{ n: 0 }, [0, 0], []],
  ])('np.eye(%j)', async (attrs, shape, data) => {
    expect(await value('eye', null, [], attrs)).toEqual({ shape, data });
  });

  it('rejects negative sizes at the attribute', async () => {
    expect(await errorOf(oneNode('eye', null, { n: -1 }), {})).toEqual([expect.stringMatching(/^graph\.nodes\[0\]\.n: .*non-negative/)]);
    expect(await errorOf(oneNode('eye', null, { n: 2, m: -2 }), {})).toEqual([expect.stringMatching(/^graph\.nodes\[0\]\.m: /)]);
  });
});

describe('diag', () => {
  it.each([
    [0, [2, 2], [1, 0, 0, 2]],
    [1, [3, 3], [0, 1, 0, 0, 0, 2, 0, 0, 0]],
    [-1, [3, 3], [0, 0, 0, 1, 0, 0, 0, 2, 0]],
    [2, [4, 4], [0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]],
  ])('np.diag([1, 2], %i)', async (k, shape, data) => {
    expect(await value('diag', [2], [1, 2], { k })).toEqual({ shape, data });
  });

  it('takes a vector only', async () => {
    expect(
      await errorOf(oneNode('diag', [2, 2]), {
        x: [
          [1, 2],
          [3, 4],
        ],
      }),
    ).toEqual(['graph.nodes[0].args[0]: diag: expected a vector, found shape [2, 2]']);
  });
});

describe('diagonal', () => {
  // a = np.arange(12).reshape(3, 4)
  it.each([
    [0, [0, 5, 10]],
    [1, [1, 6, 11]],
    [3, [3]],
    [4, []],
    [-1, [4, 9]],
    [-2, [8]],
    [-3, []],
  ])('np.diagonal(arange(12).reshape(3, 4), %i)', async (k, data) => {
    expect(await value('diagonal', [3, 4], arange([3, 4]), { k })).toEqual({ shape: [data.length], data });
  });

  it('is batched over the leading axes, as np.diagonal(a, k, -2, -1)', async () => {
    // np.diagonal(np.arange(24).reshape(2, 3, 4), 1, -2, -1) = [[1, 6, 11], [13, 18, 23]]
    expect(await value('diagonal', [2, 3, 4], arange([2, 3, 4]), { k: 1 })).toEqual({ shape: [2, 3], data: [1, 6, 11, 13, 18, 23] });
    expect(await value('diagonal', [2, 1, 2, 2], arange([2, 1, 2, 2]))).toEqual({ shape: [2, 1, 2], data: [0, 3, 4, 7] });
  });

  it('needs rank 2', async () => {
    expect(await errorOf(oneNode('diagonal', [3]), { x: [1, 2, 3] })).toEqual([
      'graph.nodes[0].args[0]: diagonal: expected rank 2 or more, found shape [3]',
    ]);
  });
});

describe('trace', () => {
  it('sums the main diagonal of the last two axes', async () => {
    expect(await value('trace', [3, 4], arange([3, 4]))).toEqual({ shape: [], data: [15] });
    // np.trace(np.arange(24).reshape(2, 3, 4), axis1=-2, axis2=-1) = [15, 51]
    expect(await value('trace', [2, 3, 4], arange([2, 3, 4]))).toEqual({ shape: [2], data: [15, 51] });
    expect(await value('trace', [0, 2], [])).toEqual({ shape: [], data: [0] });
  });

  it('has gradient I, batched', async () => {
    const r = await jacobian(
      { graph: oneNode('trace', [2, 2, 3]), args: { x: packed([2, 2, 3], arange([2, 2, 3])) } },
      { output: 'packed' },
    );
    const j = r.jacobian.y.x as unknown as { shape: number[]; data: Float64Array };
    expect(j.shape).toEqual([2, 2, 2, 3]);
    expect(Array.from(j.data)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]);
  });
});

describe('triu and tril', () => {
  const a = arange([3, 3], 1); // [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
  it.each([
    ['triu', 0, [1, 2, 3, 0, 5, 6, 0, 0, 9]],
    ['triu', 1, [0, 2, 3, 0, 0, 6, 0, 0, 0]],
    ['triu', -1, [1, 2, 3, 4, 5, 6, 0, 8, 9]],
    ['triu', 3, [0, 0, 0, 0, 0, 0, 0, 0, 0]],
    ['tril', 0, [1, 0, 0, 4, 5, 0, 7, 8, 9]],
    ['tril', -1, [0, 0, 0, 4, 0, 0, 7, 8, 0]],
    ['tril', 1, [1, 2, 0, 4, 5, 6, 7, 8, 9]],
    ['tril', -3, [0, 0, 0, 0, 0, 0, 0, 0, 0]],
  ])('np.%s(a, %i)', async (op, k, data) => {
    expect(await value(op, [3, 3], a, { k })).toEqual({ shape: [3, 3], data });
  });

  it('batched and rectangular; what they drop is an exact 0, NaN included', async () => {
    // np.triu(np.arange(12).reshape(2, 2, 3), 1), np.tril(np.arange(12).reshape(2, 3, 2))
    expect(await value('triu', [2, 2, 3], arange([2, 2, 3]), { k: 1 })).toEqual({
      shape: [2, 2, 3],
      data: [0, 1, 2, 0, 0, 5, 0, 7, 8, 0, 0, 11],
    });
    expect(await value('tril', [2, 3, 2], arange([2, 3, 2]))).toEqual({ shape: [2, 3, 2], data: [0, 0, 2, 3, 4, 5, 6, 0, 8, 9, 10, 11] });
    expect(await value('triu', [2, 2], [1, NaN, NaN, 2])).toEqual({ shape: [2, 2], data: [1, NaN, 0, 2] });
  });

  it('need rank 2', async () => {
    expect(await errorOf(oneNode('tril', []), { x: 1 })).toEqual(['graph.nodes[0].args[0]: tril: expected rank 2 or more, found shape []']);
  });
});

describe('derivatives through structure ops', () => {
  it('the Hessian of Σ triu(x)² is 2 on the upper triangle, exactly, in both modes', async () => {
    const graph = {
      inputs: [{ name: 'x', shape: [2, 2] }],
      nodes: [
        { id: 'u', op: 'triu', args: ['x'] },
        { id: 'q', op: 'square', args: ['u'] },
        { id: 's', op: 'sum', args: ['q'] },
      ],
      outputs: ['s'],
    };
    for (const mode of ['forward', 'reverse'] as const) {
      const r = await hessian(
        {
          graph,
          args: {
            x: [
              [1, 2],
              [3, 4],
            ],
          },
          mode,
        },
        { output: 'packed' },
      );
      const h = r.hessian.x.x as unknown as { data: Float64Array };
      expect(Array.from(h.data), mode).toEqual([2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    }
  });

  it('diag and diagonal are each other’s transposes: the Jacobian of diagonal(diag(v, k), k) is I', async () => {
    const graph = {
      inputs: [{ name: 'v', shape: [3] }],
      nodes: [
        { id: 'd', op: 'diag', args: ['v'], k: -2 },
        { id: 'y', op: 'diagonal', args: ['d'], k: -2 },
      ],
      outputs: ['y'],
    };
    for (const mode of ['forward', 'reverse'] as const) {
      const r = await jacobian({ graph, args: { v: [1, 2, 3] }, mode }, { output: 'packed' });
      expect(Array.from((r.jacobian.y.v as unknown as { data: Float64Array }).data), mode).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    }
  });
});

describe('sparsity patterns are exact', () => {
  it.each([
    ['diag', [3], { k: 1 }],
    ['diagonal', [2, 3, 4], { k: -1 }],
    ['trace', [2, 3, 3], {}],
    ['triu', [2, 3, 4], { k: 1 }],
    ['tril', [3, 2], { k: -1 }],
  ])('%s of %j', async (op, shape, attrs) => {
    const x = arange(shape, 1);
    const request = { graph: oneNode(op, shape, attrs), args: { x: packed(shape, x) } };
    const sp = jacobianSparsity(makePlan(checkRequest('jacobian', request)), 1e6)!;
    const r = await jacobian(request, { output: 'packed' });
    const data = (r.jacobian.y.x as unknown as { data: Float64Array }).data;
    const n = x.length;
    const p = sp.outputs[0];
    for (let row = 0; row < p.ptr.length - 1; row++) {
      const cols = Array.from(p.idx.subarray(p.ptr[row], p.ptr[row + 1]));
      const nonZero = Array.from({ length: n }, (_, j) => j).filter((j) => data[row * n + j] !== 0);
      expect(cols, `row ${row}`).toEqual(nonZero);
    }
  });
});
