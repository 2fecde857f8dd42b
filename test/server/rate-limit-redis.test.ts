/**
 * Rate limits shared through Redis (REDIS_URL): two app instances (two replicas)
 * pointing at one Redis enforce one limit together; when Redis goes away
 * mid-stream, requests are still answered (never a 500) and each instance
 * limits on its own. Needs Redis on 127.0.0.1:6379 (scripts/ensure-redis.sh
 * starts it in CI); without it these tests are skipped and say so. Each run
 * uses its own key prefix (ioredis `?keyPrefix=`) and deletes its keys.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { describe, expect, test } from 'vitest';
import { REDIS_NAMESPACE } from '../../src/server/plugins/rate-limit.js';
import { newKey, tinyRequest, useTestRedis } from '../helpers/access.js';
import { useApps } from '../helpers/server.js';

const redis = await useTestRedis('the shared rate-limit tests');
const redisUp = redis.up;
const { prefix } = redis;
const redisUrl = redis.url;

const appWith = useApps();
type App = Awaited<ReturnType<typeof appWith>>['app'];
const post = (app: App, key: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/evaluate',
    payload: tinyRequest,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  });

describe('shared through Redis', () => {
  test.skipIf(!redisUp)('two instances sharing one Redis enforce one limit together', async () => {
    const { key, digest } = newKey();
    const config = { rateLimitPerMinute: 3, apiKeyDigests: [digest], redisUrl: redisUrl() };
    const [a, b] = [(await appWith(config)).app, (await appWith(config)).app];
    await Promise.all([a.ready(), b.ready()]); // both connected to Redis
    const statuses = [];
    for (const app of [a, b, a, b, a]) statuses.push((await post(app, key)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429, 429]); // alone, each would have allowed 3
    const other = newKey(); // a key not listed is refused before counting, and counts nothing
    expect((await post(b, other.key)).statusCode).toBe(401);

    const r = new Redis(6379, '127.0.0.1');
    const counter = `${prefix}${REDIS_NAMESPACE}key:${digest}`;
    expect(await r.get(counter)).toBe('5');
    const ttl = await r.pttl(counter);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await r.quit();
  });

  test.skipIf(!redisUp)('Redis going away mid-stream: no 500, each instance limits alone, logged once each way', async () => {
    // A TCP proxy in front of Redis that the test can cut.
    const sockets = new Set<Socket>();
    const proxy: Server = createServer((client) => {
      const upstream = connect(6379, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as { port: number }).port;
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    });
    const { key, digest } = newKey();
    const { app } = await appWith({ rateLimitPerMinute: 3, apiKeyDigests: [digest], redisUrl: redisUrl(port), logLevel: 'info' }, stream);
    await app.ready();
    expect((await post(app, key)).statusCode).toBe(200);
    expect((await post(app, key)).statusCode).toBe(200); // 2 of 3 used, in Redis

    await new Promise<void>((r) => {
      proxy.close(() => r());
      for (const s of sockets) s.destroy();
    });
    const during = [];
    for (let i = 0; i < 5; i++) during.push((await post(app, key)).statusCode);
    // counted in the process from 0: 3 more pass, then 429; never a 5xx
    expect(during).toEqual([200, 200, 200, 429, 429]);
    const warned = chunks
      .join('')
      .split('\n')
      .filter((l) => l.includes('Redis unreachable'));
    expect(warned).toHaveLength(1);
    expect(JSON.parse(warned[0]).level).toBe(40);

    // Redis back (the proxy again, same port): ioredis reconnects and counting is shared again,
    // from the Redis count of 2: one more passes.
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
    const deadline = Date.now() + 10_000;
    while (!chunks.join('').includes('Redis is back') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(chunks.join('')).toContain('Redis is back');
    expect([(await post(app, key)).statusCode, (await post(app, key)).statusCode]).toEqual([200, 429]);
    await app.close(); // before the proxy, so ioredis does not reconnect through it
    await new Promise<void>((r) => {
      proxy.close(() => r());
      for (const s of sockets) s.destroy();
    });
  });
});
