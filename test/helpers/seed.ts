/**
 * The forum case (test/fixtures/seed-rs.graph.json) and its analytic derivatives,
 * the independent reference the seed tests check every engine against.
 *   r = d - (d·f / f·f) f,  f = exp(-1.5 (x - xs)^2),  x = -10..10
 *   f' = 3 (x - xs) f,  c = d·f / f·f,  dr/dxs = -(c' f + c f'),  dr/dd = I - f fᵀ/(f·f)
 * The scalar variant is s = Σ r² = d·d - (d·f)²/(f·f).
 */
import { readFileSync } from 'node:fs';

export const graph = JSON.parse(readFileSync(new URL('../fixtures/seed-rs.graph.json', import.meta.url), 'utf8'));
export const scalarGraph = {
  ...graph,
  nodes: [...graph.nodes, { id: 'r2', op: 'square', args: ['r'] }, { id: 's', op: 'sum', args: ['r2'] }],
  outputs: ['s'],
};

export const dot = (a: number[], b: number[]): number => a.reduce((s, ai, i) => s + ai * b[i], 0);
export const x = Array.from({ length: 21 }, (_, i) => i - 10);
export const xs = 0.1;
/** d = f(0.3) + 0.01 sin(0..20) */
export const d = x.map((xi, i) => Math.exp(-1.5 * (xi - 0.3) ** 2) + 0.01 * Math.sin(i));

export const f = x.map((xi) => Math.exp(-1.5 * (xi - xs) ** 2));
export const f1 = f.map((fi, i) => 3 * (x[i] - xs) * fi);
const f2 = f.map((fi, i) => (9 * (x[i] - xs) ** 2 - 3) * fi);
const A = dot(d, f),
  A1 = dot(d, f1),
  A2 = dot(d, f2);
export const B = dot(f, f);
const B1 = 2 * dot(f, f1),
  B2 = 2 * (dot(f1, f1) + dot(f, f2));
const c = A / B;
const cp = (A1 * B - A * B1) / (B * B);

export const rRef = d.map((di, i) => di - c * f[i]);
export const sRef = dot(rRef, rRef);
export const drdxs = f.map((fi, i) => -(cp * fi + c * f1[i]));
export const drdd = f.map((fi, i) => f.map((fj, j) => (i === j ? 1 : 0) - (fi * fj) / B));
export const dsdd = rRef.map((ri) => 2 * ri);
export const dsdxs = 2 * dot(rRef, drdxs);
/** Hessian blocks of s: d²s/dxs², d²s/dd², d²s/dd dxs */
export const sxx = -((2 * (A1 * A1 + A * A2)) / B - (4 * A * A1 * B1) / B ** 2 - (A * A * B2) / B ** 2 + (2 * A * A * B1 * B1) / B ** 3);
export const sdd = f.map((fi, i) => f.map((fj, j) => 2 * ((i === j ? 1 : 0) - (fi * fj) / B)));
export const sdx = f.map((fi, i) => (-2 * (A1 * fi + A * f1[i])) / B + (2 * A * fi * B1) / B ** 2);
