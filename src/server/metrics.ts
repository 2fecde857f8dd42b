/**
 * Prometheus metrics, one registry per app (tests build many apps): request counts
 * and latency by route pattern, method and status; engine runs by operation and
 * mode; and the default process metrics.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  duration: Histogram<'route' | 'method' | 'status'>;
  engineRuns: Counter<'operation' | 'mode'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
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
    engineRuns: new Counter({
      name: 'derivd_engine_runs_total',
      help: 'Computations by operation and the engine that ran (auto resolves to forward or reverse)',
      labelNames: ['operation', 'mode'],
      registers: [registry],
    }),
  };
}
