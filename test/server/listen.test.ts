/**
 * The service as it really runs: a listening server on 127.0.0.1 answered with
 * fetch, and the real entry point (src/server/main.ts) in a child process for
 * graceful shutdown: a request in flight at SIGTERM completes with 200, then the
 * process exits 0.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { expectClose } from '../helpers/numeric.js';
import { startService } from '../helpers/process.js';
import { d, drdxs, graph } from '../helpers/seed.js';
import { matmulRequest, waitFor } from '../helpers/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('a listening server', () => {
  let built: App;
  let base: string;
  beforeAll(async () => {
    built = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent' });
    base = await built.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => built.app.close());

  test('answers the seed Jacobian over real HTTP', async () => {
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const res = await fetch(`${base}/v1/jacobian`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'listen-test-1' },
      body: JSON.stringify({ graph, args: { d, xs: 0.1 }, constant: ['d'] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('listen-test-1');
    expect(res.headers.get('server-timing')).toMatch(
      /^validate;dur=[\d.]+, plan;dur=[\d.]+, evaluate;dur=[\d.]+, differentiate;dur=[\d.]+, total;dur=[\d.]+$/,
    );
    const body = (await res.json()) as { mode: string; jacobian: { r: { xs: number[] } }; stats: unknown };
    expect(body.mode).toBe('forward');
    // dr/dxs against the analytic derivative -(c' f + c f') (test/helpers/seed.ts)
    expectClose(body.jacobian.r.xs, drdxs, 1e-12);
    expect(body.stats).toMatchObject({ directions: 1, activeNodes: 9, inactiveNodes: 1 });
  });
});

describe('graceful shutdown', () => {
  test('a request in flight at SIGTERM completes with 200, then the process exits 0', async () => {
    const svc = await startService({});
    // About a second of work: a 700 x 700 product of two fills (no large body to send).
    const heavy = matmulRequest(1190);
    let killed = false;
    let answeredAfterKill: boolean | undefined;
    const inFlight = fetch(`${svc.base}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(heavy),
    }).then((r) => ((answeredAfterKill = killed), r));
    // Computing in a worker (the default pool) when the signal comes, not a guess at a delay
    await waitFor('the request to compute', async () => /^derivd_pool_running 1$/m.test(await (await fetch(`${svc.base}/metrics`)).text()));
    svc.child.kill('SIGTERM');
    killed = true;
    const res = await inFlight;
    expect(answeredAfterKill).toBe(true); // the signal really came while the request was in flight
    expect(res.status).toBe(200);
    expect(((await res.json()) as { values: { s: number } }).values.s).toBe(1190 ** 3);
    expect(await svc.exited).toBe(0);
    expect(svc.log()).toMatch(/"signal":"SIGTERM".*shutting down/);
    await expect(fetch(`${svc.base}/healthz`)).rejects.toThrow();
  }, 30_000);

  test('a bad configuration stops start-up with a clear message and exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: 'abc', MAX_NODES: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/invalid configuration/);
    expect(err).toMatch(/PORT="abc"/);
    expect(err).toMatch(/MAX_NODES="0"/);
  }, 30_000);
});
