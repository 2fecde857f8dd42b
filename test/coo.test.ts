/**
 * `format: "coo"` Jacobians: on random graphs, in every mode, the entries are the
 * dense Jacobian's at the pattern (and the dense one is zero elsewhere), sorted by
 * (row, column), counted in stats; a 10^5 × 10^5 diagonal is allowed where the dense
 * one is refused; the limits and errors; base64 values; and over HTTP, the
 * library's answer, valid against the response schema.
 */
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type CooBlock, DEFAULT_LIMITS, hessian, jacobian, prepare } from '../src/index.js';
import { ResultSchemas } from '../src/server/schemas.js';
import { expectIssues } from './helpers/issues.js';
import { activeInputs, randomGraphCase, withScalarOutput } from './helpers/random-graph.js';
import { sinExpGraph } from './helpers/requests.js';
import { useApps } from './helpers/server.js';

type Packed = { shape: number[]; data: Float64Array };
type Coo = { shape: number[]; rows: number[]; cols: number[]; values: Packed };

const sizeOf = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);
type Grid<T> = Record<string, Record<string, T>>;

/**
 * Each coo block against its dense block: the same shape, entries sorted by (row, col),
 * each entry the dense value (up to the sign of a zero), and the dense block zero
 * outside them. The number of entries.
 */
function expectCooIsDense(label: string, dense: Grid<Packed>, coo: Grid<Coo>, shapes: Record<string, number[]>): number {
  let count = 0;
  for (const [o, row] of Object.entries(dense)) {
    for (const [i, d] of Object.entries(row)) {
      const b = coo[o][i];
      expect(b.shape, `${label} ${o}/${i}`).toEqual(d.shape);
      const n = sizeOf(shapes[i] ?? []);
      const seen = new Set<number>();
      for (let k = 0; k < b.rows.length; k++) {
        const at = b.rows[k] * n + b.cols[k];
        if (k > 0) expect(at, `${label} ${o}/${i}: sorted by (row, col)`).toBeGreaterThan(b.rows[k - 1] * n + b.cols[k - 1]);
        seen.add(at);
        const [x, y] = [b.values.data[k], d.data[at]];
        if (!(Object.is(x, y) || (x === 0 && y === 0))) throw new Error(`${label} ${o}/${i} entry ${k}: coo ${x}, dense ${y}`);
      }
      for (let at = 0; at < d.data.length; at++) {
        if (!seen.has(at) && d.data[at] !== 0) throw new Error(`${label} ${o}/${i}: dense ${d.data[at]} at ${at}, not in the pattern`);
      }
      count += b.rows.length;
    }
  }
  return count;
}

const diagonal = sinExpGraph;

describe('coo blocks are the dense Jacobian at its pattern', () => {
  it('on random graphs, in every mode', async () => {
    let entries = 0;
    await fc.assert(
      fc.asyncProperty(randomGraphCase(), async (c) => {
        if (activeInputs(c).length === 0) return;
        for (const mode of ['forward', 'reverse', 'fd', 'auto'] as const) {
          const request = {
            graph: mode === 'fd' ? c.fd.graph : c.graph,
            args: mode === 'fd' ? c.fd.args : c.args,
            constant: mode === 'fd' ? c.fd.constant : c.constant,
            mode,
          };
          const dense = await jacobian(request, { output: 'packed' });
          const coo = await jacobian({ ...request, format: 'coo' }, { output: 'packed' });
          const count = expectCooIsDense(mode, dense.jacobian as Grid<Packed>, coo.jacobian as unknown as Grid<Coo>, c.shapes);
          expect(coo.stats.nonZeros, mode).toBe(count);
          entries += count;
        }
      }),
      { seed: 20261204, numRuns: 120 },
    );
    expect(entries).toBeGreaterThan(1000);
  });
});

describe('coo Hessians are the dense Hessian at its pattern', () => {
  it('on random graphs with a scalar output, in every mode', async () => {
    let entries = 0;
    await fc.assert(
      fc.asyncProperty(randomGraphCase(), async (c0) => {
        const c = withScalarOutput(c0, 'sumsq');
        if (activeInputs(c).length === 0) return;
        for (const mode of ['forward', 'reverse', 'fd'] as const) {
          const r = mode === 'fd' ? c.fd : c;
          const request = { graph: r.graph, args: r.args, constant: r.constant, mode };
          const dense = await hessian(request, { output: 'packed' });
          const coo = await hessian({ ...request, format: 'coo' }, { output: 'packed' });
          const count = expectCooIsDense(mode, dense.hessian as Grid<Packed>, coo.hessian as unknown as Grid<Coo>, c.shapes);
          expect(coo.stats.nonZeros, mode).toBe(count);
          entries += count;
        }
      }),
      { seed: 20261208, numRuns: 80 },
    );
    expect(entries).toBeGreaterThan(300);
  });

  it('a large diagonal Hessian in one sweep as coo', async () => {
    const n = 100_000;
    const graph = {
      inputs: [{ name: 'x', shape: [n] }],
      nodes: [
        { id: 's', op: 'sin', args: ['x'] },
        { id: 'f', op: 'sum', args: ['s'] },
      ],
      outputs: ['f'],
    };
    const x = Array.from({ length: n }, (_, i) => i / n);
    const r = await hessian({ graph, args: { x }, format: 'coo' }, { output: 'packed' });
    expect(r.mode).toBe('reverse');
    expect(r.stats).toMatchObject({ nonZeros: n, colors: 1 });
    const b = r.hessian.x.x;
    expect(b.shape).toEqual([n, n]);
    for (const i of [0, 12_345, n - 1]) {
      expect([b.rows[i], b.cols[i]]).toEqual([i, i]);
      expect(b.values.data[i]).toBeCloseTo(-Math.sin(x[i]), 12);
    }
  });
});

describe('coo in a batch', () => {
  it('point b of each block is the call at point b alone, on random graphs', async () => {
    const shifted = (v: unknown, by: number): unknown => (Array.isArray(v) ? v.map((e) => shifted(e, by)) : (v as number) + by);
    await fc.assert(
      fc.asyncProperty(randomGraphCase(), async (c) => {
        const active = activeInputs(c);
        if (active.length === 0) return;
        const name = active[0];
        const at = (b: number) => ({ ...c.args, [name]: shifted(c.args[name], 0.01 * b) });
        const base = { graph: c.graph, constant: c.constant, format: 'coo' as const, mode: 'forward' };
        const all = await jacobian(
          { ...base, args: { ...c.args, [name]: [0, 1].map((b) => at(b)[name]) }, batched: [name] },
          { output: 'packed' },
        );
        for (const b of [0, 1]) {
          const one = await jacobian({ ...base, args: at(b) }, { output: 'packed' });
          for (const [o, row] of Object.entries(one.jacobian)) {
            for (const [i, blk] of Object.entries(row)) {
              const batch = all.jacobian[o][i];
              expect(batch.rows).toEqual(blk.rows);
              const n = blk.values.data.length;
              for (let k = 0; k < n; k++) {
                const [x, y] = [batch.values.data[b * n + k], blk.values.data[k]];
                if (!Object.is(x, y)) throw new Error(`${o}/${i} point ${b} entry ${k}: batch ${x}, alone ${y}`);
              }
            }
          }
        }
      }),
      { seed: 20261205, numRuns: 60 },
    );
  });
});

describe('a large diagonal', () => {
  it('10^5 × 10^5 in one sweep as coo, refused dense', async () => {
    const n = 100_000;
    const x = Array.from({ length: n }, (_, i) => Math.sin(i));
    const r = await jacobian({ graph: diagonal(n), args: { x }, format: 'coo' }, { output: 'packed' });
    expect(r.stats).toMatchObject({ nonZeros: n, colors: 1, directions: 1 });
    const b = r.jacobian.y.x;
    expectTypeOf(b).toEqualTypeOf<CooBlock<'packed'>>();
    expect(b.shape).toEqual([n, n]);
    for (const i of [0, 1, 77_777, n - 1]) {
      expect([b.rows[i], b.cols[i]]).toEqual([i, i]);
      expect(b.values.data[i]).toBeCloseTo((Math.cos(x[i]) + Math.sin(x[i])) * Math.exp(x[i]), 12);
    }
    expectIssues(() => prepare('jacobian', { graph: diagonal(n), args: { x } }), 'limit_exceeded', [['graph', 'MAX_ELEMENTS']]);
  });
});

describe('what coo refuses', () => {
  const n = 40;
  const x = Array.from({ length: n }, (_, i) => i / n);

  it('more entries than MAX_ELEMENTS, at format', () => {
    const limits = { ...DEFAULT_LIMITS, maxElements: 60 };
    expectIssues(() => prepare('jacobian', { graph: diagonal(n), args: { x }, format: 'coo' }, { limits }), 'limit_exceeded', [
      ['format', 'MAX_ELEMENTS (60)'],
    ]);
    // the same Jacobian fits when its 40 entries and 40 values do
    expect(
      prepare('jacobian', { graph: diagonal(n), args: { x }, format: 'coo' }, { limits: { ...limits, maxElements: 80 } }).pattern?.sparsity
        .nonZeros,
    ).toBe(n);
  });

  it('an unknown format, and a format on another operation', () => {
    expectIssues(() => prepare('jacobian', { graph: diagonal(n), args: { x }, format: 'csr' }), 'invalid_request', [
      ['format', 'dense', 'coo'],
    ]);
    expectIssues(() => prepare('gradient', { graph: diagonal(n), args: { x }, format: 'coo' }), 'invalid_request', [
      ['format', 'unknown field'],
    ]);
  });

  it('base64 values', async () => {
    const r = await jacobian({ graph: diagonal(n), args: { x }, format: 'coo', encoding: 'base64' }, { output: 'json' });
    const b = r.jacobian.y.x;
    expect(b.values).toMatchObject({ dtype: 'float64', shape: [n] });
    expect(b.rows).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe('coo over HTTP', () => {
  const appWith = useApps();
  it('the library answer, valid against the response schema, inline and pooled', async () => {
    const n = 30;
    const body = { graph: diagonal(n), args: { x: Array.from({ length: n }, (_, i) => i / 7) }, format: 'coo' };
    const lib = await jacobian(body, { output: 'json' });
    for (const config of [{ workers: 0 }, { workers: 1, inlineMaxCostMs: 0 }]) {
      const { app } = await appWith(config);
      const res = await app.inject({ method: 'POST', url: '/v1/jacobian', payload: body });
      expect(res.statusCode, res.body).toBe(200);
      const json = res.json();
      expect(json.jacobian).toEqual(lib.jacobian);
      expect(json.stats).toMatchObject({ nonZeros: n, colors: 1 });
      expect(ResultSchemas.jacobian.safeParse(json).success).toBe(true);
    }
  });
});
