/**
 * openapi.yaml is generated from the app's zod schemas: regenerating it must give
 * the committed file, the document must be valid OpenAPI 3.1, /openapi.json must
 * serve the same object, and the documented example must be real output.
 */
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { openapiYaml } from '../../scripts/generate-openapi.js';
import { engineNames } from '../../src/api/index.js';
import { buildApp, operationIdOf, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { PROBLEMS } from '../../src/server/problem.js';
import { SEED_GRAPH, SEED_REQUEST } from '../../src/server/seed-example.js';
import { expectClose } from '../helpers/numeric.js';
import { drdxs, rRef } from '../helpers/seed.js';

const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8');

type Op = {
  operationId: string;
  parameters: { name: string; example?: string }[];
  requestBody?: { content: Record<string, { example?: unknown }> };
};
/** Every operation of the document, with its path and method. */
function operationsOf(doc: { paths: Record<string, Record<string, Op>> }): { path: string; method: string; op: Op }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
}

describe('openapi.yaml', () => {
  let built: App;
  beforeAll(async () => {
    // No shedding on event-loop delay: a busy test machine must not turn an example into a 503.
    built = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', maxEventLoopDelayMs: 0 });
    await built.app.ready();
  });
  afterAll(() => built.app.close());

  test('is what `npm run openapi` generates now (run it if this fails)', async () => {
    expect(await openapiYaml()).toBe(committed);
  });

  test('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const res = await validator.validate(parse(committed));
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  test('/openapi.json serves the same document', async () => {
    const res = await built.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.json()).toEqual(parse(committed));
  });

  test('documents every endpoint', () => {
    const doc = parse(committed);
    for (const op of ['evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp']) {
      expect(Object.keys(doc.paths[`/v1/${op}`].post.responses).sort()).toEqual([
        '200',
        '400',
        '401',
        '404',
        '413',
        '415',
        '422',
        '429',
        '503',
        '504',
      ]);
    }
    for (const path of ['/healthz', '/readyz', '/metrics']) expect(doc.paths[path].get).toBeDefined();
    // the body of POST /v1/<op>: the graph inline, or a stored graph by `graphId`
    for (const op of ['evaluate', 'jvp']) {
      const name = `${op[0].toUpperCase()}${op.slice(1)}`;
      expect(doc.paths[`/v1/${op}`].post.requestBody.content['application/json'].schema.anyOf).toEqual([
        { $ref: `#/components/schemas/${name}Request` },
        { $ref: `#/components/schemas/${name}RequestByGraphId` },
      ]);
      expect(doc.components.schemas[`${name}RequestByGraphId`].required).toEqual([
        'args',
        ...(op === 'jvp' ? ['tangents'] : []),
        'graphId',
      ]);
    }
  });

  test('has one schema set: no …Input copy of a schema beside it', () => {
    const names = Object.keys(parse(committed).components.schemas);
    expect(names.filter((n) => n.endsWith('Input') && names.includes(n.slice(0, -'Input'.length)))).toEqual([]);
    expect(committed).not.toMatch(/schemas\/\w+Input\b/);
  });

  test('names every operation by a unique operationId', () => {
    const ids = operationsOf(parse(committed)).map(({ op }) => op.operationId);
    expect(
      ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]*$/.test(id)),
      String(ids),
    ).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining(['health', 'ready', 'metrics', 'jacobian', 'registerGraph', 'getGraph', 'jacobianOnStoredGraph']),
    );
  });

  test('a route without an operationId gets one from its URL', async () => {
    expect(operationIdOf('/v1/explain')).toBe('explain');
    expect(operationIdOf('/v1/graphs/:id/explain')).toBe('graphsExplain');
    const { app } = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent' });
    app.post('/v1/later', { schema: { summary: 'added after the others' } }, async () => ({}));
    await app.ready();
    expect(app.swagger().paths?.['/v1/later']?.post?.operationId).toBe('later');
    await app.close();
  });

  test('says its version (package.json), its server, and the enums of mode, problem type and node op', () => {
    const doc = parse(committed);
    expect(doc.info.version).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    expect(doc.servers).toEqual([{ url: '/', description: 'this service' }]);
    const schemas = doc.components.schemas;
    for (const name of ['JacobianRequest', 'JacobianRequestByGraphId', 'JacobianCallOnStoredGraph'])
      expect(schemas[name].properties.mode.enum).toEqual(['auto', ...engineNames()]);
    expect(schemas.Problem.properties.type.enum.sort()).toEqual([...new Set(Object.values(PROBLEMS).map((p) => p.type))].sort());
    // each node variant is titled by its op, so /docs and generated clients name it
    const variants = schemas.Node.oneOf as { title: string; properties: { op: { const: string } } }[];
    expect(variants.map((v) => v.title)).toEqual(variants.map((v) => v.properties.op.const));
    expect(variants.map((v) => v.title)).toEqual(expect.arrayContaining(['add', 'mul', 'dot', 'scan']));
  });

  test('every example request answers 200 (201: storing the example graph) from the live app', async () => {
    // What "Try it out" sends: the body example, and the path parameters' examples in the URL.
    // The example graph is stored first (its registration is itself an example).
    const ops = operationsOf(parse(committed)).sort(
      (a, b) => Number(b.op.operationId === 'registerGraph') - Number(a.op.operationId === 'registerGraph'),
    );
    let tried = 0;
    for (const { path, method, op } of ops) {
      if (path === '/metrics') continue; // Prometheus text, no example to send
      const url = path.replace(/\{(\w+)\}/g, (_m, name: string) => String(op.parameters.find((p) => p.name === name)?.example));
      const payload = op.requestBody?.content['application/json'].example;
      if (op.requestBody) expect(payload, `${method} ${path} has an example body`).toBeDefined();
      const res = await built.app.inject({ method: method.toUpperCase() as 'GET' | 'POST', url, ...(payload ? { payload } : {}) });
      const expected = op.operationId === 'registerGraph' ? [200, 201] : [200];
      expect(expected, `${method.toUpperCase()} ${url}: ${res.statusCode} ${res.body.slice(0, 300)}`).toContain(res.statusCode);
      tried++;
    }
    expect(tried).toBe(ops.length - 1); // all but /metrics
    expect(tried).toBeGreaterThanOrEqual(2 + 7 * 2 + 2);
  });

  test('carries the seed request and its real response as the jacobian example', async () => {
    const post = parse(committed).paths['/v1/jacobian'].post;
    const request = post.requestBody.content['application/json'].example;
    const documented = post.responses['200'].content['application/json'].example;
    expect(request).toEqual(JSON.parse(JSON.stringify(SEED_REQUEST)));
    const live = await built.app.inject({ method: 'POST', url: '/v1/jacobian', payload: request });
    // timings vary, and the live call may find the plan cached
    const strip = ({ timings: _t, stats: { cache: _c, ...stats }, ...rest }: { timings: unknown; stats: { cache?: string } }) => ({
      ...rest,
      stats,
    });
    expect(strip(live.json())).toEqual(strip(documented));
    expect(documented.stats.cache).toBe('miss');
    // Both come from the same code, so that agreement is only consistency: the numbers are
    // also checked against the closed forms (test/helpers/seed.ts)
    expectClose(documented.values.r, rRef, 1e-12, 'documented values.r');
    expectClose(documented.jacobian.r.xs, drdxs, 1e-12, 'documented jacobian.r.xs');
  });

  test('the seed example is the test fixture', () => {
    const fixture = JSON.parse(readFileSync(new URL('../fixtures/seed-rs.graph.json', import.meta.url), 'utf8'));
    expect(SEED_GRAPH).toEqual(fixture);
  });
});
