/**
 * The compute pool: WORKERS worker threads (piscina) that run the requests the
 * cost model calls heavy, so that the event loop keeps answering /healthz, /metrics
 * and cheap requests while they compute.
 *
 * - Size: minThreads = maxThreads = WORKERS; a terminated worker is replaced at
 *   once. The threads start on the first pooled request, or when `start()` is
 *   called (main.ts does, right after listening); an app that never sees a heavy
 *   request (most tests) never starts them.
 * - Budget: each pooled computation may run COMPUTE_BUDGET_MS, counted from the
 *   moment its worker begins it (the worker says so over a MessagePort), not from
 *   when it was queued: a request waiting behind others is not cut for their work.
 *   Past the budget the task is aborted, which makes piscina terminate the worker
 *   (a synchronous computation cannot be interrupted any other way) and start a
 *   new one; the request fails with ComputeBudgetExceeded (504).
 * - Disconnects: the caller may pass an AbortSignal (the handler aborts it when
 *   the client goes away); a queued task is then dropped, a running one cut the
 *   same way.
 * - Shutdown: close() lets running tasks finish, then terminates the threads.
 * - Entry: worker.ts next to this file, with this file's extension: worker.js in
 *   dist/, worker.ts under vitest or tsx, where the worker threads load tsx
 *   (`--import tsx`) to run TypeScript.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { PoolOutcome, PoolTask } from './worker.js';

/** A pooled computation ran past COMPUTE_BUDGET_MS and was stopped. */
export class ComputeBudgetExceeded extends Error {
  /** `threadId`: the worker that was terminated. */
  constructor(readonly budgetMs: number, readonly threadId?: number) {
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
  outcome: PoolOutcome;
  /** Milliseconds between submission and the worker starting it (undefined if that was not seen). */
  queueMs?: number;
  /** The worker thread that ran it. */
  threadId?: number;
}

export interface PoolOptions {
  size: number;
  budgetMs: number;
  /** Called when a worker thread starts (initially and for each replacement). */
  onThreadStart?: () => void;
  /** Called on cuts: why, for metrics. */
  onCancel?: (reason: 'budget' | 'disconnect') => void;
  onError?: (err: unknown) => void;
}

/** The worker entry next to this module, as a path, and the execArgv it needs. */
export function workerEntry(): { filename: string; execArgv?: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here); // .js from dist/, .ts from the sources
  const filename = fileURLToPath(new URL(`./worker${ext}`, import.meta.url));
  return ext === '.ts' ? { filename, execArgv: ['--import', 'tsx'] } : { filename };
}

export class ComputePool {
  #piscina: Piscina<PoolTask, PoolOutcome> | null = null;
  #running = 0;
  #closed = false;

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
      minThreads: this.options.size,
      maxThreads: this.options.size,
      // Unbounded: a queued request waits (cancelled if its client leaves); its budget starts when it runs.
      maxQueue: Infinity,
    });
    piscina.on('workerCreate', () => this.options.onThreadStart?.());
    // A worker that fails outside a task (e.g. cannot load its entry); tasks get their own errors.
    piscina.on('error', (err: unknown) => this.options.onError?.(err));
    this.#piscina = piscina;
    return piscina;
  }

  /** Thread ids of the live workers (empty before start). */
  get threadIds(): number[] {
    return this.#piscina ? this.#piscina.threads.map((t) => t.threadId) : [];
  }

  get queued(): number {
    return this.#piscina?.queueSize ?? 0;
  }

  /** Tasks computing in a worker right now. */
  get running(): number {
    return this.#running;
  }

  /** Piscina's utilisation: time spent running tasks over capacity, since start (0..1). */
  get utilization(): number {
    return this.#piscina?.utilization ?? 0;
  }

  /**
   * Runs `task` in a worker. Rejects with ComputeBudgetExceeded past the budget,
   * ComputeCancelled when `signal` aborts first, or the worker's own error.
   */
  async run(task: Omit<PoolTask, 'started'>, signal?: AbortSignal): Promise<PoolRun> {
    const piscina = this.start();
    const abort = new AbortController();
    let cut: 'budget' | 'disconnect' | undefined;
    const cancel = (reason: 'budget' | 'disconnect'): void => {
      if (cut || abort.signal.aborted) return;
      cut = reason;
      this.options.onCancel?.(reason);
      abort.abort(reason);
    };
    const onDisconnect = (): void => cancel('disconnect');
    if (signal?.aborted) throw new ComputeCancelled();
    signal?.addEventListener('abort', onDisconnect, { once: true });

    const submitted = performance.now();
    let startedAt: number | undefined;
    let threadId: number | undefined;
    let budget: NodeJS.Timeout | undefined;
    let settled = false;
    const { port1, port2 } = new MessageChannel();
    port1.once('message', (message: { threadId: number }) => {
      if (settled) return; // the result won the race with the start message
      startedAt = performance.now();
      threadId = message.threadId;
      this.#running++;
      budget = setTimeout(() => cancel('budget'), this.options.budgetMs);
    });
    try {
      const outcome = await piscina.run({ ...task, started: port2 }, { signal: abort.signal, transferList: [port2] });
      return { outcome, queueMs: startedAt === undefined ? undefined : startedAt - submitted, threadId };
    } catch (err) {
      if (cut === 'budget') throw new ComputeBudgetExceeded(this.options.budgetMs, threadId);
      if (cut === 'disconnect') throw new ComputeCancelled();
      throw err;
    } finally {
      settled = true;
      if (startedAt !== undefined) this.#running--;
      clearTimeout(budget);
      port1.close();
      signal?.removeEventListener('abort', onDisconnect);
    }
  }

  /** Lets running and queued tasks finish, then terminates the threads. */
  async close(): Promise<void> {
    this.#closed = true;
    const piscina = this.#piscina;
    this.#piscina = null;
    if (piscina) await piscina.close();
  }
}
