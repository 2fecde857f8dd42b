/**
 * einsum as checked graphs run it (expanded into index, sum, transpose, reshape and
 * matmul) against its definition (the reference kernel, a sum over every letter),
 * its Jacobians and Hessians against central differences, and its subscript errors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, hessian, jacobian } from '../index.js';
import { centralDiff, expectClose } from '../../test/helpers/numeric.js';
import { einsumOp } from './einsum.js';

type Spec = { inputs: string[]; output: string; sizes: Record<string, number> };

/** Random subscripts over up to 4 letters: 1 to 3 operands (a letter may repeat within one), an output of distinct letters. */
const specArb: fc.Arbitrary<Spec> = fc
  .record({
    sizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
    terms: fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), { minLength: 1, maxLength: 3 }),
    out: fc.subarray([0, 1, 2, 3]),
    shuffle: fc.boolean(),
  })
  .map(({ sizes, terms, out, shuffle }) => {
    const L = 'abcd';
    const used = new Set(terms.flat());
    const output = (shuffle ? [...out].reverse() : out).filter((i) => used.has(i)).map((i) => L[i]);
    return {
      inputs: terms.map((t) => t.map((i) => L[i]).join('')),
      output: output.join(''),
      sizes: Object.fromEntries([...L].map((c, i) => [c, sizes[i]])),
    };
  });

const shapeOf = (letters: string, s: Spec): number[] => [...letters].map((c) => s.sizes[c]);
const graphOf = (s: Spec) => ({
  inputs: s.inputs.map((t, k) => ({ name: `x${k}`, shape: shapeOf(t, s) })),
  nodes: [{ id: 'y', op: 'einsum', args: s.inputs.map((_, k) => `x${k}`), subscripts: `${s.inputs.join(',')}->${s.output}` }],
  outputs: ['y'],
});
const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
const valuesFor = (s: Spec, seed: number): Float64Array[] =>
  s.inputs.map((t, k) => Float64Array.from({ length: size(shapeOf(t, s)) }, (_, i) => Math.sin(seed + 3.1 * k + 1.7 * i)));

function reference(s: Spec, xs: Float64Array[]): Float64Array {
  const out = new Float64Array(size(shapeOf(s.output, s)));
  einsumOp.kernel(
    xs,
    s.inputs.map((t) => shapeOf(t, s)),
    out,
    shapeOf(s.output, s),
    s,
  );
  return out;
}

const packed = (xs: Float64Array[], s: Spec) =>
  Object.fromEntries(xs.map((x, k) => [`x${k}`, { shape: shapeOf(s.inputs[k], s), data: x }]));

describe('einsum', () => {
  it('gives its definition on 150 random subscripts (diagonals, sums, batch letters, outer products)', async () => {
    await fc.assert(
      fc.asyncProperty(specArb, fc.integer({ min: 0, max: 1000 }), async (s, seed) => {
        const xs = valuesFor(s, seed);
        const r = await evaluate({ graph: graphOf(s), args: packed(xs, s) }, { output: 'packed' });
        expectClose((r.values.y as { data: Float64Array }).data, reference(s, xs), 1e-13, `${s.inputs.join(',')}->${s.output}`);
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  it('its Jacobians (forward and reverse) agree with central differences of the definition', async () => {
    await fc.assert(
      fc.asyncProperty(specArb, async (s) => {
        const xs = valuesFor(s, 1);
        for (const mode of ['forward', 'reverse'] as const) {
          const r = await jacobian({ graph: graphOf(s), args: packed(xs, s), mode }, { output: 'packed' });
          xs.forEach((x, k) => {
            const block = (r.jacobian as Record<string, Record<string, { data: Float64Array }>>).y[`x${k}`].data;
            const m = size(shapeOf(s.output, s));
            for (let j = 0; j < x.length; j++) {
              const [column] = centralDiff((h) => {
                const moved = xs.map((v, kk) => (kk === k ? v.map((t, jj) => (jj === j ? t + h : t)) : v));
                return [reference(s, moved)];
              }, 1e-4);
              for (let i = 0; i < m; i++) expect(Math.abs(block[i * x.length + j] - column[i])).toBeLessThan(1e-7);
            }
          });
        }
      }),
      { numRuns: 40, seed: 8 },
    );
  });

  it('the Hessian of a scalar einsum is exact (x·A·x, a quadratic form with a repeated operand)', async () => {
    const n = 3;
    const graph = {
      inputs: [
        { name: 'x', shape: [n] },
        { name: 'A', shape: [n, n] },
      ],
      nodes: [{ id: 'q', op: 'einsum', args: ['x', 'A', 'x'], subscripts: 'i,ij,j->' }],
      outputs: ['q'],
    };
    const A = [
      [1, 2, 0],
      [0, 3, 1],
      [4, 0, 5],
    ];
    const r = await hessian({ graph, args: { x: [0.5, -1, 2], A }, constant: ['A'] });
    // d²(xᵀAx)/dx² = A + Aᵀ
    expect((r.hessian as Record<string, Record<string, unknown>>).x.x).toEqual(A.map((row, i) => row.map((v, j) => v + A[j][i])));
  });

  it('refuses subscripts it does not take, at graph.nodes[i].subscripts or the argument', async () => {
    const bad = async (subscripts: string, shapes: number[][]): Promise<unknown> => {
      const graph = {
        inputs: shapes.map((s, k) => ({ name: `x${k}`, shape: s })),
        nodes: [{ id: 'y', op: 'einsum', args: shapes.map((_, k) => `x${k}`), subscripts }],
        outputs: ['y'],
      };
      const args = Object.fromEntries(shapes.map((s, k) => [`x${k}`, { shape: s, data: new Float64Array(size(s)) }]));
      return evaluate({ graph, args }).then(
        () => 'no error',
        (e: { issues: unknown }) => e.issues,
      );
    };
    expect(
      await bad('ij,jk', [
        [2, 3],
        [3, 2],
      ]),
    ).toEqual([{ path: 'graph.nodes[0].subscripts', message: 'einsum: "ij,jk" needs exactly one "->" followed by the output\'s letters' }]);
    expect(await bad('...i->i', [[2]])).toEqual([
      { path: 'graph.nodes[0].subscripts', message: 'einsum: an ellipsis (...) is not supported: name every axis with a letter' },
    ]);
    expect(await bad('i1->i', [[2, 2]])).toEqual([
      { path: 'graph.nodes[0].subscripts', message: 'einsum: "1" is not a letter (a-z, A-Z)' },
    ]);
    expect(await bad('ij->k', [[2, 2]])).toEqual([
      { path: 'graph.nodes[0].subscripts', message: 'einsum: output letter "k" is in no operand' },
    ]);
    expect(await bad('ij->ii', [[2, 2]])).toEqual([
      { path: 'graph.nodes[0].subscripts', message: 'einsum: output letters "ii" repeat a letter' },
    ]);
    expect(await bad('ij,j->i', [[2, 3], [2]])).toEqual([
      { path: 'graph.nodes[0].args[1]', message: 'einsum: letter "j" has length 2 here and 3 before' },
    ]);
    expect(await bad('ijk->i', [[2, 3]])).toEqual([
      { path: 'graph.nodes[0].args[0]', message: 'einsum: subscripts "ijk" name 3 axes, but the argument has rank 2' },
    ]);
    expect(await bad('i,i->i', [[2]])).toEqual([
      { path: 'graph.nodes[0].subscripts', message: 'einsum: 2 operand subscript(s) for 1 argument(s)' },
    ]);
  });
});
