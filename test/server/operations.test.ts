/**
 * What operators rely on: liveness and readiness, Prometheus metrics, the OpenAPI
 * document and Swagger UI, CORS, configuration from the environment, and the one
 * JSON log line per request (which never carries argument data).
 */
import { availableParallelism, totalmem } from 'node:os';
import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import { ConfigError, DEFAULT_CONFIG, loadConfig } from '../../src/server/config.js';
import { SEED_GRAPH, SEED_REQUEST } from '../../src/server/seed-example.js';
import { useApps } from '../helpers/server.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const OPS = ['evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp'] as const;

const appWith = useApps();

describe('health and readiness', () => {
  test('GET /healthz is 200 {status: ok}', async () => {
    const { app } = await appWith();
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  test('readiness: starting after build, ready once ready (/readyz 200)', async () => {
    const { app, readiness } = await appWith();
    expect(readiness.state).toBe('starting');
    await app.ready();
    expect(readiness.state).toBe('ready');
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
  });

  test('draining as soon as close() begins, before the other preClose hooks run', async () => {
    const a = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent' });
    const seen: string[] = [];
    a.app.addHook('preClose', async () => {
      seen.push(a.readiness.state);
    });
    await a.app.ready();
    expect(a.readiness.state).toBe('ready');
    await a.app.close();
    expect(seen).toEqual(['draining']);
    expect(a.readiness.state).toBe('draining');
  });

  test('/readyz is 503 while draining or starting', async () => {
    const { app, readiness } = await appWith();
    await app.ready();
    readiness.state = 'draining'; // what preClose sets; inject is refused once close() has begun
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'draining' });
    readiness.state = 'starting';
    const starting = await app.inject({ method: 'GET', url: '/readyz' });
    expect([starting.statusCode, starting.json()]).toEqual([503, { status: 'starting' }]);
    // /healthz does not depend on readiness
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('/metrics', () => {
  test('Prometheus text with request counts, latency buckets, engine runs and process metrics', async () => {
    const { app } = await appWith();
    const post = (op: string, body: unknown) => app.inject({ method: 'POST', url: `/v1/${op}`, payload: body as object });
    expect((await post('jacobian', SEED_REQUEST)).statusCode).toBe(200);
    expect((await post('jacobian', SEED_REQUEST)).statusCode).toBe(200);
    expect((await post('jacobian', { ...SEED_REQUEST, mode: 'reverse' })).statusCode).toBe(200);
    expect((await post('jacobian', { ...SEED_REQUEST, mode: 'nope' })).statusCode).toBe(400);
    expect((await post('evaluate', SEED_REQUEST)).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/no/such/path-1' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/no/such/path-2' })).statusCode).toBe(404);

    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toContain('# TYPE derivd_http_requests_total counter');
    expect(text).toContain('derivd_http_requests_total{route="/v1/jacobian",method="POST",status="200"} 3');
    expect(text).toContain('derivd_http_requests_total{route="/v1/jacobian",method="POST",status="400"} 1');
    expect(text).toContain('derivd_http_requests_total{route="/v1/evaluate",method="POST",status="200"} 1');
    // unknown paths share one label value: no cardinality explosion
    expect(text).toContain('derivd_http_requests_total{route="unmatched",method="GET",status="404"} 2');
    expect(text).not.toContain('path-1');

    expect(text).toContain('# TYPE derivd_http_request_duration_seconds histogram');
    expect(text).toMatch(
      /^derivd_http_request_duration_seconds_bucket\{le="0\.005",route="\/v1\/jacobian",method="POST",status="200"\} \d+$/m,
    );
    expect(text).toContain('derivd_http_request_duration_seconds_bucket{le="+Inf",route="/v1/jacobian",method="POST",status="200"} 3');
    expect(text).toContain('derivd_http_request_duration_seconds_count{route="/v1/jacobian",method="POST",status="200"} 3');

    expect(text).toContain('derivd_engine_runs_total{operation="jacobian",mode="forward"} 2');
    expect(text).toContain('derivd_engine_runs_total{operation="jacobian",mode="reverse"} 1');
    expect(text).not.toMatch(/derivd_engine_runs_total\{operation="evaluate"/); // evaluate runs no engine

    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_total_bytes \d/m);
  });

  test('each app has its own registry', async () => {
    const a = await appWith();
    const b = await appWith();
    await a.app.inject({ method: 'GET', url: '/healthz' });
    const text = (await b.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).not.toContain('route="/healthz"');
  });
});

describe('the OpenAPI document and Swagger UI', () => {
  test('/openapi.json is OpenAPI 3.1 with all seven compute paths', async () => {
    const { app } = await appWith();
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'derivd', version: expect.any(String) });
    for (const op of OPS) {
      const post = doc.paths[`/v1/${op}`]?.post;
      expect(post, op).toBeDefined();
      expect(Object.keys(post.responses).sort()).toEqual(['200', '400', '401', '404', '413', '415', '422', '429', '503', '504']);
      expect(post.responses['400'].content).toHaveProperty(['application/problem+json']);
    }
    expect(doc.paths).not.toHaveProperty(['/openapi.json']);
  });

  test('/docs serves the Swagger UI page', async () => {
    const { app } = await appWith();
    const res = await app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<title>Swagger UI</title>');
    const js = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(js.statusCode).toBe(200);
  });
});

describe('CORS', () => {
  const preflight = (origin: string) => ({
    method: 'OPTIONS' as const,
    url: '/v1/jacobian',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });

  test('off by default: no access-control-allow-origin anywhere', async () => {
    expect(DEFAULT_CONFIG.corsOrigins).toBeNull();
    const { app } = await appWith();
    const get = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://a.example' } });
    expect(get.headers).not.toHaveProperty('access-control-allow-origin');
    const post = await app.inject({ method: 'POST', url: '/v1/jacobian', payload: SEED_REQUEST, headers: { origin: 'https://a.example' } });
    expect(post.statusCode).toBe(200);
    expect(post.headers).not.toHaveProperty('access-control-allow-origin');
    // Without CORS no route answers OPTIONS: the path's own methods, in Allow, and no CORS header.
    const pre = await app.inject(preflight('https://a.example'));
    expect(pre.statusCode).toBe(405);
    expect(pre.headers.allow).toBe('POST');
    expect(pre.headers).not.toHaveProperty('access-control-allow-origin');
  });

  test('with corsOrigins set, an allowed origin gets the headers and others do not', async () => {
    const { app } = await appWith({ corsOrigins: ['https://a.example'] });
    const pre = await app.inject(preflight('https://a.example'));
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://a.example');
    expect(String(pre.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(pre.headers['access-control-allow-headers']).toLowerCase()).toContain('content-type');

    const post = await app.inject({ method: 'POST', url: '/v1/jacobian', payload: SEED_REQUEST, headers: { origin: 'https://a.example' } });
    expect(post.statusCode).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBe('https://a.example');
    expect(String(post.headers['access-control-expose-headers'])).toMatch(/x-request-id.*server-timing|server-timing.*x-request-id/);
    const get = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://a.example' } });
    expect(get.headers['access-control-allow-origin']).toBe('https://a.example');

    const other = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
    expect(other.headers).not.toHaveProperty('access-control-allow-origin');
    const otherPre = await app.inject(preflight('https://evil.example'));
    expect(otherPre.headers).not.toHaveProperty('access-control-allow-origin');
  });

  test('CORS_ORIGINS=* allows any origin', async () => {
    const { app } = await appWith({ corsOrigins: loadConfig({ CORS_ORIGINS: '*' }).corsOrigins });
    const get = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://anything.example' } });
    expect(['*', 'https://anything.example']).toContain(get.headers['access-control-allow-origin']);
  });
});

describe('configuration', () => {
  const MiB = 1024 * 1024;
  // MEMORY_BUDGET_MB=auto: 80 % of the cgroup limit, else of physical memory.
  const limit = process.constrainedMemory();
  const autoBudgetMb = Math.floor((0.8 * (limit > 0 && limit < totalmem() ? limit : totalmem())) / MiB);
  const DOCUMENTED = {
    port: 8080,
    host: '0.0.0.0',
    logLevel: 'info',
    bodyLimit: 16 * MiB,
    maxNodes: 10_000,
    maxElements: 10_000_000,
    maxInputs: 10_000,
    maxResponseBytes: 256 * MiB,
    cacheBytes: 256 * MiB,
    graphStoreBytes: 64 * MiB,
    corsOrigins: null,
    shutdownTimeoutMs: 10_000,
    keepAliveTimeoutMs: 72_000,
    workers: availableParallelism(),
    inlineMaxCostMs: 5,
    computeBudgetMs: 30_000,
    maxQueue: Math.max(8, 4 * availableParallelism()),
    queueTimeoutMs: 10_000,
    maxEventLoopDelayMs: 1000,
    memoryBudgetMb: autoBudgetMb,
    workerHeapMb: 640,
    requestTimeoutMs: 30_000,
    connectionTimeoutMs: 60_000,
    maxConnections: 1024,
    apiKeyDigests: [],
    rateLimitPerMinute: 0,
    redisUrl: null,
    metricsPort: 0,
    metricsToken: null,
    engineModules: [],
  };

  test('defaults are the documented ones', () => {
    expect(loadConfig({})).toEqual(DOCUMENTED);
    expect(DEFAULT_CONFIG).toEqual(DOCUMENTED);
    // empty means unset
    expect(loadConfig({ PORT: '', LOG_LEVEL: '', CORS_ORIGINS: '' })).toEqual(DOCUMENTED);
    // unrelated variables are ignored
    expect(loadConfig({ PATH: '/bin', NODE_ENV: 'production' })).toEqual(DOCUMENTED);
  });

  test('every variable is read', () => {
    const c = loadConfig({
      PORT: '3000',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      BODY_LIMIT: '1024',
      MAX_NODES: '50',
      MAX_ELEMENTS: '1000',
      CORS_ORIGINS: ' https://a.example , https://b.example,',
      SHUTDOWN_TIMEOUT_MS: '500',
      KEEP_ALIVE_TIMEOUT_MS: '0',
      WORKERS: '3',
      INLINE_MAX_COST_MS: '0.5',
      COMPUTE_BUDGET_MS: '1000',
      MAX_INPUTS: '7',
      MAX_RESPONSE_BYTES: '4096',
      CACHE_BYTES: String(2 * MiB),
      GRAPH_STORE_BYTES: String(3 * MiB),
      MAX_QUEUE: '5',
      QUEUE_TIMEOUT_MS: '2000',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      MEMORY_BUDGET_MB: '900',
      WORKER_HEAP_MB: '300',
      REQUEST_TIMEOUT_MS: '4000',
      CONNECTION_TIMEOUT_MS: '5000',
      MAX_CONNECTIONS: '0',
      ENGINE_MODULES: ' ./a.mjs, b-engine ,',
    });
    expect(c).toEqual({
      port: 3000,
      host: '127.0.0.1',
      logLevel: 'warn',
      bodyLimit: 1024,
      maxNodes: 50,
      maxElements: 1000,
      corsOrigins: ['https://a.example', 'https://b.example'],
      shutdownTimeoutMs: 500,
      keepAliveTimeoutMs: 0,
      workers: 3,
      inlineMaxCostMs: 0.5,
      computeBudgetMs: 1000,
      maxInputs: 7,
      maxResponseBytes: 4096,
      cacheBytes: 2 * MiB,
      graphStoreBytes: 3 * MiB,
      maxQueue: 5,
      queueTimeoutMs: 2000,
      maxEventLoopDelayMs: 0,
      memoryBudgetMb: 900,
      workerHeapMb: 300,
      requestTimeoutMs: 4000,
      connectionTimeoutMs: 5000,
      maxConnections: 0,
      apiKeyDigests: [],
      rateLimitPerMinute: 0,
      redisUrl: null,
      metricsPort: 0,
      metricsToken: null, // access control: test/server/access.test.ts and rate-limit.test.ts
      engineModules: ['./a.mjs', 'b-engine'],
    });
    expect(loadConfig({ WORKERS: '1' }).maxQueue).toBe(8); // auto: 4 × WORKERS, at least 8
    expect(loadConfig({ WORKERS: '4' }).maxQueue).toBe(16);
    expect(loadConfig({ MEMORY_BUDGET_MB: '0' }).memoryBudgetMb).toBe(0);
    expect(loadConfig({ CONNECTION_TIMEOUT_MS: '0', COMPUTE_BUDGET_MS: '600000' }).connectionTimeoutMs).toBe(0); // 0: no idle timeout, nothing to outlast
    expect(loadConfig({ QUEUE_TIMEOUT_MS: '1000', COMPUTE_BUDGET_MS: '1000', CONNECTION_TIMEOUT_MS: '3001' }).connectionTimeoutMs).toBe(
      3001,
    ); // 1 + 1 + 1 s
    expect(loadConfig({ WORKERS: 'auto' }).workers).toBe(availableParallelism());
    expect(loadConfig({ WORKERS: '0' }).workers).toBe(0);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toBe(true);
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
  });

  const error = (env: Record<string, string>): ConfigError => {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
  };

  test.each([
    [{ PORT: 'abc' }, 'PORT="abc"'],
    [{ PORT: '70000' }, 'PORT="70000"'],
    [{ PORT: '80.5' }, 'PORT="80.5"'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL="loud"'],
    [{ MAX_NODES: '0' }, 'MAX_NODES="0"'],
    [{ MAX_ELEMENTS: '-1' }, 'MAX_ELEMENTS="-1"'],
    [{ BODY_LIMIT: 'lots' }, 'BODY_LIMIT="lots"'],
    [{ SHUTDOWN_TIMEOUT_MS: '1e9' }, 'SHUTDOWN_TIMEOUT_MS="1e9"'],
    [{ WORKERS: 'many' }, 'WORKERS="many"'],
    [{ WORKERS: '-1' }, 'WORKERS="-1"'],
    [{ WORKERS: '1.5' }, 'WORKERS="1.5"'],
    [{ INLINE_MAX_COST_MS: '-1' }, 'INLINE_MAX_COST_MS="-1"'],
    [{ COMPUTE_BUDGET_MS: '0' }, 'COMPUTE_BUDGET_MS="0"'],
    [{ MAX_QUEUE: 'lots' }, 'MAX_QUEUE="lots"'],
    [{ QUEUE_TIMEOUT_MS: '0' }, 'QUEUE_TIMEOUT_MS="0"'],
    [{ MEMORY_BUDGET_MB: '-1' }, 'MEMORY_BUDGET_MB="-1"'],
    [{ WORKER_HEAP_MB: '8' }, 'WORKER_HEAP_MB="8"'],
    [{ REQUEST_TIMEOUT_MS: '0' }, 'REQUEST_TIMEOUT_MS="0"'],
    [{ MAX_CONNECTIONS: '-5' }, 'MAX_CONNECTIONS="-5"'],
    // the idle-socket timeout must outlast a queue wait plus a cut computation: 10 s + 30 s + 7.5 s
    [{ CONNECTION_TIMEOUT_MS: '40000' }, 'CONNECTION_TIMEOUT_MS="40000": must exceed QUEUE_TIMEOUT_MS + COMPUTE_BUDGET_MS'],
    [{ COMPUTE_BUDGET_MS: '60000' }, 'CONNECTION_TIMEOUT_MS="60000": must exceed'],
  ])('%o is a ConfigError naming the variable and its value', (env, named) => {
    const err = error(env);
    expect(err.message).toMatch(/^invalid configuration:\n/);
    expect(err.message).toContain(named);
    expect(err.message.trim().split('\n')).toHaveLength(2);
  });

  test('all bad variables are reported together, one line each', () => {
    const err = error({ PORT: 'abc', LOG_LEVEL: 'loud', MAX_NODES: '0', HOST: 'localhost' });
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('invalid configuration:');
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.includes('PORT="abc"'))).toBeDefined();
    expect(lines.find((l) => l.includes('LOG_LEVEL="loud"'))).toMatch(/info/); // says what is allowed
    expect(lines.find((l) => l.includes('MAX_NODES="0"'))).toMatch(/1/);
    expect(err.message).not.toContain('HOST');
  });
});

describe('logging: one JSON line per request, never argument data', () => {
  function capture(): { stream: Writable; lines: () => Json[]; text: () => string } {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    });
    const text = (): string => chunks.join('');
    return {
      stream,
      text,
      lines: () =>
        text()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
    };
  }

  // Argument values no log line may contain: distinctive digits and strings
  const SECRET_D = SEED_REQUEST.args.d.map((v, i) => v + 0.000123456789 * (i + 1));
  const SECRET_XS = 0.1234567891357;
  const SECRET_STRING = 'TOPSECRETARGUMENT';

  test('at info: reqId, route, status, mode and timings, and no argument values', async () => {
    const log = capture();
    const { app } = await appWith({ logLevel: 'info' }, log.stream);
    await app.ready();
    const jac = await app.inject({
      method: 'POST',
      url: '/v1/jacobian',
      payload: { ...SEED_REQUEST, args: { d: SECRET_D, xs: SECRET_XS } },
      headers: { 'x-request-id': 'log-test-1' },
    });
    expect(jac.statusCode).toBe(200);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/jacobian',
      payload: { ...SEED_REQUEST, args: { d: SECRET_D, xs: SECRET_STRING } },
      headers: { 'x-request-id': 'log-test-2' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain(SECRET_STRING.slice(0, 10)); // the client is told; the log is not
    const shape = await app.inject({
      method: 'POST',
      url: '/v1/evaluate',
      payload: { ...SEED_REQUEST, args: { d: [SECRET_XS], xs: SECRET_XS } },
    });
    expect(shape.statusCode).toBe(422);
    const ev = await app.inject({
      method: 'POST',
      url: '/v1/evaluate',
      payload: { graph: SEED_GRAPH, args: { d: SECRET_D, xs: SECRET_XS } },
    });
    expect(ev.statusCode).toBe(200);
    const notFound = await app.inject({ method: 'GET', url: '/missing' });
    expect(notFound.statusCode).toBe(404);

    const lines = log.lines();
    expect(lines).toHaveLength(5); // one per request, nothing else at info
    for (const l of lines) {
      expect(l).toMatchObject({
        level: 30,
        msg: 'request',
        reqId: expect.any(String),
        route: expect.any(String),
        status: expect.any(Number),
        durationMs: expect.any(Number),
      });
    }
    const [a, b, c, e, n] = lines;
    const body = jac.json();
    expect(a).toMatchObject({
      reqId: 'log-test-1',
      route: '/v1/jacobian',
      method: 'POST',
      status: 200,
      operation: 'jacobian',
      mode: 'forward',
    });
    expect(a.timings).toEqual(body.timings);
    expect(b).toMatchObject({ reqId: 'log-test-2', route: '/v1/jacobian', status: 400 });
    expect(c).toMatchObject({ route: '/v1/evaluate', status: 422, reqId: shape.headers['x-request-id'] });
    expect(e).toMatchObject({ route: '/v1/evaluate', status: 200, operation: 'evaluate' });
    expect(e.timings).toEqual(ev.json().timings);
    expect(n).toMatchObject({ route: 'unmatched', status: 404, reqId: notFound.headers['x-request-id'] });

    const text = log.text();
    expect(text).not.toContain(SECRET_STRING);
    expect(text).not.toContain('1234567891');
    for (const v of [...SECRET_D, SECRET_XS]) expect(text).not.toContain(String(v));
    for (const l of lines) {
      for (const k of ['args', 'body', 'graph', 'values', 'jacobian', 'req', 'res', 'err']) expect(l, k).not.toHaveProperty(k);
    }
  });

  test('at debug, client errors are logged by kind and path, still without argument values', async () => {
    const log = capture();
    const { app } = await appWith({ logLevel: 'debug' }, log.stream);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/jacobian',
      payload: { ...SEED_REQUEST, args: { d: SECRET_D, xs: SECRET_STRING } },
    });
    expect(bad.statusCode).toBe(400);
    const shape = await app.inject({ method: 'POST', url: '/v1/jacobian', payload: { ...SEED_REQUEST, args: { d: SECRET_XS, xs: 0 } } });
    expect(shape.statusCode).toBe(422);
    expect(shape.body).toContain(String(SECRET_XS)); // "found the number ..." for the client
    const text = log.text();
    expect(text).not.toContain(SECRET_STRING);
    expect(text).not.toContain('1234567891');
    const lines = log.lines();
    expect(lines.filter((l) => l.msg === 'request')).toHaveLength(2);
    const debug = lines.filter((l) => l.msg === 'client error');
    expect(debug.map((l) => [l.level, l.problem.status, l.problem.paths])).toEqual([
      [20, 400, ['args.xs']],
      [20, 422, ['args.d']],
    ]);
  });

  test('at warn, requests are not logged', async () => {
    const log = capture();
    const { app } = await appWith({ logLevel: 'warn' }, log.stream);
    await app.inject({ method: 'POST', url: '/v1/jacobian', payload: SEED_REQUEST });
    await app.inject({ method: 'POST', url: '/v1/jacobian', payload: '{', headers: { 'content-type': 'application/json' } });
    expect(log.text()).toBe('');
  });
});

describe('plan cache in /metrics', () => {
  test('counts a miss, then hits for the same graph resent', async () => {
    const { buildApp } = await import('../../src/server/app.js');
    const { DEFAULT_CONFIG } = await import('../../src/server/config.js');
    const { SEED_REQUEST } = await import('../../src/server/seed-example.js');
    const { SHARED_CACHE } = await import('../../src/api/index.js');
    SHARED_CACHE.clear();
    const built = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 0 });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await built.app.inject({ method: 'POST', url: '/v1/jacobian', payload: SEED_REQUEST })).json().stats.cache);
      expect(statuses).toEqual(['miss', 'hit', 'hit']);
      const text = (await built.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toMatch(/derivd_plan_cache_total\{result="miss"\} 1/);
      expect(text).toMatch(/derivd_plan_cache_total\{result="hit"\} 2/);
    } finally {
      await built.app.close();
    }
  });
});
