/**
 * Response compression (plugins/compression.ts): br or gzip as Accept-Encoding
 * allows, bodies of 1 KiB or more only, Vary: Accept-Encoding on every response;
 * the decoded body is the uncompressed one, headers set by the service are kept,
 * on inline and pooled answers, problems and /metrics alike.
 */
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { COMPRESSION } from '../../src/server/plugins/compression.js';
import { tinyRequest } from '../helpers/access.js';
import { tanhOfMatmul } from '../helpers/requests.js';
import { useApps } from '../helpers/server.js';

const appWith = useApps();

/** Jacobian of tanh(A x), A n×n constant: an n×n block of doubles, about 20 n² bytes. */
function tanhAx(n: number) {
  const A = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.sin(i * n + j) / n));
  const x = Array.from({ length: n }, (_, i) => Math.cos(i));
  return tanhOfMatmul(A, x);
}

const post = (body: unknown, acceptEncoding?: string, url = '/v1/jacobian') => ({
  method: 'POST' as const,
  url,
  payload: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }) },
});

const decode = (encoding: string | undefined, raw: Buffer): string =>
  (encoding === 'br' ? brotliDecompressSync(raw) : encoding === 'gzip' ? gunzipSync(raw) : raw).toString();

/** The parts of a result that do not depend on the run (timings, the estimates and the cache do). */
const stable = (text: string) => {
  const { timings: _t, stats: _s, reason: _r, ...rest } = JSON.parse(text);
  return rest;
};

describe('responses are compressed as Accept-Encoding allows', () => {
  test('br preferred, gzip, identity: the decoded body is the uncompressed one; Vary and the service headers kept', async () => {
    const { app } = await appWith();
    const plain = await app.inject(post(tanhAx(30)));
    expect(plain.statusCode).toBe(200);
    expect(plain.rawPayload.length).toBeGreaterThan(10_000);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('accept-encoding');
    for (const [accept, expected] of [
      ['gzip, deflate, br', 'br'],
      ['br', 'br'],
      ['gzip', 'gzip'],
      ['x-gzip', 'gzip'],
      ['*', 'gzip'],
      ['gzip;q=1, br;q=0.5', 'gzip'],
      ['identity', undefined],
      ['deflate', undefined],
      ['br;q=0, gzip;q=0', undefined],
      ['', undefined],
    ] as const) {
      const res = await app.inject(post(tanhAx(30), accept));
      expect(res.statusCode, accept).toBe(200);
      expect(res.headers['content-encoding'], accept).toBe(expected);
      expect(res.headers.vary, accept).toBe('accept-encoding');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['server-timing']).toMatch(/total;dur=/);
      expect(res.headers['x-request-id']).toBeDefined();
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBeDefined();
      if (expected) {
        expect(res.rawPayload.length, accept).toBeLessThan(plain.rawPayload.length * 0.7);
        if (res.headers['content-length'] !== undefined) expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
      }
      expect(stable(decode(expected, res.rawPayload)), accept).toEqual(stable(plain.body));
    }
  });

  test('responses under the threshold are not compressed, but still say Vary', async () => {
    const { app } = await appWith();
    const res = await app.inject(post(tinyRequest, 'gzip, br', '/v1/evaluate'));
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.length).toBeLessThan(COMPRESSION.threshold);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBe('accept-encoding');
    expect(res.json().values).toBeDefined();
    const health = await app.inject({ method: 'GET', url: '/healthz', headers: { 'accept-encoding': 'gzip' } });
    expect(health.headers['content-encoding']).toBeUndefined();
    expect(health.headers.vary).toBe('accept-encoding');
  });

  test('pooled answers (the worker’s JSON string) are compressed like inline ones', async () => {
    const { app, pool } = await appWith({ workers: 1, inlineMaxCostMs: 0 });
    const inline = await (await appWith({ workers: 0 })).app.inject(post(tanhAx(30)));
    const res = await app.inject(post(tanhAx(30), 'gzip'));
    expect(res.statusCode).toBe(200);
    expect(pool!.threadIds.length).toBe(1);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['server-timing']).toMatch(/queue;dur=/);
    expect(stable(decode('gzip', res.rawPayload))).toEqual(stable(inline.body));
  });

  test('problems: a large problem+json is compressed, still problem+json; a small one is not', async () => {
    const { app } = await appWith();
    // many invalid nodes: a 400 whose errors[] is well over 1 KiB
    const nodes = Array.from({ length: 60 }, (_, i) => ({ id: `n${i}`, op: 'nope', args: [] }));
    const res = await app.inject(post({ graph: { inputs: [], nodes, outputs: ['n0'] }, args: {} }, 'br'));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers.vary).toBe('accept-encoding');
    expect(JSON.parse(decode('br', res.rawPayload)).type).toBe('urn:derivd:problem:invalid-request');
    const small = await app.inject({ ...post('{', 'br'), url: '/v1/evaluate' });
    expect(small.statusCode).toBe(400);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.json().type).toBe('urn:derivd:problem:malformed-body');
  });

  test('/metrics is compressed when asked (on the service port and on METRICS_PORT)', async () => {
    const { app } = await appWith();
    await app.inject(post(tinyRequest, undefined, '/v1/evaluate'));
    const plain = await app.inject({ method: 'GET', url: '/metrics' });
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { 'accept-encoding': 'gzip' } });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['content-type']).toBe(plain.headers['content-type']);
    expect(decode('gzip', res.rawPayload)).toMatch(/derivd_http_requests_total/);
    const { metricsServer } = await appWith({ metricsPort: 1 });
    const own = await metricsServer!.inject({ method: 'GET', url: '/metrics', headers: { 'accept-encoding': 'br' } });
    expect(own.headers['content-encoding']).toBe('br');
    expect(decode('br', own.rawPayload)).toMatch(/# HELP/);
  });

  test('HEAD of a compressible GET: no body, no Content-Encoding (nothing is compressed), Vary', async () => {
    const { app } = await appWith();
    const res = await app.inject({ method: 'HEAD', url: '/openapi.json', headers: { 'accept-encoding': 'gzip' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBe('accept-encoding');
    expect(res.rawPayload.length).toBe(0);
  });

  test('over real HTTP: br and gzip decoded by the client match the identity body', async () => {
    const { app } = await appWith();
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(base);
    const body = JSON.stringify(tanhAx(40));
    const send = (acceptEncoding: string) =>
      new Promise<{ headers: Record<string, unknown>; raw: Buffer }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/v1/jacobian',
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'accept-encoding': acceptEncoding },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ headers: res.headers, raw: Buffer.concat(chunks) }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const identity = await send('identity');
    expect(identity.headers['content-encoding']).toBeUndefined();
    for (const encoding of ['br', 'gzip']) {
      const res = await send(encoding);
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(res.headers.vary).toBe('accept-encoding');
      expect(res.raw.length).toBeLessThan(identity.raw.length);
      expect(stable(decode(encoding, res.raw))).toEqual(stable(identity.raw.toString()));
    }
  });
});
