/**
 * Node order does not matter, down to the bit: the same graph with its nodes in
 * any JSON order, checked into fresh caches, gives identical bit patterns for
 * values, Jacobians (forward and reverse), gradients and Hessians. Reverse mode
 * adds fan-out contributions in program order, so this holds only because the
 * program is built in a canonical order (by node id), not in the request's.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PlanCache, gradient, hessian, jacobian, type Result } from '../src/index.js';
import * as seed from './helpers/seed.js';
import { randomGraphCase, withScalarOutput, type CaseRequest } from './helpers/random-graph.js';

const PACKED = { output: 'packed' as const };

/** Every float of a result as its 64 bits in hex, in a fixed order (keys sorted). */
function bits(r: Result): string[] {
  const out: string[] = [];
  const view = new DataView(new ArrayBuffer(8));
  const walk = (v: unknown): void => {
    if (v && typeof v === 'object' && (v as { data?: unknown }).data instanceof Float64Array) {
      for (const x of (v as { data: Float64Array }).data) {
        view.setFloat64(0, x);
        out.push(view.getBigUint64(0).toString(16));
      }
    } else if (v && typeof v === 'object') {
      for (const k of Object.keys(v as object).sort()) walk((v as Record<string, unknown>)[k]);
    }
  };
  walk({ values: r.values, jacobian: r.jacobian, gradient: r.gradient, hessian: r.hessian });
  return out;
}

function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seedValue: number): () => number {
  let t = seedValue >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let x = Math.imul(t ^ (t >>> 15), 1 | t);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs every operation on `req` with its nodes in `orders` shuffled orders, each with a fresh cache. */
async function bitsByOrder(req: CaseRequest, scalar: boolean, orders: number, rand: () => number): Promise<string[][]> {
  const runs: string[][] = [];
  for (let k = 0; k < orders; k++) {
    const graph = { ...req.graph, nodes: k === 0 ? req.graph.nodes : shuffled(req.graph.nodes, rand) };
    const body = { graph, args: req.args, constant: req.constant };
    const cache = new PlanCache(1 << 24);
    const all: string[] = [];
    for (const mode of ['forward', 'reverse'] as const) all.push(...bits(await jacobian({ ...body, mode }, { ...PACKED, cache })));
    if (scalar) {
      for (const mode of ['forward', 'reverse'] as const) {
        all.push(...bits(await gradient({ ...body, mode }, { ...PACKED, cache })));
        all.push(...bits(await hessian({ ...body, mode }, { ...PACKED, cache })));
      }
    }
    runs.push(all);
  }
  return runs;
}

describe('the same graph in any node order gives the same bits', () => {
  test('the seed problem (s = Σ r²), 24 orders', async () => {
    const req = { graph: seed.scalarGraph, args: { d: seed.d, xs: seed.xs }, constant: [] };
    const runs = await bitsByOrder(req, true, 24, prng(1));
    for (const r of runs) expect(r).toEqual(runs[0]);
  });

  test('random graphs with fan-out, 8 orders each', async () => {
    const rand = prng(20261202);
    await fc.assert(
      fc.asyncProperty(randomGraphCase({ maxNodes: 24 }), async (c) => {
        const scalar = withScalarOutput(c, 'sumsq');
        const runs = await bitsByOrder(scalar, true, 8, rand);
        for (const r of runs) expect(r).toEqual(runs[0]);
      }),
      { numRuns: 60, seed: 20261202 },
    );
  });
});
