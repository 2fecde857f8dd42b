/**
 * Why a request was turned away with a 503 (problem.ts maps each to its problem
 * type): every one carries the Retry-After to send, in whole seconds.
 */

/** A 503: the request was not (or not fully) computed; try again after `retryAfterS`. */
export abstract class Unavailable extends Error {
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super(message);
  }
}

/** What shed a request, for derivd_shed_total{reason}. */
export type ShedReason =
  | 'queue_full'
  | 'queue_timeout'
  | 'event_loop_delay'
  | 'memory'
  | 'shutting_down'
  | 'worker_oom'
  | 'estimated_over_budget';

/** Saturated: the queue is full, the wait for a worker ran out, or the process is under pressure. */
export class Overloaded extends Unavailable {
  constructor(
    message: string,
    retryAfterS: number,
    readonly reason: ShedReason,
  ) {
    super(message, retryAfterS);
    this.name = 'Overloaded';
  }
}

/** The service is draining: a queued request that never started, or one that arrived too late. */
export class ShuttingDown extends Unavailable {
  constructor(message = 'the service is shutting down; retry on another instance') {
    // Another replica can take it at once.
    super(message, 1);
    this.name = 'ShuttingDown';
  }
}

/** The worker computing the request ran past WORKER_HEAP_MB and was replaced. */
export class WorkerOutOfMemory extends Unavailable {
  constructor(heapMb: number | undefined, retryAfterS: number) {
    super(
      `the worker computing this request ran out of memory (WORKER_HEAP_MB${heapMb === undefined ? '' : ` = ${heapMb}`}) and was replaced; a smaller request, or a larger WORKER_HEAP_MB, would fit`,
      retryAfterS,
    );
    this.name = 'WorkerOutOfMemory';
  }
}
