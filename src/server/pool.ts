/**
 * The compute pool: WORKERS worker threads (piscina) that run the requests the
 * cost model calls heavy, so that the event loop keeps answering /healthz, /metrics
 * and cheap requests while they compute.
 *
 * - Size: minThreads = maxThreads = WORKERS; a terminated worker is replaced at
 *   once. The threads start on the first pooled request, or when `start()` is
 *   called (main.ts does, right after listening); an app that never sees a heavy
 *   request (most tests) never starts them. Each has a V8 heap limit
 *   (WORKER_HEAP_MB): one that runs out is replaced and its request fails with
 *   WorkerOutOfMemory (503), not a 500.
 * - Queue: the pool keeps its own FIFO in front of piscina and hands piscina a task
 *   only when a worker is free, so a waiting request can be dropped (queue timeout,
 *   disconnect, shutdown) without a worker ever seeing it. At most MAX_QUEUE wait;
 *   beyond, or after QUEUE_TIMEOUT_MS of waiting, Overloaded (503) with a
 *   Retry-After from the expected time to drain the queue.
 * - Budget: each pooled computation may run COMPUTE_BUDGET_MS, counted from the
 *   moment its worker begins it (the worker says so over a MessagePort), not from
 *   when it was queued: a request waiting behind others is not cut for their work.
 *   The worker passes the budget to the library, which stops the call between two
 *   steps once it is spent; the request fails with ComputeBudgetExceeded (504) and
 *   the worker, warm and healthy, takes the next task. A single step that runs on
 *   (one huge kernel) is stopped the hard way a grace period later (cutGraceMs:
 *   a quarter of the budget, at least 1 s): the task is aborted, which makes
 *   piscina terminate the worker and start a new one (warmed up before it works).
 * - Disconnects: the caller may pass an AbortSignal (the handler aborts it when
 *   the client goes away); a queued task is then dropped, a running one cut the
 *   same way.
 * - Moved buffers and graphs: a task may come with buffers to transfer (a checked
 *   call's arguments, api/handoff.ts), and its MessagePort, besides saying when the
 *   worker begins, carries the worker's questions for a graph (worker.ts
 *   GraphQuestion), answered by the caller's `graphs`.
 * - Shutdown: drain() answers every waiting request ShuttingDown (503) and refuses
 *   new ones; cut() stops the running ones the same way when the drain deadline
 *   nears; close() lets what still runs finish, then terminates the threads.
 * - Entry: worker.ts next to this file, with this file's extension: worker.js in
 *   dist/, worker.ts under vitest or tsx, where the worker threads load tsx
 *   (`--import tsx`) to run TypeScript.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { cutGraceMs } from './config.js';
import { Overloaded, ShuttingDown, WorkerOutOfMemory, type ShedReason } from './shed.js';
import type { GraphAnswer, GraphQuestion, PoolOutcome, PoolTask } from './worker.js';

/** A pooled computation ran past COMPUTE_BUDGET_MS and was stopped. */
export class ComputeBudgetExceeded extends Error {
  /** `threadId`: the worker that ran it; `terminated`: whether it had to be (the fallback). */
  constructor(
    readonly budgetMs: number,
    readonly threadId?: number,
    readonly terminated = false,
  ) {
    super(`the computation ran longer than COMPUTE_BUDGET_MS (${budgetMs} ms) and was stopped`);
    this.name = 'ComputeBudgetExceeded';
  }
}

/** The caller aborted (the client went away) before the result was ready. */
export class ComputeCancelled extends Error {
  constructor() {
    super('the client closed the connection; the computation was dropped');
    this.name = 'ComputeCancelled';
  }
}

export interface PoolRun {
  /** What the worker returned; a cooperative budget stop is thrown instead (ComputeBudgetExceeded). */
  outcome: Exclude<PoolOutcome, { kind: 'deadline_exceeded' }>;
  /** Milliseconds between submission and the worker starting it (undefined if that was not seen). */
  queueMs?: number;
  /** The worker thread that ran it. */
  threadId?: number;
}

export type CancelReason = 'budget' | 'disconnect' | 'shutdown';

export interface PoolOptions {
  size: number;
  budgetMs: number;
  /** Requests that may wait for a worker; more get Overloaded. Default: unbounded. */
  maxQueue?: number;
  /** Longest wait for a worker before Overloaded. Default: unbounded. */
  queueTimeoutMs?: number;
  /** Each worker's old-generation heap limit, in MiB (default: V8's). */
  heapMb?: number;
  /** Each worker's plan-cache budget, in bytes (default: the library's). */
  cacheBytes?: number;
  /** ENGINE_MODULES: each worker registers their engines before its first task. */
  engineModules?: readonly string[];
  /** Called when a worker thread starts (initially and for each replacement). */
  onThreadStart?: () => void;
  /** Called on cuts: why, for metrics. */
  onCancel?: (reason: CancelReason) => void;
  /** Called when a request is turned away with a 503: why, for metrics. */
  onShed?: (reason: ShedReason) => void;
  onError?: (err: unknown) => void;
}

export interface RunOptions {
  /** Aborts when the client goes away. */
  signal?: AbortSignal;
  /** The cost model's estimate, used for Retry-After until run times have been seen. */
  estimatedMs?: number;
  /** Buffers moved to the worker with the task (a handoff's tensors): unusable here afterwards. */
  transfer?: readonly ArrayBuffer[];
  /** What the worker is answered when it asks for a graph (worker.ts GraphQuestion); default: nothing. */
  graphs?: (question: GraphQuestion) => GraphAnswer | Promise<GraphAnswer>;
}

/** The worker entry next to this module, as a path, and the execArgv it needs. */
export function workerEntry(): { filename: string; execArgv?: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here); // .js from dist/, .ts from the sources
  const filename = fileURLToPath(new URL(`./worker${ext}`, import.meta.url));
  return ext === '.ts' ? { filename, execArgv: ['--import', 'tsx'] } : { filename };
}

/** A request waiting for a worker: granted a slot, or failed. */
interface Waiter {
  grant(): void;
  fail(err: Error): void;
}

export class ComputePool {
  #piscina: Piscina<PoolTask, PoolOutcome> | null = null;
  #closed = false;
  #draining = false;
  /** Waiting for a worker, oldest first. */
  #queue: Waiter[] = [];
  /** Handed to piscina and not settled: at most `size`. */
  #dispatched = 0;
  #running = 0;
  /** The cancel functions of dispatched tasks, for cut(). */
  #active = new Set<(reason: CancelReason) => void>();
  /** Moving average of run times (ms), for Retry-After; seeded by the first estimate. */
  #meanRunMs: number | undefined;
  #cacheBytes = new Map<number, number>();

  constructor(private readonly options: PoolOptions) {}

  get size(): number {
    return this.options.size;
  }

  /** Starts the worker threads (idempotent); they are otherwise started by the first run. */
  start(): Piscina<PoolTask, PoolOutcome> {
    if (this.#closed) throw new Error('the compute pool is closed');
    if (this.#piscina) return this.#piscina;
    const { filename, execArgv } = workerEntry();
    const piscina = new Piscina<PoolTask, PoolOutcome>({
      filename,
      ...(execArgv ? { execArgv } : {}),
      ...(this.options.heapMb ? { resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb } } : {}),
      workerData: { cacheBytes: this.options.cacheBytes, engineModules: this.options.engineModules ?? [] },
      minThreads: this.options.size,
      maxThreads: this.options.size,
      // The queue is ours (above): piscina holds a task only while a replacement worker starts.
      maxQueue: Infinity,
    });
    piscina.on('workerCreate', () => this.options.onThreadStart?.());
    // A worker that fails outside a task (e.g. cannot load its entry); tasks get their own errors.
    piscina.on('error', (err: unknown) => this.options.onError?.(err));
    this.#piscina = piscina;
    return piscina;
  }

  /** Bytes each live worker's plan cache held after its last task (by thread id). */
  get cacheBytes(): ReadonlyMap<number, number> {
    const live = new Set(this.threadIds);
    for (const id of this.#cacheBytes.keys()) if (!live.has(id)) this.#cacheBytes.delete(id);
    return this.#cacheBytes;
  }

  /** Thread ids of the live workers (empty before start). */
  get threadIds(): number[] {
    return this.#piscina ? this.#piscina.threads.map((t) => t.threadId) : [];
  }

  /** Requests waiting for a worker (ours, plus any piscina holds for a starting worker). */
  get queued(): number {
    return this.#queue.length + (this.#piscina?.queueSize ?? 0);
  }

  /** Tasks computing in a worker right now. */
  get running(): number {
    return this.#running;
  }

  /** No worker free and no room to wait: the next pooled request would be shed. */
  get saturated(): boolean {
    return this.#dispatched >= this.size && this.#queue.length >= (this.options.maxQueue ?? Infinity);
  }

  /** When saturated: counts a shed and returns the error to answer with (503 overloaded). */
  shedIfSaturated(): Overloaded | undefined {
    if (!this.saturated) return undefined;
    this.options.onShed?.('queue_full');
    return new Overloaded(
      `every worker is busy and ${this.options.maxQueue} requests are waiting (MAX_QUEUE)`,
      this.retryAfterS(),
      'queue_full',
    );
  }

  /** Piscina's utilisation: time spent running tasks over capacity, since start (0..1). */
  get utilization(): number {
    return this.#piscina?.utilization ?? 0;
  }

  /**
   * Seconds until the queue has drained, as far as recent run times tell: every
   * waiting and dispatched task, shared by the workers. At least 1; at most the
   * longest any of them can take (a queue timeout plus a cut computation).
   */
  retryAfterS(): number {
    const mean = this.#meanRunMs ?? 1000;
    const drainMs = ((this.#queue.length + this.#dispatched) * mean) / this.size;
    const longestMs = (this.options.queueTimeoutMs ?? 0) + this.options.budgetMs + cutGraceMs(this.options.budgetMs);
    return Math.max(1, Math.min(Math.ceil(drainMs / 1000), Math.ceil(longestMs / 1000)));
  }

  /**
   * Runs `task` in a worker. Rejects with Overloaded (queue full or the wait timed
   * out), ShuttingDown, ComputeBudgetExceeded past the budget, ComputeCancelled when
   * `signal` aborts first, WorkerOutOfMemory, or the worker's own error.
   */
  async run(task: Omit<PoolTask, 'started'>, { signal, estimatedMs, transfer, graphs }: RunOptions = {}): Promise<PoolRun> {
    if (signal?.aborted) throw new ComputeCancelled();
    this.#meanRunMs ??= estimatedMs;
    const submitted = performance.now();
    await this.#admit(signal);
    try {
      return await this.#dispatch(task, submitted, signal, transfer, graphs);
    } finally {
      this.#dispatched--;
      this.#pump();
    }
  }

  /** Resolves once a worker slot is this request's; throws if it is shed or cancelled first. */
  #admit(signal?: AbortSignal): Promise<void> {
    if (this.#draining) {
      this.options.onShed?.('shutting_down');
      return Promise.reject(new ShuttingDown());
    }
    this.start();
    if (this.#dispatched < this.size && this.#queue.length === 0) {
      this.#dispatched++;
      return Promise.resolve();
    }
    const full = this.shedIfSaturated();
    if (full) return Promise.reject(full);
    return new Promise<void>((resolve, reject) => {
      const leave = (): void => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        grant: () => {
          leave();
          this.#dispatched++;
          resolve();
        },
        fail: (err) => {
          leave();
          reject(err);
        },
      };
      const onAbort = (): void => {
        this.options.onCancel?.('disconnect');
        waiter.fail(new ComputeCancelled());
      };
      const timeoutMs = this.options.queueTimeoutMs;
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.options.onShed?.('queue_timeout');
              waiter.fail(
                new Overloaded(`no worker was free within QUEUE_TIMEOUT_MS (${timeoutMs} ms)`, this.retryAfterS(), 'queue_timeout'),
              );
            }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Hands free worker slots to the oldest waiters. */
  #pump(): void {
    while (this.#dispatched < this.size && this.#queue.length > 0) this.#queue[0].grant();
  }

  async #dispatch(
    task: Omit<PoolTask, 'started'>,
    submitted: number,
    signal?: AbortSignal,
    transfer: readonly ArrayBuffer[] = [],
    graphs?: RunOptions['graphs'],
  ): Promise<PoolRun> {
    const piscina = this.start();
    const abort = new AbortController();
    let cut: CancelReason | undefined;
    const cancel = (reason: CancelReason): void => {
      if (cut || abort.signal.aborted) return;
      cut = reason;
      this.options.onCancel?.(reason);
      abort.abort(reason);
    };
    const onDisconnect = (): void => cancel('disconnect');
    signal?.addEventListener('abort', onDisconnect, { once: true });
    this.#active.add(cancel);

    let startedAt: number | undefined;
    let threadId: number | undefined;
    let budget: NodeJS.Timeout | undefined;
    let settled = false;
    const { port1, port2 } = new MessageChannel();
    const answer = (question: GraphQuestion): void => {
      Promise.resolve()
        .then(() => graphs?.(question) ?? {})
        .catch((err: unknown) => {
          this.options.onError?.(err);
          return {};
        })
        .then((reply) => {
          if (!settled) port1.postMessage(reply);
        });
    };
    port1.on('message', (message: { threadId: number } | GraphQuestion) => {
      if ('wants' in message) return answer(message);
      if (settled || startedAt !== undefined) return; // the result won the race with the start message
      startedAt = performance.now();
      threadId = message.threadId;
      this.#running++;
      // The fallback: the worker stops itself at the budget, between two steps.
      budget = setTimeout(() => cancel('budget'), this.options.budgetMs + cutGraceMs(this.options.budgetMs));
    });
    let outcome: PoolOutcome;
    try {
      outcome = await piscina.run(
        { ...task, budgetMs: this.options.budgetMs, started: port2 },
        { signal: abort.signal, transferList: [port2, ...transfer] },
      );
    } catch (err) {
      if (cut === 'budget') throw new ComputeBudgetExceeded(this.options.budgetMs, threadId, true);
      if (cut === 'disconnect') throw new ComputeCancelled();
      if (cut === 'shutdown')
        throw new ShuttingDown('the service is shutting down and could not finish this computation in time; retry on another instance');
      // close() terminating a thread that still ran a task (piscina's close timeout): shutdown, not a fault
      if (this.#closed)
        throw new ShuttingDown('the service is shutting down and could not finish this computation; retry on another instance');
      if ((err as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.options.onShed?.('worker_oom');
        throw new WorkerOutOfMemory(this.options.heapMb, this.retryAfterS());
      }
      throw err;
    } finally {
      settled = true;
      if (startedAt !== undefined) {
        this.#running--;
        const ms = performance.now() - startedAt;
        this.#meanRunMs = this.#meanRunMs === undefined ? ms : 0.8 * this.#meanRunMs + 0.2 * ms;
      }
      clearTimeout(budget);
      port1.close();
      signal?.removeEventListener('abort', onDisconnect);
      this.#active.delete(cancel);
    }
    if (threadId !== undefined && outcome.cacheBytes !== undefined) this.#cacheBytes.set(threadId, outcome.cacheBytes);
    if (!outcome.ok && outcome.kind === 'deadline_exceeded') {
      this.options.onCancel?.('budget');
      throw new ComputeBudgetExceeded(outcome.budgetMs, threadId); // the worker stays
    }
    return { outcome, queueMs: startedAt === undefined ? undefined : startedAt - submitted, threadId };
  }

  /** Shutdown begins: every waiting request gets ShuttingDown, and so does every new one. */
  drain(): void {
    this.#draining = true;
    for (const waiter of [...this.#queue]) {
      this.options.onShed?.('shutting_down');
      waiter.fail(new ShuttingDown());
    }
  }

  /** The drain deadline nears: stops every dispatched computation (ShuttingDown, 503). */
  cut(): void {
    this.drain();
    for (const cancel of [...this.#active]) cancel('shutdown');
  }

  /** Lets dispatched tasks finish, then terminates the threads (call drain() first to shed the waiting). */
  async close(): Promise<void> {
    this.drain();
    this.#closed = true;
    const piscina = this.#piscina;
    this.#piscina = null;
    if (piscina) await piscina.close();
  }
}
