import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sizeOf, type Shape } from '../tensor/tensor.js';
import { linalgOps } from './linalg.js';
import { OpError, type OpDef } from './types.js';
import { flat, indices } from '../../test/helpers/shapes.js';
import { expectClose } from '../../test/helpers/numeric.js';

const op = (name: string): OpDef => linalgOps.find((o) => o.name === name)!;

const iota = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => ((i * 7) % 11) - 5);

/** prepare (when the op has one), shape and kernel, as the evaluator runs them. */
function run(name: string, ins: Float64Array[], shapes: Shape[], wire: object = {}): { shape: Shape; data: Float64Array } {
  const o = op(name);
  const attrs = o.prepare ? o.prepare(z.object(o.attrs).parse(wire), shapes) : {};
  const shape = o.shape(shapes, attrs);
  const data = new Float64Array(sizeOf(shape));
  o.kernel(ins, shapes, data, shape, attrs);
  return { shape, data };
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** NumPy matmul, spelled out: promote, broadcast batch indices one by one, triple loop, demote. */
function refMatmul(a: Float64Array, as: Shape, b: Float64Array, bs: Shape): { shape: Shape; data: number[] } {
  const a2 = as.length === 1 ? [1, ...as] : [...as];
  const b2 = bs.length === 1 ? [...bs, 1] : [...bs];
  const [m, k] = a2.slice(-2);
  const n = b2[b2.length - 1];
  const ab = a2.slice(0, -2);
  const bb = b2.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const pad = (s: number[]): number[] => [...new Array(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(ab), pad(bb)];
  const batch = pa.map((d, i) => Math.max(d, pb[i]) * (d === 0 || pb[i] === 0 ? 0 : 1));
  const data: number[] = [];
  for (const t of indices(batch)) {
    const ta = t.map((i, ax) => (pa[ax] === 1 ? 0 : i));
    const tb = t.map((i, ax) => (pb[ax] === 1 ? 0 : i));
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let l = 0; l < k; l++) s += a[flat([...ta, i, l], [...pa, m, k])] * b[flat([...tb, l, j], [...pb, k, n])];
        data.push(s);
      }
    }
  }
  return { shape: [...batch, ...(as.length > 1 ? [m] : []), ...(bs.length > 1 ? [n] : [])], data };
}

describe('matmul', () => {
  it.each([
    [
      [2, 3],
      [3, 4],
      [2, 4],
    ],
    [[3], [3, 4], [4]],
    [[2, 3], [3], [2]],
    [[3], [3], []],
    [[1], [1, 0], [0]],
    [[0], [0], []],
    [
      [2, 0],
      [0, 4],
      [2, 4],
    ],
    [
      [5, 1, 2, 3],
      [4, 3, 2],
      [5, 4, 2, 2],
    ],
    [
      [2, 3],
      [4, 3, 5],
      [4, 2, 5],
    ],
    [[3], [2, 3, 4], [2, 4]],
    [[2, 3, 4], [4], [2, 3]],
    [
      [0, 2, 3],
      [1, 3, 1],
      [0, 2, 1],
    ],
    [
      [6, 1, 2, 3],
      [1, 5, 3, 2],
      [6, 5, 2, 2],
    ],
  ])('%j @ %j has shape %j and NumPy values', (as, bs, out) => {
    const a = iota(sizeOf(as));
    const b = iota(sizeOf(bs)).map((v) => v * 0.5 + 1);
    const r = run('matmul', [a, b], [as, bs]);
    expect(r.shape).toEqual(out);
    const ref = refMatmul(a, as, b, bs);
    expect(ref.shape).toEqual(out);
    expectClose(r.data, ref.data, 1e-12);
  });

  it('matches the reference on random broadcast batches', () => {
    const dim = fc.integer({ min: 0, max: 3 });
    const arb = fc
      .record({
        batch: fc.array(dim, { maxLength: 3 }),
        m: dim,
        k: dim,
        n: dim,
        aVec: fc.boolean(),
        bVec: fc.boolean(),
        aKeep: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
        bKeep: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
        aDrop: fc.integer({ min: 0, max: 3 }),
        bDrop: fc.integer({ min: 0, max: 3 }),
      })
      .map(({ batch, m, k, n, aVec, bVec, aKeep, bKeep, aDrop, bDrop }) => {
        // Each argument takes a suffix of the batch shape with some dims set to 1.
        const sub = (keep: number[], drop: number): number[] =>
          batch.slice(Math.min(drop, batch.length)).map((d, i) => (keep[i] === 0 ? 1 : d));
        const as = aVec ? [k] : [...sub(aKeep, aDrop), m, k];
        const bs = bVec ? [k] : [...sub(bKeep, bDrop), k, n];
        return { as, bs };
      });
    fc.assert(
      fc.property(arb, fc.double({ min: -4, max: 4, noNaN: true }), ({ as, bs }, scale) => {
        const a = iota(sizeOf(as)).map((v) => v * scale);
        const b = iota(sizeOf(bs)).map((v) => v - scale);
        const r = run('matmul', [a, b], [as, bs]);
        const ref = refMatmul(a, as, b, bs);
        expect(r.shape).toEqual(ref.shape);
        expectClose(r.data, ref.data, 1e-12);
      }),
    );
  });

  it('follows IEEE: 0 · Inf is NaN in the primal', () => {
    expectClose(
      run(
        'matmul',
        [Float64Array.of(0, 1), Float64Array.of(Infinity, 2)],
        [
          [1, 2],
          [2, 1],
        ],
      ).data,
      [NaN],
      1e-12,
    );
  });

  it.each([
    [[2, 3], [4, 5], 1, '[2, 3] × [4, 5]: inner dimensions 3 and 4 differ'],
    [[3], [4], 1, '[3] × [4]: inner dimensions 3 and 4 differ'],
    [[2, 2, 3], [3, 3, 4], 1, '[2, 2, 3] × [3, 3, 4]: batch dimensions do not broadcast'],
    [[], [3], 0, '[] × [3]: argument 0 is a scalar; expected rank 1 or more'],
    [[3], [], 1, '[3] × []: argument 1 is a scalar; expected rank 1 or more'],
    [[], [], 0, '[] × []: argument 0 is a scalar; expected rank 1 or more'],
  ])('rejects %j @ %j', (as, bs, arg, message) => {
    const err = thrown(() => op('matmul').shape([as, bs], {}));
    expect(err).toBeInstanceOf(OpError);
    expect(err).toMatchObject({ arg, message });
  });

  it('counts work in flops', () => {
    expect(
      op('matmul').work!(
        [
          [5, 1, 2, 3],
          [4, 3, 7],
        ],
        [5, 4, 2, 7],
        {},
      ),
    ).toBe(5 * 4 * 2 * 3 * 7);
    expect(op('matmul').work!([[3], [3]], [], {})).toBe(3);
  });
});

describe('dot', () => {
  it('is Σ a_i b_i', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.double({ min: -1e3, max: 1e3, noNaN: true })), {
          maxLength: 8,
        }),
        (pairs) => {
          const a = Float64Array.from(pairs.map((p) => p[0]));
          const b = Float64Array.from(pairs.map((p) => p[1]));
          const r = run('dot', [a, b], [[a.length], [b.length]]);
          expect(r.shape).toEqual([]);
          expectClose(r.data, [pairs.reduce((s, [x, y]) => s + x * y, 0)], 1e-12);
        },
      ),
    );
  });

  it.each([
    [[2, 3], [3], 0, 'expected 1-D arguments; argument 0 has shape [2, 3]'],
    [[], [], 0, 'expected 1-D arguments; argument 0 has shape []'],
    [[3], [1, 3], 1, 'expected 1-D arguments; argument 1 has shape [1, 3]'],
    [[3], [4], 1, 'lengths of [3] and [4] differ'],
  ])('rejects %j · %j', (as, bs, arg, message) => {
    const err = thrown(() => op('dot').shape([as, bs], {}));
    expect(err).toBeInstanceOf(OpError);
    expect(err).toMatchObject({ arg, message });
  });
});

describe('transpose', () => {
  const arbCase = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 }).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      perm: fc.option(
        fc
          .shuffledSubarray(
            shape.map((_, i) => i),
            { minLength: shape.length },
          )
          .chain((p) => fc.tuple(...p.map((a) => fc.constantFrom(a, a - shape.length))).map((t) => [...t])),
        { nil: undefined },
      ),
    }),
  );

  it('moves input axis perm[d] to output axis d', () => {
    fc.assert(
      fc.property(arbCase, ({ shape, perm }) => {
        const p = (perm ?? shape.map((_, i) => shape.length - 1 - i)).map((a) => (a < 0 ? a + shape.length : a));
        const x = iota(sizeOf(shape));
        const r = run('transpose', [x], [shape], { perm });
        const outShape = p.map((a) => shape[a]);
        expect(r.shape).toEqual(outShape);
        const expected: number[] = [];
        for (const o of indices(outShape)) {
          const idx: number[] = new Array(shape.length);
          p.forEach((a, d) => (idx[a] = o[d]));
          expected.push(x[flat(idx, shape)]);
        }
        expectClose(r.data, expected, 0);
      }),
    );
  });

  it('prepares perm: default reversed, negatives normalised', () => {
    const t = op('transpose');
    expect(t.prepare!({}, [[2, 3, 4]])).toEqual({ perm: [2, 1, 0] });
    expect(t.prepare!({}, [[]])).toEqual({ perm: [] });
    expect(t.prepare!({ perm: [-1, 0, -2] }, [[2, 3, 4]])).toEqual({ perm: [2, 0, 1] });
    expect(t.shape([[2, 3, 4]], { perm: [2, 0, 1] })).toEqual([4, 2, 3]);
  });

  it.each([
    [[0, 1], [2, 3, 4], 'perm [0, 1] has 2 entries; expected 3 for rank 3'],
    [[0], [], 'perm [0] has 1 entry; expected 0 for rank 0'],
    [[0, 3, 1], [2, 3, 4], 'perm entry 3 is out of range for rank 3'],
    [[0, -4, 1], [2, 3, 4], 'perm entry -4 is out of range for rank 3'],
    [[0, 1, 1], [2, 3, 4], 'perm [0, 1, 1] names axis 1 twice'],
    [[0, 2, -1], [2, 3, 4], 'perm [0, 2, -1] names axis 2 twice'],
  ])('rejects perm %j for shape %j', (perm, shape, message) => {
    const err = thrown(() => op('transpose').prepare!({ perm }, [shape]));
    expect(err).toBeInstanceOf(OpError);
    expect(err).toMatchObject({ attr: 'perm', arg: undefined, message });
  });

  it('rejects non-integer perm entries on the wire', () => {
    expect(z.object(op('transpose').attrs).safeParse({ perm: [0.5] }).success).toBe(false);
  });
});

describe('outer', () => {
  it.each([
    [[3], [2]],
    [[2, 2], [3]],
    [[], []],
    [[0], [4]],
    [[3], [1, 0, 2]],
  ])('%j ⊗ %j flattens its arguments', (as, bs) => {
    const a = iota(sizeOf(as));
    const b = iota(sizeOf(bs)).map((v) => v + 0.25);
    const r = run('outer', [a, b], [as, bs]);
    expect(r.shape).toEqual([sizeOf(as), sizeOf(bs)]);
    const expected: number[] = [];
    for (const x of a) for (const y of b) expected.push(x * y);
    expectClose(r.data, expected, 0);
    expect(op('outer').work!([as, bs], r.shape, {})).toBe(sizeOf(as) * sizeOf(bs));
  });
});

it('defines derivatives for every linalg op (internal ones need only a JVP)', () => {
  for (const o of linalgOps) {
    expect(o.jvp).toBeDefined();
    if (!o.internal) expect(o.vjp).toBeDefined();
  }
  expect(linalgOps.filter((o) => o.internal).map((o) => o.name)).toEqual(['matmul_nt', 'matmul_tn']);
});

describe('matmul_nt and matmul_tn (internal, for reverse rules)', () => {
  /** Row-major transpose of the last two axes of a batch of [r, c] matrices. */
  function swapLast(x: Float64Array, s: Shape): { data: Float64Array; shape: Shape } {
    const [r, c] = s.slice(-2);
    const batch = sizeOf(s) / (r * c);
    const out = new Float64Array(x.length);
    for (let t = 0; t < batch; t++)
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[t * r * c + j * r + i] = x[t * r * c + i * c + j];
    return { data: out, shape: [...s.slice(0, -2), c, r] };
  }
  const dims = fc.integer({ min: 1, max: 4 });
  it('equal matmul with the stored operand transposed, batch broadcasting included', () => {
    // every pair of these batch shapes broadcasts ([3, 1] with [2] or [1, 2] gives [3, 2])
    fc.assert(
      fc.property(dims, dims, dims, fc.constantFrom([], [2], [3, 1]), fc.constantFrom([], [2], [1, 2]), (m, k, n, ba, bb) => {
        const as: Shape = [...ba, m, k];
        const bsStored: Shape = [...bb, n, k];
        const a = iota(sizeOf(as));
        const b = iota(sizeOf(bsStored)).map((v) => v - 0.5);
        const bT = swapLast(b, bsStored);
        const ref = refMatmul(a, as, bT.data, bT.shape);
        const nt = run('matmul_nt', [a, b], [as, bsStored]);
        expect(nt.shape).toEqual(ref.shape);
        expectClose(nt.data, ref.data, 1e-12);
        const aStored = swapLast(a, as);
        const tn = run('matmul_tn', [aStored.data, bT.data], [aStored.shape, bT.shape]);
        expect(tn.shape).toEqual(ref.shape);
        expectClose(tn.data, ref.data, 1e-12);
      }),
    );
  });
  it('reject mismatched inner dimensions, naming argument 1', () => {
    expect(() =>
      op('matmul_nt').shape(
        [
          [2, 3],
          [4, 2],
        ],
        {},
      ),
    ).toThrow(/inner dimensions 3 and 2 differ/);
    expect(() => op('matmul_tn').shape([[3], [3, 2]], {})).toThrow(/rank 2 or more/);
  });
});
