/**
 * The worker pool's task (piscina loads this file in each worker thread; from
 * dist/server/worker.js when built, from this .ts file through tsx under vitest or
 * tsx). It re-runs the public operation on the request body the handler has
 * already validated, exactly as the inline path does (output 'json'), and returns
 * the result already serialized: JSON text is cheap to hand back (one string copy)
 * and keeps JSON.stringify of a large result off the event loop.
 *
 * The compute budget is cooperative: the library stops the call between two steps
 * once `budgetMs` has passed since this task began (ComputeDeadlineExceeded), and
 * the thread goes on to its next task. Only a single step longer than the pool's
 * grace period gets the worker terminated (pool.ts).
 */
import { threadId, type MessagePort } from 'node:worker_threads';
import { ComputeDeadlineExceeded, operations, type Timings } from '../api.js';
import { DerivdError, type ErrorKind, type Issue } from '../graph/errors.js';
import type { Limits } from '../graph/check.js';
import type { Operation } from '../graph/schema.js';
import { warmUp } from './warmup.js';

export interface PoolTask {
  operation: Operation;
  /** The parsed request body (a structured clone of it). */
  body: unknown;
  limits: Partial<Limits>;
  /** COMPUTE_BUDGET_MS, counted from when this thread begins the task. */
  budgetMs?: number;
  /** Told `{ threadId }` when the computation begins: the compute budget runs from then. */
  started?: MessagePort;
}

export type PoolOutcome =
  | { ok: true; json: string; mode?: string; timings: Timings }
  /**
   * A DerivdError does not survive structured cloning as one: it comes back as data.
   * `estimated_over_budget`: refused by placement.ts's overBudget (422) for a graph
   * first planned here.
   */
  | { ok: false; kind: ErrorKind | 'estimated_over_budget'; issues: Issue[] }
  /** Stopped cooperatively past `budgetMs`; the thread is fine. */
  | { ok: false; kind: 'deadline_exceeded'; budgetMs: number };

export async function compute(task: PoolTask): Promise<PoolOutcome> {
  task.started?.postMessage({ threadId });
  try {
    const result = await operations[task.operation](task.body, { limits: task.limits, output: 'json', strictFloats: true, budgetMs: task.budgetMs });
    return { ok: true, json: JSON.stringify(result), mode: result.mode, timings: result.timings };
  } catch (err) {
    if (err instanceof DerivdError) return { ok: false, kind: err.kind, issues: err.issues };
    if (err instanceof ComputeDeadlineExceeded) return { ok: false, kind: 'deadline_exceeded', budgetMs: err.budgetMs };
    throw err;
  }
}

/**
 * Piscina awaits a default export that is a promise before it reports the thread
 * ready, so no task reaches this thread before the warm-up is done (warmup.ts).
 * Not a top-level await: under tsx the worker loads through its CommonJS hook,
 * which cannot compile one.
 */
export default warmUp().then(() => compute);
