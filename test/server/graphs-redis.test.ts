/**
 * Stored graphs shared through Redis (REDIS_URL): a graph registered on one
 * replica is written to Redis (derivd:graph:<id>, the canonical JSON, with a TTL);
 * a replica that has not seen it (a restarted one: an empty local store) loads
 * it from Redis, checks that it hashes to its id, and keeps it. An entry that does
 * not hash to its id is ignored. With Redis unreachable, what is stored locally is
 * served, an id found nowhere is 404, inline requests are untouched, and the
 * outage is logged once. Needs Redis on 127.0.0.1:6379 (scripts/ensure-redis.sh
 * starts it in CI); without it the Redis tests are skipped and say so. Each run
 * uses its own key prefix (ioredis `?keyPrefix=`) and deletes its keys.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { describe, expect, test } from 'vitest';
import { GRAPH_NAMESPACE, GRAPH_TTL_S } from '../../src/server/graph-repo.js';
import { freePort, useTestRedis } from '../helpers/access.js';
import { useApps } from '../helpers/server.js';

const redis = await useTestRedis('the stored-graph Redis tests');
const redisUp = redis.up;
const { prefix } = redis;
const redisUrl = redis.url();

const appWith = useApps();

const graph = {
  inputs: [{ name: 'x', shape: [3] }],
  nodes: [
    { id: 'y', op: 'sin', args: ['x'] },
    { id: 's', op: 'sum', args: ['y'] },
  ],
  outputs: ['s'],
};
const call = { args: { x: [0.1, 0.2, 0.3] } };

function logTo(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

const answer = (body: Record<string, unknown>) => ({ ...body, timings: undefined, stats: undefined });

describe('stored graphs shared through Redis', () => {
  test.skipIf(!redisUp)('a graph registered on one replica is in Redis, and a restarted replica finds it there', async () => {
    const a = (await appWith({ workers: 0, redisUrl })).app;
    await a.ready();
    const stored = await a.inject({ method: 'POST', url: '/v1/graphs', payload: { graph } });
    expect(stored.statusCode).toBe(201);
    const { id } = stored.json();

    const r = new Redis(6379, '127.0.0.1');
    const key = `${prefix}${GRAPH_NAMESPACE}${id}`;
    const text = await r.get(key);
    expect(text).not.toBeNull();
    expect(
      createHash('sha256')
        .update(text as string)
        .digest('hex'),
    ).toBe(id); // the canonical JSON
    const ttl = await r.ttl(key);
    expect(ttl).toBeGreaterThan(GRAPH_TTL_S - 60);
    expect(ttl).toBeLessThanOrEqual(GRAPH_TTL_S);
    const onA = await a.inject({ method: 'POST', url: `/v1/graphs/${id}/gradient`, payload: call });
    await a.close();

    // A restarted replica: a new app, its local store empty.
    const b = (await appWith({ workers: 0, redisUrl })).app;
    await b.ready();
    const got = await b.inject({ method: 'GET', url: `/v1/graphs/${id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ id, nodes: 2, outputs: ['s'], graph: JSON.parse(text as string) });
    const onB = await b.inject({ method: 'POST', url: `/v1/graphs/${id}/gradient`, payload: call });
    expect(onB.statusCode).toBe(200);
    expect(answer(onB.json())).toEqual(answer(onA.json()));

    // B keeps what it loaded: served even once Redis has lost it.
    await r.del(key);
    expect((await b.inject({ method: 'POST', url: `/v1/graphs/${id}/evaluate`, payload: call })).statusCode).toBe(200);
    // and registering again (200: already stored here) writes it back to Redis
    expect((await b.inject({ method: 'POST', url: '/v1/graphs', payload: { graph } })).statusCode).toBe(200);
    expect(await r.get(key)).toBe(text);
    // A replica without REDIS_URL knows only its own store.
    const alone = (await appWith({ workers: 0 })).app;
    expect((await alone.inject({ method: 'GET', url: `/v1/graphs/${id}` })).statusCode).toBe(404);
    await r.quit();
  });

  test.skipIf(!redisUp)('an entry that does not hash to its id is ignored (404) and logged', async () => {
    const fake = createHash('sha256').update(randomUUID()).digest('hex');
    const r = new Redis(6379, '127.0.0.1');
    await r.set(`${prefix}${GRAPH_NAMESPACE}${fake}`, JSON.stringify(graph), 'EX', 600);
    const { stream, lines } = logTo();
    const { app } = await appWith({ workers: 0, redisUrl, logLevel: 'info' }, stream);
    await app.ready();
    const res = await app.inject({ method: 'POST', url: `/v1/graphs/${fake}/evaluate`, payload: call });
    expect(res.statusCode).toBe(404);
    expect(res.json().type).toBe('urn:derivd:problem:unknown-graph');
    expect(lines().filter((l) => String(l.msg).includes('does not hash to its id'))).toHaveLength(1);
    await r.quit();
  });
});

describe('Redis unreachable', () => {
  test('local graphs are served, unknown ids are 404, inline requests work, and the outage is logged once', async () => {
    const port = await freePort();
    const { stream, lines } = logTo();
    const { app } = await appWith({ workers: 0, redisUrl: `redis://127.0.0.1:${port}/0`, logLevel: 'info' }, stream);
    await app.ready();
    const stored = await app.inject({ method: 'POST', url: '/v1/graphs', payload: { graph } });
    expect(stored.statusCode).toBe(201);
    const { id } = stored.json();
    expect((await app.inject({ method: 'POST', url: `/v1/graphs/${id}/gradient`, payload: call })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/v1/graphs/${'e'.repeat(64)}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/v1/gradient', payload: { graph, ...call } })).statusCode).toBe(200);
    const warned = lines().filter((l) => String(l.msg).startsWith('stored graphs: no connection to Redis'));
    expect(warned).toHaveLength(1);
    expect(warned[0].level).toBe(40);
  });
});
