/**
 * HTTP timeouts and the connection cap (issue 8, item 8), on real sockets: a body
 * trickling in is cut with a 408 problem once REQUEST_TIMEOUT_MS has passed (before,
 * 300 such connections were all still open after 420 s); the timeout covers the
 * request's arrival only, not the computation; MAX_CONNECTIONS refuses the excess.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import type { Config } from '../../src/server/config.js';
import { matmulRequest, sleep, useApps } from '../helpers/server.js';

const appWith = useApps();

async function listening(config: Partial<Config>): Promise<{ port: number; base: string }> {
  const { app } = await appWith(config);
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: Number(new URL(base).port), base };
}

/** A raw connection: what it received, and when it closed (ms after `since`). */
function open(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => {}); // a reset is a close too
    const t0 = performance.now();
    const closed = new Promise<number>((r) => socket.on('close', () => r(performance.now() - t0)));
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

describe('REQUEST_TIMEOUT_MS', () => {
  test('a body trickling one byte at a time is answered 408 and closed soon after the timeout', async () => {
    const requestTimeoutMs = 500;
    const { port } = await listening({ requestTimeoutMs });
    const conn = await open(port);
    const body = JSON.stringify(matmulRequest(2));
    conn.socket.write(`POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    // One byte every 100 ms: never idle, never complete (the body would take seconds).
    const trickle = setInterval(() => {
      if (!conn.socket.destroyed) conn.socket.write(body[0]);
    }, 100);
    try {
      // Bounded: Node checks every tenth of the timeout; 10 s is only the test's own limit.
      const closedAfter = await Promise.race([conn.closed, sleep(10_000).then(() => Infinity)]);
      expect(closedAfter).toBeGreaterThanOrEqual(requestTimeoutMs);
      expect(closedAfter).toBeLessThan(requestTimeoutMs + 2000);
    } finally {
      clearInterval(trickle);
      conn.socket.destroy();
    }
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(conn.received()).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(conn.received().split('\r\n\r\n')[1])).toMatchObject({ status: 408, detail: expect.stringContaining('REQUEST_TIMEOUT_MS') });
  });

  test('it bounds the arrival, not the computation: a pooled request computing past it is answered', async () => {
    const { base } = await listening({ requestTimeoutMs: 50, workers: 1 });
    // A hundred ms of work or more (and a worker to start), past the 50 ms and its 10 ms check interval.
    const res = await fetch(`${base}/v1/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(matmulRequest(400)) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { values: { s: number } }).values.s).toBe(400 ** 3);
  });
});

describe('MAX_CONNECTIONS', () => {
  test('connections beyond the cap are closed at once; the others are served', async () => {
    const { port, base } = await listening({ maxConnections: 2 });
    const kept = [await open(port), await open(port)];
    await sleep(50); // let the server count them
    const extra = await open(port);
    const closedAfter = await Promise.race([extra.closed, sleep(5000).then(() => Infinity)]);
    expect(closedAfter).toBeLessThan(5000);
    expect(extra.received()).toBe('');
    for (const k of kept) k.socket.destroy();
    await Promise.all(kept.map((k) => k.closed));
    await sleep(50);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
