/**
 * The handoff of a checked call to a worker (api/handoff.ts) on random graphs:
 * with parsing and validation priced at nothing and INLINE_MAX_COST_MS at 0, every
 * body is parsed and checked on the event loop and every call handed over, so
 * each answer below comes from a worker that was sent the checked call, never
 * the body. Every operation answers what the inline path answers.
 */
import fc from 'fast-check';
import { expect, test, vi } from 'vitest';
import type { PoolTask } from '../../src/server/worker.js';
import { randomGraphCase, withScalarOutput, type GraphCase } from '../helpers/random-graph.js';
import { metric, useApps } from '../helpers/server.js';

// Nothing is too large to parse or check here: every call reaches the cost model, and goes to the pool.
vi.mock(import('../../src/api/index.js'), async (importOriginal) => ({
  ...(await importOriginal()),
  bodyMs: () => 0,
  preflightMs: () => 0,
}));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const OPS = ['evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp'] as const;

const appWith = useApps();

function bodyOf(c: GraphCase, op: (typeof OPS)[number]): Json {
  const s = ['gradient', 'hessian', 'hvp'].includes(op) ? withScalarOutput(c, 'sumsq') : c;
  const body: Json = { graph: s.graph, args: s.args, constant: s.constant };
  if (op === 'jvp') body.tangents = s.tangents;
  if (op === 'vjp') body.cotangents = s.cotangents;
  if (op === 'hvp') body.vector = s.vector;
  return body;
}

const comparable = (res: { statusCode: number; json: () => Json }): Json => {
  const body = res.json();
  if (res.statusCode !== 200) return { status: res.statusCode, type: body.type, errors: body.errors };
  return { status: 200, ...body, timings: undefined, stats: { ...body.stats, cache: undefined } };
};

test('on random graphs, every operation handed to a worker answers what the inline path answers', async () => {
  const pooled = await appWith({ workers: 1, inlineMaxCostMs: 0 });
  const inline = await appWith({ workers: 0 });
  const tasks: Omit<PoolTask, 'started'>[] = [];
  const pool = pooled.pool as NonNullable<typeof pooled.pool>;
  const run = pool.run.bind(pool);
  vi.spyOn(pool, 'run').mockImplementation((task, options) => (tasks.push(task), run(task, options)));
  const cases = fc.sample(randomGraphCase({ maxNodes: 10 }), { numRuns: 12, seed: 20_261_202 });
  let ok = 0;
  for (const c of cases) {
    for (const op of OPS) {
      const body = bodyOf(c, op);
      const p = await pooled.app.inject({ method: 'POST', url: `/v1/${op}`, payload: body });
      const i = await inline.app.inject({ method: 'POST', url: `/v1/${op}`, payload: body });
      expect(comparable(p), `${op} on ${c}`).toEqual(comparable(i));
      if (p.statusCode === 200) ok++;
    }
  }
  expect(ok).toBeGreaterThan(OPS.length * cases.length * 0.8);
  expect(tasks).toHaveLength(ok);
  expect(tasks.every((t) => t.handoff !== undefined && t.body === undefined && t.text === undefined)).toBe(true);
  expect(await metric(pooled, 'derivd_computations_total', { where: 'pool' })).toBe(ok);
}, 60_000);
