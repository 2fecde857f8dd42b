/**
 * POST /v1/<operation> over HTTP (fastify inject): every endpoint on the seed graph
 * and its scalar variant, against the analytic derivatives of test/seed.test.ts and
 * test/hessian.test.ts, in every mode, with d constant and active. Then the wire
 * details: headers, the response schemas, bare scalars, NaN and infinities both
 * ways, exact round-trips of finite numbers, and `__proto__` as a name.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { ResultSchemas } from '../../src/server/schemas.js';
import { expectClose } from '../helpers/numeric.js';

type Op = keyof typeof ResultSchemas;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

import { d, dot, drdd, drdxs, dsdd, dsdxs, graph, rRef, scalarGraph, sdd, sdx, sRef, sxx, xs } from '../helpers/seed.js';

// directions: tangents / hvp vector, and cotangents
const td = d.map((_, i) => Math.cos(i));
const txs = 0.7;
const cvec = d.map((_, i) => Math.sin(3 * i));
const jvpActive = drdd.map((row, i) => dot(row, td) + drdxs[i] * txs);
const jvpConst = drdxs.map((v) => v * txs);
const vjpD = d.map((_, j) =>
  dot(
    cvec,
    drdd.map((row) => row[j]),
  ),
);
const vjpXs = dot(cvec, drdxs);
const hvpD = sdd.map((row, i) => dot(row, td) + sdx[i] * txs);
const hvpXs = dot(sdx, td) + sxx * txs;

/** Every value in a parsed body, recursively: JSON null must never appear. */
function hasNull(v: unknown): boolean {
  if (v === null) return true;
  if (typeof v === 'object') return Object.values(v as object).some(hasNull);
  return false;
}

let built: App;
beforeAll(async () => {
  built = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent' });
  await built.app.ready();
});
afterAll(() => built.app.close());

/** Posts a raw JSON text (or a value, stringified) to /v1/<op>. */
async function post(op: string, body: unknown, headers: Record<string, string> = {}) {
  return built.app.inject({
    method: 'POST',
    url: `/v1/${op}`,
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

const SERVER_TIMING =
  /^validate;dur=(\d+\.\d{3}), plan;dur=(\d+\.\d{3}), evaluate;dur=(\d+\.\d{3}), differentiate;dur=(\d+\.\d{3})(?:, check;dur=(\d+\.\d{3}))?, total;dur=(\d+\.\d{3})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A 200 for `op`: JSON, valid against ResultSchemas[op] with no other top-level keys, headers consistent. */
async function ok(op: Op, body: unknown, headers: Record<string, string> = {}): Promise<Json> {
  const res = await post(op, body, headers);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json(;|$)/);
  expect(res.body).not.toContain('null');
  const json = res.json();
  const parsed = ResultSchemas[op].safeParse(json);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  const allowed = Object.keys(ResultSchemas[op].shape);
  for (const k of Object.keys(json)) expect(allowed, `unexpected top-level key ${k}`).toContain(k);
  expect(json).toHaveProperty(op === 'evaluate' ? 'values' : op);
  // Server-Timing carries the body's timings, stage by stage
  const m = SERVER_TIMING.exec(String(res.headers['server-timing']));
  expect(m, String(res.headers['server-timing'])).not.toBeNull();
  const t = json.timings;
  expect(m!.slice(1)).toEqual(
    [t.validateMs, t.planMs, t.evaluateMs, t.differentiateMs, t.checkMs, t.totalMs].map((v) =>
      v === undefined ? undefined : v.toFixed(3),
    ),
  );
  expect(typeof res.headers['x-request-id']).toBe('string');
  return json;
}

const MODES = ['forward', 'reverse', 'auto', 'fd'] as const;
const tol = (mode: string): number => (mode === 'fd' ? 1e-7 : 1e-12);

describe('evaluate', () => {
  test('the seed graph: values of r, no derivative fields', async () => {
    const res = await ok('evaluate', { graph, args: { d, xs } });
    expectClose(res.values.r, rRef, 1e-12);
    expect(Object.keys(res).sort()).toEqual(['stats', 'timings', 'values']);
    expect(res.stats.directions).toBe(0);
  });

  test('the scalar variant: a bare number', async () => {
    const res = await ok('evaluate', { graph: scalarGraph, args: { d, xs }, constant: ['d'] });
    expect(typeof res.values.s).toBe('number');
    expectClose(res.values.s, sRef, 1e-12);
  });

  for (const mode of MODES) {
    test(`accepts mode ${mode} and still computes no derivative`, async () => {
      const res = await ok('evaluate', { graph, args: { d, xs }, mode });
      expect(res).not.toHaveProperty('mode');
      expectClose(res.values.r, rRef, 1e-12);
    });
  }
});

describe.each(MODES)('mode %s', (mode) => {
  const eps = tol(mode);

  test('jacobian, d constant: only dr/dxs', async () => {
    const res = await ok('jacobian', { graph, args: { d, xs }, constant: ['d'], mode });
    expect(res.mode).toBe(mode === 'auto' ? 'forward' : mode);
    expectClose(res.values.r, rRef, 1e-12);
    expect(Object.keys(res.jacobian.r)).toEqual(['xs']);
    expectClose(res.jacobian.r.xs, drdxs, eps);
  });

  test('jacobian, d active: dr/dd = I - f fᵀ/(f·f) and dr/dxs', async () => {
    const res = await ok('jacobian', { graph, args: { d, xs }, mode });
    expect(Object.keys(res.jacobian.r)).toEqual(['d', 'xs']);
    expect(res.jacobian.r.d).toHaveLength(21);
    expect(res.jacobian.r.d[0]).toHaveLength(21);
    expectClose(res.jacobian.r.d, drdd, eps);
    expectClose(res.jacobian.r.xs, drdxs, eps);
  });

  test('gradient of the scalar variant, d constant: a bare number', async () => {
    const res = await ok('gradient', { graph: scalarGraph, args: { d, xs }, constant: ['d'], mode });
    expect(typeof res.values.s).toBe('number');
    expect(Object.keys(res.gradient)).toEqual(['xs']);
    expect(typeof res.gradient.xs).toBe('number');
    expectClose(res.gradient.xs, dsdxs, eps);
  });

  test('gradient of the scalar variant, d active: 2r and 2 r·dr/dxs', async () => {
    const res = await ok('gradient', { graph: scalarGraph, args: { d, xs }, mode });
    expectClose(res.gradient.d, dsdd, eps);
    expectClose(res.gradient.xs, dsdxs, eps);
  });

  test('jvp, d constant and active', async () => {
    const a = await ok('jvp', { graph, args: { d, xs }, constant: ['d'], tangents: { xs: txs }, mode });
    expectClose(a.jvp.r, jvpConst, eps);
    const b = await ok('jvp', { graph, args: { d, xs }, tangents: { d: td, xs: txs }, mode });
    expect(Object.keys(b.jvp)).toEqual(['r']);
    expectClose(b.jvp.r, jvpActive, eps);
  });

  test('jvp of the scalar variant: a bare number', async () => {
    const res = await ok('jvp', { graph: scalarGraph, args: { d, xs }, constant: ['d'], tangents: { xs: 1 }, mode });
    expect(typeof res.jvp.s).toBe('number');
    expectClose(res.jvp.s, dsdxs, eps);
  });

  test('vjp, d constant and active', async () => {
    const a = await ok('vjp', { graph, args: { d, xs }, constant: ['d'], cotangents: { r: cvec }, mode });
    expect(Object.keys(a.vjp)).toEqual(['xs']);
    expect(typeof a.vjp.xs).toBe('number');
    expectClose(a.vjp.xs, vjpXs, eps);
    const b = await ok('vjp', { graph, args: { d, xs }, cotangents: { r: cvec }, mode });
    expect(Object.keys(b.vjp)).toEqual(['d', 'xs']);
    expectClose(b.vjp.d, vjpD, eps);
    expectClose(b.vjp.xs, vjpXs, eps);
  });

  test('vjp of the scalar variant with a scalar cotangent', async () => {
    const res = await ok('vjp', { graph: scalarGraph, args: { d, xs }, cotangents: { s: 0.5 }, mode });
    expectClose(
      res.vjp.d,
      dsdd.map((v) => v * 0.5),
      eps,
    );
    expectClose(res.vjp.xs, dsdxs * 0.5, eps);
  });

  test('hessian, d constant: one bare number', async () => {
    const res = await ok('hessian', { graph: scalarGraph, args: { d, xs }, constant: ['d'], mode });
    expect(Object.keys(res.hessian)).toEqual(['xs']);
    expect(Object.keys(res.hessian.xs)).toEqual(['xs']);
    expect(typeof res.hessian.xs.xs).toBe('number');
    expectClose(res.hessian.xs.xs, sxx, eps);
  });

  test('hessian, d active: every block against the closed form', async () => {
    const res = await ok('hessian', { graph: scalarGraph, args: { d, xs }, mode });
    expect(Object.keys(res.hessian)).toEqual(['d', 'xs']);
    expect(Object.keys(res.hessian.d)).toEqual(['d', 'xs']);
    expectClose(res.hessian.d.d, sdd, eps);
    expectClose(res.hessian.d.xs, sdx, eps);
    expectClose(res.hessian.xs.d, sdx, eps);
    expectClose(res.hessian.xs.xs, sxx, eps);
  });

  test('hvp, d constant and active', async () => {
    const a = await ok('hvp', { graph: scalarGraph, args: { d, xs }, constant: ['d'], vector: { xs: txs }, mode });
    expect(Object.keys(a.hvp)).toEqual(['xs']);
    expectClose(a.hvp.xs, sxx * txs, eps);
    const b = await ok('hvp', { graph: scalarGraph, args: { d, xs }, vector: { d: td, xs: txs }, mode });
    expectClose(b.hvp.d, hvpD, eps);
    expectClose(b.hvp.xs, hvpXs, eps);
  });
});

describe('auto picks and explains', () => {
  test('jacobian with d constant runs forward with one direction', async () => {
    const res = await ok('jacobian', { graph, args: { d, xs }, constant: ['d'] });
    expect(res.mode).toBe('forward');
    expect(res.stats).toMatchObject({ directions: 1, activeNodes: 9, inactiveNodes: 1 });
    expect(res.reason).toMatch(/^1 active input element vs 21 output elements/);
  });

  test('gradient with d active runs reverse with one direction', async () => {
    const res = await ok('gradient', { graph: scalarGraph, args: { d, xs } });
    expect([res.mode, res.stats.directions]).toEqual(['reverse', 1]);
  });

  test('check: true reports the fd error in the body and a check stage in Server-Timing', async () => {
    const res = await ok('jacobian', { graph, args: { d, xs }, check: true });
    expect(res.check.maxRelError).toBeLessThan(1e-7);
    expect(typeof res.timings.checkMs).toBe('number');
  });
});

describe('headers', () => {
  const body = { graph, args: { d, xs }, constant: ['d'] };

  test('a sane incoming x-request-id is echoed', async () => {
    for (const id of ['abc-123', 'req_1.2:3@host/x+y=z', 'a'.repeat(128)]) {
      const res = await post('jacobian', body, { 'x-request-id': id });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-request-id']).toBe(id);
    }
  });

  test('a missing or absurd x-request-id is replaced by a UUID', async () => {
    const absurd = ['x'.repeat(500), 'a b', 'a\tb', 'abc\u00e9', '<script>', ''];
    const missing = await post('jacobian', body);
    expect(missing.headers['x-request-id']).toMatch(UUID);
    const ids = new Set([missing.headers['x-request-id']]);
    for (const id of absurd) {
      const res = await post('jacobian', body, { 'x-request-id': id });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-request-id'], JSON.stringify(id)).toMatch(UUID);
      ids.add(res.headers['x-request-id']);
    }
    expect(ids.size).toBe(absurd.length + 1); // a fresh one each time
  });

  test('an x-request-id with a newline never reaches the response', async () => {
    // Node refuses such a header on a real socket; inject hands it through, and it is replaced.
    const res = await post('jacobian', body, { 'x-request-id': 'abc\ndef' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  test('content-type is application/json with Server-Timing on every compute endpoint', async () => {
    const requests: [Op, unknown][] = [
      ['evaluate', body],
      ['jacobian', body],
      ['gradient', { ...body, graph: scalarGraph }],
      ['jvp', { ...body, tangents: { xs: 1 } }],
      ['vjp', { ...body, cotangents: { r: cvec } }],
      ['hessian', { ...body, graph: scalarGraph }],
      ['hvp', { ...body, graph: scalarGraph, vector: { xs: 1 } }],
    ];
    for (const [op, b] of requests) await ok(op, b); // ok() checks the headers
  });
});

describe('NaN and infinities, both ways', () => {
  const vec = (n: number, nodes: unknown[], outputs: string[]) => ({ inputs: [{ name: 'x', shape: [n] }], nodes, outputs });

  test('log of [0, -1] gives ["-Infinity", "NaN"] and derivatives 1/x, with no null in the text', async () => {
    const req = { graph: vec(2, [{ id: 'y', op: 'log', args: ['x'] }], ['y']), args: { x: [0, -1] } };
    const ev = await post('evaluate', req);
    expect(ev.body).toContain('"y":["-Infinity","NaN"]');
    expect(ev.body).not.toContain('null');
    for (const mode of ['forward', 'reverse'] as const) {
      const res = await ok('jacobian', { ...req, mode });
      expect(res.values.y).toEqual(['-Infinity', 'NaN']);
      expect(res.jacobian.y.x).toEqual([
        ['Infinity', 0],
        [0, -1],
      ]);
    }
  });

  test('check: true with non-finite derivatives: the errors are wire floats, never null', async () => {
    const res = await post('jacobian', { graph: vec(2, [{ id: 'y', op: 'log', args: ['x'] }], ['y']), args: { x: [0, -1] }, check: true });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('null');
    const json = res.json();
    expect(ResultSchemas.jacobian.safeParse(json).success).toBe(true);
    // fd is NaN at x = 0 (log of -h) and at -1: a NaN difference, written as the wire string
    expect(json.check).toEqual({ maxAbsError: 'NaN', maxRelError: 'NaN' });
  });

  test('the strings are accepted in args, const values and fill values', async () => {
    const g = vec(
      3,
      [
        { id: 'y', op: 'neg', args: ['x'] },
        {
          id: 'c',
          op: 'const',
          value: [
            ['NaN', 'Infinity'],
            ['-Infinity', 2],
          ],
        },
        { id: 'f', op: 'fill', shape: [2], value: '-Infinity' },
        { id: 'n', op: 'fill', shape: [], value: 'NaN' },
      ],
      ['y', 'c', 'f', 'n'],
    );
    const res = await ok('evaluate', { graph: g, args: { x: ['NaN', 'Infinity', '-Infinity'] } });
    expect(res.values).toEqual({
      y: ['NaN', '-Infinity', 'Infinity'],
      c: [
        ['NaN', 'Infinity'],
        ['-Infinity', 2],
      ],
      f: ['-Infinity', '-Infinity'],
      n: 'NaN',
    });
  });

  test('a scalar argument may be a string too', async () => {
    const g = { inputs: [{ name: 'x', shape: [] }], nodes: [{ id: 'y', op: 'neg', args: ['x'] }], outputs: ['y'] };
    expect((await ok('evaluate', { graph: g, args: { x: 'Infinity' } })).values.y).toBe('-Infinity');
    expect((await ok('evaluate', { graph: g, args: { x: 'NaN' } })).values.y).toBe('NaN');
  });

  test('tangents, cotangents and the hvp vector accept them', async () => {
    const g = vec(2, [{ id: 'y', op: 'mul', args: ['x', 2] }], ['y']);
    const a = await ok('jvp', { graph: g, args: { x: [1, 2] }, tangents: { x: ['NaN', '-Infinity'] } });
    expect(a.jvp.y).toEqual(['NaN', '-Infinity']);
    const b = await ok('vjp', { graph: g, args: { x: [1, 2] }, cotangents: { y: ['Infinity', 'NaN'] } });
    expect(b.vjp.x).toEqual(['Infinity', 'NaN']);
    const s = vec(
      2,
      [
        { id: 'q', op: 'square', args: ['x'] },
        { id: 's', op: 'sum', args: ['q'] },
      ],
      ['s'],
    );
    for (const mode of ['forward', 'reverse'] as const) {
      const h = await ok('hvp', { graph: s, args: { x: [1, 2] }, vector: { x: ['Infinity', 1] }, mode });
      expect(h.hvp.x).toEqual(['Infinity', 2]); // H = 2I, zero-annihilating off the diagonal
    }
  });

  test('lower-case or JSON-null stand-ins are refused (400, exact path)', async () => {
    const g = vec(2, [{ id: 'y', op: 'neg', args: ['x'] }], ['y']);
    for (const bad of ['nan', 'inf', null]) {
      const res = await post('evaluate', { graph: g, args: { x: [1, bad] } });
      expect(res.statusCode).toBe(400);
      expect(res.json().errors.map((e: Json) => e.path)).toEqual(['args.x[1]']);
    }
  });
});

describe('finite numbers round-trip exactly', () => {
  const values = [0.1 + 0.2, 1e-310, 5e-324, -5e-324, 1.7976931348623157e308, -2.2250738585072014e-308, 1 / 3, 123456789.12345679];
  const g = { inputs: [{ name: 'x', shape: [values.length] }], nodes: [{ id: 'y', op: 'neg', args: ['x'] }], outputs: ['x', 'y'] };

  test('identity and neg give back the same doubles, bit for bit', async () => {
    const res = await post('evaluate', { graph: g, args: { x: values } });
    expect(res.statusCode).toBe(200);
    const json = res.json();
    json.values.x.forEach((v: number, i: number) => expect(Object.is(v, values[i]), `x[${i}]`).toBe(true));
    json.values.y.forEach((v: number, i: number) => expect(Object.is(v, -values[i]), `y[${i}]`).toBe(true));
    // written with shortest round-trip precision
    expect(res.body).toContain('0.30000000000000004');
    expect(res.body).toContain('1e-310');
    expect(res.body).toContain('5e-324');
  });

  test('the raw text of the request travels unchanged', async () => {
    const raw = '{"graph":{"inputs":[{"name":"x","shape":[2]}],"nodes":[],"outputs":["x"]},"args":{"x":[0.30000000000000004,1e-310]}}';
    const res = await post('evaluate', raw);
    expect(res.body).toContain('"values":{"x":[0.30000000000000004,1e-310]}');
  });
});

describe('__proto__ is an ordinary name over HTTP', () => {
  test('an input named __proto__', async () => {
    const g =
      '{"inputs":[{"name":"__proto__","shape":[2]}],"nodes":[{"id":"y","op":"square","args":["__proto__"]},{"id":"s","op":"sum","args":["y"]}],"outputs":["s"]}';
    const ev = await post('evaluate', `{"graph":${g},"args":{"__proto__":[1,2]}}`);
    expect(ev.statusCode, ev.body).toBe(200);
    expect(ev.json().values.s).toBe(5);

    const gr = await post('gradient', `{"graph":${g},"args":{"__proto__":[1,2]}}`);
    expect(gr.statusCode, gr.body).toBe(200);
    expect(gr.body).toContain('"gradient":{"__proto__":[2,4]}');
    const json = gr.json();
    expect(Object.hasOwn(json.gradient, '__proto__')).toBe(true);
    expect(json.gradient.__proto__).toEqual([2, 4]);

    const jv = await post('jvp', `{"graph":${g},"args":{"__proto__":[1,2]},"tangents":{"__proto__":[1,0]}}`);
    expect(jv.json().jvp.s).toBe(2);
    const hv = await post('hvp', `{"graph":${g},"args":{"__proto__":[1,2]},"vector":{"__proto__":[1,1]}}`);
    expect(hv.body).toContain('"hvp":{"__proto__":[2,2]}');
    const he = await post('hessian', `{"graph":${g},"args":{"__proto__":[1,2]}}`);
    expect(he.body).toContain('"hessian":{"__proto__":{"__proto__":[[2,0],[0,2]]}}');
  });

  test('a node id __proto__ as the output', async () => {
    const g = '{"inputs":[{"name":"x","shape":[]}],"nodes":[{"id":"__proto__","op":"mul","args":["x",3]}],"outputs":["__proto__"]}';
    const jac = await post('jacobian', `{"graph":${g},"args":{"x":2}}`);
    expect(jac.statusCode, jac.body).toBe(200);
    expect(jac.body).toContain('"values":{"__proto__":6},"jacobian":{"__proto__":{"x":3}}');
    const json = jac.json();
    expect(Object.hasOwn(json.values, '__proto__')).toBe(true);
    expect(ResultSchemas.jacobian.safeParse(json).success).toBe(true);
    const vjp = await post('vjp', `{"graph":${g},"args":{"x":2},"cotangents":{"__proto__":2}}`);
    expect(vjp.body).toContain('"vjp":{"x":6}');
  });

  test('a missing __proto__ argument is reported with its path', async () => {
    const g = '{"inputs":[{"name":"__proto__","shape":[]}],"nodes":[],"outputs":["__proto__"]}';
    const res = await post('evaluate', `{"graph":${g},"args":{}}`);
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([{ path: 'args.__proto__', message: 'missing argument "__proto__" of shape []' }]);
  });
});

describe('every 200 is clean', () => {
  test('no JSON null anywhere in a response body', async () => {
    const res = await post('hessian', { graph: scalarGraph, args: { d, xs }, check: true });
    expect(res.statusCode).toBe(200);
    expect(hasNull(res.json())).toBe(false);
  });
});
