/**
 * Exact Hessians against closed forms: the seed's scalar variant, an extended
 * Rosenbrock function and a logistic loss. Symmetry and hvp = H v in every mode.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { hessian, hvp } from '../src/index.js';
import { expectClose } from './helpers/numeric.js';

type Packed = { shape: number[]; data: Float64Array };
const MODES = ['reverse', 'forward', 'auto'] as const;

/** Exact Hessians against closed forms, relative to max(1, max|H|): two derivative programs deep. */
const NORMWISE = { scale: 'max' } as const;

/** Square matrix from blocks [a][b] of a Hessian over inputs of sizes `sizes`. */
function assemble(h: Record<string, Record<string, unknown>>, names: string[], sizes: number[]): number[][] {
  const n = sizes.reduce((a, b) => a + b, 0);
  const H = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  let ro = 0;
  names.forEach((a, ia) => {
    let co = 0;
    names.forEach((b, ib) => {
      const blk = h[a][b] as Packed;
      for (let p = 0; p < sizes[ia]; p++) for (let q = 0; q < sizes[ib]; q++) H[ro + p][co + q] = blk.data[p * sizes[ib] + q];
      co += sizes[ib];
    });
    ro += sizes[ia];
  });
  return H;
}

function expectSymmetric(H: number[][]): void {
  const transposed = H.map((row, i) => row.map((_, j) => H[j][i]));
  expectClose(H, transposed, 1e-12, { label: 'H against its transpose', scale: 'max' });
}

describe('seed scalar variant s = |r|^2 = d·d - (d·f)^2 / (f·f)', () => {
  const graph = JSON.parse(readFileSync(new URL('./fixtures/seed-rs.graph.json', import.meta.url), 'utf8'));
  graph.nodes.push({ id: 'r2', op: 'square', args: ['r'] }, { id: 's', op: 'sum', args: ['r2'] });
  graph.outputs = ['s'];
  const x = Array.from({ length: 21 }, (_, i) => i - 10);
  const xs = 0.1;
  const d = x.map((xi, i) => Math.exp(-1.5 * (xi - 0.3) ** 2) + 0.01 * Math.sin(i));
  const dot = (a: number[], b: number[]): number => a.reduce((s, ai, i) => s + ai * b[i], 0);
  // f and its first two derivatives in xs
  const f = x.map((xi) => Math.exp(-1.5 * (xi - xs) ** 2));
  const f1 = f.map((fi, i) => 3 * (x[i] - xs) * fi);
  const f2 = f.map((fi, i) => (9 * (x[i] - xs) ** 2 - 3) * fi);
  const A = dot(d, f),
    A1 = dot(d, f1),
    A2 = dot(d, f2);
  const B = dot(f, f),
    B1 = 2 * dot(f, f1),
    B2 = 2 * (dot(f1, f1) + dot(f, f2));
  // s = d·d - A²/B
  const sxx = -((2 * (A1 * A1 + A * A2)) / B - (4 * A * A1 * B1) / B ** 2 - (A * A * B2) / B ** 2 + (2 * A * A * B1 * B1) / B ** 3);
  const sdd = f.map((fi, i) => f.map((fj, j) => 2 * ((i === j ? 1 : 0) - (fi * fj) / B)));
  const sdx = f.map((fi, i) => (-2 * (A1 * fi + A * f1[i])) / B + (2 * A * fi * B1) / B ** 2);
  const ref: number[][] = [...sdd.map((row, i) => [...row, sdx[i]]), [...sdx, sxx]];

  for (const mode of MODES) {
    test(`${mode}: Hessian matches the closed form to 1e-10 and is symmetric`, async () => {
      const res = await hessian({ graph, args: { d, xs }, mode }, { output: 'packed' });
      const H = assemble(res.hessian as never, ['d', 'xs'], [21, 1]);
      expectClose(H.flat(), ref.flat(), 1e-10, NORMWISE);
      expectSymmetric(H);
      expect((res.hessian!.d.xs as Packed).shape).toEqual([21]);
      expect((res.hessian!.xs.d as Packed).shape).toEqual([21]);
      expect((res.hessian!.d.d as Packed).shape).toEqual([21, 21]);
    });
  }

  test('with d constant only the xs block exists', async () => {
    const res = await hessian({ graph, args: { d, xs }, constant: ['d'] });
    expect(Object.keys(res.hessian!)).toEqual(['xs']);
    expectClose(res.hessian!.xs.xs as number, sxx, 1e-10);
  });
});

describe('extended Rosenbrock f(w) = Σ 100 (w[2i+1] - w[2i]²)² + (1 - w[2i])²', () => {
  const n = 6; // pairs
  const graph = {
    inputs: [{ name: 'w', shape: [2 * n] }],
    nodes: [
      { id: 'p', op: 'reshape', args: ['w'], shape: [n, 2] },
      { id: 'a', op: 'index', args: ['p'], axis: 1, indices: [0] },
      { id: 'b', op: 'index', args: ['p'], axis: 1, indices: [1] },
      { id: 't', op: 'sub', args: ['b', 'a2'] },
      { id: 'a2', op: 'square', args: ['a'] },
      { id: 'u', op: 'sub', args: [1, 'a'] },
      { id: 'terms', op: 'add', args: ['t100', 'u2'] },
      { id: 't100', op: 'mul', args: [100, 't2'] },
      { id: 't2', op: 'square', args: ['t'] },
      { id: 'u2', op: 'square', args: ['u'] },
      { id: 'f', op: 'sum', args: ['terms'] },
    ],
    outputs: ['f'],
  };
  const w = Array.from({ length: 2 * n }, (_, i) => Math.sin(1.3 * i) * 1.5);
  const ref = Array.from({ length: 2 * n }, () => new Array<number>(2 * n).fill(0));
  for (let i = 0; i < n; i++) {
    const a = w[2 * i],
      b = w[2 * i + 1];
    ref[2 * i][2 * i] = 1200 * a * a - 400 * b + 2;
    ref[2 * i][2 * i + 1] = ref[2 * i + 1][2 * i] = -400 * a;
    ref[2 * i + 1][2 * i + 1] = 200;
  }
  const v = w.map((_, i) => Math.cos(i));
  const Hv = ref.map((row) => row.reduce((s, h, j) => s + h * v[j], 0));

  for (const mode of MODES) {
    test(`${mode}: Hessian and hvp match the closed form`, async () => {
      const res = await hessian({ graph, args: { w }, mode }, { output: 'packed' });
      const H = assemble(res.hessian as never, ['w'], [2 * n]);
      expectClose(H.flat(), ref.flat(), 1e-10, NORMWISE);
      expectSymmetric(H);
      const hv = await hvp({ graph, args: { w }, vector: { w: v }, mode }, { output: 'packed' });
      expectClose((hv.hvp!.w as Packed).data, Hv, 1e-10, NORMWISE);
    });
  }

  test('auto runs forward-over-reverse with one direction per input element, and hvp with one', async () => {
    const res = await hessian({ graph, args: { w } });
    expect(res.mode).toBe('reverse');
    expect(res.reason).toMatch(/forward-over-reverse/);
    expect(res.stats.directions).toBe(2 * n);
    const hv = await hvp({ graph, args: { w }, vector: { w: v } });
    expect([hv.mode, hv.stats.directions]).toEqual(['reverse', 1]);
  });

  test('fd Hessian (fd of the reverse gradient) agrees to 1e-6', async () => {
    const res = await hessian({ graph, args: { w }, mode: 'fd' }, { output: 'packed' });
    expectClose(assemble(res.hessian as never, ['w'], [2 * n]).flat(), ref.flat(), 1e-6, NORMWISE);
  });
});

describe('logistic loss L(w, b) = Σ softplus(-y (X w + b)), X and y constant', () => {
  const m = 8,
    p = 3;
  const X = Array.from({ length: m }, (_, i) => Array.from({ length: p }, (_, j) => Math.sin(i * 1.7 + j * 0.9)));
  const y = Array.from({ length: m }, (_, i) => (i % 3 === 0 ? -1 : 1));
  const w = [0.3, -0.8, 0.5];
  const b = 0.2;
  const graph = {
    inputs: [
      { name: 'X', shape: [m, p] },
      { name: 'y', shape: [m] },
      { name: 'w', shape: [p] },
      { name: 'b', shape: [] },
    ],
    nodes: [
      { id: 'xw', op: 'matmul', args: ['X', 'w'] },
      { id: 'z', op: 'add', args: ['xw', 'b'] },
      { id: 'yz', op: 'mul', args: ['y', 'z'] },
      { id: 'nyz', op: 'neg', args: ['yz'] },
      { id: 'l', op: 'softplus', args: ['nyz'] },
      { id: 'L', op: 'sum', args: ['l'] },
    ],
    outputs: ['L'],
  };
  // H = Σ_i σ(z_i)(1 - σ(z_i)) [x_i; 1][x_i; 1]ᵀ since y_i² = 1
  const sig = (t: number): number => 1 / (1 + Math.exp(-t));
  const ref = Array.from({ length: p + 1 }, () => new Array<number>(p + 1).fill(0));
  for (let i = 0; i < m; i++) {
    const z = X[i].reduce((s, xij, j) => s + xij * w[j], b);
    const s = sig(z) * (1 - sig(z));
    const xi = [...X[i], 1];
    for (let r = 0; r < p + 1; r++) for (let c = 0; c < p + 1; c++) ref[r][c] += s * xi[r] * xi[c];
  }

  for (const mode of MODES) {
    test(`${mode}: Hessian matches Xᵀ diag(σ(1-σ)) X`, async () => {
      const res = await hessian({ graph, args: { X, y, w, b }, constant: ['X', 'y'], mode }, { output: 'packed' });
      expect(Object.keys(res.hessian!)).toEqual(['w', 'b']);
      const H = assemble(res.hessian as never, ['w', 'b'], [p, 1]);
      expectClose(H.flat(), ref.flat(), 1e-10, NORMWISE);
      expectSymmetric(H);
    });
  }
});
