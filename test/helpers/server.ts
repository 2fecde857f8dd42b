/**
 * Shared pieces of the HTTP tests (heavy requests are in requests.ts):
 *   useApps()          an appWith(config, logStream?) that builds apps (silent logs) and closes them after each test
 *   useListening()     one service listening on 127.0.0.1 for a whole file (or describe): its URL once started
 *   waitFor, sleep     polling with a bound
 *   timer(ms)          a flag that turns true once ms have passed: "not before the deadline"
 *                      as an ordering of two events rather than a measured duration
 *   metric(app, name, labels?)  a sample sum from /metrics
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG, type Config } from '../../src/server/config.js';

export { matmulRequest } from './requests.js';

export function useApps(): (config?: Partial<Config>, logStream?: NodeJS.WritableStream) => Promise<App> {
  const open: App[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((a) => a.app.close()));
  });
  return async (config = {}, logStream) => {
    const a = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', ...config }, logStream);
    open.push(a);
    return a;
  };
}

/**
 * A service listening on a loopback port from beforeAll to afterAll (no worker pool:
 * every call inline, which keeps the tests light), for tests that talk to it as a
 * client program would. `url()` is its base URL once started.
 */
export function useListening(config: Partial<Config> = {}): { url(): string } {
  let server: App | undefined;
  let base = '';
  beforeAll(async () => {
    server = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 0, ...config });
    base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await server?.app.close();
  });
  return { url: () => base };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A timer whose `fired` turns true once `ms` have passed (it never keeps the process
 * alive). Started before a cause, it orders events: `expect(t.fired)` when the effect
 * arrives says the effect did not come before the deadline, with no duration measured.
 */
export function timer(ms: number): { readonly fired: boolean } {
  const t = { fired: false };
  setTimeout(() => (t.fired = true), ms).unref();
  return t;
}

/** Polls `cond` every 5 ms; throws after `timeoutMs`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** From /metrics: the sum of the samples of `name` with (at least) these labels; 0 when none. */
export async function metric({ app }: Pick<App, 'app'>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}
