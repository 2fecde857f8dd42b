/**
 * Binary tensors over HTTP: base64 arguments, tangents, cotangents and vectors are
 * read exactly, `"encoding": "base64"` returns every result tensor in that form (valid
 * against the response schema, bit for bit the nested result), and each malformed
 * tensor is a 400 problem with its path. (Through the worker pool: test/server/pool.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { operations } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { ResultSchemas } from '../../src/server/schemas.js';
import { b64, decode, EVERY_KIND, identityGraph, sameBits } from '../helpers/base64.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const N = EVERY_KIND.length;

/** A wire float as a number ("NaN", "Infinity", "-Infinity" included). */
const num = (v: unknown): number => (typeof v === 'string' ? Number(v) : (v as number));
const graph = identityGraph(N);

let built: App;
beforeAll(async () => {
  built = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 0 });
  await built.app.ready();
});
afterAll(() => built.app.close());

const post = async (op: string, body: unknown) => {
  const res = await built.app.inject({
    method: 'POST',
    url: `/v1/${op}`,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.statusCode, json: res.json() as Json, body: res.body };
};

describe('base64 in and out over HTTP', () => {
  test('every kind of double goes through unchanged, base64 in and out (shape [], [0] too)', async () => {
    const r = await post('evaluate', { graph, args: { x: b64(EVERY_KIND), k: b64([1], []), e: b64([], [0]) }, encoding: 'base64' });
    expect(r.status, r.body).toBe(200);
    expect(ResultSchemas.evaluate.safeParse(r.json).success).toBe(true);
    expect(r.json.values.y).toMatchObject({ dtype: 'float64', shape: [N] });
    sameBits(decode(r.json.values.y), EVERY_KIND, 'values.y');
    expect(r.json.values.s).toMatchObject({ dtype: 'float64', shape: [] });
    expect(r.json.values.z).toEqual({ dtype: 'float64', shape: [0], data: '' });
  });

  test('base64 in, nested out: the wire strings for the non-finite values, and -0 written as 0 (JSON text has no -0)', async () => {
    const r = await post('evaluate', { graph, args: { x: b64(EVERY_KIND), k: 1, e: [] } });
    expect(r.status, r.body).toBe(200);
    sameBits(
      r.json.values.y.map(num),
      EVERY_KIND.map((v) => (Object.is(v, -0) ? 0 : v)),
      'values.y',
    );
    expect(r.json.values.y.slice(-3)).toEqual(['Infinity', '-Infinity', 'NaN']);
  });

  const extras: Record<string, Json> = {
    evaluate: {},
    jacobian: {},
    gradient: { outputs: ['s'] },
    jvp: { tangents: { x: b64(EVERY_KIND.map((_, i) => i)), k: 1, e: [] } },
    vjp: { cotangents: { y: EVERY_KIND.map((_, i) => i), s: b64([2], []), z: b64([], [0]) } },
    hessian: { outputs: ['s'] },
    hvp: { outputs: ['s'], vector: { x: b64(EVERY_KIND.map(() => 1)), k: 0.5, e: [] } },
  };
  for (const [op, extra] of Object.entries(extras)) {
    test(`${op}: mixed base64 and nested input; the base64 result is the nested one bit for bit`, async () => {
      const mixed = { graph, args: { x: b64(EVERY_KIND), k: 1, e: b64([], [0]) }, mode: 'forward', ...extra };
      // the nested result from the library: JSON text would turn -0 into 0, the library keeps it
      const nested = {
        json: (await operations[op as 'evaluate']({ ...mixed, args: { x: EVERY_KIND, k: 1, e: [] } }, { cache: false })) as Json,
      };
      const binary = await post(op, { ...mixed, encoding: 'base64' });
      expect(binary.status, binary.body).toBe(200);
      expect(ResultSchemas[op as 'evaluate'].safeParse(binary.json).success, binary.body).toBe(true);
      const walk = (a: unknown, b: Json, at: string): void => {
        if ('dtype' in b) {
          const want = (Array.isArray(a) ? a.flat(Infinity as 1) : [a]).map(num);
          sameBits(decode(b as { data: string }), want, at);
          return;
        }
        expect(Object.keys(b), at).toEqual(Object.keys(a as object));
        for (const k of Object.keys(b)) walk((a as Json)[k], b[k], `${at}.${k}`);
      };
      walk(nested.json.values, binary.json.values, 'values');
      if (op !== 'evaluate') walk(nested.json[op], binary.json[op], op);
    });
  }
});

describe('malformed base64 tensors: 400 invalid_request at the path', () => {
  const good = b64(EVERY_KIND);
  const cases: [string, Json, string, string][] = [
    ['bad base64', { ...good, data: `!${good.data.slice(1)}` }, 'args.x.data', 'invalid base64: character "!" at offset 0'],
    ['base64url', { ...good, data: good.data.replace(/.$/, '_') }, 'args.x.data', 'invalid base64'],
    [
      'wrong byte length',
      { ...good, data: b64([1, 2]).data },
      'args.x.data',
      `expected ${8 * N} bytes (${N} float64 for shape [${N}], 8 bytes each), found 16 bytes`,
    ],
    ['dtype', { ...good, dtype: 'float32' }, 'args.x.dtype', 'expected "float64", found the string "float32"'],
    [
      'missing key',
      { dtype: 'float64', data: good.data },
      'args.x.shape',
      'missing: a base64 tensor has the keys "dtype", "shape" and "data"',
    ],
    ['extra key', { ...good, endian: 'little' }, 'args.x.endian', 'unexpected key "endian"'],
  ];
  for (const [what, x, path, message] of cases) {
    test(what, async () => {
      const r = await post('gradient', { graph, args: { x, k: 1, e: [] }, outputs: ['s'] });
      expect(r.status, r.body).toBe(400);
      expect(r.json.type).toMatch(/invalid-request/);
      expect(r.json.errors).toHaveLength(1);
      expect(r.json.errors[0].path).toBe(path);
      expect(r.json.errors[0].message).toContain(message);
    });
  }

  test('a base64 tensor in tangents, at its path', async () => {
    const r = await post('jvp', { graph, args: { x: good, k: 1, e: [] }, tangents: { x: { ...good, data: 'AAAA' }, k: 1, e: [] } });
    expect(r.status, r.body).toBe(400);
    expect(r.json.errors[0]).toMatchObject({ path: 'tangents.x.data', message: expect.stringContaining('found 3 bytes') });
  });

  test('a shape other than the declared one: 422, as for nested arrays', async () => {
    const r = await post('evaluate', { graph, args: { x: b64([1, 2]), k: 1, e: [] } });
    expect(r.status, r.body).toBe(422);
    expect(r.json.errors).toEqual([{ path: 'args.x', message: `expected shape [${N}], found [2]` }]);
  });

  test('an unknown encoding', async () => {
    const r = await post('evaluate', { graph, args: { x: good, k: 1, e: [] }, encoding: 'binary' });
    expect(r.status, r.body).toBe(400);
    expect(r.json.errors[0].path).toBe('encoding');
  });
});
