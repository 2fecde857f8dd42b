import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/server/plugins/security-headers.js';
import { tinyRequest } from '../helpers/access.js';
import { useApps } from '../helpers/server.js';
import { CHROMIUM, dumpDom, noteMissingChromium } from '../helpers/chromium.js';

const appWith = useApps();
const CSP =
  "default-src 'self';base-uri 'self';connect-src 'self';font-src 'self';form-action 'self';frame-ancestors 'self';" +
  "img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' 'unsafe-inline'";

function expectSecurityHeaders(headers: Record<string, unknown>, what: string): void {
  expect(headers['content-security-policy'], what).toBe(CSP);
  expect(headers['x-content-type-options'], what).toBe('nosniff');
  expect(headers['x-frame-options'], what).toBe('SAMEORIGIN');
  expect(headers['referrer-policy'], what).toBe('no-referrer');
  expect(headers['cross-origin-opener-policy'], what).toBe('same-origin');
  // plain HTTP: no HSTS (the TLS terminator's to set)
  expect(headers, what).not.toHaveProperty('strict-transport-security');
}

describe('on every response', () => {
  test('API answers, every kind of problem, 404, health, metrics, the OpenAPI document', async () => {
    const { app } = await appWith({ apiKeyDigests: ['0'.repeat(64)], bodyLimit: 4096 });
    const post = (payload: string, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/v1/evaluate',
        payload,
        headers: { 'content-type': 'application/json', authorization: 'Bearer x', ...headers },
      });
    const { app: open } = await appWith({ bodyLimit: 4096 });
    const cases = {
      'compute 200': await open.inject({
        method: 'POST',
        url: '/v1/evaluate',
        payload: tinyRequest,
        headers: { 'content-type': 'application/json' },
      }),
      '400 not JSON': await open.inject({
        method: 'POST',
        url: '/v1/evaluate',
        payload: '{',
        headers: { 'content-type': 'application/json' },
      }),
      '401': await post(tinyRequest),
      '404': await app.inject({ method: 'GET', url: '/nope' }),
      '413': await open.inject({
        method: 'POST',
        url: '/v1/evaluate',
        payload: 'x'.repeat(5000),
        headers: { 'content-type': 'application/json' },
      }),
      '415 encoding': await open.inject({
        method: 'POST',
        url: '/v1/evaluate',
        payload: tinyRequest,
        headers: { 'content-type': 'application/json', 'content-encoding': 'x-custom' },
      }),
      '415 media type': await open.inject({
        method: 'POST',
        url: '/v1/evaluate',
        payload: tinyRequest,
        headers: { 'content-type': 'text/plain' },
      }),
      healthz: await app.inject({ method: 'GET', url: '/healthz' }),
      metrics: await app.inject({ method: 'GET', url: '/metrics' }),
      'openapi.json': await app.inject({ method: 'GET', url: '/openapi.json' }),
    };
    const expected: Record<string, number> = {
      'compute 200': 200,
      '400 not JSON': 400,
      '401': 401,
      '404': 404,
      '413': 413,
      '415 encoding': 415,
      '415 media type': 415,
      healthz: 200,
      metrics: 200,
      'openapi.json': 200,
    };
    for (const [what, res] of Object.entries(cases)) {
      expect(res.statusCode, what).toBe(expected[what]);
      expectSecurityHeaders(res.headers, what);
    }
  });

  test('Swagger UI: the page and each asset it loads', async () => {
    const { app } = await appWith();
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expectSecurityHeaders(page.headers, '/docs');
    // every asset the page references, and the document its script fetches
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(5);
    for (const asset of [...assets, './static/swagger-initializer.js', '/docs/json']) {
      const url = asset.startsWith('/') ? asset : new URL(asset, 'http://x/docs/').pathname;
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expectSecurityHeaders(res.headers, url);
    }
    // all scripts come from derivd itself: nothing inline the CSP would have to allow
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.body).not.toMatch(/\son\w+=/);
  });

  test('@fastify/swagger-ui declares no inline script or style hashes (an upgrade that adds some must update the CSP)', () => {
    const require = createRequire(import.meta.url);
    const csp = JSON.parse(readFileSync(join(require.resolve('@fastify/swagger-ui/package.json'), '..', 'static', 'csp.json'), 'utf8'));
    expect(csp).toEqual({ script: [], style: [] });
  });

  test('CORS is unchanged: allowed origins get their headers, with the security headers', async () => {
    const { app } = await appWith({ corsOrigins: ['https://a.example'] });
    const get = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://a.example' } });
    expect(get.headers['access-control-allow-origin']).toBe('https://a.example');
    expect(get.headers['access-control-expose-headers']).toBe('x-request-id, server-timing');
    expectSecurityHeaders(get.headers, 'CORS GET');
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/v1/jacobian',
      headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://a.example');
    expectSecurityHeaders(pre.headers, 'preflight');
  });

  test('the CSP is the documented directive list', () => {
    const built = Object.entries(CONTENT_SECURITY_POLICY)
      .map(([k, v]) => `${k} ${v.join(' ')}`)
      .join(';');
    expect(built).toBe(CSP);
    expect(CSP).not.toMatch(/upgrade-insecure-requests|unsafe-eval/);
  });
});

noteMissingChromium('the Swagger UI page test in a real browser');

describe('in a real browser', () => {
  test.skipIf(!CHROMIUM)(
    'Swagger UI renders every operation under the CSP, with no violation reported',
    async () => {
      const { app } = await appWith({ workers: 0 });
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      const profile = mkdtempSync(join(tmpdir(), 'derivd-chromium-'));
      try {
        const { dom, log } = await dumpDom(`${base}/docs`, profile, ['--disable-quic', '--log-level=0']);
        // the page's scripts ran: Swagger UI fetched the document and rendered it
        expect(dom, log.slice(-2000)).toMatch(/class="title"[^>]*>derivd/);
        for (const op of ['evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp'])
          expect(dom).toContain(`data-path="/v1/${op}"`);
        // and nothing was refused by the Content-Security-Policy
        expect(log).not.toMatch(/Content Security Policy|Refused to/i);
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
