/**
 * A body with a Content-Encoding other than identity is a 415 problem
 * (urn:derivd:problem:unsupported-content-encoding) before the body is read:
 * never the 400 "not valid JSON" a gzip body used to get, never a 413 or 500.
 */
import { request } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { nonIdentityCodings } from '../../src/server/plugins/content-encoding.js';
import { PROBLEMS } from '../../src/server/problem.js';
import { tinyRequest } from '../helpers/access.js';
import { useApps } from '../helpers/server.js';

const appWith = useApps();

describe('415 for encoded bodies', () => {
  test('gzip, deflate, br and unknown codings: a 415 problem naming the coding and asking for identity', async () => {
    const { app } = await appWith();
    for (const [encoding, body, named] of [
      ['gzip', gzipSync(tinyRequest), 'gzip'],
      ['deflate', deflateSync(tinyRequest), 'deflate'],
      ['br', brotliCompressSync(tinyRequest), 'br'],
      ['GZIP', gzipSync(tinyRequest), 'gzip'],
      ['x-custom', Buffer.from(tinyRequest), 'x-custom'],
      ['identity, gzip', gzipSync(tinyRequest), 'gzip'],
      ['gzip, br', brotliCompressSync(gzipSync(tinyRequest)), 'gzip, br'],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/evaluate',
        payload: body,
        headers: { 'content-type': 'application/json', 'content-encoding': encoding, 'x-request-id': 'enc' },
      });
      expect(res.statusCode, encoding).toBe(415);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['accept-encoding']).toBe('identity');
      expect(res.json()).toEqual({
        ...PROBLEMS.unsupported_content_encoding,
        detail: `Content-Encoding "${named}" is not supported: send the body uncompressed (identity, no Content-Encoding header)`,
        instance: 'enc',
      });
    }
  });

  test('identity (or no header) is accepted', async () => {
    const { app } = await appWith();
    for (const headers of [{ 'content-encoding': 'identity' }, { 'content-encoding': 'Identity' }, { 'content-encoding': '' }, {}]) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/evaluate',
        payload: tinyRequest,
        headers: { 'content-type': 'application/json', ...headers },
      });
      expect(res.statusCode, JSON.stringify(headers)).toBe(200);
    }
  });

  test('checked before the body is read: before the size limit, the media type and the JSON parse', async () => {
    const { app } = await appWith({ bodyLimit: 64 });
    const big = gzipSync(Buffer.alloc(10_000, 'x'), { level: 0 });
    expect(big.length).toBeGreaterThan(64);
    for (const [payload, type] of [
      [big, 'application/json'],
      [gzipSync('not json'), 'application/json'],
      [gzipSync('x'), 'text/plain'],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/evaluate',
        payload,
        headers: { 'content-type': type, 'content-encoding': 'gzip' },
      });
      expect(res.statusCode).toBe(415);
      expect(res.json().type).toBe('urn:derivd:problem:unsupported-content-encoding');
    }
  });

  test('requests without a body are not refused over the header', async () => {
    const { app } = await appWith();
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'content-encoding': 'gzip' } });
    expect(res.statusCode).toBe(200);
  });

  test('over real HTTP: a gzip body is answered 415 and the connection stays usable', async () => {
    const { app } = await appWith();
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(base);
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: Buffer, headers: Record<string, string>) =>
      new Promise<{ status: number; body: string; socketPort: number }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/v1/evaluate',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers },
          },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, body: text, socketPort: req.socket!.localPort! }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const first = await send(gzipSync(Buffer.from(tinyRequest)), { 'content-encoding': 'gzip' });
    expect(first.status).toBe(415);
    expect(JSON.parse(first.body).detail).toMatch(/"gzip" is not supported/);
    const second = await send(Buffer.from(tinyRequest), {});
    expect(second.status).toBe(200);
    expect(second.socketPort).toBe(first.socketPort); // same keep-alive connection: the unread body was drained
    agent.destroy();
  });
});

test('nonIdentityCodings', () => {
  expect(nonIdentityCodings(undefined)).toEqual([]);
  expect(nonIdentityCodings('')).toEqual([]);
  expect(nonIdentityCodings('identity')).toEqual([]);
  expect(nonIdentityCodings(' Gzip , identity,br ')).toEqual(['gzip', 'br']);
  expect(nonIdentityCodings(['gzip', 'deflate'])).toEqual(['gzip', 'deflate']);
});
