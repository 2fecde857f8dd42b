/**
 * Rate limits in one process (RATE_LIMIT_PER_MINUTE): N requests a minute per
 * API key, or per client IP without keys, on /v1/* only; the next is a 429
 * problem with Retry-After. Off by default. With a REDIS_URL nobody answers at,
 * requests are still answered and limited, counted in the process.
 * (Shared limits through a real Redis: rate-limit-redis.test.ts.)
 */
import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { PROBLEMS } from '../../src/server/problem.js';
import { freePort, newKey, tinyRequest } from '../helpers/access.js';
import { useApps } from '../helpers/server.js';

const appWith = useApps();
type App = Awaited<ReturnType<typeof appWith>>['app'];

const post = (app: App, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
  app.inject({
    method: 'POST',
    url: '/v1/evaluate',
    payload: tinyRequest,
    headers: { 'content-type': 'application/json', ...headers },
    remoteAddress,
  });

describe('without keys: per client IP', () => {
  test('N requests pass with countdown headers, the next is a 429 problem with Retry-After', async () => {
    const { app } = await appWith({ rateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) {
      const res = await post(app);
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe('3');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    const res = await post(app, { 'x-request-id': 'limited' });
    expect(res.statusCode).toBe(429);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const retry = Number(res.headers['retry-after']);
    expect(Number.isInteger(retry) && retry >= 1 && retry <= 60, String(res.headers['retry-after'])).toBe(true);
    const body = res.json();
    expect(body).toMatchObject({ ...PROBLEMS.rate_limited, instance: 'limited' });
    expect(body.detail).toMatch(/^over RATE_LIMIT_PER_MINUTE \(3 requests per minute per client address\); retry in \d+ s$/);
  });

  test('each address has its own count (IPv6 by /64); other routes are not limited', async () => {
    const { app } = await appWith({ rateLimitPerMinute: 1 });
    expect((await post(app, {}, '10.0.0.1')).statusCode).toBe(200);
    expect((await post(app, {}, '10.0.0.1')).statusCode).toBe(429);
    expect((await post(app, {}, '10.0.0.2')).statusCode).toBe(200);
    expect((await post(app, {}, '2001:db8::1')).statusCode).toBe(200);
    expect((await post(app, {}, '2001:db8::2')).statusCode).toBe(429); // same /64
    for (let i = 0; i < 5; i++) {
      for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json'])
        expect((await app.inject({ method: 'GET', url, remoteAddress: '10.0.0.1' })).statusCode, url).toBe(200);
    }
  });
});

describe('with keys: per API key', () => {
  test('each key has its own count, whatever the address; refused requests are not counted', async () => {
    const [a, b] = [newKey(), newKey()];
    const { app } = await appWith({ rateLimitPerMinute: 2, apiKeyDigests: [a.digest, b.digest] });
    for (let i = 0; i < 5; i++) expect((await post(app, { authorization: 'Bearer wrong' })).statusCode).toBe(401);
    expect((await post(app, { authorization: `Bearer ${a.key}` }, '10.0.0.1')).statusCode).toBe(200);
    expect((await post(app, { authorization: `Bearer ${a.key}` }, '10.0.0.2')).statusCode).toBe(200);
    const over = await post(app, { authorization: `Bearer ${a.key}` }, '10.0.0.3');
    expect(over.statusCode).toBe(429);
    expect(over.json().detail).toMatch(/per API key/);
    expect((await post(app, { authorization: `Bearer ${b.key}` }, '10.0.0.1')).statusCode).toBe(200);
    // a limited key that then sends a wrong key is told 401, not 429
    expect((await post(app, { authorization: 'Bearer wrong' })).statusCode).toBe(401);
  });
});

test('off by default: no 429 and no rate-limit headers', async () => {
  const { app } = await appWith();
  for (let i = 0; i < 30; i++) {
    const res = await post(app);
    expect(res.statusCode).toBe(200);
    expect(res.headers).not.toHaveProperty('x-ratelimit-limit');
  }
});

test('with a REDIS_URL nobody answers at: every request answered, limited in the process, one warning', async () => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const port = await freePort();
  const { app } = await appWith({ rateLimitPerMinute: 2, redisUrl: `redis://:hunter2@127.0.0.1:${port}`, logLevel: 'warn' }, stream);
  await app.ready(); // does not wait long for a Redis that refuses
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await post(app)).statusCode);
  expect(statuses).toEqual([200, 200, 429, 429]);
  const warnings = chunks
    .join('')
    .split('\n')
    .filter((l) => l.includes('Redis unreachable'));
  expect(warnings).toHaveLength(1);
  expect(chunks.join('')).not.toContain('hunter2'); // the URL's password is never logged
});

describe('configuration', () => {
  test('RATE_LIMIT_PER_MINUTE and REDIS_URL are read', () => {
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '120', REDIS_URL: 'redis://:pw@cache:6379/2' })).toMatchObject({
      rateLimitPerMinute: 120,
      redisUrl: 'redis://:pw@cache:6379/2',
    });
    expect(loadConfig({ REDIS_URL: 'rediss://cache:6380' }).redisUrl).toBe('rediss://cache:6380');
    expect(loadConfig({})).toMatchObject({ rateLimitPerMinute: 0, redisUrl: null });
  });

  test.each([
    [{ RATE_LIMIT_PER_MINUTE: '-1' }, 'RATE_LIMIT_PER_MINUTE="-1"'],
    [{ RATE_LIMIT_PER_MINUTE: '1.5' }, 'RATE_LIMIT_PER_MINUTE="1.5"'],
    [{ REDIS_URL: 'http://:secret@cache:6379' }, 'REDIS_URL=(value hidden): expected a redis:// or rediss:// URL'],
  ])('%o is a ConfigError', (env, named) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as Error).message).toContain(named);
      expect((err as Error).message).not.toContain('secret'); // a URL's password is never echoed
    }
  });
});
