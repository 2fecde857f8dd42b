/**
 * cumsum, cumprod, softmax, log_softmax and norm: NumPy's values (written out from
 * NumPy 2), exact derivatives where the argument has zeros (cumprod) or is 0 (norm),
 * stability at large inputs, zero-annihilating chain rules, and exact Jacobian
 * sparsity patterns.
 */
import { describe, expect, it } from 'vitest';
import { makePlan } from '../analysis/plan.js';
import { jacobianSparsity } from '../analysis/sparsity.js';
import { evaluate, hessian, jacobian } from '../api/respond.js';
import { DerivdError } from '../graph/errors.js';
import { checkRequest } from '../graph/request.js';
import { toNested } from '../tensor/nested.js';
import { sizeOf } from '../tensor/tensor.js';
import { expectClose } from '../../test/helpers/numeric.js';

/** The wire (nested) form of a tensor; non-finite numbers as strings. */
const nested = (shape: number[], data: number[]): unknown => toNested({ shape, data: Float64Array.from(data) }, true);

const oneNode = (op: string, shape: number[], attrs: object = {}) => ({
  inputs: [{ name: 'x', shape }],
  nodes: [{ id: 'y', op, args: ['x'], ...attrs }],
  outputs: ['y'],
});

type Packed = { shape: number[]; data: Float64Array };

async function value(op: string, shape: number[], x: number[], attrs: object = {}): Promise<number[]> {
  const r = await evaluate({ graph: oneNode(op, shape, attrs), args: { x: nested(shape, x) } }, { output: 'packed' });
  return Array.from((r.values.y as unknown as Packed).data);
}

/** The Jacobian of y by x, row-major [size(y), size(x)], in the given mode. */
async function jac(op: string, shape: number[], x: number[], attrs: object, mode: 'forward' | 'reverse'): Promise<number[]> {
  const r = await jacobian({ graph: oneNode(op, shape, attrs), args: { x: nested(shape, x) }, mode }, { output: 'packed' });
  return Array.from((r.jacobian.y.x as unknown as Packed).data);
}

async function bothModes(op: string, shape: number[], x: number[], attrs: object = {}): Promise<number[]> {
  const [f, r] = [await jac(op, shape, x, attrs, 'forward'), await jac(op, shape, x, attrs, 'reverse')];
  expect(r, `${op}: reverse against forward`).toEqual(f);
  return f;
}

/** The Hessian of sum(op(x)) in both modes (they must agree exactly). */
async function hessOfSum(op: string, shape: number[], x: number[], attrs: object = {}): Promise<number[]> {
  const graph = {
    inputs: [{ name: 'x', shape }],
    nodes: [
      { id: 'y', op, args: ['x'], ...attrs },
      { id: 's', op: 'sum', args: ['y'] },
    ],
    outputs: ['s'],
  };
  const out: number[][] = [];
  for (const mode of ['forward', 'reverse'] as const) {
    const r = await hessian({ graph, args: { x: nested(shape, x) }, mode }, { output: 'packed' });
    out.push(Array.from((r.hessian.x.x as unknown as Packed).data));
  }
  expect(out[1], `${op}: reverse Hessian against forward`).toEqual(out[0]);
  return out[0];
}

describe('cumsum and cumprod', () => {
  it('NumPy values: last axis by default, any axis, reversed', async () => {
    expect(await value('cumsum', [3], [1, 2, 3])).toEqual([1, 3, 6]);
    expect(await value('cumsum', [3], [1, 2, 3], { reverse: true })).toEqual([6, 5, 3]);
    // np.cumsum([[1, 2], [3, 4]], axis=0), and along axis -1
    expect(await value('cumsum', [2, 2], [1, 2, 3, 4], { axis: 0 })).toEqual([1, 2, 4, 6]);
    expect(await value('cumsum', [2, 2], [1, 2, 3, 4])).toEqual([1, 3, 3, 7]);
    expect(await value('cumprod', [4], [1, 2, 3, 4])).toEqual([1, 2, 6, 24]);
    expect(await value('cumprod', [3], [2, 3, 4], { reverse: true })).toEqual([24, 12, 4]);
    expect(await value('cumprod', [2, 2], [1, 2, 3, 4], { axis: -2, reverse: true })).toEqual([3, 8, 3, 4]);
    expect(await value('cumprod', [3], [2, 0, 3])).toEqual([2, 0, 0]);
  });

  it('cumsum’s Jacobian is lower triangular ones (upper when reversed)', async () => {
    expect(await bothModes('cumsum', [3], [1, 2, 3])).toEqual([1, 0, 0, 1, 1, 0, 1, 1, 1]);
    expect(await bothModes('cumsum', [3], [1, 2, 3], { reverse: true })).toEqual([1, 1, 1, 0, 1, 1, 0, 0, 1]);
  });

  it('cumprod’s derivative is exact at zeros: products of the other elements, no division', async () => {
    // ∂y_i/∂x_j = Π_(k ≤ i, k ≠ j) x_k
    expect(await bothModes('cumprod', [4], [2, 0, 3, 4])).toEqual([1, 0, 0, 0, 0, 2, 0, 0, 0, 6, 0, 0, 0, 24, 0, 0]);
    expect(await bothModes('cumprod', [3], [0, 2, 0])).toEqual([1, 0, 0, 2, 0, 0, 0, 0, 0]);
    expect(await bothModes('cumprod', [3], [0, 2, 0], { reverse: true })).toEqual([0, 0, 0, 0, 0, 2, 0, 0, 1]);
    // Σ cumprod([a, b, c]) = a + ab + abc: the Hessian at [2, 0, 3] is [[0, 1 + c, b], [1 + c, 0, a], [b, a, 0]]
    expect(await hessOfSum('cumprod', [3], [2, 0, 3])).toEqual([0, 4, 0, 4, 0, 2, 0, 2, 0]);
  });

  it('cumprod’s chain rule is zero-annihilating: a zero tangent times an infinite factor is 0', async () => {
    // y = [x0, x0 x1] at x = [Infinity, 2]: ∂y1/∂x0 = x1 = 2 with ẋ1 = 0 against x0 = Infinity
    expect(await bothModes('cumprod', [2], [Infinity, 2])).toEqual([1, 0, 2, Infinity]);
  });
});

describe('softmax and log_softmax', () => {
  const e = [1, 2, 3].map((v) => Math.exp(v - 3));
  const total = e.reduce((a, b) => a + b, 0);

  it('values along the last axis by default, or another', async () => {
    expect(await value('softmax', [3], [1, 2, 3])).toEqual(e.map((v) => v / total));
    expect(await value('log_softmax', [3], [1, 2, 3])).toEqual([1, 2, 3].map((v) => v - 3 - Math.log(total)));
    // axis 0 of [[1, 5], [1, 5]]: each column is [0.5, 0.5]
    expect(await value('softmax', [2, 2], [1, 5, 1, 5], { axis: 0 })).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('are stable at large inputs: the maximum is subtracted first', async () => {
    const small = await value('softmax', [3], [0, 1, 2]);
    expect(await value('softmax', [3], [1000, 1001, 1002])).toEqual(small);
    expect(await value('softmax', [3], [-1000, -999, -998])).toEqual(small);
    expect(await value('softmax', [2], [-1000, 0])).toEqual([0, 1]);
    expect(await value('log_softmax', [2], [1000, 1000])).toEqual([-Math.LN2, -Math.LN2]);
    expect(await value('log_softmax', [2], [-1000, 0])).toEqual([-1000, 0]);
    const j = await bothModes('softmax', [2], [1000, 1001]);
    expect(j.every(Number.isFinite)).toBe(true);
  });

  it('Jacobians: diag(s) - s sᵀ and I - 1 sᵀ', async () => {
    const s = [0.25, 0.75];
    const x = [0, Math.log(3)];
    expectClose(await bothModes('softmax', [2], x), [s[0] - s[0] * s[0], -s[0] * s[1], -s[1] * s[0], s[1] - s[1] * s[1]], 1e-15, 'softmax');
    expectClose(await bothModes('log_softmax', [2], x), [1 - s[0], -s[1], -s[0], 1 - s[1]], 1e-15, 'log_softmax');
  });

  it('an element at -Infinity has weight 0 and leaks no NaN', async () => {
    expect(await value('softmax', [2], [-Infinity, 0])).toEqual([0, 1]);
    expect(await bothModes('softmax', [2], [-Infinity, 0])).toEqual([0, 0, 0, 0]);
    expect(await bothModes('log_softmax', [2], [-Infinity, 0])).toEqual([1, -1, 0, 0]);
  });
});

describe('norm', () => {
  it('orders 1, 2 and inf over all axes or some, keepdims', async () => {
    expect(await value('norm', [2], [3, -4])).toEqual([5]);
    expect(await value('norm', [2], [3, -4], { ord: 1 })).toEqual([7]);
    expect(await value('norm', [2], [3, -4], { ord: 'inf' })).toEqual([4]);
    expect(await value('norm', [2, 2], [3, 4, 6, -8], { axes: [-1], keepdims: true })).toEqual([5, 10]);
    expect(await value('norm', [2, 2], [3, 4, 6, -8], { axes: [0], ord: 1 })).toEqual([9, 12]);
    expect(await value('norm', [0], [])).toEqual([0]);
  });

  it('ord 2 neither overflows nor underflows', async () => {
    expectClose(await value('norm', [2], [3e200, 4e200]), [5e200], 1e-15, 'large');
    expectClose(await value('norm', [2], [3e-200, 4e-200]), [5e-200], 1e-15, { label: 'small', floor: 0 });
    // in between, NumPy's own √Σx², to the bit
    expect(await value('norm', [3], [0.1, 0.2, 0.3])).toEqual([Math.sqrt(0.1 * 0.1 + 0.2 * 0.2 + 0.3 * 0.3)]);
    expect(await value('norm', [2], [Infinity, 1])).toEqual([Infinity]);
    expect(await value('norm', [2], [NaN, 1])).toEqual([NaN]);
  });

  it('derivatives: x / ‖x‖, sign(x), sign at the first largest |x|', async () => {
    expect(await bothModes('norm', [2], [3, -4])).toEqual([0.6, -0.8]);
    expect(await bothModes('norm', [3], [3, -4, 0], { ord: 1 })).toEqual([1, -1, 0]);
    expect(await bothModes('norm', [3], [-4, 1, 4], { ord: 'inf' })).toEqual([-1, 0, 0]);
  });

  it.each([1, 2, 'inf'])('ord %s: the derivative at 0 is 0 (a subgradient), the Hessian there 0', async (ord) => {
    expect(await bothModes('norm', [3], [0, 0, 0], { ord })).toEqual([0, 0, 0]);
    expect(await hessOfSum('norm', [2], [0, 0], { ord })).toEqual([0, 0, 0, 0]);
  });

  it('ord 2: the Hessian is (I - u uᵀ) / ‖x‖', async () => {
    // x = [3, 4]: u = [0.6, 0.8], ‖x‖ = 5
    expectClose(await hessOfSum('norm', [2], [3, 4]), [0.64 / 5, -0.48 / 5, -0.48 / 5, 0.36 / 5], 1e-15, 'norm Hessian');
  });

  it('rejects other orders at the attribute', async () => {
    try {
      await evaluate({ graph: oneNode('norm', [2], { ord: 3 }), args: { x: [1, 2] } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DerivdError);
      expect((err as DerivdError).issues[0].path).toBe('graph.nodes[0].ord');
    }
  });
});

describe('sparsity patterns are exact', () => {
  it.each([
    ['cumsum', [2, 3], { axis: 1 }],
    ['cumprod', [3, 2], { axis: 0, reverse: true }],
    ['softmax', [2, 3], {}],
    ['log_softmax', [3, 2], { axis: 0 }],
    ['norm', [2, 3], { axes: [1] }],
    ['norm', [2, 3], { ord: 1 }],
  ])('%s of %j, %j', async (op, shape, attrs) => {
    const x = Array.from({ length: sizeOf(shape) }, (_, i) => (i + 1) * (i % 2 ? -1 : 1));
    const request = { graph: oneNode(op, shape, attrs), args: { x: nested(shape, x) } };
    const sp = jacobianSparsity(makePlan(checkRequest('jacobian', request)), 1e6)!;
    const r = await jacobian(request, { output: 'packed' });
    const data = (r.jacobian.y.x as unknown as Packed).data;
    const n = x.length;
    const p = sp.outputs[0];
    for (let row = 0; row < p.ptr.length - 1; row++) {
      const cols = Array.from(p.idx.subarray(p.ptr[row], p.ptr[row + 1]));
      const nonZero = Array.from({ length: n }, (_, j) => j).filter((j) => data[row * n + j] !== 0);
      expect(cols, `row ${row}`).toEqual(nonZero);
    }
  });
});
