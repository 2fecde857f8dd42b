/**
 * HTTP timeouts and the connection cap (issue 8, item 8), on real sockets: a body
 * trickling in is cut with a 408 problem once REQUEST_TIMEOUT_MS has passed (before,
 * 300 such connections were all still open after 420 s); the timeout covers the
 * request's arrival only, not the computation; MAX_CONNECTIONS refuses the excess.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import type { Config } from '../../src/server/config.js';
import { matmulRequest, timer, useApps, waitFor } from '../helpers/server.js';

const appWith = useApps();

async function listening(config: Partial<Config>): Promise<{ port: number; base: string; connections: () => Promise<number> }> {
  const { app } = await appWith(config);
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const connections = (): Promise<number> => new Promise((r, j) => app.server.getConnections((err, n) => (err ? j(err) : r(n))));
  return { port: Number(new URL(base).port), base, connections };
}

/** A raw connection: what it received, whether it is closed, and a promise of its close. */
function open(port: number): Promise<{ socket: Socket; received: () => string; isClosed: () => boolean; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let isClosed = false;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => {}); // a reset is a close too
    const closed = new Promise<void>((r) => socket.on('close', () => r(((isClosed = true), undefined))));
    socket.once('connect', () => resolve({ socket, received: () => data, isClosed: () => isClosed, closed }));
    socket.once('error', reject);
  });
}

describe('REQUEST_TIMEOUT_MS', () => {
  test('a body trickling one byte at a time is answered 408 and closed by the server, not before the timeout', async () => {
    const requestTimeoutMs = 500;
    const { port } = await listening({ requestTimeoutMs });
    const conn = await open(port);
    const body = JSON.stringify(matmulRequest(2));
    // Started before the first byte is sent: the server's clock for the request starts later.
    const timeoutPassed = timer(requestTimeoutMs);
    let timeoutPassedAtClose: boolean | undefined;
    void conn.closed.then(() => (timeoutPassedAtClose = timeoutPassed.fired));
    conn.socket.write(
      `POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    // One byte every 100 ms: never idle, never complete (the body would take seconds).
    let sent = 0;
    const trickle = setInterval(() => {
      if (!conn.socket.destroyed) conn.socket.write(body[sent++]);
    }, 100);
    try {
      // The server closes the connection (we never end it); 10 s only keeps the test from hanging.
      await waitFor('the server to close the connection', conn.isClosed, 10_000);
    } finally {
      clearInterval(trickle);
      conn.socket.destroy();
    }
    expect(timeoutPassedAtClose).toBe(true); // not cut before REQUEST_TIMEOUT_MS
    expect(sent).toBeLessThan(body.length); // the body was still arriving: the timeout cut it, not its end
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(conn.received()).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(conn.received().split('\r\n\r\n')[1])).toMatchObject({
      status: 408,
      detail: expect.stringContaining('REQUEST_TIMEOUT_MS'),
    });
  });

  test('it bounds the arrival, not the computation: a pooled request computing past it is answered', async () => {
    const { base } = await listening({ requestTimeoutMs: 50, workers: 1 });
    // A hundred ms of work or more (and a worker to start), past the 50 ms and its 10 ms check interval.
    const res = await fetch(`${base}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(matmulRequest(680)),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { values: { s: number } }).values.s).toBe(680 ** 3);
  });
});

describe('MAX_CONNECTIONS', () => {
  test('connections beyond the cap are closed at once, unanswered; the others stay open and are served', async () => {
    const { port, base, connections } = await listening({ maxConnections: 2 });
    const kept = [await open(port), await open(port)];
    await waitFor('the server to count both connections', async () => (await connections()) === 2);
    const extra = await open(port);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    // Closed by the server without a word (the generous bound only keeps the test from hanging).
    await waitFor('the server to close the extra connection', extra.isClosed, 5000);
    expect(extra.received()).toBe('');
    expect(kept.map((k) => k.isClosed())).toEqual([false, false]); // the cap refused the extra one only
    kept[0].socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await waitFor('a kept connection to be answered', () => kept[0].received().includes('{"status":"ok"}'));
    expect(kept[0].received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    for (const k of kept) k.socket.destroy();
    await Promise.all(kept.map((k) => k.closed));
    await waitFor('the server to drop both connections', async () => (await connections()) === 0);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
