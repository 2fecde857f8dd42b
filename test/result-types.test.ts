/**
 * The library's result types follow the request: `encoding: "base64"` types every
 * result tensor as a Base64Tensor, `output: 'packed'` as a packed tensor, and a
 * request whose encoding the type does not know as either form. Checked by the
 * typecheck (`npm run typecheck` runs over tests too) and at run time.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type Base64Tensor, evaluate, jacobian, type NestedNumbers, type Request, type Tensor, type WireGraph } from '../src/index.js';

const graph = { inputs: [{ name: 'x', shape: [2] }], nodes: [{ id: 'y', op: 'sin', args: ['x'] }], outputs: ['y'] };

describe('result tensor types', () => {
  it('base64 when the request says so, nested by default, packed when asked', async () => {
    const b = await jacobian({ graph, args: { x: [0, 1] }, encoding: 'base64' });
    expectTypeOf(b.jacobian.y.x).toEqualTypeOf<Base64Tensor>();
    expect(b.jacobian.y.x.dtype).toBe('float64');

    const n = await jacobian({ graph, args: { x: [0, 1] } });
    expectTypeOf(n.jacobian.y.x).toEqualTypeOf<NestedNumbers>();
    expect(Array.isArray(n.jacobian.y.x)).toBe(true);

    const p = await jacobian({ graph, args: { x: [0, 1] }, encoding: 'base64' }, { output: 'packed' });
    expectTypeOf(p.jacobian.y.x).toEqualTypeOf<Tensor>();
    expect(p.jacobian.y.x.data).toBeInstanceOf(Float64Array);
  });

  it('either form when the type leaves the encoding open', async () => {
    const request: Request = { graph, args: { x: [0, 1] }, encoding: Math.random() < 2 ? 'base64' : 'json' };
    const r = await jacobian(request);
    expectTypeOf(r.jacobian.y.x).toEqualTypeOf<NestedNumbers | Base64Tensor>();
    const parsed: unknown = JSON.parse(JSON.stringify(request));
    expectTypeOf((await jacobian(parsed)).values.y).toEqualTypeOf<NestedNumbers | Base64Tensor>();
  });
});

describe('result keys', () => {
  const seed = {
    inputs: [
      { name: 'd', shape: [3] },
      { name: 'xs', shape: [] },
    ],
    nodes: [{ id: 'r', op: 'sub', args: ['d', 'xs'] }],
    outputs: ['r'],
  } as const;

  it("a literal graph's names: requested outputs, then active inputs (not the constant ones)", async () => {
    const res = await jacobian({ graph: seed, args: { d: [1, 2, 3], xs: 0.5 }, constant: ['d'] });
    expectTypeOf(res.jacobian).toEqualTypeOf<Record<'r', Record<'xs', NestedNumbers>>>();
    expectTypeOf(res.values).toEqualTypeOf<Record<'r', NestedNumbers>>();
    expect(Object.keys(res.jacobian.r)).toEqual(['xs']);
    // @ts-expect-error d is constant: it has no block
    expect(res.jacobian.r.d).toBeUndefined();
    const picked = await evaluate({ graph: { ...seed, outputs: ['r', 'd'] }, args: { d: [1, 2, 3], xs: 0.5 }, outputs: ['d'] });
    expectTypeOf(picked.values).toEqualTypeOf<Record<'d', NestedNumbers>>();
    expect(Object.keys(picked.values)).toEqual(['d']);
  });

  it('any string where the type does not fix the names', async () => {
    const typed: WireGraph = { inputs: [{ name: 'x', shape: [] }], nodes: [], outputs: ['x'] };
    const res = await jacobian({ graph: typed, args: { x: 1 } });
    expectTypeOf(res.jacobian).toEqualTypeOf<Record<string, Record<string, NestedNumbers>>>();
    const constant: string[] = ['d'];
    const widened = await jacobian({ graph: seed, args: { d: [1, 2, 3], xs: 0.5 }, constant });
    expectTypeOf(widened.jacobian).toEqualTypeOf<Record<'r', Record<string, NestedNumbers>>>();
  });
});
