/**
 * Prometheus metrics, one registry per app (tests build many apps): request counts
 * and latency by route pattern, method and status; engine runs by operation and
 * mode; where computations ran (inline or in the worker pool), pool cuts, and the
 * pool's threads, queue and utilisation; sheds, event-loop delay and saturation;
 * and the default process metrics.
 */
import { Counter, type CounterConfiguration, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SHARED_CACHE } from '../api/index.js';

/**
 * A counter bumped on every request. prom-client hashes and validates the labels
 * on each inc(); here an inc() only adds to a tally kept by the label values (a
 * Map lookup), and the tallies go to prom-client when it collects, that is when
 * /metrics is scraped: what a scrape reads is the same.
 */
export class TalliedCounter<L extends string> {
  private readonly counter: Counter<L>;
  private readonly pending = new Map<string, { labels: Record<L, string>; n: number }>();
  private readonly names: readonly L[];

  constructor(config: CounterConfiguration<L> & { labelNames: readonly L[] }) {
    this.names = config.labelNames;
    const flush = (): void => this.flush();
    this.counter = new Counter({ ...config, collect: flush });
  }

  inc(labels: Record<L, string>): void {
    let key = '';
    for (const name of this.names) key += `${labels[name]}\u0000`;
    const tally = this.pending.get(key);
    if (tally) tally.n++;
    else this.pending.set(key, { labels: { ...labels }, n: 1 });
  }

  private flush(): void {
    for (const { labels, n } of this.pending.values()) if (n > 0) this.counter.inc(labels, n);
    for (const tally of this.pending.values()) tally.n = 0;
  }
}

export interface Metrics {
  registry: Registry;
  requests: TalliedCounter<'route' | 'method' | 'status'>;
  duration: Histogram<'route' | 'method' | 'status'>;
  engineRuns: TalliedCounter<'operation' | 'mode'>;
  planCache: TalliedCounter<'result'>;
  computations: TalliedCounter<'operation' | 'where'>;
  poolCancelled: Counter<'reason'>;
  poolThreadsStarted: Counter;
  /** Compute requests turned away by admission control, by reason (shed.ts ShedReason). */
  shed: Counter<'reason'>;
}

/** What the pressure gauges read at scrape time (under-pressure's latest sample). */
export interface PressureGauges {
  /** Mean event-loop delay over the last sample, in ms: what MAX_EVENT_LOOP_DELAY_MS is compared with. */
  eventLoopDelayMs(): number;
  /** 1 while /readyz says saturated. */
  saturated(): boolean;
}

/** What the pool gauges read at scrape time. */
export interface PoolGauges {
  size: number;
  threadIds: readonly number[];
  /** Each worker's plan-cache bytes after its last task, by thread id. */
  cacheBytes: ReadonlyMap<number, number>;
  queued: number;
  running: number;
  utilization: number;
}

export function createMetrics(pool?: PoolGauges | null, pressure?: PressureGauges): Metrics {
  const registry = new Registry();
  // Among them nodejs_eventloop_lag_seconds and its min/max/mean/stddev/p50/p90/p99 since the last scrape.
  collectDefaultMetrics({ register: registry });
  if (pressure) {
    new Gauge({
      name: 'derivd_event_loop_delay_seconds',
      help: 'Mean event-loop delay over the last second, as compared with MAX_EVENT_LOOP_DELAY_MS',
      registers: [registry],
      collect() {
        this.set(pressure.eventLoopDelayMs() / 1000);
      },
    });
    new Gauge({
      name: 'derivd_saturated',
      help: '1 while the service sheds compute requests (queue full or under pressure; /readyz says saturated)',
      registers: [registry],
      collect() {
        this.set(pressure.saturated() ? 1 : 0);
      },
    });
  }
  // Every thread has a plan cache of its own (a share of CACHE_BYTES): one sample each.
  new Gauge({
    name: 'derivd_plan_cache_bytes',
    help: 'Bytes held by each thread\'s plan cache (thread "main", or a worker\'s thread id, as of its last task); their sum stays within CACHE_BYTES',
    labelNames: ['thread'],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ thread: 'main' }, SHARED_CACHE.bytes);
      if (pool) for (const [id, bytes] of pool.cacheBytes) this.set({ thread: String(id) }, bytes);
    },
  });
  if (pool) {
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    };
    gauge('derivd_pool_size', 'Worker threads the compute pool keeps (WORKERS)', () => pool.size);
    gauge('derivd_pool_threads', 'Worker threads alive now (0 until the pool starts)', () => pool.threadIds.length);
    gauge('derivd_pool_queue_size', 'Pooled requests waiting for a worker', () => pool.queued);
    gauge('derivd_pool_running', 'Pooled requests computing in a worker now', () => pool.running);
    gauge(
      'derivd_pool_utilization',
      "Fraction of the pool's capacity spent running tasks since it started (piscina)",
      () => pool.utilization,
    );
  }
  return {
    registry,
    requests: new TalliedCounter({
      name: 'derivd_http_requests_total',
      help: 'HTTP requests by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'derivd_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    engineRuns: new TalliedCounter({
      name: 'derivd_engine_runs_total',
      help: 'Computations by operation and the engine that ran (auto resolves to forward or reverse)',
      labelNames: ['operation', 'mode'],
      registers: [registry],
    }),
    planCache: new TalliedCounter({
      name: 'derivd_plan_cache_total',
      help: 'Computed requests by their stats.cache: hit when the checked graph and plan came from the plan cache of every thread that handled the call, miss when one was built',
      labelNames: ['result'],
      registers: [registry],
    }),
    computations: new TalliedCounter({
      name: 'derivd_computations_total',
      help: 'Computations by operation and where they ran: inline (on the event loop) or pool (a worker thread)',
      labelNames: ['operation', 'where'],
      registers: [registry],
    }),
    poolCancelled: new Counter({
      name: 'derivd_pool_cancelled_total',
      help: 'Pooled computations cut short, by reason: budget (over COMPUTE_BUDGET_MS; the worker was replaced) or disconnect (the client left)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    poolThreadsStarted: new Counter({
      name: 'derivd_pool_threads_started_total',
      help: 'Worker threads started, initially and to replace terminated ones',
      registers: [registry],
    }),
    shed: new Counter({
      name: 'derivd_shed_total',
      help: 'Compute requests turned away by admission control, by reason: queue_full, queue_timeout, event_loop_delay, memory, shutting_down, worker_oom (503) or estimated_over_budget (422)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
