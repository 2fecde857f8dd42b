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
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { threadId, workerData, type MessagePort } from 'node:worker_threads';
import {
  ComputeDeadlineExceeded,
  DerivdError,
  type ErrorKind,
  type Issue,
  type Limits,
  type Operation,
  type Options,
  prepare,
  respond,
  resultJson,
  SHARED_CACHE,
  type Timings,
  withDeadline,
} from '../api/index.js';
import { overBudget } from './placement.js';
import { loadEngineModules } from './engine-modules.js';
import { warmUp } from './warmup.js';

/**
 * Compute threads run at a lower CPU priority than the event loop (nice 10, on
 * Linux, where a thread has its own nice value): when every core is busy computing,
 * the scheduler still runs the event loop at once, so /healthz, /readyz and the
 * 503s of admission control answer in milliseconds instead of waiting for a time
 * slice behind the workers. Throughput is unchanged while the event loop is idle.
 */
export const WORKER_NICE = 10;
function yieldToEventLoop(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop()); // "<pid>/task/<tid>"
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, WORKER_NICE);
  } catch {
    // not Linux, or not allowed: the thread keeps the process's priority
  }
}
yieldToEventLoop();

// This thread's share of CACHE_BYTES (app.ts's cacheShare), instead of the library's default.
const cacheBytes = (workerData as { cacheBytes?: number } | null)?.cacheBytes;
if (cacheBytes) SHARED_CACHE.resize(cacheBytes);

export interface PoolTask {
  operation: Operation;
  /** The parsed request body (a structured clone of it), or: */
  body?: unknown;
  /** its JSON text, when it was too large to parse on the event loop (raw-body.ts). */
  text?: string;
  /** A stored graph's call (POST /v1/graphs/{id}/…) sent as text: the graph to add to the parsed body. */
  graph?: unknown;
  limits: Partial<Limits>;
  /** COMPUTE_BUDGET_MS, counted from when this thread begins the task. */
  budgetMs?: number;
  /**
   * Not validated or planned by the handler (a large graph it had not seen): the
   * cost-based admission it would have made is made here, before computing.
   */
  admit?: boolean;
  /** Told `{ threadId }` when the computation begins: the compute budget runs from then. */
  started?: MessagePort;
}

export type PoolOutcome = (
  | { ok: true; json: string; mode?: string; timings: Timings }
  /**
   * A DerivdError does not survive structured cloning as one: it comes back as data.
   * `estimated_over_budget`: refused by placement.ts's overBudget (422) for a graph
   * first planned here.
   */
  | { ok: false; kind: ErrorKind | 'estimated_over_budget'; issues: Issue[] }
  /** `text` was not JSON: JSON.parse's message. */
  | { ok: false; kind: 'malformed_body'; message: string }
  /** Stopped cooperatively past `budgetMs`; the thread is fine. */
  | { ok: false; kind: 'deadline_exceeded'; budgetMs: number }
) & {
  /** What this thread's plan cache holds after the task, for /metrics. */
  cacheBytes?: number;
};

export async function compute(task: PoolTask): Promise<PoolOutcome> {
  const outcome = await computeTask(task);
  return { ...outcome, cacheBytes: SHARED_CACHE.bytes };
}

async function computeTask(task: PoolTask): Promise<PoolOutcome> {
  task.started?.postMessage({ threadId });
  try {
    const options: Options = { limits: task.limits, strictFloats: true };
    const { operation, budgetMs } = task;
    let body = task.body;
    if (task.text !== undefined) {
      try {
        body = JSON.parse(task.text); // as Fastify's parser does with onProtoPoisoning 'ignore'
      } catch (err) {
        return { ok: false, kind: 'malformed_body', message: (err as Error).message };
      }
      if (task.graph !== undefined && typeof body === 'object' && body !== null && !Array.isArray(body)) {
        const issues = ['graph', 'graphId']
          .filter((k) => Object.hasOwn(body as object, k))
          .map((k) => ({ path: k, message: `unexpected field ${JSON.stringify(k)}: the URL names the stored graph` }));
        if (issues.length > 0) return { ok: false, kind: 'invalid_request', issues };
        body = { ...body, graph: task.graph };
      }
    }
    // The budget covers validation and planning too: here they may be most of the work.
    return withDeadline(budgetMs, (): PoolOutcome => {
      const call = prepare(operation, body, options);
      if (task.admit && budgetMs !== undefined) {
        const refusal = overBudget(call.cost().ms, budgetMs);
        if (refusal) return { ok: false, kind: 'estimated_over_budget', issues: [refusal] };
      }
      const result = respond(call, { ...options, output: 'packed' });
      return { ok: true, json: resultJson(result, call.request.encoding), mode: result.mode, timings: result.timings };
    });
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
const engineModules = (workerData as { engineModules?: string[] } | null)?.engineModules ?? [];
export default loadEngineModules(engineModules)
  .then(warmUp)
  .then(() => compute);
