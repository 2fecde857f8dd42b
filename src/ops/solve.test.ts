/**
 * The solves and factorizations (solve.ts) beyond the op table's derivative checks:
 * kernels against known answers and hand references, NumPy 2's shapes for b,
 * batching, singular and indefinite matrices (IEEE results, never a throw), and det's
 * derivative at matrices of rank n - 1, where it is the adjugate.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { gradient, hessian, jacobian } from '../index.js';
import { sizeOf, type Shape } from '../tensor/tensor.js';
import { getOp } from './registry.js';
import { luFactor, luSolve } from './solve.js';
import { OpError } from './types.js';
import type { OpName } from './vocabulary.js';
import { centralDiff, expectClose, randomArray, rng, type Rng } from '../../test/helpers/numeric.js';

/** prepare (when the op has one), shape and kernel, as the evaluator runs them. */
function run(name: OpName, ins: ArrayLike<number>[], shapes: Shape[], wire: object = {}): { shape: Shape; data: Float64Array } {
  const o = getOp(name);
  const attrs = o.prepare ? o.prepare(z.object(o.attrs).parse(wire), shapes) : {};
  const shape = o.shape(shapes, attrs as never);
  const data = new Float64Array(sizeOf(shape));
  o.kernel(
    ins.map((x) => Float64Array.from(x)),
    shapes,
    data,
    shape,
    attrs as never,
  );
  return { shape, data };
}

function thrown(f: () => unknown): OpError {
  try {
    f();
  } catch (e) {
    if (e instanceof OpError) return e;
    throw e;
  }
  throw new Error('expected a throw');
}

/** Row-major n × n product a b (b n × k). */
function mm(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number): number[] {
  const out = new Array<number>(n * k).fill(0);
  for (let i = 0; i < n; i++) for (let p = 0; p < n; p++) for (let j = 0; j < k; j++) out[i * k + j] += a[i * n + p] * b[p * k + j];
  return out;
}

/** det by Laplace expansion along the first row: an independent reference for small n. */
function laplaceDet(a: readonly number[], n: number): number {
  if (n === 0) return 1;
  if (n === 1) return a[0];
  let d = 0;
  for (let j = 0; j < n; j++) d += (j % 2 === 0 ? 1 : -1) * a[j] * laplaceDet(minor(a, n, 0, j), n - 1);
  return d;
}

function minor(a: readonly number[], n: number, r: number, c: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== r && j !== c) out.push(a[i * n + j]);
  return out;
}

/** The cofactor matrix: ∂det/∂a_ij = (-1)^(i+j) det(minor_ij), which is adj(a)ᵀ. */
function cofactors(a: readonly number[], n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out.push(((i + j) % 2 === 0 ? 1 : -1) * laplaceDet(minor(a, n, i, j), n - 1));
  return out;
}

/** A random n × n matrix of rank n - 1: B C with B n × (n-1), C (n-1) × n. */
function rankDeficient(r: Rng, n: number): number[] {
  const b = randomArray(n * (n - 1), () => r.uniform(-2, 2));
  const c = randomArray((n - 1) * n, () => r.uniform(-2, 2));
  const out = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < n - 1; p++) for (let j = 0; j < n; j++) out[i * n + j] += b[i * (n - 1) + p] * c[p * n + j];
  return out;
}

const oneNode = (op: string, shapes: Shape[], attrs: object = {}) => ({
  inputs: shapes.map((shape, i) => ({ name: 'ab'[i], shape: [...shape] })),
  nodes: [{ id: 'y', op, args: shapes.map((_, i) => 'ab'[i]), ...attrs }],
  outputs: ['y'],
});

const nested = (a: readonly number[], n: number): number[][] => Array.from({ length: n }, (_, i) => a.slice(i * n, (i + 1) * n));
const flat = (x: unknown): number[] => (x as number[]).flat(Infinity as 1) as number[];

describe('solve', () => {
  it('solves a known system, by LU with partial pivoting', () => {
    // 2x + y = 3, x + 3y = 5 → x = 0.8, y = 1.4
    expectClose(
      run(
        'solve',
        [
          [2, 1, 1, 3],
          [3, 5],
        ],
        [[2, 2], [2]],
      ).data,
      [0.8, 1.4],
      1e-15,
    );
    // a zero in the corner needs the row swap
    expect(
      Array.from(
        run(
          'solve',
          [
            [0, 1, 1, 0],
            [2, 3],
          ],
          [[2, 2], [2]],
        ).data,
      ),
    ).toEqual([3, 2]);
  });

  it('agrees with an LU written out by hand, and a x = b to rounding', () => {
    const r = rng(7);
    // from 64 columns the LU is blocked (panels of 32 and gemm updates): 70 and 150 end in a partial panel
    for (const n of [1, 3, 8, 20, 64, 70, 150]) {
      const a = randomArray(n * n, () => r.uniform(-1, 1));
      const b = randomArray(n * 2, () => r.uniform(-1, 1));
      const x = run(
        'solve',
        [a, b],
        [
          [n, n],
          [n, 2],
        ],
      ).data;
      // Doolittle LU with partial pivoting, spelled out on nested arrays
      const m = nested(Array.from(a), n);
      const rows = Array.from({ length: n }, (_, i) => Array.from(b.subarray(i * 2, i * 2 + 2)));
      for (let c = 0; c < n; c++) {
        let p = c;
        for (let i = c + 1; i < n; i++) if (Math.abs(m[i][c]) > Math.abs(m[p][c])) p = i;
        [m[c], m[p]] = [m[p], m[c]];
        [rows[c], rows[p]] = [rows[p], rows[c]];
        for (let i = c + 1; i < n; i++) {
          const l = m[i][c] / m[c][c];
          for (let j = c; j < n; j++) m[i][j] -= l * m[c][j];
          for (let j = 0; j < 2; j++) rows[i][j] -= l * rows[c][j];
        }
      }
      for (let i = n - 1; i >= 0; i--) {
        for (let j = 0; j < 2; j++) {
          let s = rows[i][j];
          for (let p = i + 1; p < n; p++) s -= m[i][p] * rows[p][j];
          rows[i][j] = s / m[i][i];
        }
      }
      expectClose(x, rows.flat(), 1e-10, `n = ${n}: against the hand LU`);
      expectClose(mm(a, x, n, 2), Array.from(b), 1e-12, { label: `n = ${n}: a x = b`, floor: 1 });
    }
  });

  it('b of rank 1 is a vector (NumPy 2), any higher rank a batch of [n, k] matrices', () => {
    const a = [4, 1, 1, 3];
    const b = [1, 2];
    const x = Array.from(run('solve', [a, b], [[2, 2], [2]]).data);
    // [2] → [2]; [2, 1] → [2, 1] with the same numbers
    expect(
      run(
        'solve',
        [a, b],
        [
          [2, 2],
          [2, 1],
        ],
      ),
    ).toEqual({ shape: [2, 1], data: Float64Array.from(x) });
    // a batch of 3 matrices against one vector: [3, 2, 2] \ [2] → [3, 2]
    const a3 = [...a, 2, 0, 0, 2, 1, 0, 0, 1];
    const y = run('solve', [a3, b], [[3, 2, 2], [2]]);
    expect(y.shape).toEqual([3, 2]);
    expect(Array.from(y.data)).toEqual([...x, 0.5, 1, 1, 2]);
    // [2, 2] \ [3, 2]: three vectors as a batch, not three columns: a [3, 2] b has 3 rows, not 2
    expect(
      thrown(() =>
        run(
          'solve',
          [a, [1, 2, 3, 4, 5, 6]],
          [
            [2, 2],
            [3, 2],
          ],
        ),
      ).message,
    ).toBe('[2, 2] \\ [3, 2]: argument 1 has 3 rows; expected 2, as argument 0 is 2 × 2');
    // batch dimensions broadcast: [3, 1, 2, 2] \ [4, 2, 1] → [3, 4, 2, 1]
    const bb = [1, 2, 3, 4, 5, 6, 7, 8];
    const z4 = run(
      'solve',
      [a3, bb],
      [
        [3, 1, 2, 2],
        [4, 2, 1],
      ],
    );
    expect(z4.shape).toEqual([3, 4, 2, 1]);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        const one = run('solve', [a3.slice(4 * i, 4 * i + 4), bb.slice(2 * j, 2 * j + 2)], [[2, 2], [2]]).data;
        expect(Array.from(z4.data.subarray((i * 4 + j) * 2, (i * 4 + j) * 2 + 2))).toEqual(Array.from(one));
      }
    }
  });

  it('names the argument that does not fit', () => {
    expect(thrown(() => run('solve', [[1, 2], [1]], [[2], [1]]))).toMatchObject({
      arg: 0,
      message: 'argument 0 has shape [2]; expected [..., n, n] (rank 2 or more)',
    });
    expect(thrown(() => run('solve', [new Array(6).fill(1), [1, 2]], [[2, 3], [2]]))).toMatchObject({
      arg: 0,
      message: 'argument 0 has shape [2, 3]; its last two axes (2 × 3) are not square',
    });
    expect(thrown(() => run('solve', [[1, 0, 0, 1], [1]], [[2, 2], []]))).toMatchObject({ arg: 1 });
    expect(
      thrown(() =>
        run(
          'solve',
          [new Array(12).fill(1), new Array(4).fill(1)],
          [
            [3, 2, 2],
            [2, 2, 1],
          ],
        ),
      ),
    ).toMatchObject({
      arg: 1,
      message: '[3, 2, 2] \\ [2, 2, 1]: batch dimensions do not broadcast',
    });
  });

  it('a singular a gives IEEE results, not an exception', () => {
    const y = run(
      'solve',
      [
        [1, 2, 2, 4],
        [1, 1],
      ],
      [[2, 2], [2]],
    ).data;
    expect(Array.from(y).some((v) => !Number.isFinite(v))).toBe(true);
    expect(
      Array.from(
        run(
          'solve',
          [
            [0, 0, 0, 0],
            [1, 0],
          ],
          [[2, 2], [2]],
        ).data,
      ).every((v) => !Number.isFinite(v)),
    ).toBe(true);
    expect(Array.from(run('solve', [[0], [0]], [[1, 1], [1]]).data)).toEqual([NaN]);
    expect(Array.from(run('solve', [[0], [2]], [[1, 1], [1]]).data)).toEqual([Infinity]);
  });

  it.each([4, 100])('luFactor and luSolve are what the kernel runs: P a = L U (n = %i)', (n) => {
    const r = rng(3);
    const a = randomArray(n * n, () => r.uniform(-1, 1));
    const lu = Float64Array.from(a);
    const perm = new Int32Array(n);
    luFactor(lu, n, perm);
    const L = Array.from({ length: n * n }, (_, q) => (q % n < Math.floor(q / n) ? lu[q] : q % n === Math.floor(q / n) ? 1 : 0));
    const U = Array.from({ length: n * n }, (_, q) => (q % n >= Math.floor(q / n) ? lu[q] : 0));
    const pa = Array.from(perm).flatMap((p) => Array.from(a.subarray(p * n, p * n + n)));
    expectClose(mm(L, U, n, n), pa, 1e-13, { floor: 1 });
    // partial pivoting: |l| ≤ 1
    for (let q = 0; q < n * n; q++) expect(Math.abs(L[q])).toBeLessThanOrEqual(1);
    const b = Array.from({ length: n }, (_, i) => i + 1);
    const x = Float64Array.from(Array.from(perm), (p) => b[p]);
    luSolve(lu, n, x, 1);
    expectClose(mm(a, x, n, 1), b, 1e-11, { floor: 1 });
  });
});

describe('triangular_solve', () => {
  // the other triangle holds NaN: never read
  const lowerA = [2, NaN, 1, 4];
  const upperA = [2, 1, NaN, 4];

  it('reads only the named triangle, with or without the transpose and the unit diagonal', () => {
    // [[2, 0], [1, 4]] x = [2, 9] → [1, 2]
    expect(Array.from(run('triangular_solve', [lowerA, [2, 9]], [[2, 2], [2]]).data)).toEqual([1, 2]);
    // [[2, 0], [1, 4]]ᵀ x = [4, 8] → [1, 2]
    expect(Array.from(run('triangular_solve', [lowerA, [4, 8]], [[2, 2], [2]], { transpose: true }).data)).toEqual([1, 2]);
    // [[2, 1], [0, 4]] x = [4, 8] → [1, 2]
    expect(Array.from(run('triangular_solve', [upperA, [4, 8]], [[2, 2], [2]], { lower: false }).data)).toEqual([1, 2]);
    // [[2, 1], [0, 4]]ᵀ x = [2, 9] → [1, 2]
    expect(Array.from(run('triangular_solve', [upperA, [2, 9]], [[2, 2], [2]], { lower: false, transpose: true }).data)).toEqual([1, 2]);
    // unit diagonal: the diagonal is not read either
    expect(
      Array.from(
        run(
          'triangular_solve',
          [
            [NaN, NaN, 3, NaN],
            [1, 5],
          ],
          [[2, 2], [2]],
          { unit_diagonal: true },
        ).data,
      ),
    ).toEqual([1, 2]);
  });

  it('agrees with solve on the masked matrix, batched, b a matrix', () => {
    const r = rng(11);
    const n = 4;
    const a = randomArray(2 * n * n, () => r.uniform(-1, 1)).map((v, q) => (q % (n + 1) === 0 ? v + 3 : v));
    const b = randomArray(n * 3, () => r.uniform(-1, 1));
    for (const lower of [true, false]) {
      for (const transpose of [true, false]) {
        for (const unit of [true, false]) {
          const got = run(
            'triangular_solve',
            [a, b],
            [
              [2, n, n],
              [n, 3],
            ],
            { lower, transpose, unit_diagonal: unit },
          );
          expect(got.shape).toEqual([2, n, 3]);
          for (let t = 0; t < 2; t++) {
            const m = Array.from({ length: n * n }, (_, q) => {
              const [i, j] = transpose ? [q % n, Math.floor(q / n)] : [Math.floor(q / n), q % n];
              if (i === j) return unit ? 1 : a[t * n * n + i * n + j];
              return (lower ? i > j : i < j) ? a[t * n * n + i * n + j] : 0;
            });
            const want = run(
              'solve',
              [m, b],
              [
                [n, n],
                [n, 3],
              ],
            ).data;
            expectClose(got.data.subarray(t * n * 3, (t + 1) * n * 3), want, 1e-13, {
              label: JSON.stringify({ lower, transpose, unit }),
              floor: 1,
            });
          }
        }
      }
    }
  });

  it('a zero on the diagonal gives IEEE results', () => {
    expect(
      Array.from(
        run(
          'triangular_solve',
          [
            [0, 0, 1, 1],
            [1, 1],
          ],
          [[2, 2], [2]],
        ).data,
      ),
    ).toEqual([Infinity, -Infinity]);
  });
});

describe('inv', () => {
  it('a inv(a) = I, batched', () => {
    const r = rng(5);
    const n = 5;
    const a = randomArray(3 * n * n, () => r.uniform(-1, 1));
    const y = run('inv', [a], [[3, n, n]]);
    expect(y.shape).toEqual([3, n, n]);
    const eye = Array.from({ length: n * n }, (_, q) => (q % (n + 1) === 0 ? 1 : 0));
    for (let t = 0; t < 3; t++) expectClose(mm(a.subarray(t * n * n), y.data.subarray(t * n * n), n, n), eye, 1e-12, { floor: 1 });
    expect(Array.from(run('inv', [[2, 0, 0, 4]], [[2, 2]]).data)).toEqual([0.5, 0, 0, 0.25]);
  });

  it('a singular a gives IEEE results', () => {
    expect(Array.from(run('inv', [[1, 2, 2, 4]], [[2, 2]]).data).some((v) => !Number.isFinite(v))).toBe(true);
    expect(Array.from(run('inv', [[0]], [[1, 1]]).data)).toEqual([Infinity]);
  });
});

describe('det and logabsdet', () => {
  it('agree with Laplace expansion, batched; [..., 0, 0] has det 1', () => {
    const r = rng(9);
    for (const n of [1, 2, 3, 4, 5]) {
      const a = Array.from(randomArray(2 * n * n, () => r.uniform(-2, 2)));
      const d = run('det', [a], [[2, n, n]]);
      expect(d.shape).toEqual([2]);
      const want = [0, 1].map((t) => laplaceDet(a.slice(t * n * n, (t + 1) * n * n), n));
      expectClose(d.data, want, 1e-13, { floor: 1 });
      expectClose(
        run('logabsdet', [a], [[2, n, n]]).data,
        want.map((v) => Math.log(Math.abs(v))),
        1e-13,
        { floor: 1 },
      );
    }
    expect(Array.from(run('det', [[]], [[3, 0, 0]]).data)).toEqual([1, 1, 1]);
    expect(Array.from(run('logabsdet', [[]], [[0, 0]]).data)).toEqual([0]);
    // a row swap flips the sign
    expect(Array.from(run('det', [[0, 1, 1, 0]], [[2, 2]]).data)).toEqual([-1]);
  });

  it('singular matrices: det 0, logabsdet -Infinity', () => {
    expect(Array.from(run('det', [[0, 0, 0, 0]], [[2, 2]]).data)).toEqual([0]);
    expect(Array.from(run('det', [[0, 1, 2, 0, 3, 4, 0, 5, 7]], [[3, 3]]).data)).toEqual([0]);
    expect(Array.from(run('logabsdet', [[0, 1, 2, 0, 3, 4, 0, 5, 7]], [[3, 3]]).data)).toEqual([-Infinity]);
  });

  it('adjugate: det(a) inv(a) at invertible a; at rank n - 1 the cofactors, where det(a) inv(a) is not finite', () => {
    const r = rng(13);
    for (const n of [2, 3, 4, 5]) {
      const a = Array.from(randomArray(n * n, () => r.uniform(-2, 2)));
      const adj = run('adjugate', [a], [[n, n]]).data;
      const d = laplaceDet(a, n);
      expectClose(
        adj,
        Array.from(run('inv', [a], [[n, n]]).data, (v) => d * v),
        1e-12,
        { floor: 1 },
      );
      const s = rankDeficient(r, n);
      const adjS = Array.from(run('adjugate', [s], [[n, n]]).data);
      expectClose(adjS, transposeOf(cofactors(s, n), n), 1e-12, { label: `rank ${n - 1}`, floor: 1 });
    }
    // the first column zero: partial pivoting would meet the zero pivot first
    const z = [0, 1, 2, 0, 3, 4, 0, 5, 7];
    expectClose(run('adjugate', [z], [[3, 3]]).data, transposeOf(cofactors(z, 3), 3), 1e-14, { floor: 1 });
    // rank n - 2: the adjugate is 0
    expect(Array.from(run('adjugate', [[1, 2, 3, 2, 4, 6, 3, 6, 9]], [[3, 3]]).data).map(Math.abs)).toEqual(new Array(9).fill(0));
    expect(Array.from(run('adjugate', [[0, 0, 0, 1]], [[2, 2]]).data).map((v) => v + 0)).toEqual([1, 0, 0, 0]);
  });
});

function transposeOf(a: readonly number[], n: number): number[] {
  return Array.from({ length: n * n }, (_, q) => a[(q % n) * n + Math.floor(q / n)]);
}

describe("det's derivative at rank n - 1", () => {
  const points = (): { n: number; a: number[] }[] => {
    const r = rng(21);
    return [
      ...[2, 3, 4, 5].map((n) => ({ n, a: rankDeficient(r, n) })),
      { n: 3, a: [0, 1, 2, 0, 3, 4, 0, 5, 7] },
      { n: 2, a: [0, 0, 0, 1] },
    ];
  };

  it.each(['forward', 'reverse'] as const)('%s mode: finite, the cofactors, and equal to central differences', async (mode) => {
    for (const { n, a } of points()) {
      const res = await jacobian({ graph: oneNode('det', [[n, n]]), args: { a: nested(a, n) }, mode }, { cache: false });
      const got = flat(res.jacobian!.y.a);
      expect(got.every(Number.isFinite), `n = ${n}`).toBe(true);
      expectClose(got, cofactors(a, n), 1e-12, { label: `n = ${n}: cofactors`, floor: 1 });
      // central differences of the Laplace det along each coordinate
      const fd = a.map(
        (_, q) =>
          centralDiff(
            (s) => [
              Float64Array.of(
                laplaceDet(
                  a.map((v, p) => (p === q ? v + s : v)),
                  n,
                ),
              ),
            ],
            1e-3,
          )[0][0],
      );
      expectClose(got, fd, 1e-8, { label: `n = ${n}: fd`, floor: 1 });
    }
  });

  it('at random matrices too, batched', async () => {
    const r = rng(23);
    const a = Array.from(randomArray(2 * 9, () => r.uniform(-2, 2)));
    const res = await gradient(
      {
        graph: {
          inputs: [{ name: 'a', shape: [2, 3, 3] }],
          nodes: [
            { id: 'd', op: 'det', args: ['a'] },
            { id: 's', op: 'sum', args: ['d'] },
          ],
          outputs: ['s'],
        },
        args: { a: [nested(a.slice(0, 9), 3), nested(a.slice(9), 3)] },
      },
      { cache: false },
    );
    expectClose(flat(res.gradient!.a), [...cofactors(a.slice(0, 9), 3), ...cofactors(a.slice(9), 3)], 1e-12, { floor: 1 });
  });

  it('second order (forward over reverse): finite and equal to central differences of the cofactors, invertible or not', async () => {
    const hess = async (a: number[], n: number): Promise<number[]> =>
      flat((await hessian({ graph: oneNode('det', [[n, n]]), args: { a: nested(a, n) }, mode: 'reverse' }, { cache: false })).hessian!.a.a);
    /** ∂²det/∂a_q∂a_p by central differences of the cofactors (∂det/∂a). */
    const fdHess = (a: number[], n: number): number[] =>
      a.flatMap((_, q) =>
        Array.from(
          centralDiff(
            (s) => [
              Float64Array.from(
                cofactors(
                  a.map((v, p) => (p === q ? v + s : v)),
                  n,
                ),
              ),
            ],
            1e-3,
          )[0],
        ),
      );
    const r = rng(29);
    const cases = [
      ...[3, 4, 5].map((n) => ({ n, a: Array.from(randomArray(n * n, () => r.uniform(-2, 2))), what: 'random' })),
      ...[2, 3, 4, 5].map((n) => ({ n, a: rankDeficient(r, n), what: 'rank n - 1' })),
      { n: 3, a: [0, 1, 2, 0, 3, 4, 0, 5, 7], what: 'rank 2, first column 0' },
      { n: 3, a: [1, 2, 3, 2, 4, 6, 3, 6, 9], what: 'rank 1 = n - 2' },
      { n: 4, a: [1, 2, 0, 0, 2, 4, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1], what: 'rank 2 = n - 2' },
      { n: 4, a: new Array(16).fill(0).map((_, q) => (q === 0 ? 1 : 0)), what: 'rank 1 = n - 3' },
    ];
    for (const { n, a, what } of cases) {
      const got = await hess(a, n);
      expect(got.every(Number.isFinite), `${what}, n = ${n}`).toBe(true);
      expectClose(got, fdHess(a, n), 1e-8, { label: `${what}, n = ${n}`, floor: 1 });
    }
  });

  it('adjugate_jvp is the derivative of the cofactors at rank n, n - 1 and n - 2', () => {
    const r = rng(37);
    for (const n of [3, 4, 6]) {
      for (const a of [Array.from(randomArray(n * n, () => r.uniform(-2, 2))), rankDeficient(r, n), lowRank(r, n, n - 2)]) {
        const t = Array.from(randomArray(n * n, () => r.uniform(-1, 1)));
        const got = run(
          'adjugate_jvp',
          [a, t],
          [
            [n, n],
            [n, n],
          ],
        ).data;
        const fd = centralDiff(
          (s) => [
            Float64Array.from(
              transposeOf(
                cofactors(
                  a.map((v, q) => v + s * t[q]),
                  n,
                ),
                n,
              ),
            ),
          ],
          1e-3,
        )[0];
        expectClose(got, fd, 1e-8, { label: `n = ${n}`, floor: 1 });
      }
    }
  });
});

/** A random n × n matrix of rank k: B C with B n × k, C k × n. */
function lowRank(r: Rng, n: number, k: number): number[] {
  const b = randomArray(n * k, () => r.uniform(-2, 2));
  const c = randomArray(k * n, () => r.uniform(-2, 2));
  const out = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[i * n + j] += b[i * k + p] * c[p * n + j];
  return out;
}

describe('cholesky', () => {
  it('L Lᵀ = a from the lower triangle; the upper one is not read', () => {
    const y = run('cholesky', [[4, NaN, 2, 3]], [[2, 2]]);
    expect(Array.from(y.data)).toEqual([2, 0, 1, Math.SQRT2]);
    const r = rng(31);
    const n = 5;
    const m = randomArray(n * n, () => r.uniform(-1, 1));
    const spd = mm(m, transposeOf(Array.from(m), n), n, n).map((v, q) => (q % (n + 1) === 0 ? v + 1 : v));
    const L = run('cholesky', [spd], [[1, n, n]]).data;
    expectClose(mm(L, transposeOf(Array.from(L), n), n, n), spd, 1e-13, { floor: 1 });
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(L[i * n + j]).toBe(0);
  });

  it('not positive definite, or NaN: all NaN, no exception; batch entries apart', () => {
    const y = run('cholesky', [[1, 0, 0, 1, 1, 2, 2, 1, 0, 0, 0, 0, NaN, 0, 0, 1]], [[4, 2, 2]]);
    expect(Array.from(y.data)).toEqual([1, 0, 0, 1, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN]);
  });
});
