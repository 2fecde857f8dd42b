/**
 * The binary tensor form {dtype: "float64", shape, data: base64}: every double
 * survives both ways bit for bit, base64 is read strictly, each malformed value is
 * an issue at its path, and the request's `encoding` decides the result's form.
 */
import { describe, expect, it, vi } from 'vitest';
import * as api from '../index.js';
import { b64, decode, EVERY_KIND, identityGraph, sameBits } from '../../test/helpers/base64.js';
import { caught } from '../../test/helpers/issues.js';
import { base64Problem, parseBase64Tensor, toBase64, type Base64Tensor } from './base64.js';
import { isTensorIssue, parseTensor } from './nested.js';

describe('parse and write', () => {
  it('every kind of double survives the round trip exactly', () => {
    const t = parseTensor(b64(EVERY_KIND), 'x', [EVERY_KIND.length]);
    if (isTensorIssue(t)) throw new Error(t.message);
    sameBits(t.data, EVERY_KIND);
    expect(toBase64(t)).toEqual(b64(EVERY_KIND));
  });

  it('decodes into an aligned Float64Array of its own, whatever the base64 length', () => {
    for (let n = 0; n < 12; n++) {
      const values = Array.from({ length: n }, (_, i) => i - 0.5);
      const t = parseBase64Tensor(b64(values) as never, 'x');
      if (isTensorIssue(t)) throw new Error(t.message);
      expect(t.data.byteOffset % 8).toBe(0);
      expect(t.data.byteLength).toBe(8 * n);
      sameBits(t.data, values);
    }
  });

  it('writes a view at an offset of its buffer: only its own elements', () => {
    const whole = Float64Array.of(9, 1, 2, 3, 9);
    expect(toBase64({ shape: [3], data: whole.subarray(1, 4) })).toEqual(b64([1, 2, 3]));
  });

  it('scalars (shape []) and empty tensors (shape [0], [2, 0])', () => {
    expect(toBase64({ shape: [], data: Float64Array.of(-0) })).toEqual(b64([-0], []));
    expect(toBase64({ shape: [0], data: new Float64Array(0) })).toEqual({ dtype: 'float64', shape: [0], data: '' });
    for (const [shape, values] of [
      [[], [-0]],
      [[0], []],
      [[2, 0], []],
    ] as [number[], number[]][]) {
      const t = parseTensor(b64(values, shape), 'x', shape);
      if (isTensorIssue(t)) throw new Error(t.message);
      expect(t.shape).toEqual(shape);
      sameBits(t.data, values);
    }
  });
});

describe('strict base64', () => {
  it('accepts exactly the canonical padded standard alphabet', () => {
    expect(base64Problem('')).toBeUndefined();
    expect(base64Problem('AAAAAAAA8D8=')).toBeUndefined();
    expect(base64Problem('+/+/')).toBeUndefined();
  });

  it.each([
    ['AAAA AAA8D8=', 'character " " at offset 4'],
    ['AAAAAAAA\n8D8=', 'character "\\n" at offset 8'],
    ['AAAAAAAA8D8-', 'character "-" at offset 11'], // base64url
    ['AAAAAAAA_D8=', 'character "_" at offset 8'],
    ['AA=AAAAA8D8=', 'padding "=" before the end at offset 2'],
    ['AAAAAAAA8D8', 'length 11 is not a multiple of 4'],
    ['AAAAAAAA8D9=', 'non-zero unused bits'], // 9 has a low bit set where = pads
    ['AAAAAAAA8D8===', 'padding "=" before the end'],
  ])('refuses %j: %s', (text, want) => {
    expect(base64Problem(text)).toContain(want);
  });
});

describe('malformed values: 400 with the path and what was wrong', () => {
  const graph = { inputs: [{ name: 'x', shape: [3] }], nodes: [{ id: 'y', op: 'sum', args: ['x'] }], outputs: ['y'] };
  const good = b64([1, 2, 3]);
  const cases: [string, unknown, string, string][] = [
    [
      'bad base64',
      { ...good, data: `${good.data.slice(0, 4)}!${good.data.slice(5)}` },
      'args.x.data',
      'invalid base64: character "!" at offset 4',
    ],
    [
      'a space in place of a character',
      { ...good, data: `${good.data.slice(0, 4)} ${good.data.slice(5)}` },
      'args.x.data',
      'invalid base64: character " " at offset 4',
    ],
    [
      'a base64url character',
      { ...good, data: `${good.data.slice(0, 4)}-${good.data.slice(5)}` },
      'args.x.data',
      'invalid base64: character "-" at offset 4',
    ],
    [
      'non-zero padding bits (malformed before the shape is compared)',
      { ...b64([1]), data: 'AAAAAAAA8D9=' },
      'args.x.data',
      'invalid base64: the last character before "=" padding has non-zero unused bits',
    ],
    ['padding left out', { ...b64([1]), data: 'AAAAAAAA8D8' }, 'args.x.data', 'invalid base64: length 11 is not a multiple of 4'],
    [
      'too few bytes',
      { ...good, data: b64([1, 2]).data },
      'args.x.data',
      'expected 24 bytes (3 float64 for shape [3], 8 bytes each), found 16 bytes',
    ],
    [
      'bytes not a whole double',
      { ...good, data: 'AAAA' },
      'args.x.data',
      'expected 24 bytes (3 float64 for shape [3], 8 bytes each), found 3 bytes',
    ],
    ['data not a string', { ...good, data: [1, 2, 3] }, 'args.x.data', 'expected a base64 string, found an array'],
    ['another dtype', { ...good, dtype: 'float32' }, 'args.x.dtype', 'expected "float64", found the string "float32"'],
    ['dtype missing', { shape: [3], data: good.data }, 'args.x.dtype', 'missing: a base64 tensor has the keys "dtype", "shape" and "data"'],
    ['shape missing', { dtype: 'float64', data: good.data }, 'args.x.shape', 'missing: a base64 tensor has the keys'],
    ['data missing', { dtype: 'float64', shape: [3] }, 'args.x.data', 'missing: a base64 tensor has the keys'],
    [
      'an extra key',
      { ...good, order: 'C' },
      'args.x.order',
      'unexpected key "order": a base64 tensor has only "dtype", "shape" and "data"',
    ],
    ['an odd extra key', { ...good, 'a b': 1 }, 'args.x["a b"]', 'unexpected key "a b"'],
    ['shape not integers', { ...good, shape: [1.5] }, 'args.x.shape', 'expected an array of non-negative integers'],
  ];
  it.each(cases)('%s', (_, x, path, message) => {
    const err = caught(() => api.prepare('evaluate', { graph, args: { x } }));
    expect(err.kind).toBe('invalid_request');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0].path).toBe(path);
    expect(err.issues[0].message).toContain(message);
  });

  it('a shape other than the declared one is a shape issue (422), as for nested arrays', () => {
    const err = caught(() => api.prepare('evaluate', { graph, args: { x: b64([1, 2], [2]) } }));
    expect(err.kind).toBe('invalid_graph');
    expect(err.issues).toEqual([{ path: 'args.x', message: 'expected shape [3], found [2]' }]);
  });

  it('in tangents, cotangents and vector too, at their paths', () => {
    const bad = { ...good, dtype: 'int32' };
    expect(caught(() => api.prepare('jvp', { graph, args: { x: good }, tangents: { x: bad } })).issues[0].path).toBe('tangents.x.dtype');
    expect(caught(() => api.prepare('vjp', { graph, args: { x: good }, cotangents: { y: bad } })).issues[0].path).toBe(
      'cotangents.y.dtype',
    );
    expect(caught(() => api.prepare('hvp', { graph, args: { x: good }, vector: { x: bad } })).issues[0].path).toBe('vector.x.dtype');
  });

  it('an unknown encoding is a 400 at encoding', () => {
    const err = caught(() => api.prepare('evaluate', { graph, args: { x: good }, encoding: 'hex' }));
    expect(err.kind).toBe('invalid_request');
    expect(err.issues[0].path).toBe('encoding');
  });
});

describe('in the library', () => {
  const n = EVERY_KIND.length;
  const graph = identityGraph(n);
  const nested = { x: EVERY_KIND, k: 1, e: [] };

  it('identity through the graph: every value comes back with the same bits, base64 in and out', async () => {
    const r = await api.evaluate({ graph, args: { x: b64(EVERY_KIND), k: b64([1], []), e: b64([], [0]) }, encoding: 'base64' });
    expect(r.values.y).toMatchObject({ dtype: 'float64', shape: [n] });
    sameBits(decode(r.values.y), EVERY_KIND);
    expect(r.values.z).toEqual({ dtype: 'float64', shape: [0], data: '' });
    expect((r.values.s as unknown as Base64Tensor).shape).toEqual([]);
  });

  it('base64 and nested tensors mix in one request, and base64 results are the nested ones bit for bit', async () => {
    const mixed = { x: b64(EVERY_KIND), k: 1, e: [] };
    for (const operation of api.OPERATIONS) {
      const scalar = operation === 'gradient' || operation === 'hessian' || operation === 'hvp';
      const extra =
        operation === 'jvp'
          ? { tangents: { x: b64(EVERY_KIND.map((_, i) => i)), k: 1, e: b64([], [0]) } }
          : operation === 'vjp'
            ? { cotangents: { y: EVERY_KIND.map((_, i) => i), s: b64([2], []), z: [] } }
            : operation === 'hvp'
              ? { vector: { x: b64(EVERY_KIND.map(() => 1)), k: 0.5, e: [] } }
              : {};
      const base = { graph, ...(scalar ? { outputs: ['s'] } : {}), ...extra, mode: 'forward' };
      const plain = (await api.operations[operation]({ ...base, args: nested }, { cache: false })) as api.Result;
      const binary = (await api.operations[operation]({ ...base, args: mixed, encoding: 'base64' }, { cache: false })) as api.Result;
      const walk = (a: unknown, b: unknown, at: string): void => {
        if (b !== null && typeof b === 'object' && 'dtype' in b) {
          const want = typeof a === 'number' ? [a] : (a as unknown[]).flat(Infinity as 1);
          expect(decode(b).length, at).toBe(want.length);
          sameBits(decode(b), want as number[]);
          return;
        }
        expect(Object.keys(b as object), at).toEqual(Object.keys(a as object));
        for (const k of Object.keys(a as object)) walk((a as never)[k], (b as never)[k], `${at}.${k}`);
      };
      for (const field of ['values', operation] as const) {
        if (field === 'evaluate') continue;
        walk(plain[field as 'values'], binary[field as 'values'], `${operation}.${field}`);
      }
    }
  });

  it('encoding wins over output "nested" and "json"; output "packed" stays packed', async () => {
    const request = { graph, args: nested, encoding: 'base64' };
    for (const output of ['nested', 'json'] as const) {
      const r = await api.evaluate(request, { output });
      expect(r.values.y).toMatchObject({ dtype: 'float64', shape: [n] });
    }
    const packed = await api.evaluate(request, { output: 'packed' });
    expect(packed.values.y.data).toBeInstanceOf(Float64Array);
    sameBits(packed.values.y.data, EVERY_KIND);
  });

  it('the default encoding ("json") gives nested results as before', async () => {
    const r = await api.evaluate({ graph, args: { x: b64(EVERY_KIND), k: 1, e: [] }, encoding: 'json' });
    sameBits(r.values.y as number[], EVERY_KIND);
  });
});

describe('on a big-endian host', () => {
  it('swaps the bytes of each double when reading and writing: the wire stays little-endian', async () => {
    vi.resetModules();
    vi.doMock('node:os', async (importOriginal) => ({ ...(await importOriginal<typeof import('node:os')>()), endianness: () => 'BE' }));
    try {
      const be = await import('./base64.js');
      const wire = b64([1, -0, NaN, Number.MIN_VALUE]);
      const t = be.parseBase64Tensor(wire as never, 'x');
      if (isTensorIssue(t)) throw new Error(t.message);
      // this host is little-endian, so the swapped doubles read back byte-reversed
      const raw = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      const sent = Buffer.from(wire.data, 'base64');
      for (let i = 0; i < sent.length; i++) expect(raw[i]).toBe(sent[(i & ~7) + 7 - (i & 7)]);
      // and written back, the wire is the same little-endian text (the tensor itself untouched)
      const before = Buffer.from(raw);
      expect(be.toBase64(t)).toEqual(wire);
      expect(raw.equals(before)).toBe(true);
    } finally {
      vi.doUnmock('node:os');
      vi.resetModules();
    }
  });
});
