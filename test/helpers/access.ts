/**
 * Shared pieces of the access-control tests:
 *   newKey()              a fresh random API key and its SHA-256 hex digest (what API_KEYS holds)
 *   redisReachable(port)  whether a Redis answers PING on 127.0.0.1:port
 *   freePort()            a port nothing listens on right now
 *   tinyRequest           a valid /v1/evaluate body, as JSON text
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';

export function newKey(): { key: string; digest: string } {
  const key = randomBytes(32).toString('hex');
  return { key, digest: createHash('sha256').update(key).digest('hex') };
}

/** Redis answers PING with +PONG; anything else (or nothing within 500 ms) is "not reachable". */
export function redisReachable(port = 6379): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export const tinyRequest = JSON.stringify({
  graph: { inputs: [{ name: 'x', shape: [] }], nodes: [{ id: 'y', op: 'square', args: ['x'] }], outputs: ['y'] },
  args: { x: 3 },
});

/**
 * The real Redis on 127.0.0.1:6379 for one test file, under a key prefix of its
 * own: whether it is reachable (saying plainly that `what` is skipped when not),
 * the prefix, a REDIS_URL for it (on another port: a stand-in), and the file's
 * keys deleted after its tests.
 */
export async function useTestRedis(what: string): Promise<{ up: boolean; prefix: string; url: (port?: number) => string }> {
  const up = await redisReachable(6379);
  if (!up) console.log(`Redis was not reachable on 127.0.0.1:6379: skipping ${what} (scripts/ensure-redis.sh starts one)`);
  const prefix = `derivd-test-${randomUUID()}:`;
  afterAll(async () => {
    if (!up) return;
    const r = new Redis(6379, '127.0.0.1');
    const keys = await r.keys(`${prefix}*`);
    if (keys.length > 0) await r.del(...keys);
    await r.quit();
  });
  return { up, prefix, url: (port = 6379) => `redis://127.0.0.1:${port}/0?keyPrefix=${prefix}` };
}
