/**
 * The forum case (test/fixtures/seed-rs.graph.json): r = d - (d·f / f·f) f with
 * f = exp(-1.5 (x - xs)^2), x = -10..10, checked against its analytic derivatives.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { gradient, jacobian, evaluate, jvp, vjp } from '../src/index.js';

import { d, dot as dotp, drdd as drddRef, drdxs as drdxsRef, graph, rRef, scalarGraph, xs } from './helpers/seed.js';

function maxRel(got: number[], ref: number[]): number {
  const scale = Math.max(1, ...ref.map(Math.abs));
  return Math.max(...got.map((g, i) => Math.abs(g - ref[i]))) / scale;
}

describe('seed graph, d constant', () => {
  for (const mode of ['forward', 'reverse', 'auto'] as const) {
    test(`${mode}: values and dr/dxs match the analytic derivative to 1e-12`, async () => {
      const res = await jacobian({ graph, args: { d, xs }, constant: ['d'], mode });
      expect(maxRel(res.values.r as number[], rRef)).toBeLessThan(1e-12);
      expect(maxRel(res.jacobian!.r.xs as number[], drdxsRef)).toBeLessThan(1e-12);
      expect(Object.keys(res.jacobian!.r)).toEqual(['xs']);
    });
  }

  test('fd matches the analytic derivative to 1e-7', async () => {
    const res = await jacobian({ graph, args: { d, xs }, constant: ['d'], mode: 'fd' });
    expect(res.mode).toBe('fd');
    expect(maxRel(res.jacobian!.r.xs as number[], drdxsRef)).toBeLessThan(1e-7);
  });

  test('forward propagates exactly one direction and has no block for d', async () => {
    const res = await jacobian({ graph, args: { d, xs }, constant: ['d'], mode: 'forward' });
    expect(res.stats).toMatchObject({ directions: 1, activeNodes: 9, inactiveNodes: 1 });
    expect(res.jacobian!.r).not.toHaveProperty('d');
  });

  test('auto picks forward and says why: 1 input element vs 21 outputs', async () => {
    const res = await jacobian({ graph, args: { d, xs }, constant: ['d'] });
    expect(res.mode).toBe('forward');
    expect(res.reason).toMatch(/^1 active input element vs 21 output elements/);
    expect(res.stats.directions).toBe(1);
  });

  test('timings are reported for every stage', async () => {
    const res = await jacobian({ graph, args: { d, xs }, constant: ['d'] });
    for (const k of ['validateMs', 'planMs', 'evaluateMs', 'differentiateMs', 'totalMs'] as const) {
      expect(res.timings[k]).toBeGreaterThanOrEqual(0);
    }
    const t = res.timings;
    // each figure is rounded to the microsecond
    expect(t.totalMs).toBeGreaterThanOrEqual(t.validateMs + t.planMs + t.evaluateMs + t.differentiateMs - 0.003);
  });
});

describe('seed graph, d active', () => {
  test('forward propagates 22 directions and dr/dd = I - f fᵀ/(f·f)', async () => {
    const res = await jacobian({ graph, args: { d, xs }, mode: 'forward' });
    expect(res.stats.directions).toBe(22);
    const block = res.jacobian!.r.d as number[][];
    expect(block).toHaveLength(21);
    expect(maxRel(block.flat(), drddRef.flat())).toBeLessThan(1e-12);
    expect(maxRel(res.jacobian!.r.xs as number[], drdxsRef)).toBeLessThan(1e-12);
  });

  test('reverse propagates 21 directions and agrees', async () => {
    const res = await jacobian({ graph, args: { d, xs }, mode: 'reverse' });
    expect(res.stats.directions).toBe(21);
    expect(maxRel((res.jacobian!.r.d as number[][]).flat(), drddRef.flat())).toBeLessThan(1e-12);
  });

  test('auto on the Jacobian (22 vs 21) says which mode ran and why', async () => {
    const res = await jacobian({ graph, args: { d, xs } });
    expect(['forward', 'reverse']).toContain(res.mode);
    expect(res.reason).toMatch(/^22 active input elements vs 21 output elements; (forward|reverse) estimated at/);
  });

  test('auto picks reverse for the scalar variant (22 inputs vs 1 output)', async () => {
    const res = await gradient({ graph: scalarGraph, args: { d, xs } });
    expect(res.mode).toBe('reverse');
    expect(res.reason).toMatch(/^22 active input elements vs 1 output element;/);
    expect(res.stats.directions).toBe(1);
    // ds/dd = 2 r (projection), ds/dxs = 2 r · dr/dxs
    expect(maxRel(res.gradient!.d as number[], rRef.map((ri) => 2 * ri))).toBeLessThan(1e-12);
    expect(maxRel([res.gradient!.xs as number], [2 * dotp(rRef, drdxsRef)])).toBeLessThan(1e-12);
  });

  test('check reports the fd error', async () => {
    const res = await jacobian({ graph, args: { d, xs }, check: true });
    expect(res.check!.maxRelError).toBeLessThan(1e-7);
    expect(res.check!.maxAbsError).toBeLessThan(1e-7);
  });
});

describe('jvp and vjp on the seed', () => {
  const t = { d: d.map((_, i) => Math.cos(i)), xs: 0.7 };
  const cvec = d.map((_, i) => Math.sin(3 * i));
  const jt = drddRef.map((row, i) => dotp(row, t.d) + drdxsRef[i] * t.xs);
  const ctJ = { d: d.map((_, j) => dotp(cvec, drddRef.map((row) => row[j]))), xs: dotp(cvec, drdxsRef) };

  for (const mode of ['forward', 'reverse', 'auto'] as const) {
    test(`${mode}: jvp = J t and vjp = cᵀ J`, async () => {
      const a = await jvp({ graph, args: { d, xs }, tangents: t, mode });
      expect(maxRel(a.jvp!.r as number[], jt)).toBeLessThan(1e-12);
      const b = await vjp({ graph, args: { d, xs }, cotangents: { r: cvec }, mode });
      expect(maxRel(b.vjp!.d as number[], ctJ.d)).toBeLessThan(1e-12);
      expect(maxRel([b.vjp!.xs as number], [ctJ.xs])).toBeLessThan(1e-12);
    });
  }

  test('auto: jvp runs forward with one direction, vjp reverse with one', async () => {
    const a = await jvp({ graph, args: { d, xs }, tangents: t });
    expect([a.mode, a.stats.directions]).toEqual(['forward', 1]);
    const b = await vjp({ graph, args: { d, xs }, cotangents: { r: cvec } });
    expect([b.mode, b.stats.directions]).toEqual(['reverse', 1]);
  });
});

describe('envelope details', () => {
  test('evaluate returns values only', async () => {
    const res = await evaluate({ graph, args: { d, xs } });
    expect(maxRel(res.values.r as number[], rRef)).toBeLessThan(1e-12);
    expect(res).not.toHaveProperty('mode');
    expect(res).not.toHaveProperty('jacobian');
  });

  test('an output that is an active input gets an identity block; no dependence gives zeros', async () => {
    const g = { ...graph, outputs: ['r', 'xs', 'x'] };
    const res = await jacobian({ graph: g, args: { d, xs }, constant: ['d'] });
    expect(res.jacobian!.xs.xs).toBe(1);
    expect(res.jacobian!.x.xs).toEqual(new Array(21).fill(0));
  });

  test('`outputs` restricts the computation', async () => {
    const g = { ...scalarGraph, outputs: ['r', 's'] };
    const res = await gradient({ graph: g, args: { d, xs }, outputs: ['s'], constant: ['d'] });
    expect(Object.keys(res.values)).toEqual(['s']);
    expect(res.gradient!.xs).toBeCloseTo(2 * dotp(rRef, drdxsRef), 12);
  });

  test('packed arguments and results', async () => {
    const res = await jacobian(
      { graph, args: { d: { shape: [21], data: Float64Array.from(d) }, xs }, constant: ['d'] },
      { output: 'packed' },
    );
    const block = res.jacobian!.r.xs as { shape: number[]; data: Float64Array };
    expect(block.shape).toEqual([21]);
    expect(maxRel([...block.data], drdxsRef)).toBeLessThan(1e-12);
  });
});
