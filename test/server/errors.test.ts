/**
 * Every error leaves as application/problem+json (RFC 9457) with the right status:
 * 400 (not JSON, schema), 422 (graph or call), 413 (limits), 415 (media type), 404, 405,
 * and a masked 500 for the unexpected. A property test posts random bodies and
 * never sees a 500, HTML or a stack trace.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG, type Config } from '../../src/server/config.js';
import { PROBLEMS } from '../../src/server/problem.js';
import { ProblemSchema, ResultSchemas } from '../../src/server/schemas.js';
import { SEED_GRAPH, SEED_REQUEST } from '../../src/server/seed-example.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Response = Awaited<ReturnType<App['app']['inject']>>;
const OPS = ['evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp'] as const;
const PROBLEM_KEYS = ['type', 'title', 'status', 'detail', 'instance', 'errors'];

const scalarGraph = {
  ...SEED_GRAPH,
  nodes: [...SEED_GRAPH.nodes, { id: 'r2', op: 'square', args: ['r'] }, { id: 's', op: 'sum', args: ['r2'] }],
  outputs: ['s'],
};

/** A valid request for each operation (the seed, or its scalar variant). */
const valid: Record<string, Json> = {
  evaluate: SEED_REQUEST,
  jacobian: SEED_REQUEST,
  gradient: { ...SEED_REQUEST, graph: scalarGraph },
  jvp: { ...SEED_REQUEST, tangents: { xs: 1 } },
  vjp: { ...SEED_REQUEST, cotangents: { r: SEED_REQUEST.args.d } },
  hessian: { ...SEED_REQUEST, graph: scalarGraph, constant: [] },
  hvp: { ...SEED_REQUEST, graph: scalarGraph, vector: { xs: 1 } },
};

let built: App;
beforeAll(async () => {
  built = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent' });
  await built.app.ready();
});
afterAll(() => built.app.close());

/** Apps built by one test with their own config, closed after it. */
const extra: App[] = [];
afterEach(async () => {
  await Promise.all(extra.splice(0).map((a) => a.app.close()));
});
async function appWith(config: Partial<Config>, logStream?: NodeJS.WritableStream): Promise<App> {
  const a = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', ...config }, logStream);
  extra.push(a);
  return a;
}

let counter = 0;
/** Posts a raw body with a known request id (the problem's `instance` must be it). */
async function send(
  url: string,
  payload: string | undefined,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  app = built.app,
  method: 'POST' | 'GET' = 'POST',
) {
  const id = `err-test-${++counter}`;
  const res = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }), headers: { 'x-request-id': id, ...headers } });
  return { res, id };
}
const postJson = (op: string, body: unknown, app = built.app) => send(`/v1/${op}`, JSON.stringify(body), undefined, app);

/** The response is a problem of this kind; returns its body. */
function expectProblem({ res, id }: { res: Response; id: string }, entry: { status: number; type: string; title: string }): Json {
  expect(res.statusCode, res.body).toBe(entry.status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
  expect(res.headers['x-request-id']).toBe(id);
  const body = res.json();
  expect(ProblemSchema.safeParse(body).success, res.body).toBe(true);
  for (const k of Object.keys(body)) expect(PROBLEM_KEYS).toContain(k);
  expect(body).toMatchObject({ type: entry.type, title: entry.title, status: entry.status, instance: id });
  expect(typeof body.detail).toBe('string');
  expect(body.detail.length).toBeGreaterThan(0);
  expect(res.body).not.toMatch(/\bat .*\.(?:ts|js):\d+/); // no stack frames
  return body;
}

const paths = (body: Json): string[] => body.errors.map((e: Json) => e.path);

describe('400: not JSON, or not the schema', () => {
  test('a body that is not JSON', async () => {
    for (const raw of ['not json', '{"graph":', '{graph: 1}', "{'a': 1}", '{"a":1,}', 'NaN']) {
      const body = expectProblem(await send('/v1/jacobian', raw), PROBLEMS.malformed_body);
      // like every 400, an errors[] entry: the whole body, at the root path
      expect(body.errors).toEqual([{ path: '', message: body.detail }]);
    }
  });

  test('an empty body', async () => {
    const body = expectProblem(await send('/v1/jacobian', ''), PROBLEMS.malformed_body);
    expect(body.detail).toMatch(/empty/);
    expect(body.errors).toEqual([{ path: '', message: body.detail }]);
  });

  test('a JSON array, string, number or null body', async () => {
    for (const [raw, found] of [
      ['[]', 'an array'],
      ['[1, 2]', 'an array'],
      ['"graph"', 'the string "graph"'],
      ['42', 'the number 42'],
      ['null', 'null'],
      ['true', 'a boolean'],
    ]) {
      const body = expectProblem(await send('/v1/jacobian', raw), PROBLEMS.invalid_request);
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0].path).toBe('');
      expect(body.errors[0].message).toContain(found);
    }
  });

  test('an unknown op, at graph.nodes[0].op', async () => {
    const graph = { ...SEED_GRAPH, nodes: [{ id: 'x', op: 'frobnicate', value: [1] }, ...SEED_GRAPH.nodes.slice(1)] };
    const body = expectProblem(await postJson('jacobian', { ...SEED_REQUEST, graph }), PROBLEMS.invalid_request);
    expect(paths(body)).toEqual(['graph.nodes[0].op']);
    expect(body.errors[0].message).toMatch(/^unknown op "frobnicate": expected one of const, /);
  });

  test('an internal op is unknown on the wire', async () => {
    const graph = { inputs: [{ name: 'x', shape: [] }], nodes: [{ id: 'y', op: 'zmul', args: ['x', 'x'] }], outputs: ['y'] };
    const body = expectProblem(await postJson('evaluate', { graph, args: { x: 1 } }), PROBLEMS.invalid_request);
    expect(paths(body)).toEqual(['graph.nodes[0].op']);
  });

  test('a wrongly typed attribute', async () => {
    const graph = {
      inputs: [{ name: 'x', shape: [2] }],
      nodes: [
        { id: 'y', op: 'sum', args: ['x'], keepdims: 'yes' },
        { id: 'z', op: 'sum', args: ['x'], axes: [0.5] },
      ],
      outputs: ['y', 'z'],
    };
    const body = expectProblem(await postJson('evaluate', { graph, args: { x: [1, 2] } }), PROBLEMS.invalid_request);
    expect(paths(body).sort()).toEqual(['graph.nodes[0].keepdims', 'graph.nodes[1].axes[0]']);
    expect(body.errors.find((e: Json) => e.path === 'graph.nodes[0].keepdims').message).toBe('expected a boolean, found the string "yes"');
  });

  test('unknown fields at every level', async () => {
    const graph = {
      ...SEED_GRAPH,
      extra: 1,
      inputs: [{ ...SEED_GRAPH.inputs[0], dtype: 'f32' }, SEED_GRAPH.inputs[1]],
      nodes: [{ ...SEED_GRAPH.nodes[0], axis: 0 }, ...SEED_GRAPH.nodes.slice(1)],
    };
    const body = expectProblem(await postJson('jacobian', { ...SEED_REQUEST, graph, tangents: {} }), PROBLEMS.invalid_request);
    expect(paths(body).sort()).toEqual(['graph.extra', 'graph.inputs[0].dtype', 'graph.nodes[0].axis', 'tangents'].sort());
    expect(body.errors.find((e: Json) => e.path === 'tangents').message).toBe(
      'unknown field "tangents": expected one of graph, args, constant, mode, check, outputs, batched, encoding, format',
    );
  });

  test('missing required fields', async () => {
    const body = expectProblem(await postJson('jvp', { graph: SEED_GRAPH }), PROBLEMS.invalid_request);
    expect(paths(body).sort()).toEqual(['args', 'tangents']);
  });

  test('an unknown mode', async () => {
    for (const op of OPS) {
      const body = expectProblem(await postJson(op, { ...valid[op], mode: 'backward' }), PROBLEMS.invalid_request);
      expect(body.errors).toEqual([
        { path: 'mode', message: 'unknown mode "backward": expected one of "auto", "forward", "reverse", "fd"' },
      ]);
    }
  });

  test('a non-float element of an argument', async () => {
    const body = expectProblem(
      await postJson('jacobian', { ...SEED_REQUEST, args: { ...SEED_REQUEST.args, xs: 'zero' } }),
      PROBLEMS.invalid_request,
    );
    expect(paths(body)).toEqual(['args.xs']);
  });
});

describe('422: a valid structure that is not a valid graph or call', () => {
  const g = (nodes: unknown[], outputs = ['y']) => ({ inputs: [{ name: 'x', shape: [2] }], nodes, outputs });

  test('a cycle', async () => {
    const graph = g([
      { id: 'y', op: 'neg', args: ['z'] },
      { id: 'z', op: 'exp', args: ['y'] },
    ]);
    const body = expectProblem(await postJson('evaluate', { graph, args: { x: [1, 2] } }), PROBLEMS.invalid_graph);
    expect(body.errors).toEqual([{ path: 'graph.nodes[0]', message: 'cycle: "y" -> "z" -> "y"; each node uses the next' }]);
  });

  test('a shape mismatch', async () => {
    const graph = g([
      { id: 'c', op: 'const', value: [1, 2, 3] },
      { id: 'y', op: 'add', args: ['x', 'c'] },
    ]);
    const body = expectProblem(await postJson('jacobian', { graph, args: { x: [1, 2] } }), PROBLEMS.invalid_graph);
    expect(body.errors).toEqual([{ path: 'graph.nodes[1].args[1]', message: 'add: argument shape [3] does not broadcast with [2]' }]);
  });

  test('an unknown reference', async () => {
    const graph = g([{ id: 'y', op: 'mul', args: ['x', 'w'] }]);
    const body = expectProblem(await postJson('jacobian', { graph, args: { x: [1, 2] } }), PROBLEMS.invalid_graph);
    expect(body.errors).toEqual([{ path: 'graph.nodes[0].args[1]', message: 'unknown reference "w": no input or node has this id' }]);
  });

  test('an unknown output', async () => {
    const body = expectProblem(await postJson('evaluate', { graph: g([], ['zz']), args: { x: [1, 2] } }), PROBLEMS.invalid_graph);
    expect(paths(body)).toEqual(['graph.outputs[0]']);
  });

  test('a non-scalar output for gradient, hessian and hvp', async () => {
    for (const op of ['gradient', 'hessian', 'hvp'] as const) {
      const body = expectProblem(
        await postJson(op, { ...SEED_REQUEST, ...(op === 'hvp' ? { vector: { xs: 1 } } : {}) }),
        PROBLEMS.invalid_graph,
      );
      expect(body.errors).toEqual([
        { path: 'graph.outputs[0]', message: `${op} needs a scalar output (shape []), but "r" has shape [21]` },
      ]);
    }
  });

  test('several outputs for a scalar operation', async () => {
    const graph = { ...scalarGraph, outputs: ['s', 'r'] };
    const body = expectProblem(await postJson('gradient', { ...SEED_REQUEST, graph }), PROBLEMS.invalid_graph);
    expect(paths(body).sort()).toEqual(['graph.outputs', 'graph.outputs[1]']);
  });

  test('an argument of the wrong shape, at args.d', async () => {
    const body = expectProblem(
      await postJson('jacobian', { ...SEED_REQUEST, args: { ...SEED_REQUEST.args, d: [1, 2, 3] } }),
      PROBLEMS.invalid_graph,
    );
    expect(body.errors).toEqual([{ path: 'args.d', message: 'expected an array of length 21 (shape [21]), found length 3' }]);
  });

  test('a constant naming no input, at constant[0]', async () => {
    const body = expectProblem(await postJson('jacobian', { ...SEED_REQUEST, constant: ['D'] }), PROBLEMS.invalid_graph);
    expect(body.errors).toEqual([{ path: 'constant[0]', message: '"D" names no input: expected one of "d", "xs"' }]);
  });

  test('missing and unexpected tangents, cotangents and vector entries', async () => {
    const a = expectProblem(await postJson('jvp', { ...SEED_REQUEST, tangents: { d: 1 } }), PROBLEMS.invalid_graph);
    expect(paths(a).sort()).toEqual(['tangents.d', 'tangents.xs']);
    const b = expectProblem(await postJson('vjp', { ...SEED_REQUEST, cotangents: {} }), PROBLEMS.invalid_graph);
    expect(b.errors).toEqual([{ path: 'cotangents.r', message: 'missing cotangent "r" of shape [21]' }]);
    const c = expectProblem(await postJson('hvp', { ...SEED_REQUEST, graph: scalarGraph, vector: { xs: [1] } }), PROBLEMS.invalid_graph);
    expect(paths(c)).toEqual(['vector.xs']);
  });

  test('all issues at once', async () => {
    const graph = { inputs: [{ name: 'x', shape: [2] }], nodes: [{ id: 'y', op: 'neg', args: ['q'] }], outputs: ['y'] };
    const body = expectProblem(await postJson('jacobian', { graph, args: { x: [1], z: 2 }, constant: ['k'] }), PROBLEMS.invalid_graph);
    expect(paths(body).sort()).toEqual(['args.x', 'args.z', 'constant[0]', 'graph.nodes[0].args[0]']);
    expect(body.detail).toBe('4 issues: see errors');
  });
});

describe('413: over a configured limit', () => {
  test('a body over BODY_LIMIT', async () => {
    const { app } = await appWith({ bodyLimit: 256 });
    const raw = JSON.stringify(SEED_REQUEST);
    expect(raw.length).toBeGreaterThan(256);
    const body = expectProblem(await send('/v1/jacobian', raw, undefined, app), PROBLEMS.limit_exceeded);
    expect(body.detail).toBe('the body is larger than BODY_LIMIT (256 bytes)');
    expect(body.errors).toEqual([{ path: '', message: body.detail }]);
    // just under the limit is fine as far as the size goes
    const small = JSON.stringify({ graph: { inputs: [], nodes: [], outputs: ['x'] }, args: {} });
    expect((await send('/v1/evaluate', small, undefined, app)).res.statusCode).toBe(422);
  });

  test('a graph over MAX_NODES', async () => {
    const { app } = await appWith({ maxNodes: 5 });
    const body = expectProblem(await postJson('jacobian', SEED_REQUEST, app), PROBLEMS.limit_exceeded);
    expect(body.errors).toEqual([{ path: 'graph.nodes', message: 'expected at most 5 nodes (MAX_NODES), found 10' }]);
  });

  test('a tensor over MAX_ELEMENTS', async () => {
    const { app } = await appWith({ maxElements: 20 });
    const body = expectProblem(await postJson('jacobian', SEED_REQUEST, app), PROBLEMS.limit_exceeded);
    expect(paths(body)).toContain('graph.inputs[0].shape');
    expect(body.errors.find((e: Json) => e.path === 'graph.inputs[0].shape').message).toBe(
      'shape [21] has 21 elements, more than MAX_ELEMENTS (20)',
    );
  });

  test('a Jacobian block over MAX_ELEMENTS (d active: 21 × 21)', async () => {
    const { app } = await appWith({ maxElements: 100 });
    expect((await postJson('jacobian', SEED_REQUEST, app)).res.statusCode).toBe(200); // d constant: 21 × 1
    const body = expectProblem(await postJson('jacobian', { ...SEED_REQUEST, constant: [] }, app), PROBLEMS.limit_exceeded);
    expect(body.errors[0]).toEqual({
      path: 'graph',
      message:
        'the Jacobian block of output "r" with respect to input "d" would have shape [21, 21] (441 elements), more than MAX_ELEMENTS (100)',
    });
  });
});

describe('413: what the result returns counts', () => {
  test('a graph over MAX_INPUTS', async () => {
    const { app } = await appWith({ maxInputs: 1 });
    const body = expectProblem(await postJson('jacobian', SEED_REQUEST, app), PROBLEMS.limit_exceeded);
    expect(body.errors).toEqual([{ path: 'graph.inputs', message: 'expected at most 1 inputs (MAX_INPUTS), found 2' }]);
  });

  test('values of every output and the derivatives together count against MAX_ELEMENTS', async () => {
    // d constant: 21 values + 21 × 1 Jacobian entries
    const { app } = await appWith({ maxElements: 41 });
    const body = expectProblem(await postJson('jacobian', SEED_REQUEST, app), PROBLEMS.limit_exceeded);
    expect(body.errors).toEqual([
      { path: 'graph.outputs', message: expect.stringContaining('42 numbers (values 21, derivatives 21), more than MAX_ELEMENTS (41)') },
    ]);
    const { app: roomy } = await appWith({ maxElements: 42 });
    expect((await postJson('jacobian', SEED_REQUEST, roomy)).res.statusCode).toBe(200);
  });

  test('a small request for a huge response is refused by MAX_RESPONSE_BYTES', async () => {
    const { app } = await appWith({ maxResponseBytes: 1 << 20 });
    const raw = { graph: { inputs: [], nodes: [{ id: 'r', op: 'range', stop: 1e6 }], outputs: ['r'] }, args: {} };
    const body = expectProblem(await postJson('evaluate', raw, app), PROBLEMS.limit_exceeded);
    expect(body.errors[0]).toMatchObject({
      path: 'graph.outputs',
      message: expect.stringContaining('more than MAX_RESPONSE_BYTES (1048576)'),
    });
  });

  test('200,000 unknown argument keys: the first 100 issues and a count, a small body', async () => {
    const args = SEED_REQUEST.args as Record<string, unknown>;
    const keys = ['{"d":', JSON.stringify(args.d), ',"xs":', JSON.stringify(args.xs)];
    for (let i = 0; i < 200_000; i++) keys.push(`,"k${i}":0`);
    const raw = `{"graph":${JSON.stringify(SEED_REQUEST.graph)},"constant":["d"],"args":${keys.join('')}}}`;
    const sent = await send('/v1/jacobian', raw);
    const body = expectProblem(sent, PROBLEMS.invalid_graph);
    const { res } = sent;
    expect(body.errors).toHaveLength(101);
    expect(body.errors[100]).toEqual({ path: 'args.k100', message: 'and 199900 more issues (only the first 100 are listed)' });
    expect(res.body.length).toBeLessThan(64 * 1024);
  });
});

describe('400: number literals too large for a double', () => {
  test('1e999 in an argument is refused with its path, not read as Infinity', async () => {
    const raw = JSON.stringify({ ...SEED_REQUEST, args: { ...(SEED_REQUEST.args as object), xs: 0 } }).replace('"xs":0', '"xs":1e999');
    const body = expectProblem(await send('/v1/jacobian', raw), PROBLEMS.invalid_request);
    expect(body.errors).toEqual([{ path: 'args.xs', message: expect.stringContaining('too large for a double (such as 1e999)') }]);
    // the string still means infinity
    const ok = await postJson('evaluate', { ...SEED_REQUEST, args: { ...(SEED_REQUEST.args as object), xs: 'Infinity' } });
    expect(ok.res.statusCode).toBe(200);
  });
});

describe('415: only application/json', () => {
  for (const [what, headers] of [
    ['text/plain', { 'content-type': 'text/plain' }],
    ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['multipart/form-data', { 'content-type': 'multipart/form-data; boundary=x' }],
    ['no content-type', {}],
  ] as const) {
    test(`${what} with a body`, async () => {
      const body = expectProblem(await send('/v1/jacobian', JSON.stringify(SEED_REQUEST), headers), PROBLEMS.unsupported_media_type);
      expect(body.detail).toContain('send application/json');
    });
  }

  test('application/json with a charset is fine', async () => {
    const { res } = await send('/v1/jacobian', JSON.stringify(SEED_REQUEST), { 'content-type': 'application/json; charset=utf-8' });
    expect(res.statusCode).toBe(200);
  });
});

describe('404', () => {
  test('an unknown route', async () => {
    const body = expectProblem(await send('/v2/jacobian', '{}'), PROBLEMS.not_found);
    expect(body.detail).toBe('no route for POST /v2/jacobian');
  });
});

describe('405: a route that exists for other methods', () => {
  test('GET on a compute route names POST in Allow; the query string is left out of the detail', async () => {
    for (const op of OPS) {
      const sent = await send(`/v1/${op}?x=1`, undefined, {}, built.app, 'GET');
      const body = expectProblem(sent, PROBLEMS.method_not_allowed);
      expect(sent.res.headers.allow).toBe('POST');
      expect(body.detail).toBe(`GET is not allowed on /v1/${op}: use POST`);
    }
  });

  test('a stored graph path and a health route name their own methods', async () => {
    const graph = await built.app.inject({ method: 'PUT', url: '/v1/graphs/abc' });
    expect(graph.statusCode).toBe(405);
    expect(graph.headers.allow).toBe('GET, HEAD');
    const health = await built.app.inject({ method: 'DELETE', url: '/healthz' });
    expect(health.statusCode).toBe(405);
    expect(health.headers.allow).toBe('GET, HEAD');
    // a path no route has stays a 404, whatever the method
    expect((await built.app.inject({ method: 'GET', url: '/v1/nothing' })).statusCode).toBe(404);
  });
});

describe('500: unexpected exceptions are masked', () => {
  test('a throwing handler gives a generic problem, logged with its stack', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const { app } = await appWith({ logLevel: 'error' }, stream);
    app.get('/boom', async () => {
      throw new Error('secret internals at /srv/derivd/x.ts:12');
    });
    app.post('/boom-5xx', async () => {
      throw Object.assign(new Error('upstream exploded'), { statusCode: 503 });
    });
    app.get('/boom-value', async () => {
      throw 'a thrown string';
    }); // eslint-disable-line no-throw-literal
    await app.ready();
    for (const [method, url] of [
      ['GET', '/boom'],
      ['POST', '/boom-5xx'],
      ['GET', '/boom-value'],
    ] as const) {
      const r = await send(
        url,
        method === 'POST' ? '{}' : undefined,
        method === 'POST' ? { 'content-type': 'application/json' } : {},
        app,
        method,
      );
      const body = expectProblem(r, PROBLEMS.internal);
      expect(body.detail).toBe('an unexpected error occurred; it has been logged with this request id');
      expect(r.res.body).not.toMatch(/secret|exploded|thrown string/);
    }
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged.filter((l) => l.msg === 'unhandled error')).toHaveLength(3);
    expect(logged[0].err.stack).toContain('secret internals');
  });
});

describe('pathological bodies', () => {
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;

  test('100 000 levels of nesting in an argument or a const value: an issue, not a stack overflow', async () => {
    const a = expectProblem(
      await send('/v1/evaluate', `{"graph":{"inputs":[{"name":"x","shape":[]}],"nodes":[],"outputs":["x"]},"args":{"x":${deep}}}`),
      PROBLEMS.invalid_graph,
    );
    expect(paths(a)).toEqual(['args.x']);
    const b = expectProblem(
      await send('/v1/evaluate', `{"graph":{"inputs":[],"nodes":[{"id":"c","op":"const","value":${deep}}],"outputs":["c"]},"args":{}}`),
      PROBLEMS.invalid_request,
    );
    expect(b.errors[0].message).toContain('MAX_RANK');
  });

  test('a huge range or fill is a 413 before any memory is allocated', async () => {
    for (const node of [
      { id: 'r', op: 'range', stop: 1e12 },
      { id: 'r', op: 'fill', shape: [100_000, 100_000], value: 1 },
    ]) {
      const body = expectProblem(
        await postJson('evaluate', { graph: { inputs: [], nodes: [node], outputs: ['r'] }, args: {} }),
        PROBLEMS.limit_exceeded,
      );
      expect(paths(body)).toEqual(['graph.nodes[0]']);
    }
  });

  test('a Content-Length that does not match the body is a 400 problem', async () => {
    const r = await send('/v1/jacobian', JSON.stringify(SEED_REQUEST), { 'content-type': 'application/json', 'content-length': '5' });
    expect(r.res.statusCode).toBe(400);
    expect(r.res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('random bodies never get a 500', () => {
  const ALLOWED = [200, 400, 413, 415, 422];

  /**
   * Deletes, replaces or corrupts one value somewhere inside a copy of a valid request.
   * action 0: delete the key; 1: remove the array element; 2-4: replace with a value of
   * the same kind (a number by a number, a name by a name); otherwise: replace by anything.
   */
  function mutate(base: unknown, [pick, action, any, num, name]: Mutation): unknown {
    const copy = JSON.parse(JSON.stringify(base));
    const spots: [Record<string | number, unknown>, string | number][] = [];
    const walk = (v: unknown): void => {
      if (typeof v !== 'object' || v === null) return;
      for (const k of Object.keys(v)) {
        spots.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
        walk((v as Json)[k]);
      }
    };
    walk(copy);
    const [parent, key] = spots[pick % spots.length];
    const old = parent[key];
    if (action === 0 && !Array.isArray(parent)) delete parent[key];
    else if (action === 1 && Array.isArray(parent)) parent.splice(key as number, 1);
    else parent[key] = action <= 4 && typeof old === 'number' ? num : action <= 4 && typeof old === 'string' ? name : any;
    return copy;
  }
  type Mutation = [pick: number, action: number, any: unknown, num: number | string, name: string];

  const special = fc.constantFrom(
    'NaN',
    'Infinity',
    '-Infinity',
    '__proto__',
    'd',
    'xs',
    'r',
    'x',
    '',
    1e308,
    -0,
    0,
    2.5,
    -1,
    [],
    {},
    [[]],
    null,
    [21],
    [3, 7],
    'auto',
    'fd',
    'reverse',
  );
  const number = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: -3, max: 25 }),
    fc.constantFrom('NaN', 'Infinity', '-Infinity'),
  );
  const value = fc.oneof(
    { weight: 4, arbitrary: number },
    { weight: 3, arbitrary: special },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
  const name = fc.constantFrom(
    'd',
    'xs',
    'x',
    'r',
    'f',
    's',
    'r2',
    'c',
    '__proto__',
    'NaN',
    'auto',
    'forward',
    'reverse',
    'fd',
    'exp',
    'log',
    'sum',
    'dot',
    'neg',
    'const',
    '',
  );
  const mutation: fc.Arbitrary<Mutation> = fc.tuple(fc.noBias(fc.nat({ max: 10_000 })), fc.noBias(fc.nat(7)), value, number, name);
  /** A valid request for its own endpoint, with one to three mutations. */
  const mutated = fc
    .tuple(fc.constantFrom(...OPS), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([op, ms]) => [op, JSON.stringify(ms.reduce<unknown>((req, m) => mutate(req, m), valid[op]))] as const);
  const anyOp = fc.constantFrom(...OPS);
  const request = fc.oneof(
    {
      weight: 1,
      arbitrary: fc.tuple(
        anyOp,
        fc.anything().map((v) => JSON.stringify(v) ?? ''),
      ),
    },
    { weight: 1, arbitrary: fc.tuple(anyOp, fc.json()) },
    { weight: 5, arbitrary: mutated },
    { weight: 1, arbitrary: mutated.chain(([op, s]) => fc.nat(Math.max(0, s.length - 1)).map((n) => [op, s.slice(0, n)] as const)) }, // truncated
  );
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    {
      weight: 1,
      arbitrary: fc.constantFrom<string | undefined>(
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        undefined,
      ),
    },
  );

  test('only 200/400/413/415/422, problem+json on errors, schema-valid results', async () => {
    const { app } = await appWith({ bodyLimit: 64 * 1024, maxNodes: 50, maxElements: 100_000 });
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, contentType, async ([op, payload], type) => {
        const res = await app.inject({ method: 'POST', url: `/v1/${op}`, payload, headers: type ? { 'content-type': type } : {} });
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        expect(ALLOWED, `${res.statusCode} ${res.body.slice(0, 300)}`).toContain(res.statusCode);
        expect(res.body).not.toMatch(/<html|<!DOCTYPE|\bat .*\.(?:ts|js):\d+/i);
        const json = res.json();
        if (res.statusCode === 200) {
          expect(res.headers['content-type']).toMatch(/^application\/json/);
          expect(ResultSchemas[op].safeParse(json).success).toBe(true);
          expect(JSON.stringify(json)).not.toMatch(/(?<=[:,[])null(?=[,\]}])/);
        } else {
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(ProblemSchema.safeParse(json).success).toBe(true);
          expect(json.status).toBe(res.statusCode);
          expect(json.instance).toBe(res.headers['x-request-id']);
        }
      }),
      { numRuns: 150 },
    );
    // both branches ran: results were checked as results, refusals as problems, at each stage
    expect([200, 400, 415, 422].filter((status) => !seen.has(status))).toEqual([]);
  });
});
