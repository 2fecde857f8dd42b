/**
 * The playground page at /playground/: static files Vite built from playground/
 * into dist/playground/ (`npm start` builds them when missing or stale; so does
 * `npm run build:playground`). /playground redirects to /playground/. Without a
 * build the page's URLs answer a plain 503 saying how to build it, rather than
 * a 404 that looks like a wrong address.
 *
 * Hashed assets (Vite names them by content) are cached for a year; index.html
 * is revalidated every time, so a new build is seen at once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PLAYGROUND_CONTENT_SECURITY_POLICY, securityHeaderValues } from './security-headers.js';

/** dist/playground/ from both src/server/plugins/ and dist/server/plugins/. */
export const PLAYGROUND_DIST = fileURLToPath(new URL('../../../dist/playground/', import.meta.url));

export async function playground(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? PLAYGROUND_DIST;
  if (!existsSync(join(root, 'index.html'))) {
    const notBuilt = async (_request: unknown, reply: FastifyReply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The playground page is not built: run `npm run build:playground` (or `npm start`, which builds it), then restart.\n');
    app.get('/playground', { schema: { hide: true } }, notBuilt);
    app.get('/playground/*', { schema: { hide: true } }, notBuilt);
    return;
  }
  // Relative URLs in the page (its assets) resolve under /playground/ only.
  app.get('/playground', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/playground/', 301));
  const csp = securityHeaderValues(PLAYGROUND_CONTENT_SECURITY_POLICY)['content-security-policy'] as string;
  await app.register(async (scope) => {
    // After the root hook's general policy: the page's stricter one replaces it.
    scope.addHook('onRequest', (_request, reply, done) => {
      reply.header('content-security-policy', csp);
      done();
    });
    await scope.register(fastifyStatic, {
      root,
      prefix: '/playground/',
      decorateReply: false, // @fastify/swagger-ui registers its own copy
      schemaHide: true,
      cacheControl: false,
      setHeaders: (reply, path) => {
        reply.header('cache-control', path.startsWith(join(root, 'assets')) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  });
}
