/**
 * The solves and factorizations over HTTP (fastify inject): a Hessian through solve,
 * logabsdet and cholesky in each mode, IEEE results of a singular solve on the wire,
 * det's gradient at a singular matrix, an argument error's path, and the internal
 * adjugate ops rejected as unknown.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { expectClose } from '../helpers/numeric.js';

let built: App;
beforeAll(async () => {
  built = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent' });
  await built.app.ready();
});
afterAll(() => built.app.close());

async function post(op: string, body: unknown) {
  return built.app.inject({
    method: 'POST',
    url: `/v1/${op}`,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
}

const A = [
  [4, 1, 0.5],
  [1, 3, 0.25],
  [0.5, 0.25, 2],
];

/** f(A, b) = Σ solve(A, b) + logabsdet(A) + Σ cholesky(A), on the wire. */
const graph = {
  inputs: [
    { name: 'A', shape: [3, 3] },
    { name: 'b', shape: [3] },
  ],
  nodes: [
    { id: 'x', op: 'solve', args: ['A', 'b'] },
    { id: 'sx', op: 'sum', args: ['x'] },
    { id: 'l', op: 'logabsdet', args: ['A'] },
    { id: 'L', op: 'cholesky', args: ['A'] },
    { id: 'sL', op: 'sum', args: ['L'] },
    { id: 't', op: 'add', args: ['sx', 'l'] },
    { id: 'f', op: 'add', args: ['t', 'sL'] },
  ],
  outputs: ['f'],
};

describe('solves and factorizations over HTTP', () => {
  test('hessian: forward, reverse and fd agree', async () => {
    const results: number[][] = [];
    for (const mode of ['forward', 'reverse', 'fd']) {
      const res = await post('hessian', { graph, args: { A, b: [1, 2, 3] }, mode });
      expect(res.statusCode, res.body).toBe(200);
      const h = res.json().hessian;
      results.push([h.A.A, h.A.b, h.b.A, h.b.b].flat(Infinity as 1) as number[]);
    }
    expectClose(results[1], results[0], 1e-12, { floor: 1 });
    expectClose(results[2], results[1], 1e-5, { floor: 1 });
  });

  test('a singular solve gives Infinity on the wire; det has a finite gradient there', async () => {
    const one = (op: string, shapes: number[][]) => ({
      inputs: shapes.map((shape, i) => ({ name: 'ab'[i], shape })),
      nodes: [{ id: 'y', op, args: shapes.map((_, i) => 'ab'[i]) }],
      outputs: ['y'],
    });
    const singular = [
      [1, 2],
      [2, 4],
    ];
    const s = await post('evaluate', { graph: one('solve', [[2, 2], [2]]), args: { a: singular, b: [1, 1] } });
    expect(s.statusCode, s.body).toBe(200);
    expect(s.json().values.y).toEqual(['-Infinity', 'Infinity']);
    const g = await post('gradient', { graph: one('det', [[2, 2]]), args: { a: singular }, mode: 'reverse' });
    expect(g.statusCode, g.body).toBe(200);
    expect(g.json().gradient.a).toEqual([
      [4, -2],
      [-2, 1],
    ]);
  });

  test('shape errors name the argument; the internal adjugate ops are unknown on the wire', async () => {
    const bad = await post('evaluate', {
      graph: { inputs: [{ name: 'a', shape: [2, 3] }], nodes: [{ id: 'y', op: 'inv', args: ['a'] }], outputs: ['y'] },
      args: {
        a: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors[0]).toMatchObject({
      path: 'graph.nodes[0].args[0]',
      message: 'inv: argument 0 has shape [2, 3]; its last two axes (2 × 3) are not square',
    });
    for (const op of ['adjugate', 'adjugate_jvp']) {
      const res = await post('evaluate', {
        graph: { inputs: [{ name: 'a', shape: [2, 2] }], nodes: [{ id: 'y', op, args: ['a'] }], outputs: ['y'] },
        args: { a: A.slice(0, 2).map((r) => r.slice(0, 2)) },
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().errors[0].message).toContain(`unknown op "${op}"`);
    }
  });
});
