/**
 * What every response leaves behind, from one root onResponse hook: the request
 * counter and latency histogram (by route pattern, method and status), and one
 * log line at info (never argument data: the route, the outcome and where the
 * time went).
 *
 * It runs on every request, so it does once what it can: the label set of each
 * route, method and status is made once and reused (prom-client hashes it on
 * each observation, but no object is built), and the log line's object is built
 * only when the request's logger writes info lines (at LOG_LEVEL warn, the
 * default of the benchmarks, it would be thrown away).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from './metrics.js';

type Labels = { route: string; method: string; status: string };

/** The levels at which an info line is written. */
const WRITES_INFO = new Set(['info', 'debug', 'trace']);

export function requestLogger(metrics: Metrics): (request: FastifyRequest, reply: FastifyReply) => void {
  const labelSets = new Map<string, Labels>();
  return (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const { method } = request;
    const status = reply.statusCode;
    const key = `${status} ${method} ${route}`;
    let labels = labelSets.get(key);
    if (labels === undefined) {
      labels = { route, method, status: String(status) };
      labelSets.set(key, labels);
    }
    const elapsedMs = reply.elapsedTime;
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, elapsedMs / 1000);
    if (!WRITES_INFO.has(request.log.level)) return;
    const d = request.derivd;
    request.log.info(
      {
        route,
        method,
        status,
        durationMs: Number(elapsedMs.toFixed(3)),
        ...(d ? { ...d, queueMs: d.queueMs === undefined ? undefined : Number(d.queueMs.toFixed(3)) } : {}),
      },
      'request',
    );
  };
}
