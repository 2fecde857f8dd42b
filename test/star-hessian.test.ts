/**
 * Star-coloured Hessians end to end: f(x) = x_h · Σx + Σ sin(x) has an arrowhead
 * Hessian (row and column h dense, and the diagonal), which distance-2 colouring
 * sweeps n times and star colouring twice. Dense and coo, through the library and
 * over HTTP, against the closed form; a tridiagonal Hessian, where star colouring
 * saves nothing, keeps distance-2.
 */
import { describe, expect, it } from 'vitest';
import { hessianCompression } from '../src/analysis/colouring.js';
import { makePlan } from '../src/analysis/plan.js';
import { checkRequest } from '../src/graph/request.js';
import { hessian } from '../src/index.js';
import { ResultSchemas } from '../src/server/schemas.js';
import { useApps } from './helpers/server.js';

const n = 100;
const hub = 37;
const graph = {
  inputs: [{ name: 'x', shape: [n] }],
  nodes: [
    { id: 'xh', op: 'slice', args: ['x'], start: [hub], stop: [hub + 1] },
    { id: 's', op: 'sum', args: ['x'] },
    { id: 'p', op: 'mul', args: ['xh', 's'] },
    { id: 'sp', op: 'sum', args: ['p'] },
    { id: 'sines', op: 'sin', args: ['x'] },
    { id: 'ss', op: 'sum', args: ['sines'] },
    { id: 'f', op: 'add', args: ['sp', 'ss'] },
  ],
  outputs: ['f'],
};
const x = Array.from({ length: n }, (_, i) => Math.cos(3 * i) + 0.2);

/** The closed form: 1 across row and column h (2 where they cross), -sin on the diagonal. */
function exact(i: number, j: number): number {
  const arrow = (i === hub ? 1 : 0) + (j === hub ? 1 : 0);
  return arrow + (i === j ? -Math.sin(x[i]) : 0);
}
const arrowEntries = 3 * n - 2;

function expectExact(label: string, at: (i: number, j: number) => number): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const [got, want] = [at(i, j), exact(i, j)];
      if (!(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)))) throw new Error(`${label}: H[${i}][${j}] = ${got}, want ${want}`);
    }
  }
}

type Coo = { rows: number[]; cols: number[]; values: number[] | { data: Float64Array } };

/** A coo block as a lookup, every listed entry in the arrowhead and each entry listed once. */
function cooLookup(b: Coo): (i: number, j: number) => number {
  const values = Array.isArray(b.values) ? b.values : Array.from(b.values.data);
  const at = new Map<number, number>();
  b.rows.forEach((i, k) => {
    const j = b.cols[k];
    expect(i === hub || j === hub || i === j, `(${i}, ${j}) in the arrowhead`).toBe(true);
    at.set(i * n + j, values[k]);
  });
  expect(at.size).toBe(arrowEntries);
  return (i, j) => at.get(i * n + j) ?? 0;
}

describe('an arrowhead Hessian in two star-coloured sweeps', () => {
  it('star colouring is chosen: 2 colours where distance-2 takes n', () => {
    const hc = hessianCompression(makePlan(checkRequest('hessian', { graph, args: { x } })));
    expect(hc?.count).toBe(2);
    expect(hc?.recovery).toBeDefined();
  });

  it('dense, through the library, in reverse and auto', async () => {
    for (const mode of ['reverse', 'auto'] as const) {
      const r = await hessian({ graph, args: { x }, mode }, { output: 'packed' });
      expect(r.mode).toBe('reverse');
      expect(r.stats, mode).toMatchObject({ directions: 2, colors: 2, nonZeros: arrowEntries });
      const H = r.hessian.x.x.data;
      expectExact(`dense ${mode}`, (i, j) => H[i * n + j]);
      if (mode === 'auto') expect(r.reason).toContain('(sparse: 2 star colours for forward-over-reverse)');
    }
  });

  it('as coo, through the library', async () => {
    const r = await hessian({ graph, args: { x }, format: 'coo' }, { output: 'packed' });
    expect(r.stats).toMatchObject({ directions: 2, colors: 2, nonZeros: arrowEntries });
    expect(r.hessian.x.x.shape).toEqual([n, n]);
    expectExact('coo', cooLookup(r.hessian.x.x as unknown as Coo));
  });

  const appWith = useApps();
  it('dense and coo over HTTP, inline and pooled, valid against the response schema', async () => {
    for (const config of [{ workers: 0 }, { workers: 1, inlineMaxCostMs: 0 }]) {
      const { app } = await appWith(config);
      for (const format of ['dense', 'coo'] as const) {
        const res = await app.inject({ method: 'POST', url: '/v1/hessian', payload: { graph, args: { x }, format } });
        expect(res.statusCode, res.body).toBe(200);
        const json = res.json();
        expect(json.stats).toMatchObject({ colors: 2, nonZeros: arrowEntries });
        expect(ResultSchemas.hessian.safeParse(json).success).toBe(true);
        const block = json.hessian.x.x;
        expectExact(`HTTP ${format}`, format === 'coo' ? cooLookup(block) : (i, j) => block[i][j]);
      }
    }
  });
});

describe('a tridiagonal Hessian keeps distance-2 colouring', () => {
  it('3 column colours, star colouring not fewer', async () => {
    const m = 40;
    // f = Σ exp(x[i+1] - x[i]): H tridiagonal
    const tri = {
      inputs: [{ name: 'u', shape: [m] }],
      nodes: [
        { id: 'a', op: 'slice', args: ['u'], start: [0], stop: [m - 1] },
        { id: 'b', op: 'slice', args: ['u'], start: [1], stop: [m] },
        { id: 'd', op: 'sub', args: ['b', 'a'] },
        { id: 'e', op: 'exp', args: ['d'] },
        { id: 'f', op: 'sum', args: ['e'] },
      ],
      outputs: ['f'],
    };
    const u = Array.from({ length: m }, (_, i) => Math.sin(i) / 2);
    const hc = hessianCompression(makePlan(checkRequest('hessian', { graph: tri, args: { u } })));
    expect(hc?.count).toBe(3);
    expect(hc?.recovery).toBeUndefined();
    const r = await hessian({ graph: tri, args: { u }, mode: 'auto' }, { output: 'packed' });
    expect(r.reason).toContain('(sparse: 3 column colours for forward-over-reverse)');
    const e = u.slice(1).map((v, i) => Math.exp(v - u[i]));
    const H = r.hessian.u.u.data;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const want = i === j ? (i > 0 ? e[i - 1] : 0) + (i < m - 1 ? e[i] : 0) : Math.abs(i - j) === 1 ? -e[Math.min(i, j)] : 0;
        expect(Math.abs(H[i * m + j] - want), `H[${i}][${j}]`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      }
    }
  });
});
