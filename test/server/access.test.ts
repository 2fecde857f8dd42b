/**
 * API keys (API_KEYS): every /v1/* route needs `Authorization: Bearer <key>`
 * whose SHA-256 digest is listed; a missing or wrong key is a 401 problem with an
 * RFC 6750 challenge; health, readiness, docs, the OpenAPI document and CORS
 * preflights stay open; the comparison is constant-time over every digest; keys
 * are never logged; a malformed API_KEYS stops start-up (exit 2).
 */
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { matchesAny, sha256 } from '../../src/server/plugins/access.js';
import { PROBLEMS } from '../../src/server/problem.js';
import { newKey, tinyRequest } from '../helpers/access.js';
import { useApps } from '../helpers/server.js';

// The real timingSafeEqual, watched: the test below counts its calls.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const appWith = useApps();
const OPS = ['evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp'] as const;
const [k1, k2, k3] = [newKey(), newKey(), newKey()];

async function keyedApp(digests = [k1.digest, k2.digest], logStream?: NodeJS.WritableStream) {
  const { app } = await appWith({ apiKeyDigests: digests }, logStream);
  const post = (headers: Record<string, string> = {}, url = '/v1/evaluate') =>
    app.inject({ method: 'POST', url, payload: tinyRequest, headers: { 'content-type': 'application/json', ...headers } });
  return { app, post };
}

describe('with API_KEYS set', () => {
  test('a listed key gets its answer, on every compute route (the second key too)', async () => {
    const { post } = await keyedApp();
    const ok = await post({ authorization: `Bearer ${k1.key}` });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().values).toEqual({ y: 9 });
    expect((await post({ authorization: `Bearer ${k2.key}` })).statusCode).toBe(200);
    // the scheme name is case-insensitive; extra spaces around the key are ignored
    expect((await post({ authorization: `bearer   ${k1.key} ` })).statusCode).toBe(200);
    for (const op of OPS) {
      // the body may not suit every operation: what matters is that the key was checked first
      expect((await post({}, `/v1/${op}`)).statusCode, op).toBe(401);
      expect((await post({ authorization: `Bearer ${k1.key}` }, `/v1/${op}`)).statusCode, op).not.toBe(401);
    }
  });

  test('no key: 401 problem with a bare Bearer challenge', async () => {
    const { post } = await keyedApp();
    for (const headers of [
      {},
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer   ' },
    ] as Record<string, string>[]) {
      const res = await post({ ...headers, 'x-request-id': 'no-key' });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="derivd"'); // RFC 6750 §3: no error code without a token
      expect(res.json()).toEqual({
        ...PROBLEMS.unauthorized,
        detail: 'this route needs an API key: send it as Authorization: Bearer <key>',
        instance: 'no-key',
      });
    }
  });

  test('a wrong key: 401 problem with error="invalid_token"', async () => {
    const { post } = await keyedApp();
    for (const wrong of [k3.key, `${k1.key}x`, k1.key.slice(1), k1.digest, k1.key.toUpperCase()]) {
      const res = await post({ authorization: `Bearer ${wrong}` });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="derivd", error="invalid_token"/);
      expect(res.json()).toMatchObject({ type: 'urn:derivd:problem:unauthorized', status: 401, detail: 'the API key is not valid' });
      expect(res.body).not.toContain(wrong);
    }
  });

  test('the key is checked before the body is read: a bad body without a key is still a 401', async () => {
    const { app } = await keyedApp();
    const res = await app.inject({ method: 'POST', url: '/v1/evaluate', payload: 'not json', headers: { 'content-type': 'text/plain' } });
    expect(res.statusCode).toBe(401);
  });

  test('health, readiness, docs, the OpenAPI document and CORS preflights need no key', async () => {
    const { app } = await appWith({ apiKeyDigests: [k1.digest], corsOrigins: ['https://a.example'] });
    await app.ready();
    for (const url of ['/healthz', '/readyz', '/docs', '/docs/static/swagger-ui-bundle.js', '/openapi.json', '/metrics']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/v1/jacobian',
      headers: {
        origin: 'https://a.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://a.example');
    expect(String(pre.headers['access-control-allow-headers'])).toMatch(/authorization/);
  });

  test('an unknown /v1 path is still a 404 (the key guards the compute routes, not the namespace)', async () => {
    const { post } = await keyedApp();
    expect((await post({}, '/v1/nope')).statusCode).toBe(404);
  });
});

test('off by default: no key needed, no challenge', async () => {
  const { app } = await appWith();
  const res = await app.inject({
    method: 'POST',
    url: '/v1/evaluate',
    payload: tinyRequest,
    headers: { 'content-type': 'application/json' },
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers).not.toHaveProperty('www-authenticate');
});

describe('constant-time comparison', () => {
  const spy = vi.mocked(timingSafeEqual);
  beforeEach(() => {
    spy.mockClear(); // (a returned function would run as a cleanup hook)
  });

  test('every request compares its 32-byte digest with every accepted digest, match or not', async () => {
    const { post } = await keyedApp([k1.digest, k2.digest, k3.digest]);
    for (const [key, status] of [
      [k1.key, 200],
      [k3.key, 200],
      ['wrong', 401],
    ] as const) {
      spy.mockClear();
      expect((await post({ authorization: `Bearer ${key}` })).statusCode).toBe(status);
      // first, last or no match: three comparisons each time, so timing says nothing of which
      expect(spy).toHaveBeenCalledTimes(3);
      for (const [a, b] of spy.mock.calls) {
        expect((a as Buffer).length).toBe(32);
        expect((b as Buffer).length).toBe(32);
      }
    }
    // a very long token costs one hash, then the same 32-byte comparisons
    spy.mockClear();
    expect((await post({ authorization: `Bearer ${'a'.repeat(10_000)}` })).statusCode).toBe(401);
    expect(spy).toHaveBeenCalledTimes(3);
  });

  test('matchesAny', () => {
    const accepted = [sha256('a'), sha256('b')];
    expect(matchesAny(sha256('a'), accepted)).toBe(true);
    expect(matchesAny(sha256('b'), accepted)).toBe(true);
    expect(matchesAny(sha256('c'), accepted)).toBe(false);
    expect(matchesAny(sha256('a'), [])).toBe(false);
  });
});

test('keys are never logged, even at trace level', async () => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const { app } = await appWith({ apiKeyDigests: [k1.digest], logLevel: 'trace' }, stream);
  for (const key of [k1.key, k2.key]) {
    await app.inject({
      method: 'POST',
      url: '/v1/evaluate',
      payload: tinyRequest,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    });
  }
  const text = chunks.join('');
  expect(text).toContain('"status":401'); // the refusal is logged, as a status
  expect(text).not.toContain(k1.key);
  expect(text).not.toContain(k2.key);
});

describe('API_KEYS configuration', () => {
  const upper = k1.digest.toUpperCase();

  test('digests in either case, comma-separated, spaces and empty entries ignored; stored lower-case', () => {
    expect(loadConfig({ API_KEYS: ` ${upper} ,${k2.digest},` }).apiKeyDigests).toEqual([k1.digest, k2.digest]);
    expect(loadConfig({}).apiKeyDigests).toEqual([]);
  });

  test.each([
    ['a raw key instead of a digest', 'my-secret-key'],
    ['a digest one digit short', k1.digest.slice(1)],
    ['one bad entry among good ones', `${k1.digest},zz${k2.digest.slice(2)}`],
    ['only commas and spaces', ' , '],
  ])('%s is a ConfigError that does not echo the value', (_what, value) => {
    let err: unknown;
    try {
      loadConfig({ API_KEYS: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain('API_KEYS=(value hidden): expected comma-separated SHA-256 hex digests');
    if (/\w/.test(value)) expect(message).not.toContain(value);
  });

  test('a malformed API_KEYS stops start-up with exit code 2', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
      cwd: root,
      env: { ...process.env, API_KEYS: 'not-a-digest', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/API_KEYS=\(value hidden\)/);
    expect(err).not.toContain('not-a-digest');
  }, 30_000);
});

describe('the OpenAPI document', () => {
  test('declares the bearer schemes, an optional key on every compute operation, and 401/429 with their headers', async () => {
    const { app } = await appWith();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.metricsToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const op of OPS) {
      const post = doc.paths[`/v1/${op}`].post;
      expect(post.security).toEqual([{ apiKey: [] }, {}]);
      expect(post.responses['401'].headers).toHaveProperty('WWW-Authenticate');
      expect(post.responses['429'].headers).toHaveProperty('Retry-After');
      expect(post.responses['401'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
      expect(post.responses['415'].description).toMatch(/Content-Encoding/);
    }
    expect(doc.paths['/metrics'].get.security).toEqual([{ metricsToken: [] }, {}]);
    // GET /v1/graphs/{id} is behind the key and the limits like every /v1 route
    const getGraph = doc.paths['/v1/graphs/{id}'].get;
    expect(getGraph.security).toEqual([{ apiKey: [] }, {}]);
    expect(Object.keys(getGraph.responses)).toEqual(expect.arrayContaining(['401', '429']));
    // the probes say plainly that they need no key
    for (const path of ['/healthz', '/readyz']) expect(doc.paths[path].get.security).toEqual([]);
  });
});
