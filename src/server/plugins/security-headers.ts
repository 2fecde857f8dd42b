/**
 * Security headers on every response (@fastify/helmet, registered at the root
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
 * page, dropping data: from img-src blocks icons; fonts need no data:. Later
 * pages work under it if they load their own assets from derivd.
 *
 * Left out on purpose: upgrade-insecure-requests and HSTS. derivd speaks plain
 * HTTP (TLS, if any, ends at a proxy): the first would make browsers fetch the
 * page's assets over https and break /docs on a plain-HTTP deployment; the
 * second is ignored over HTTP anyway and is the TLS terminator's to set for
 * its domain.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

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

export async function securityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    strictTransportSecurity: false,
  });
}
