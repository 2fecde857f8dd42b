/**
 * /metrics behind METRICS_TOKEN (401 problem without or with a wrong token, 200
 * with it) and moved to its own listener by METRICS_PORT (gone from the service
 * port, served on the other, closed with the app) — in process, and through the
 * real entry point (main.ts starts the listener and stops it on SIGTERM).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { PROBLEMS } from '../../src/server/problem.js';
import { freePort, tinyRequest } from '../helpers/access.js';
import { useApps } from '../helpers/server.js';

const appWith = useApps();
const TOKEN = 'metrics-token-0123456789';

describe('METRICS_TOKEN', () => {
  test('/metrics needs the token: 401 problem without it or with a wrong one, 200 with it', async () => {
    const { app } = await appWith({ metricsToken: TOKEN });
    const get = (authorization?: string) => app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
    const none = await get();
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="derivd"');
    expect(none.json()).toMatchObject({
      ...PROBLEMS.unauthorized,
      detail: '/metrics needs the metrics token: send it as Authorization: Bearer <token>',
    });
    const wrong = await get(`Bearer ${TOKEN}x`);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect(wrong.json().detail).toBe('the metrics token is not valid');
    const ok = await get(`Bearer ${TOKEN}`);
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('# TYPE derivd_http_requests_total counter');
    expect(ok.body).toContain('status="401"'); // the refused scrapes were counted
  });

  test('only /metrics: compute and health routes need no token', async () => {
    const { app } = await appWith({ metricsToken: TOKEN });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect(
      (await app.inject({ method: 'POST', url: '/v1/evaluate', payload: tinyRequest, headers: { 'content-type': 'application/json' } }))
        .statusCode,
    ).toBe(200);
  });

  test('open by default', async () => {
    const { app } = await appWith();
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });
});

describe('METRICS_PORT', () => {
  test('moves /metrics to its own listener, token and security headers included, closed with the app', async () => {
    const { app, metricsServer } = await appWith({ metricsPort: 9999, metricsToken: TOKEN }); // the port itself is main.ts's to use
    expect(metricsServer).not.toBeNull();
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const metricsBase = await metricsServer!.listen({ port: 0, host: '127.0.0.1' });
    expect(
      (await fetch(`${base}/v1/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: tinyRequest })).status,
    ).toBe(200);

    const onService = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(onService.status).toBe(404); // gone from the service port
    const open = await fetch(`${metricsBase}/metrics`);
    expect(open.status).toBe(401);
    expect(open.headers.get('www-authenticate')).toBe('Bearer realm="derivd"');
    expect(open.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const res = await fetch(`${metricsBase}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // the service's registry: its requests are counted there
    expect(await res.text()).toContain('derivd_http_requests_total{route="/v1/evaluate",method="POST",status="200"} 1');
    const other = await fetch(`${metricsBase}/v1/evaluate`);
    expect(other.status).toBe(404); // nothing else on the metrics port
    expect(((await other.json()) as { detail: string }).detail).toMatch(/serves GET \/metrics only/);

    await app.close();
    await expect(fetch(`${metricsBase}/metrics`)).rejects.toThrow(); // closed with the app
  });

  test('METRICS_PORT equal to PORT is a ConfigError; 0 keeps /metrics on the service port', () => {
    expect(() => loadConfig({ PORT: '9100', METRICS_PORT: '9100' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_PORT: '8080' })).toThrow(/METRICS_PORT=8080: must differ from PORT/);
    expect(loadConfig({ METRICS_PORT: '9100', METRICS_TOKEN: TOKEN })).toMatchObject({ metricsPort: 9100, metricsToken: TOKEN });
    expect(loadConfig({})).toMatchObject({ metricsPort: 0, metricsToken: null });
    expect(() => loadConfig({ METRICS_TOKEN: 'has space' })).toThrow(
      /METRICS_TOKEN=\(value hidden\): expected printable ASCII without spaces/,
    );
  });

  test('main.ts starts the metrics listener after the service and stops both on SIGTERM (exit 0)', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const metricsPort = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', WORKERS: '0', METRICS_PORT: String(metricsPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no metrics listener:\n${out}`)), 20_000);
      const onData = (c: Buffer): void => {
        out += c.toString();
        const service = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
        if (service && out.includes(`127.0.0.1:${metricsPort}`)) {
          clearTimeout(timer);
          resolve(service[1]);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
    });
    expect(base).not.toContain(`:${metricsPort}`); // the first listener is the service
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
    expect(out).toMatch(/"listener":"metrics".*Server listening at http:\/\/127\.0\.0\.1:\d+/);
  }, 30_000);
});
