/**
 * Index maps against the element each one should read, computed directly: every
 * map, written as arithmetic, a table or a period, must name the same element.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Eqn } from '../ir/program.js';
import { getOp } from '../ops/registry.js';
import { broadcastStrides } from '../tensor/broadcast.js';
import { sizeOf, type Shape } from '../tensor/tensor.js';
import { broadcastMap, classify, compose, type IndexMap, movedMap } from './maps.js';

/** What a map reads for each of n elements (-1: a zero). */
function elements(m: IndexMap, n: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    switch (m.kind) {
      case 'same':
        return i;
      case 'one':
        return m.at;
      case 'stride':
        return m.at + m.step * i;
      case 'table':
        return m.table[i];
      case 'periodic': {
        const b = m.base[i % m.period];
        return b < 0 ? -1 : b + m.shift * Math.floor(i / m.period);
      }
    }
  });
}

const eqn = (name: 'slice' | 'slice_scatter' | 'transpose' | 'index', attrs: object): Eqn =>
  ({ op: getOp(name), args: [0], attrs, out: 1, node: -1 }) as unknown as Eqn;

describe('classify', () => {
  test('finds the cheapest form that reads the same elements', () => {
    expect(classify(Int32Array.from([0, 1, 2, 3])).kind).toBe('same');
    expect(classify(Int32Array.from([5, 5, 5])).kind).toBe('one');
    expect(classify(Int32Array.from([1, 3, 5])).kind).toBe('stride');
    expect(classify(Int32Array.from([6, 4, 2, 0])).kind).toBe('stride');
    // a hole is never arithmetic, even where the numbers line up
    expect(classify(Int32Array.from([1, 0, -1])).kind).not.toBe('stride');
    expect(classify(Int32Array.from([-1, 0, -1, 1, -1, 2])).kind).toBe('periodic');
    expect(classify(Int32Array.from([0, 0, 1, 1, 2, 2])).kind).toBe('periodic');
    expect(classify(Int32Array.from([3, 0, 2, 1, 4])).kind).toBe('table');
  });

  test('every form reads what its table says (random tables, arithmetic and periodic ones)', () => {
    const table = fc.oneof(
      fc.array(fc.integer({ min: -1, max: 50 }), { minLength: 1, maxLength: 40 }),
      fc
        .record({ period: fc.integer({ min: 1, max: 9 }), reps: fc.integer({ min: 1, max: 8 }), shift: fc.integer({ min: 0, max: 5 }) })
        .chain(({ period, reps, shift }) =>
          fc
            .array(fc.integer({ min: -1, max: 10 }), { minLength: period, maxLength: period })
            .map((base) =>
              Array.from({ length: period * reps }, (_, i) =>
                base[i % period] < 0 ? -1 : base[i % period] + shift * Math.floor(i / period),
              ),
            ),
        ),
    );
    fc.assert(
      fc.property(table, (t) => {
        const m = classify(Int32Array.from(t));
        expect(elements(m, t.length)).toEqual(t);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});

describe('broadcastMap', () => {
  test('reads what NumPy broadcasting reads', () => {
    const cases: [Shape, Shape][] = [
      [[3], [3]],
      [[], [4]],
      [[1], [5]],
      [
        [3, 1],
        [3, 4],
      ],
      [[4], [3, 4]],
      [
        [2, 1, 3],
        [2, 5, 3],
      ],
      [
        [1, 3],
        [2, 3],
      ],
    ];
    for (const [inShape, outShape] of cases) {
      const strides = broadcastStrides(inShape, outShape);
      const expected = Array.from({ length: sizeOf(outShape) }, (_, flat) => {
        let j = 0;
        for (let d = outShape.length - 1, r = flat; d >= 0; d--) {
          j += (r % outShape[d]) * strides[d];
          r = Math.floor(r / outShape[d]);
        }
        return j;
      });
      expect(elements(broadcastMap(inShape, outShape), sizeOf(outShape)), `${inShape} -> ${outShape}`).toEqual(expected);
    }
  });
});

describe('movedMap', () => {
  test('a column of interleaved data is a stride; its scatter is periodic with holes', () => {
    const slice = { begin: [0, 1], step: [1, 1], count: [4, 1] };
    const m = movedMap(eqn('slice', slice), [4, 2], [4, 1]) as IndexMap;
    expect(m).toEqual({ kind: 'stride', at: 1, step: 2 });
    const s = movedMap(eqn('slice_scatter', { ...slice, shape: [4, 2] }), [4, 1], [4, 2]) as IndexMap;
    expect(s.kind).toBe('periodic');
    expect(elements(s, 8)).toEqual([-1, 0, -1, 1, -1, 2, -1, 3]);
  });

  test('a transpose is a table, an index a table or a stride', () => {
    const t = movedMap(eqn('transpose', { perm: [1, 0] }), [2, 3], [3, 2]) as IndexMap;
    expect(elements(t, 6)).toEqual([0, 3, 1, 4, 2, 5]);
    const ix = movedMap(eqn('index', { axis: 0, indices: [2, 0, 2] }), [3], [3]) as IndexMap;
    expect(elements(ix, 3)).toEqual([2, 0, 2]);
  });

  test('composing reads through both maps, and a zero stays a zero', () => {
    const inner: IndexMap = { kind: 'stride', at: 1, step: 2 }; // 4 elements of an 8
    const outer = classify(Int32Array.from([3, -1, 0, 2]));
    expect(elements(compose(inner, 4, outer, 4), 4)).toEqual([7, -1, 1, 5]);
  });
});
