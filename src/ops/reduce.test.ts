import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sizeOf, type Shape } from '../tensor/tensor.js';
import { reduceOps } from './reduce.js';
import { OpError, type OpDef } from './types.js';
import { flat, indices } from '../../test/helpers/shapes.js';
import { expectClose } from '../../test/helpers/numeric.js';

const op = (name: string): OpDef => reduceOps.find((o) => o.name === name)!;

/** Groups of flat input indices, one per output element in row-major order, each in row-major order. */
function refGroups(shape: Shape, axes: number[]): number[][] {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const out: number[][] = [];
  for (const o of indices(kept.map((a) => shape[a]))) {
    const group: number[] = [];
    for (const r of indices(axes.map((a) => shape[a]))) {
      const idx: number[] = new Array(shape.length);
      kept.forEach((a, j) => (idx[a] = o[j]));
      axes.forEach((a, j) => (idx[a] = r[j]));
      group.push(flat(idx, shape));
    }
    out.push(group);
  }
  return out;
}

const firstZeroSign = (m: number, v: number[]): number => (m === 0 ? (v.find((x) => x === 0) as number) : m);

const refs: Record<string, (v: number[]) => number> = {
  sum: (v) => v.reduce((a, b) => a + b, 0),
  mean: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  prod: (v) => v.reduce((a, b) => a * b, 1),
  // Math.max, except that a zero maximum takes the sign of the first zero: the value
  // of the first winner in row-major order, the element the derivative goes to
  max: (v) => firstZeroSign(Math.max(...v), v),
  min: (v) => firstZeroSign(Math.min(...v), v),
  logsumexp: (v) => Math.log(v.reduce((a, b) => a + Math.exp(b), 0)),
};

/** Runs prepare, shape and kernel of a reduction the way the evaluator does. */
function run(name: string, x: Float64Array, shape: Shape, wire: object): { shape: Shape; data: Float64Array; attrs: any } {
  const o = op(name);
  const attrs = o.prepare!(z.object(o.attrs).parse(wire), [shape]);
  const outShape = o.shape([shape], attrs);
  const data = new Float64Array(sizeOf(outShape));
  o.kernel([x], [shape], data, outShape, attrs);
  return { shape: outShape, data, attrs };
}

const arbShape = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 });
const special = fc.constantFrom(0, -0, 1, -1, 2, 0.5, -3, Infinity, -Infinity, NaN);
const arbValue = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -4, max: 4 }) }, { weight: 1, arbitrary: special });

/** A shape, data, and an axes list (some entries negative, in any order) or undefined. */
const arbCase = (value: fc.Arbitrary<number>) =>
  arbShape.chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      data: fc.array(value, { minLength: sizeOf(shape), maxLength: sizeOf(shape) }).map((d) => Float64Array.from(d)),
      axes: fc.option(
        fc
          .shuffledSubarray(shape.map((_, i) => i))
          .chain((axes) => fc.tuple(...axes.map((a) => fc.constantFrom(a, a - shape.length))).map((t) => [...t])),
        { nil: undefined },
      ),
      keepdims: fc.option(fc.boolean(), { nil: undefined }),
    }),
  );

describe('reductions: prepare and shape', () => {
  it('defaults to all axes without keepdims', () => {
    expect(run('sum', new Float64Array(6), [2, 3], {}).attrs).toEqual({ axes: [0, 1], keepdims: false });
    expect(run('sum', new Float64Array(6), [2, 3], {}).shape).toEqual([]);
    expect(run('sum', new Float64Array(1), [], {}).shape).toEqual([]);
  });

  it('normalises negative axes and sorts them', () => {
    const r = run('max', new Float64Array(24), [2, 3, 4], { axes: [-1, 0], keepdims: true });
    expect(r.attrs).toEqual({ axes: [0, 2], keepdims: true });
    expect(r.shape).toEqual([1, 3, 1]);
    expect(run('max', new Float64Array(24), [2, 3, 4], { axes: [-1, 0] }).shape).toEqual([3]);
  });

  it('treats axes: [] as the identity', () => {
    const x = Float64Array.of(1, -2, 3, NaN, 5, 6);
    for (const o of reduceOps.filter((o) => !o.internal)) {
      const r = run(o.name, x, [2, 3], { axes: [] });
      expect(r.shape).toEqual([2, 3]);
      expect(Array.from(r.data)).toEqual(Array.from(x));
    }
  });

  it.each([
    [{ axes: [2] }, [2, 3], 'axis 2 is out of range for rank 2'],
    [{ axes: [-3] }, [2, 3], 'axis -3 is out of range for rank 2'],
    [{ axes: [0] }, [], 'axis 0 is out of range for rank 0'],
    [{ axes: [0, 0] }, [2, 3], 'axes [0, 0] name axis 0 twice'],
    [{ axes: [1, -1] }, [2, 3], 'axes [1, -1] name axis 1 twice'],
  ])('rejects %j for shape %j', (wire, shape, message) => {
    for (const o of reduceOps.filter((o) => !o.internal)) {
      const err = (() => {
        try {
          o.prepare!(wire, [shape]);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(OpError);
      expect(err).toMatchObject({ message, attr: 'axes', arg: undefined });
    }
  });

  it('rejects non-integer axes on the wire', () => {
    expect(z.object(op('sum').attrs).safeParse({ axes: [0.5] }).success).toBe(false);
    expect(z.object(op('sum').attrs).safeParse({ keepdims: 1 }).success).toBe(false);
  });

  it('counts work in input elements', () => {
    expect(op('sum').work!([[2, 3, 4]], [3], { axes: [0, 2], keepdims: false })).toBe(24);
  });
});

describe('reduction kernels against nested-loop references', () => {
  for (const name of ['sum', 'mean', 'prod', 'max', 'min']) {
    it(name, () => {
      fc.assert(
        fc.property(arbCase(arbValue), ({ shape, data, axes, keepdims }) => {
          const r = run(name, data, shape, { axes, keepdims });
          const all = shape.map((_, i) => i);
          const sorted = axes === undefined ? all : axes.map((a) => (a < 0 ? a + shape.length : a)).sort((a, b) => a - b);
          const expectedShape = shape.flatMap((d, i) => (!sorted.includes(i) ? [d] : keepdims ? [1] : []));
          expect(r.shape).toEqual(expectedShape);
          expectClose(
            r.data,
            refGroups(shape, sorted).map((g) => refs[name](g.map((i) => data[i]))),
            0,
          );
        }),
      );
    });
  }

  it('logsumexp', () => {
    const finite = fc.double({ min: -20, max: 20, noNaN: true });
    fc.assert(
      fc.property(
        arbCase(fc.oneof({ weight: 5, arbitrary: finite }, { weight: 1, arbitrary: special })),
        ({ shape, data, axes, keepdims }) => {
          const r = run('logsumexp', data, shape, { axes, keepdims });
          const sorted = (axes ?? shape.map((_, i) => i)).map((a) => (a < 0 ? a + shape.length : a)).sort((a, b) => a - b);
          const expected = refGroups(shape, sorted).map((g) => {
            const v = g.map((i) => data[i]);
            // The naive formula is right except where it overflows or meets an infinity.
            const m = Math.max(...v);
            return Number.isFinite(m) ? refs.logsumexp(v) : m;
          });
          expectClose(r.data, expected, 1e-12);
        },
      ),
    );
  });

  it('logsumexp is stable for large and very negative values', () => {
    expectClose(
      run('logsumexp', Float64Array.of(1000, 1000, -1000, -1000), [2, 2], { axes: [1] }).data,
      [1000 + Math.LN2, -1000 + Math.LN2],
      1e-15,
    );
    expectClose(
      run('logsumexp', Float64Array.of(Infinity, 1, -Infinity, -Infinity, NaN, Infinity), [3, 2], { axes: [1] }).data,
      [Infinity, -Infinity, NaN],
      0,
    );
  });

  it('gives the NumPy values for empty reductions', () => {
    const expected: Record<string, number> = { sum: 0, mean: NaN, prod: 1, max: -Infinity, min: Infinity, logsumexp: -Infinity };
    for (const [name, v] of Object.entries(expected)) {
      const r = run(name, new Float64Array(0), [2, 0], { axes: [1] });
      expect(r.shape).toEqual([2]);
      expect(Array.from(r.data)).toEqual([v, v]);
      expect(run(name, new Float64Array(0), [0, 3], { axes: [1] }).data.length).toBe(0);
    }
  });

  it('propagates NaN through max and min wherever it sits', () => {
    for (const x of [
      [NaN, 1, 2],
      [1, NaN, 2],
      [1, 2, NaN],
      [Infinity, NaN, -Infinity],
    ]) {
      expect(run('max', Float64Array.from(x), [3], {}).data[0]).toBeNaN();
      expect(run('min', Float64Array.from(x), [3], {}).data[0]).toBeNaN();
    }
  });
});

describe('internal ops', () => {
  const internal = (name: string, ins: Float64Array[], shape: Shape, attrs: object): Float64Array => {
    const o = op(name);
    expect(o.internal).toBe(true);
    const outShape = o.shape(
      ins.map(() => shape),
      attrs,
    );
    expect(outShape).toEqual(shape);
    const out = new Float64Array(sizeOf(shape));
    o.kernel(
      ins,
      ins.map(() => shape),
      out,
      outShape,
      attrs,
    );
    return out;
  };
  const normAxes = (shape: Shape, axes: number[] | undefined): number[] =>
    (axes ?? shape.map((_, i) => i)).map((a) => (a < 0 ? a + shape.length : a)).sort((a, b) => a - b);

  it('prod_others is the product of the other elements of each group, zeros included', () => {
    const small = fc.constantFrom(0, 1, -1, 2, -2, 3, 0.5);
    fc.assert(
      fc.property(arbCase(small), ({ shape, data, axes }) => {
        const ax = normAxes(shape, axes);
        const expected = new Array<number>(data.length);
        for (const g of refGroups(shape, ax)) for (const i of g) expected[i] = g.filter((j) => j !== i).reduce((p, j) => p * data[j], 1);
        expectClose(internal('prod_others', [data], shape, { axes: ax }), expected, 0);
      }),
    );
  });

  it('prod_others with infinities follows IEEE', () => {
    expectClose(internal('prod_others', [Float64Array.of(0, Infinity, 2)], [3], { axes: [0] }), [2 * Infinity, 0, NaN], 0);
    expectClose(internal('prod_others', [Float64Array.of(0, 0, 3)], [3], { axes: [0] }), [0, 0, 0], 0);
  });

  it('prod_others_jvp is Σ_{l≠i} ẋ_l Π_{j≠i,l} x_j', () => {
    const small = fc.constantFrom(0, 1, -1, 2, -2, 3, 0.5);
    fc.assert(
      fc.property(
        arbCase(small).chain((c) =>
          fc.record({ c: fc.constant(c), dx: fc.array(small, { minLength: c.data.length, maxLength: c.data.length }) }),
        ),
        ({ c: { shape, data, axes }, dx }) => {
          const ax = normAxes(shape, axes);
          const expected = new Array<number>(data.length);
          for (const g of refGroups(shape, ax)) {
            for (const i of g) {
              let t = 0;
              for (const l of g) if (l !== i) t += dx[l] * g.filter((j) => j !== i && j !== l).reduce((p, j) => p * data[j], 1);
              expected[i] = t;
            }
          }
          expectClose(internal('prod_others_jvp', [data, Float64Array.from(dx)], shape, { axes: ax }), expected, 0);
        },
      ),
    );
  });

  it('prod_others_jvp: a zero tangent does not meet an infinite factor', () => {
    // y = [x1 x2, x0 x2, x0 x1] at x = [Inf, 2, 3], ẋ = [0, 1, 0]: ẏ = [3, 0, Inf]
    expectClose(
      internal('prod_others_jvp', [Float64Array.of(Infinity, 2, 3), Float64Array.of(0, 1, 0)], [3], { axes: [0] }),
      [3, 0, Infinity],
      0,
    );
  });

  it('prod_others_jvp needs equal shapes', () => {
    expect(() => op('prod_others_jvp').shape([[2], [3]], { axes: [0] })).toThrow(OpError);
  });

  for (const kind of ['max', 'min'] as const) {
    it(`first_winner (${kind}) marks the first winner of each group, NaN first`, () => {
      fc.assert(
        fc.property(arbCase(arbValue), ({ shape, data, axes }) => {
          const ax = normAxes(shape, axes);
          const expected = new Array<number>(data.length).fill(0);
          for (const g of refGroups(shape, ax)) {
            if (g.length === 0) continue;
            const nan = g.find((i) => Number.isNaN(data[i]));
            const target = refs[kind](g.map((i) => data[i]));
            expected[nan ?? g.find((i) => data[i] === target)!] = 1;
          }
          expectClose(internal('first_winner', [data], shape, { axes: ax, kind }), expected, 0);
        }),
      );
    });
  }

  it('first_winner breaks ties by position', () => {
    expectClose(internal('first_winner', [Float64Array.of(1, 3, 3, 2, 2, 1)], [2, 3], { axes: [1], kind: 'max' }), [0, 1, 0, 1, 0, 0], 0);
    expectClose(internal('first_winner', [Float64Array.of(1, 3, 3, 2, 2, 1)], [2, 3], { axes: [0], kind: 'min' }), [1, 0, 0, 0, 1, 1], 0);
  });

  it('marks which internal ops have derivatives', () => {
    expect(op('prod_others').jvp).toBeDefined();
    expect(op('prod_others_jvp').jvp).toBeUndefined();
    expect(op('first_winner').jvp).toBeUndefined();
    for (const name of ['sum', 'mean', 'prod', 'max', 'min', 'logsumexp']) {
      expect(op(name).internal).toBeFalsy();
      expect(op(name).jvp).toBeDefined();
      expect(op(name).vjp).toBeDefined();
    }
  });
});
