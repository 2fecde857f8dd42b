/**
 * The playground's static files: served at /playground/ under its own stricter CSP,
 * /playground redirected there, and a clear 503 when the page was never built.
 * (The page itself is driven in a real browser by playground-browser.test.ts.)
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, test } from 'vitest';
import { playground } from '../../src/server/plugins/playground.js';
import { securityHeaders } from '../../src/server/plugins/security-headers.js';

function fakeBuild(): string {
  const root = mkdtempSync(join(tmpdir(), 'derivd-playground-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>derivd playground</title>');
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  return root;
}

async function appWith(root: string) {
  const app = Fastify();
  await securityHeaders(app);
  await playground(app, { root });
  await app.ready();
  return app;
}

describe('/playground', () => {
  test('serves the built page under the CSP; assets are cached, the page revalidated', async () => {
    const app = await appWith(fakeBuild());
    const page = await app.inject({ url: '/playground/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('derivd playground');
    // the page's own policy: no inline styles, which only /docs needs
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toMatch(/(^|;)style-src 'self'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    // every other response keeps the general policy, which Swagger UI needs
    expect(String((await app.inject({ url: '/elsewhere' })).headers['content-security-policy'])).toContain("'unsafe-inline'");
    expect(page.headers['cache-control']).toBe('no-cache');
    const asset = await app.inject({ url: '/playground/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect(asset.headers['content-security-policy']).toBe(csp);
    const redirect = await app.inject({ url: '/playground' });
    expect(redirect.statusCode).toBeGreaterThanOrEqual(301);
    expect(redirect.statusCode).toBeLessThanOrEqual(308);
    expect(redirect.headers.location).toBe('/playground/');
    expect((await app.inject({ url: '/playground/nope.js' })).statusCode).toBe(404);
    await app.close();
  });

  test('not built: a 503 that says how to build it', async () => {
    const app = await appWith(mkdtempSync(join(tmpdir(), 'derivd-playground-empty-')));
    for (const url of ['/playground', '/playground/', '/playground/assets/x.js']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(503);
      expect(res.body).toContain('npm run build:playground');
    }
    await app.close();
  });
});
