/**
 * The worker pool's task (piscina loads this file in each worker thread; from
 * dist/server/worker.js when built, from this .ts file through tsx under vitest or
 * tsx). A call the handler has validated and planned arrives as a handoff
 * (api/handoff.ts): the checked arguments as transferred Float64Arrays and the
 * plan-cache key of its graph; the worker finds the checked graph in its own cache
 * (or asks the main thread for the graph once, over the task's port, and checks
 * it), plans and responds exactly as the inline path does (output 'json'), without
 * parsing or validating the body again. A call the handler did not validate (a
 * body too large to parse on the event loop, or a large graph not seen before)
 * arrives as the body's text or the parsed body, and is validated here.
 * Either way the result comes back already serialized: JSON text is cheap to hand
 * back (one string copy) and keeps JSON.stringify of a large result off the event loop.
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
  GRAPH_ID,
  type Handoff,
  type Issue,
  type Limits,
  needsGraph,
  type Operation,
  type Options,
  type PreparedCall,
  prepare,
  respond,
  resultJson,
  SHARED_CACHE,
  storedFromText,
  takeOver,
  type Timings,
  withDeadline,
  withStoredGraph,
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
  /** A call validated and planned by the handler (its tensors in the transfer list), or: */
  handoff?: Handoff;
  /** the parsed request body (a structured clone of it), or: */
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
  /**
   * Told `{ threadId }` when the computation begins: the compute budget runs from
   * then. Also the way to the main thread's graphs (askGraph): a graph a handoff
   * names that this thread has not cached, or a stored graph a body names by `graphId`.
   */
  started?: MessagePort;
}

/** What the worker asks the main thread over the task's port, and what it answers. */
export type GraphQuestion = { wants: 'graph' } | { wants: 'stored'; id: string };
/** `graph`: the call's wire graph; `text`: a stored graph's canonical text (undefined: not found). */
export type GraphAnswer = { graph?: unknown; text?: string };

export type PoolOutcome =
  /** `cache`: the result's stats.cache, for /metrics (the same story the response tells). */
  (
    | { ok: true; json: string; mode?: string; timings: Timings; cache?: 'hit' | 'miss' }
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

/** Asks the main thread over the task's port; resolves to its answer (empty if the port closes first). */
function askGraph(port: MessagePort | undefined, question: GraphQuestion): Promise<GraphAnswer> {
  if (!port) return Promise.resolve({});
  return new Promise((resolve) => {
    const done = (answer: GraphAnswer): void => {
      port.off('message', done);
      port.off('close', closed);
      resolve(answer);
    };
    const closed = (): void => done({});
    port.on('message', done);
    port.on('close', closed);
    port.postMessage(question);
  });
}

/** Computes a prepared call into the outcome: serialized, with its timings and cache story. */
/** The call's result as JSON text, written by the generated writer from its packed tensors. */
function respondJson(call: PreparedCall, options: Options): PoolOutcome {
  const result = respond(call, { ...options, output: 'packed' });
  return {
    ok: true,
    json: resultJson(result, call.request.encoding),
    mode: result.mode,
    timings: result.timings,
    cache: result.stats.cache,
  };
}

async function computeTask(task: PoolTask): Promise<PoolOutcome> {
  task.started?.postMessage({ threadId });
  try {
    const options: Options = { limits: task.limits, strictFloats: true };
    const { operation, budgetMs, handoff } = task;
    if (handoff) {
      // Checked on the main thread: only the graph may be missing here, and is asked for once.
      const graph = needsGraph(handoff, options) ? (await askGraph(task.started, { wants: 'graph' })).graph : undefined;
      return withDeadline(budgetMs, () => respondJson(takeOver(handoff, graph, options), options));
    }
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
      } else body = await withGraphOfId(body, task.started);
    }
    // The budget covers validation and planning too: here they may be most of the work.
    return withDeadline(budgetMs, (): PoolOutcome => {
      const call = prepare(operation, body, options);
      if (task.admit && budgetMs !== undefined) {
        const refusal = overBudget(call.cost().ms, budgetMs);
        if (refusal) return { ok: false, kind: 'estimated_over_budget', issues: [refusal] };
      }
      return respondJson(call, options);
    });
  } catch (err) {
    if (err instanceof DerivdError) return { ok: false, kind: err.kind, issues: err.issues };
    if (err instanceof ComputeDeadlineExceeded) return { ok: false, kind: 'deadline_exceeded', budgetMs: err.budgetMs };
    throw err;
  }
}

/**
 * A body that names a stored graph by `graphId` (POST /v1/<operation>), with that
 * graph inline: the main thread's repository finds it (its store, or Redis), as
 * for a body it parses itself; the library then says what is wrong, if anything
 * (both fields, a malformed id, an id stored nowhere: 404 unknown-graph).
 */
async function withGraphOfId(body: unknown, port: MessagePort | undefined): Promise<unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Object.hasOwn(body, 'graphId')) return body;
  const { graphId } = body as { graphId?: unknown };
  const id = typeof graphId === 'string' && GRAPH_ID.test(graphId) && !Object.hasOwn(body, 'graph') ? graphId : undefined;
  const { text } = id === undefined ? {} : await askGraph(port, { wants: 'stored', id });
  const found = text === undefined ? undefined : storedFromText(text);
  return withStoredGraph(body, {}, (want) => (found?.id === want ? found : undefined));
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
