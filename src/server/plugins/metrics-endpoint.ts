/**
 * GET /metrics, wherever it is served: on the service port (METRICS_PORT 0, the
 * default) or on a listener of its own (METRICS_PORT), which keeps it off the
 * port that clients and load balancers reach. Either way METRICS_TOKEN, when
 * set, is required as `Authorization: Bearer <token>` (compared like API keys:
 * hashed, constant time; a 401 problem otherwise).
 *
 * The own listener is a second, small Fastify instance: buildApp builds it and
 * closes it with the app; main.ts starts it right after the service listens.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import { PROBLEMS, sendProblem, toProblem } from '../problem.js';
import { requireBearer, sha256 } from './access.js';
import { responseCompression } from './compression.js';
import { securityHeaders } from './security-headers.js';

export interface MetricsEndpointOptions {
  metrics: Metrics;
  /** Bearer token required; null: open. */
  token: string | null;
}

/** Registers GET /metrics in its own scope (so the token check covers it alone). */
export async function metricsEndpoint(app: FastifyInstance, { metrics, token }: MetricsEndpointOptions): Promise<void> {
  await app.register(async (scope) => {
    if (token !== null) {
      await requireBearer(scope, {
        accepted: [sha256(token)],
        detail: {
          missing: '/metrics needs the metrics token: send it as Authorization: Bearer <token>',
          wrong: 'the metrics token is not valid',
        },
      });
    }
    scope.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'], hide: false } }, async (_req, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  });
}

/** The listener for METRICS_PORT: /metrics only, with the service's headers and problem answers. */
export async function buildMetricsServer(options: MetricsEndpointOptions, log: FastifyBaseLogger): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: log.child({ listener: 'metrics' }),
    logController: new LogController({ disableRequestLogging: true }), // scrapes are not worth a line each
    genReqId: () => randomUUID(),
  });
  await securityHeaders(server);
  await responseCompression(server); // as on the service port: Prometheus asks for gzip
  server.setErrorHandler((err, request, reply) => {
    const p = toProblem(err, request);
    if (p.status >= 500) request.log.error({ err }, 'unhandled error');
    return sendProblem(reply, p);
  });
  server.setNotFoundHandler((request, reply) => {
    const { type, title, status } = PROBLEMS.not_found;
    return sendProblem(reply, {
      type,
      title,
      status,
      detail: `no route for ${request.method} ${request.url.split('?')[0]}; this port serves GET /metrics only`,
      instance: request.id,
    });
  });
  await metricsEndpoint(server, options);
  return server;
}
