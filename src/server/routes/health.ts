/** Liveness and readiness: what orchestrators ask (/metrics: plugins/metrics-endpoint.ts). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { HealthSchema } from '../schemas.js';

/**
 * starting: not yet taking compute requests; ready; draining: shutting down.
 * `saturated` (admission.ts): true while compute requests would be shed.
 */
export interface Readiness {
  state: 'starting' | 'ready' | 'draining';
  saturated?: () => boolean;
}

export async function healthRoutes(app: FastifyInstance, { readiness }: { readiness: Readiness }): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get(
    '/healthz',
    { schema: { summary: 'Alive', operationId: 'health', tags: ['operations'], security: [], response: { 200: HealthSchema } } },
    async () => ({
      status: 'ok',
    }),
  );
  typed.get(
    '/readyz',
    {
      schema: {
        summary: 'Ready for compute requests (503 while starting, draining or saturated)',
        operationId: 'ready',
        security: [], // probes need no key, whatever API_KEYS says
        tags: ['operations'],
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_req, reply) => {
      const status = readiness.state === 'ready' && readiness.saturated?.() ? 'saturated' : readiness.state;
      return reply.code(status === 'ready' ? 200 : 503).send({ status });
    },
  );
}
