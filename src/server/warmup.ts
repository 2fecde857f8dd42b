/**
 * Warm-up for a new worker thread (worker.ts awaits it at module load, so piscina
 * hands the thread no task before it is done): a few small computations of every
 * operation, in each engine, so that a worker started to replace a terminated one
 * does not run its first real tasks through cold code (interpreted, unoptimised,
 * uncompiled sweeps) and overrun a short COMPUTE_BUDGET_MS that a warm worker meets.
 * It uses a cache of its own, so nothing it plans stays in the worker's plan cache.
 */
import { AUTO_CANDIDATES, OPERATIONS, operations, PlanCache, SCALAR_OPERATIONS } from '../api/index.js';
import { SEED_GRAPH, SEED_REQUEST } from './seed-example.js';

/** The seed graph, plus a scalar loss of it for gradient, hessian and hvp; `d` constant keeps each run small. */
const VECTOR = { graph: SEED_GRAPH, args: SEED_REQUEST.args, constant: ['d'] };
const SCALAR = {
  graph: {
    ...SEED_GRAPH,
    nodes: [...SEED_GRAPH.nodes, { id: 'q', op: 'square', args: ['r'] }, { id: 'loss', op: 'sum', args: ['q'] }],
    outputs: ['loss'],
  },
  args: SEED_REQUEST.args,
  constant: ['d'],
};
const d = SEED_REQUEST.args.d;

/** Enough runs of one plan for its sweeps to be compiled (the tier compiles on a later run). */
const RUNS = 3;

export interface WarmUp {
  ms: number;
  /** Computations run, and those that failed (0 unless this file and the library disagree). */
  runs: number;
  failed: number;
}

/** Runs the warm-up. Never throws: a cold worker still works. */
export async function warmUp(): Promise<WarmUp> {
  const t0 = performance.now();
  const cache = new PlanCache(4 * 1024 * 1024);
  let runs = 0;
  let failed = 0;
  for (const operation of OPERATIONS) {
    const base = SCALAR_OPERATIONS.has(operation) ? SCALAR : VECTOR;
    const extra =
      operation === 'jvp'
        ? { tangents: { xs: 1 } }
        : operation === 'vjp'
          ? { cotangents: { r: d } }
          : operation === 'hvp'
            ? { vector: { xs: 1 } }
            : {};
    for (const mode of operation === 'evaluate' ? ['auto'] : AUTO_CANDIDATES.map((e) => e.name)) {
      for (let i = 0; i < RUNS; i++) {
        runs++;
        try {
          await operations[operation]({ ...base, ...extra, mode, check: i === 0 && operation !== 'evaluate' }, { cache, output: 'json' });
        } catch {
          failed++; // only leaves this path cold
        }
      }
    }
  }
  return { ms: performance.now() - t0, runs, failed };
}
