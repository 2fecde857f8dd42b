/**
 * Shared pieces of the access-control tests:
 *   newKey()              a fresh random API key and its SHA-256 hex digest (what API_KEYS holds)
 *   redisReachable(port)  whether a Redis answers PING on 127.0.0.1:port
 *   freePort()            a port nothing listens on right now
 *   tinyRequest           a valid /v1/evaluate body, as JSON text
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';

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
