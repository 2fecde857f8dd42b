/**
 * Security headers on every response (helmet's, set by a root onRequest hook
 * before any route, so API answers, problems, 404s, CORS preflights and the
 * Swagger UI page and assets all carry them).
 *
 * One Content-Security-Policy for everything, shaped for pages derivd serves:
 * scripts, styles, fonts and fetches from this origin only, images also as
 * data: URIs (swagger-ui.css and the bundle draw icons with them). The Swagger
 * UI page of @fastify/swagger-ui 6 has no inline script (its static/csp.json of
 * script hashes is empty; a test watches that), so scripts need no
 * 'unsafe-inline'; styles do, because the bundle applies inline styles
 * (Chromium reports a violation and blocks them under style-src 'self').
 * Each source was checked that way: dropping script-src 'self' leaves an empty
 * page, dropping data: from img-src blocks icons; fonts need no data:. The
 * playground page (plugins/playground.ts) gets a stricter copy, below.
 *
 * Left out on purpose: upgrade-insecure-requests and HSTS. derivd speaks plain
 * HTTP (TLS, if any, ends at a proxy): the first would make browsers fetch the
 * page's assets over https and break /docs on a plain-HTTP deployment; the
 * second is ignored over HTTP anyway and is the TLS terminator's to set for
 * its domain.
 */
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
} as const;

/**
 * The playground's own, stricter policy: Vite bundles its script and styles (uPlot
 * included) into files served by derivd, it sets styles only through the CSSOM and
 * fetches only this origin's /v1, so it needs no inline styles, which only Swagger UI
 * does (its icon is a data: URI, so img-src keeps data:). Its browser test fails on
 * any violation Chromium reports.
 */
export const PLAYGROUND_CONTENT_SECURITY_POLICY = {
  ...CONTENT_SECURITY_POLICY,
  'style-src': ["'self'"],
} as const;

/**
 * The headers helmet sets for a policy (the general one by default), computed once: the policy is the same
 * for every response, and building helmet's middleware per request (what
 * @fastify/helmet does) cost about a quarter of the service's throughput on the
 * seed request.
 */
export function securityHeaderValues(directives: Record<string, readonly string[]> = CONTENT_SECURITY_POLICY): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]): void => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (): void => {},
  };
  let failed: unknown;
  helmet({
    contentSecurityPolicy: { useDefaults: false, directives: directives as Record<string, string[]> },
    strictTransportSecurity: false,
  })({} as never, res as never, (err?: unknown) => {
    failed = err;
  });
  if (failed) throw failed;
  return headers;
}

export async function securityHeaders(app: FastifyInstance): Promise<void> {
  const headers = securityHeaderValues();
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
