/**
 * Finding 8: slow bodies never time out. 50 connections send a request's headers
 * (announcing a 100 kB body) and then one body byte every 3 s, for ever; with
 * REQUEST_TIMEOUT_MS = 2000 the server must close every one of them (a 408 or just
 * the close) within the timeout plus Node's connection-check interval (the http
 * server looks for expired requests every connectionsCheckingInterval, 30 s by
 * default), and keep serving everyone else.
 *
 * Raw sockets (node:net), because an HTTP client would not trickle a body.
 *
 * (On Node 20 the check does nothing while the server's headersTimeout, 60 s by
 * default, is above its requestTimeout, as it is when requestTimeout is set after the
 * server is made, which is what Fastify's requestTimeout option does: the service has
 * to lower headersTimeout too. A shorter connectionsCheckingInterval, through Fastify's
 * `http` option, makes this test take seconds instead of half a minute.)
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import { seedJacobian } from './helpers/graphs.js';
import { post, send, sleep } from './helpers/http.js';
import { useServices } from './helpers/use-services.js';

const start = useServices();

const CONNECTIONS = 50;
const REQUEST_TIMEOUT_MS = 2_000;
/** Node's default http.Server connectionsCheckingInterval: how late an expired request may be noticed. */
const NODE_CHECK_INTERVAL_MS = 30_000;
const TRICKLE_EVERY_MS = 3_000;
const BOUND_MS = REQUEST_TIMEOUT_MS + NODE_CHECK_INTERVAL_MS + 5_000;

interface Trickler {
  socket: Socket;
  openedAt: number;
  /** When the server closed it (ms after opening), if it did. */
  closedAfterMs?: number;
  /** The first line of what the server sent, if anything. */
  answer?: string;
  bytesSent: number;
}

function trickle(port: number): Promise<Trickler> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      const t: Trickler = { socket, openedAt: performance.now(), bytesSent: 0 };
      socket.write(
        `POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
      );
      t.bytesSent = 1;
      const timer = setInterval(() => {
        if (socket.writable) {
          socket.write(' ');
          t.bytesSent++;
        }
      }, TRICKLE_EVERY_MS);
      socket.on('data', (chunk: Buffer) => {
        t.answer ??= chunk.toString('latin1').split('\r\n')[0];
      });
      socket.once('close', () => {
        clearInterval(timer);
        t.closedAfterMs ??= performance.now() - t.openedAt;
      });
      socket.on('error', () => {}); // a reset is a close too; 'close' follows
      resolve(t);
    });
    socket.once('error', reject);
  });
}

describe('finding 8: slow bodies time out', () => {
  test(
    `${CONNECTIONS} connections trickling a body byte every ${TRICKLE_EVERY_MS / 1000} s are closed within REQUEST_TIMEOUT_MS + Node's check interval`,
    async () => {
      const svc = await start({ REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
      const ts = await Promise.all(Array.from({ length: CONNECTIONS }, () => trickle(svc.port)));
      try {
        const t0 = performance.now();
        // Meanwhile the service answers everyone else.
        const ok = await post(svc.base, 'jacobian', seedJacobian(), { timeoutMs: 5_000 });
        expect(ok.status).toBe(200);
        while (performance.now() - t0 < BOUND_MS && ts.some((t) => t.closedAfterMs === undefined)) await sleep(250);
        const closed = ts.filter((t) => t.closedAfterMs !== undefined);
        const latest = Math.max(0, ...closed.map((t) => t.closedAfterMs as number));
        const answers = [...new Set(closed.map((t) => t.answer ?? '(closed without an answer)'))];
        console.log(
          `[finding 8] ${closed.length} of ${CONNECTIONS} trickling connections closed by the server within ${(BOUND_MS / 1000).toFixed(0)} s` +
            `${closed.length ? ` (the last after ${(latest / 1000).toFixed(1)} s; answers: ${answers.join(', ')})` : ''}; the rest had sent ${Math.min(...ts.map((t) => t.bytesSent))}+ body bytes each`,
        );
        expect(closed.length, `connections closed by the server within ${BOUND_MS} ms`).toBe(CONNECTIONS);
        // Never before the whole request had REQUEST_TIMEOUT_MS to arrive.
        expect(Math.min(...closed.map((t) => t.closedAfterMs as number))).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
        expect((await send(svc.base, { path: '/healthz', timeoutMs: 5_000 })).status).toBe(200);
      } finally {
        for (const t of ts) t.socket.destroy();
      }
    },
    BOUND_MS + 20_000,
  );
});
