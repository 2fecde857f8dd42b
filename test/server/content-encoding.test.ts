/**
 * Compressed request bodies (plugins/content-encoding.ts): gzip, deflate and br
 * are decoded and give the answer the plain body gives; BODY_LIMIT bounds the
 * inflated size (a bomb is a 413 problem, decoding stops at the limit); a
 * corrupt or truncated body is a 400 malformed-body; any other coding a 415.
 */
import { Agent, request } from 'node:http';
import { Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { brotliCompressSync, constants, createGunzip, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { bodyMs } from '../../src/api/index.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { nonIdentityCodings } from '../../src/server/plugins/content-encoding.js';
import { PROBLEMS } from '../../src/server/problem.js';
import { tinyRequest } from '../helpers/access.js';
import { sumSin } from '../helpers/requests.js';
import { metric, useApps } from '../helpers/server.js';

const appWith = useApps();

const post = (payload: Buffer | string, encoding?: string, url = '/v1/evaluate') => ({
  method: 'POST' as const,
  url,
  payload,
  headers: {
    'content-type': 'application/json',
    'x-request-id': 'enc',
    ...(encoding === undefined ? {} : { 'content-encoding': encoding }),
  },
});

const ENCODERS: Record<string, (b: Buffer | string) => Buffer> = {
  gzip: (b) => gzipSync(b),
  'x-gzip': (b) => gzipSync(b),
  GZIP: (b) => gzipSync(b),
  'identity, gzip': (b) => gzipSync(b),
  deflate: (b) => deflateSync(b),
  br: (b) => brotliCompressSync(b),
};

describe('compressed request bodies are decoded', () => {
  test('gzip, x-gzip, deflate and br: the answer the plain body gets', async () => {
    const { app } = await appWith();
    const plain = await app.inject(post(tinyRequest));
    expect(plain.statusCode).toBe(200);
    for (const [encoding, encode] of Object.entries(ENCODERS)) {
      const res = await app.inject(post(encode(tinyRequest), encoding));
      expect(res.statusCode, encoding).toBe(200);
      expect(res.json().outputs, encoding).toEqual(plain.json().outputs);
    }
  });

  test('a large gzip body takes the raw-body path: inflated text parsed and computed by a worker, priced inflated', async () => {
    const text = JSON.stringify(sumSin(200_000));
    expect(bodyMs(text.length)).toBeGreaterThan(DEFAULT_CONFIG.inlineMaxCostMs);
    const zipped = gzipSync(text);
    expect(bodyMs(zipped.length)).toBeLessThan(bodyMs(text.length));
    const a = await appWith({ workers: 1 });
    const plain = await a.app.inject(post(text, undefined, '/v1/gradient'));
    const res = await a.app.inject(post(zipped, 'gzip', '/v1/gradient'));
    expect(res.statusCode).toBe(200);
    expect(res.json().gradient).toEqual(plain.json().gradient);
    expect(await metric(a, 'derivd_computations_total', { operation: 'gradient', where: 'pool' })).toBe(2);
    // the main thread never parsed either; each is counted as its response says
    const told = [plain.json().stats.cache, res.json().stats.cache];
    for (const result of ['hit', 'miss'])
      expect(await metric(a, 'derivd_plan_cache_total', { result })).toBe(told.filter((c) => c === result).length);
  });

  test('the content length checked is the bytes sent: a gzip body under its Content-Length is still read whole', async () => {
    const { app } = await appWith();
    const zipped = gzipSync(tinyRequest);
    const res = await app.inject({
      ...post(zipped, 'gzip'),
      headers: { ...post(zipped, 'gzip').headers, 'content-length': String(zipped.length) },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('BODY_LIMIT bounds the inflated body', () => {
  test('a gzip bomb (10 MB of zeros in about 10 KB) over BODY_LIMIT: 413 limit-exceeded, errors[] at the root', async () => {
    const zeros = Buffer.alloc(10_000_000);
    const bombs = [
      ['gzip', gzipSync(zeros)],
      ['br', brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } })],
      ['deflate', deflateSync(zeros)],
    ] as const;
    for (const [, bomb] of bombs) expect(bomb.length).toBeLessThan(100_000);
    // built after the bombs: compressing them holds the event loop, which the shedding would count
    const { app } = await appWith({ bodyLimit: 100_000 });
    for (const [encoding, payload] of bombs) {
      const res = await app.inject(post(payload, encoding));
      expect(res.statusCode, encoding).toBe(413);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const detail = `the body inflated from ${encoding} is larger than BODY_LIMIT (100000 bytes)`;
      expect(res.json()).toEqual({ ...PROBLEMS.limit_exceeded, detail, instance: 'enc', errors: [{ path: '', message: detail }] });
    }
  });

  test('a bomb does not grow the heap by its inflated size: decoding stops at the limit', async () => {
    const bomb = gzipSync(Buffer.alloc(200_000_000)); // 200 MB of zeros: about 200 KB
    const { app } = await appWith({ bodyLimit: 100_000 });
    const before = process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed;
    const res = await app.inject(post(bomb, 'gzip'));
    expect(res.statusCode).toBe(413);
    const grown = process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(50_000_000);
  });

  test('a compressed body itself over BODY_LIMIT: 413 (Fastify, by Content-Length, before decoding)', async () => {
    const { app } = await appWith({ bodyLimit: 64 });
    const big = gzipSync(Buffer.alloc(10_000, 'x'), { level: 0 });
    const res = await app.inject(post(big, 'gzip'));
    expect(res.statusCode).toBe(413);
    expect(res.json().type).toBe(PROBLEMS.limit_exceeded.type);
  });

  test('a body under BODY_LIMIT inflated is accepted though larger than the compressed bytes', async () => {
    const body = JSON.stringify({ ...JSON.parse(tinyRequest), pad: ' '.repeat(5000) });
    const { app } = await appWith({ bodyLimit: body.length });
    // unknown keys are refused by the schema: a 400 invalid-request proves the body was read and parsed
    const res = await app.inject(post(gzipSync(body), 'gzip'));
    expect(res.json().type).toBe(PROBLEMS.invalid_request.type);
    const over = await (await appWith({ bodyLimit: body.length - 1 })).app.inject(post(gzipSync(body), 'gzip'));
    expect(over.statusCode).toBe(413);
  });
});

test('Fastify alone applies bodyLimit to the stream a preParsing hook returns (its output), and stops reading it', async () => {
  // What content-encoding.ts builds on, checked on a bare Fastify: a gunzip stream in place of the payload.
  const app = Fastify({ bodyLimit: 1000 });
  let decoded = 0;
  app.addHook('preParsing', async (_request, _reply, payload) => {
    const counted = Object.assign(
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          decoded += chunk.length;
          callback(null, chunk);
        },
      }),
      { receivedEncodedLength: 0 },
    );
    payload.on('data', (chunk: Buffer) => {
      counted.receivedEncodedLength += chunk.length;
    });
    return payload.pipe(createGunzip()).pipe(counted);
  });
  app.post('/', async () => 'ok');
  const bomb = gzipSync(Buffer.alloc(50_000_000));
  expect(bomb.length).toBeLessThan(100_000); // more than bodyLimit sent, but a Content-Length check alone would not do
  const res = await app.inject({ method: 'POST', url: '/', payload: bomb, headers: { 'content-type': 'application/json' } });
  await sleep(200);
  expect(res.statusCode).toBe(413);
  expect(res.json().code).toBe('FST_ERR_CTP_BODY_TOO_LARGE');
  expect(decoded).toBeLessThan(1_000_000); // not the 50 MB: decoding stopped near the limit
  await app.close();
});

describe('bodies not valid in their coding: 400 malformed-body', () => {
  test('truncated, corrupt, raw deflate sent as deflate, plain text sent as gzip', async () => {
    const { app } = await appWith();
    const zipped = gzipSync(tinyRequest);
    const corrupt = Buffer.from(zipped);
    corrupt[20] = (corrupt[20] as number) ^ 0xff;
    for (const [encoding, payload] of [
      ['gzip', zipped.subarray(0, zipped.length - 10)],
      ['gzip', corrupt],
      ['gzip', Buffer.from(tinyRequest)],
      ['deflate', deflateRawSync(tinyRequest)],
      ['br', Buffer.from('not brotli at all')],
    ] as const) {
      const res = await app.inject(post(payload, encoding));
      expect(res.statusCode, encoding).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = res.json();
      expect(body).toMatchObject({ type: PROBLEMS.malformed_body.type, status: 400, instance: 'enc' });
      expect(body.detail).toMatch(new RegExp(`^the body is not valid ${encoding} \\(Content-Encoding: ${encoding}\\): `));
      expect(body.errors).toEqual([{ path: '', message: body.detail }]);
    }
  });

  test('gzip of text that is not JSON: the JSON parser’s 400, as for a plain body', async () => {
    const { app } = await appWith();
    const res = await app.inject(post(gzipSync('{"graph":'), 'gzip'));
    expect(res.statusCode).toBe(400);
    expect(res.json().type).toBe(PROBLEMS.malformed_body.type);
  });
});

describe('415 for other codings', () => {
  test('unknown and stacked codings: a 415 problem naming them and listing the accepted ones', async () => {
    const { app } = await appWith();
    for (const [encoding, body, named] of [
      ['x-custom', Buffer.from(tinyRequest), 'x-custom'],
      ['compress', Buffer.from(tinyRequest), 'compress'],
      ['zstd', Buffer.from(tinyRequest), 'zstd'],
      ['constructor', Buffer.from(tinyRequest), 'constructor'],
      ['__proto__', Buffer.from(tinyRequest), '__proto__'],
      ['gzip, br', brotliCompressSync(gzipSync(tinyRequest)), 'gzip, br'],
    ] as const) {
      const res = await app.inject(post(body, encoding));
      expect(res.statusCode, encoding).toBe(415);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['accept-encoding']).toBe('gzip, deflate, br, identity');
      expect(res.json()).toEqual({
        ...PROBLEMS.unsupported_content_encoding,
        detail: `Content-Encoding "${named}" is not supported: send the body in one of gzip, deflate or br, or uncompressed (identity)`,
        instance: 'enc',
      });
    }
  });

  test('checked before the body is read: before the size limit and the media type', async () => {
    const { app } = await appWith({ bodyLimit: 64 });
    for (const [payload, type] of [
      [Buffer.alloc(10_000, 'x'), 'application/json'],
      [Buffer.from('x'), 'text/plain'],
    ] as const) {
      const res = await app.inject({ ...post(payload, 'x-custom'), headers: { 'content-type': type, 'content-encoding': 'x-custom' } });
      expect(res.statusCode).toBe(415);
      expect(res.json().type).toBe('urn:derivd:problem:unsupported-content-encoding');
    }
  });

  test('identity (or no header) is accepted as is', async () => {
    const { app } = await appWith();
    for (const encoding of ['identity', 'Identity', '', undefined]) {
      const res = await app.inject(post(tinyRequest, encoding));
      expect(res.statusCode, String(encoding)).toBe(200);
    }
  });

  test('requests without a body are not refused over the header', async () => {
    const { app } = await appWith();
    for (const encoding of ['gzip', 'x-custom']) {
      const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'content-encoding': encoding } });
      expect(res.statusCode).toBe(200);
    }
  });
});

describe('over real HTTP', () => {
  test('gzip accepted, a bomb 413 (with or without Content-Length), corrupt 400, unknown 415', async () => {
    const bombBody = gzipSync(Buffer.alloc(10_000_000)); // before the app: it holds the event loop
    const { app } = await appWith({ bodyLimit: 100_000 });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(base);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: Buffer, headers: Record<string, string>, chunked = false) =>
      new Promise<{ status: number; body: string; socketPort: number }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/v1/evaluate',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(body.length) }), ...headers },
          },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, body: text, socketPort: req.socket!.localPort! }));
          },
        );
        req.on('error', reject);
        if (chunked) {
          // in pieces, without a Content-Length: the limit must hold on the stream alone
          for (let i = 0; i < body.length; i += 4096) req.write(body.subarray(i, i + 4096));
          req.end();
        } else req.end(body);
      });
    const ok = await send(gzipSync(tinyRequest), { 'content-encoding': 'gzip' });
    expect(ok.status).toBe(200);
    const bomb = await send(bombBody, { 'content-encoding': 'gzip' });
    expect(bomb.status).toBe(413);
    expect(JSON.parse(bomb.body).type).toBe(PROBLEMS.limit_exceeded.type);
    const chunkedBomb = await send(bombBody, { 'content-encoding': 'gzip' }, true);
    expect(chunkedBomb.status).toBe(413);
    const corrupt = await send(gzipSync(tinyRequest).subarray(0, 20), { 'content-encoding': 'gzip' });
    expect(corrupt.status).toBe(400);
    expect(JSON.parse(corrupt.body).type).toBe(PROBLEMS.malformed_body.type);
    const unknown = await send(Buffer.from(tinyRequest), { 'content-encoding': 'x-custom' });
    expect(unknown.status).toBe(415);
    const last = await send(Buffer.from(tinyRequest), {});
    expect(last.status).toBe(200);
    // A 415 is answered before the body is read, and the body drained: the connection is kept. (After a
    // body error, 400 or 413, Fastify closes it, as for identity bodies: the client may still be sending.)
    expect(last.socketPort).toBe(unknown.socketPort);
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
