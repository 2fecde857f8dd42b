/**
 * The forum case (test/fixtures/seed-rs.graph.json): r = d - (d·f / f·f) f with
 * f = exp(-1.5 (x - xs)^2), x = -10..10, checked against its analytic derivatives.
 */
import { describe, expect, test } from 'vitest';
import { gradient, jacobian, evaluate, jvp, vjp } from '../src/index.js';

import { expectClose } from './helpers/numeric.js';
import { d, dot as dotp, drdd as drddRef, drdxs as drdxsRef, graph, rRef, scalarGraph, xs } from './helpers/seed.js';

/** Exact modes against the closed forms: a few roundings apart. */
const EXACT = 1e-12;

describe('seed graph, d constant', () => {
  for (const mode of ['forward', 'reverse', 'auto'] as const) {
    test(`${mode}: values and dr/dxs match the analytic derivative to 1e-12`, async () => {
      const res = await jacobian({ graph, args: { d, xs }, constant: ['d'], mode });
      expectClose(res.values.r as number[], rRef, EXACT);
      expectClose(res.jacobian!.r.xs as number[], drdxsRef, EXACT);
      expect(Object.keys(res.jacobian!.r)).toEqual(['xs']);
    });
  }

  test('fd matches the analytic derivative to 1e-7', async () => {
    const res = await jacobian({ graph, args: { d, xs }, constant: ['d'], mode: 'fd' });
    expect(res.mode).toBe('fd');
    expectClose(res.jacobian!.r.xs as number[], drdxsRef, 1e-7);
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
    expectClose(block.flat(), drddRef.flat(), EXACT);
    expectClose(res.jacobian!.r.xs as number[], drdxsRef, EXACT);
  });

  test('reverse propagates 21 directions and agrees', async () => {
    const res = await jacobian({ graph, args: { d, xs }, mode: 'reverse' });
    expect(res.stats.directions).toBe(21);
    expectClose((res.jacobian!.r.d as number[][]).flat(), drddRef.flat(), EXACT);
  });

  test('auto on the Jacobian (22 vs 21) says which mode ran and why', async () => {
    const res = await jacobian({ graph, args: { d, xs } });
    // Which mode wins is the cost model's call; what must hold is that the mode reported is
    // the one the reason names, with the lower estimate, and the one that ran (its directions).
    const m = /^22 active input elements vs 21 output elements; (forward|reverse) estimated at ([\d.]+) (ns|µs) vs ([\d.]+) (ns|µs)$/.exec(
      res.reason ?? '',
    );
    expect(m, res.reason).not.toBeNull();
    const ns = (v: string, unit: string): number => Number(v) * (unit === 'µs' ? 1000 : 1);
    expect(res.mode).toBe(m![1]);
    expect(ns(m![2], m![3])).toBeLessThanOrEqual(ns(m![4], m![5]));
    expect(res.stats.directions).toBe(res.mode === 'forward' ? 22 : 21);
    expectClose((res.jacobian!.r.d as number[][]).flat(), drddRef.flat(), EXACT);
    expectClose(res.jacobian!.r.xs as number[], drdxsRef, EXACT);
  });

  test('auto picks reverse for the scalar variant (22 inputs vs 1 output)', async () => {
    const res = await gradient({ graph: scalarGraph, args: { d, xs } });
    expect(res.mode).toBe('reverse');
    expect(res.reason).toMatch(/^22 active input elements vs 1 output element;/);
    expect(res.stats.directions).toBe(1);
    // ds/dd = 2 r (projection), ds/dxs = 2 r · dr/dxs
    expectClose(
      res.gradient!.d as number[],
      rRef.map((ri) => 2 * ri),
      EXACT,
    );
    expectClose(res.gradient!.xs as number, 2 * dotp(rRef, drdxsRef), EXACT);
  });

  test('check reports the fd error', async () => {
    const res = await jacobian({ graph, args: { d, xs }, check: true });
    expect(res.check!.maxRelError).toBeLessThan(1e-7);
    expect(res.check!.maxAbsError).toBeLessThan(1e-7);
    // fd's truncation and rounding (about 1e-10 here) show: an error of exactly 0 would mean
    // the check compared something with itself
    expect(res.check!.maxAbsError).toBeGreaterThan(0);
  });
});

describe('jvp and vjp on the seed', () => {
  const t = { d: d.map((_, i) => Math.cos(i)), xs: 0.7 };
  const cvec = d.map((_, i) => Math.sin(3 * i));
  const jt = drddRef.map((row, i) => dotp(row, t.d) + drdxsRef[i] * t.xs);
  const ctJ = {
    d: d.map((_, j) =>
      dotp(
        cvec,
        drddRef.map((row) => row[j]),
      ),
    ),
    xs: dotp(cvec, drdxsRef),
  };

  for (const mode of ['forward', 'reverse', 'auto'] as const) {
    test(`${mode}: jvp = J t and vjp = cᵀ J`, async () => {
      const a = await jvp({ graph, args: { d, xs }, tangents: t, mode });
      expectClose(a.jvp!.r as number[], jt, EXACT);
      const b = await vjp({ graph, args: { d, xs }, cotangents: { r: cvec }, mode });
      expectClose(b.vjp!.d as number[], ctJ.d, EXACT);
      expectClose(b.vjp!.xs as number, ctJ.xs, EXACT);
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
    expectClose(res.values.r as number[], rRef, EXACT);
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
    expectClose(res.gradient!.xs as number, 2 * dotp(rRef, drdxsRef), EXACT);
  });

  test('packed arguments and results', async () => {
    const res = await jacobian(
      { graph, args: { d: { shape: [21], data: Float64Array.from(d) }, xs }, constant: ['d'] },
      { output: 'packed' },
    );
    const block = res.jacobian!.r.xs as { shape: number[]; data: Float64Array };
    expect(block.shape).toEqual([21]);
    expectClose(block.data, drdxsRef, EXACT);
  });
});
