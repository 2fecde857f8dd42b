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
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { SEED_GRAPH, SEED_REQUEST } from '../../src/server/seed-example.js';
import { expectClose } from '../helpers/numeric.js';
import { drdxs, rRef } from '../helpers/seed.js';

const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8');

describe('openapi.yaml', () => {
  let built: App;
  beforeAll(async () => {
    built = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent' });
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
        { $ref: `#/components/schemas/${name}RequestInput` },
        { $ref: `#/components/schemas/${name}RequestByGraphIdInput` },
      ]);
      expect(doc.components.schemas[`${name}RequestByGraphIdInput`].required).toEqual([
        'args',
        ...(op === 'jvp' ? ['tangents'] : []),
        'graphId',
      ]);
    }
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
