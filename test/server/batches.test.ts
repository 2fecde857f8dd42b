/**
 * Batches of points over HTTP: inline, by stored id and through the worker pool the
 * answer is the library's (which test/batches.test.ts checks point by point against
 * single calls), stats.batch is B, base64 points in and out work, the response is
 * valid against the result schema, and a bad batch is a problem with its path.
 */
import { describe, expect, test } from 'vitest';
import { jacobian } from '../../src/index.js';
import { ResultSchemas } from '../../src/server/schemas.js';
import { d, graph } from '../helpers/seed.js';
import { useApps } from '../helpers/server.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const points = [-0.5, 0, 0.1, 0.7];
const body = { args: { d, xs: points }, constant: ['d'], batched: ['xs'] };
const b64 = (values: readonly number[]) => ({
  dtype: 'float64',
  shape: [values.length],
  data: Buffer.from(Float64Array.from(values).buffer).toString('base64'),
});

describe('POST /v1/{op} with batched', () => {
  const appWith = useApps();

  test('inline, by stored id and in a worker: the library result, with stats.batch', async () => {
    const lib = await jacobian({ graph, ...body }, { output: 'json' });
    const inline = await appWith({ workers: 0 });
    const pooled = await appWith({ workers: 1, inlineMaxCostMs: 0 });
    const stored = await inline.app.inject({ method: 'POST', url: '/v1/graphs', payload: { graph } });
    expect(stored.statusCode).toBe(201);
    const { id } = stored.json();
    const answers = [
      await inline.app.inject({ method: 'POST', url: '/v1/jacobian', payload: { graph, ...body } }),
      await inline.app.inject({ method: 'POST', url: `/v1/graphs/${id}/jacobian`, payload: body }),
      await pooled.app.inject({ method: 'POST', url: '/v1/jacobian', payload: { graph, ...body } }),
    ];
    for (const res of answers) {
      expect(res.statusCode, res.body).toBe(200);
      const r: Json = res.json();
      expect(r.stats.batch).toBe(points.length);
      expect(r.jacobian).toEqual(lib.jacobian);
      expect(r.values).toEqual(lib.values);
      expect(ResultSchemas.jacobian.safeParse(r).success).toBe(true);
    }
  });

  test('base64 points in, base64 tensors out, with the points first', async () => {
    const a = await appWith({ workers: 0 });
    const res = await a.app.inject({
      method: 'POST',
      url: '/v1/jacobian',
      payload: { graph, ...body, args: { d, xs: b64(points) }, encoding: 'base64' },
    });
    expect(res.statusCode, res.body).toBe(200);
    const block = res.json().jacobian.r.xs;
    expect(block.shape).toEqual([points.length, 21]);
    const plain = (await a.app.inject({ method: 'POST', url: '/v1/jacobian', payload: { graph, ...body } })).json();
    const bytes = Buffer.from(block.data, 'base64');
    const got = Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8));
    expect(got).toEqual(plain.jacobian.r.xs.flat());
  });

  test('points that do not agree: 422 with the path', async () => {
    const a = await appWith({ workers: 0 });
    const res = await a.app.inject({
      method: 'POST',
      url: '/v1/jacobian',
      payload: { graph, args: { d: [d, d], xs: points }, batched: ['d', 'xs'] },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([
      expect.objectContaining({ path: 'args.xs', message: expect.stringContaining('same number of points') }),
    ]);
  });
});
