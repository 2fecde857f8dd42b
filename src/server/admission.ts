/**
 * Admission control at the HTTP edge, for the compute routes (/v1/*) only:
 * /healthz (liveness), /readyz, /metrics and the docs are never shed.
 *
 * - Pressure (@fastify/under-pressure, sampled every second): while the mean
 *   event-loop delay is over MAX_EVENT_LOOP_DELAY_MS or the process RSS over
 *   MEMORY_BUDGET_MB, compute requests get 503 overloaded before their body is read.
 *   Sheds at the edge close their connection (Connection: close): see below.
 * - Saturation: while every worker is busy and MAX_QUEUE requests wait, compute
 *   requests get 503 overloaded before their body is read (the pool sheds too, for
 *   requests that were let in before the queue filled).
 * - Draining: a compute request that arrives once shutdown has begun (on a kept-alive
 *   connection, or one whose body was still arriving) gets 503 shutting-down with
 *   `Connection: close`, so the client retries elsewhere.
 * - Readiness: /readyz reports `saturated` (503) while the pool's queue is full or
 *   the process is under pressure, so a load balancer sends new work elsewhere.
 * - Slow requests: a request that has not fully arrived within REQUEST_TIMEOUT_MS
 *   gets a 408 problem and its connection is closed (clientError).
 */
import type { Socket } from 'node:net';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';
import type { ComputePool } from './pool.js';
import { PROBLEMS, sendProblem, toProblem } from './problem.js';
import type { Readiness } from './routes/health.js';
import { Overloaded, ShuttingDown, type Unavailable } from './shed.js';

const MiB = 1024 * 1024;

export interface AdmissionOptions {
  config: Config;
  pool: ComputePool | null;
  readiness: Readiness;
  metrics: Metrics;
}

const isCompute = (request: FastifyRequest): boolean => request.routeOptions.url?.startsWith('/v1/') === true;

/** A 503 with Retry-After (and `extra` headers), sent from an onRequest hook. */
function shed(
  request: FastifyRequest,
  reply: Parameters<typeof sendProblem>[0],
  err: Unavailable,
  extra: Record<string, string> = {},
): void {
  reply.headers({ 'retry-after': String(err.retryAfterS), ...extra });
  sendProblem(reply, toProblem(err, request));
}

/** Registers the pressure checks on `app` and tells readiness when it is saturated; shedCompute adds the draining and saturation checks. */
export async function admission(app: FastifyInstance, { config, pool, readiness, metrics }: AdmissionOptions): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: config.maxEventLoopDelayMs,
    maxRssBytes: config.memoryBudgetMb * MiB,
    // Sending here stops the request before its body is read; returning lets it through.
    pressureHandler: (request, reply, type, value) => {
      if (!isCompute(request)) return;
      const delayed = type === underPressure.TYPE_EVENT_LOOP_DELAY;
      const reason = delayed ? 'event_loop_delay' : 'memory';
      metrics.shed.inc({ reason });
      const why = delayed
        ? `the event loop is delayed ${Math.round(value ?? 0)} ms, over MAX_EVENT_LOOP_DELAY_MS (${config.maxEventLoopDelayMs} ms)`
        : `the process holds ${Math.round((value ?? 0) / MiB)} MiB, over MEMORY_BUDGET_MB (${config.memoryBudgetMb})`;
      shed(request, reply, new Overloaded(`${why}; retry later`, pool?.retryAfterS() ?? 1, reason), { connection: 'close' });
    },
  });
  readiness.saturated = () => (pool?.saturated ?? false) || app.isUnderPressure();
}

/**
 * The draining and saturation checks, as an onRequest hook of `scope`: the
 * encapsulated instance that holds every /v1/* route (app.ts), registered there
 * before API keys and rate limits. Being the scope's, it runs for the compute
 * routes alone and needs no per-request test of the route; being synchronous, it
 * costs an admitted request one call.
 */
export function shedCompute(scope: FastifyInstance, { pool, readiness, metrics }: Omit<AdmissionOptions, 'config'>): void {
  scope.addHook('onRequest', (request, reply, done) => {
    if (readiness.state === 'draining') {
      metrics.shed.inc({ reason: 'shutting_down' });
      shed(request, reply, new ShuttingDown(), { connection: 'close' });
      return;
    }
    // Saturated: shed before the body is read and validated, and close the connection.
    // Under a flood of requests retried at once, a saturated event loop starves /healthz
    // and new connections (measured: a new connection waited 5 s, as long as the flood,
    // and keep-alive /healthz had a p99 of 360 ms); cheap 503s that make the flooding
    // clients reconnect leave it room (p99 18-140 ms), as load balancers' overload
    // managers do by disabling keep-alive.
    const full = pool?.shedIfSaturated();
    if (full) {
      shed(request, reply, full, { connection: 'close' });
      return;
    }
    done();
  });
}

/**
 * Fastify's clientErrorHandler, for errors before a request reaches a route: a
 * request not in full within REQUEST_TIMEOUT_MS gets a 408 problem; oversized
 * headers 431 and malformed HTTP 400, as Fastify would, but as problems too. The
 * connection is closed either way.
 */
export function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const [status, title, detail] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, PROBLEMS.request_timeout.title, 'the request did not arrive in full within REQUEST_TIMEOUT_MS']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'the request headers are too large']
          : [400, 'Bad Request', 'the request is not valid HTTP'];
    // errors[] at the root, as every 4xx about the request as a whole carries
    const body = JSON.stringify({ type: 'about:blank', title, status, detail, errors: [{ path: '', message: detail }] });
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
