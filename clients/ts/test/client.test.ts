/**
 * The client against a real listening derivd: the seed problem built with the
 * builder (its Jacobian against central differences of an independent plain-JS r),
 * gradients and Hessians against closed forms, base64 both ways, stored graphs
 * (registered once, registered again after a restart), batches, functions, and
 * problems surfaced as DerivdProblem.
 */
import { describe, expect, test } from 'vitest';
import {
  at,
  add,
  Derivd,
  DerivdProblem,
  div,
  dot,
  exp,
  graph,
  mul,
  type Packed,
  sin,
  square,
  batchOf,
  sub,
  sum,
  tensor,
} from '../src/index.js';
import { expectClose, flat } from './numeric.js';
import { useServer } from './server.js';

const server = useServer();
const client = () => new Derivd({ url: server.url, fetch: server.fetch });

// --- the seed problem: r(d, xs) = d - (d·f / f·f) f, f = exp(-1.5 (x - xs)^2), x = -10..10 -------------

const points = Array.from({ length: 21 }, (_, i) => i - 10);
const dData = points.map((p, i) => Math.exp(-1.5 * (p - 0.3) ** 2) + 0.01 * Math.sin(i));

/** r written out in plain JavaScript, independently of the graph. */
function rPlain(d: readonly number[], xs: number): number[] {
  const f = points.map((p) => Math.exp(-1.5 * (p - xs) ** 2));
  let df = 0;
  let ff = 0;
  for (let i = 0; i < f.length; i++) {
    df += (d[i] as number) * (f[i] as number);
    ff += (f[i] as number) ** 2;
  }
  return d.map((di, i) => di - (df / ff) * (f[i] as number));
}

function seedGraph() {
  const g = graph();
  const d = g.input('d', [21]);
  const xs = g.input('xs', []);
  const f = exp(mul(-1.5, square(sub(tensor(points), xs))));
  const c = div(dot(d, f), dot(f, f));
  return g.output('r', sub(d, mul(c, f)));
}

describe('the seed problem', () => {
  test('dr/dxs matches central differences of an independent r', async () => {
    const res = await client().jacobian({ graph: seedGraph(), args: { d: dData, xs: 0.1 }, constant: ['d'] });
    const h = 1e-5;
    const plus = rPlain(dData, 0.1 + h);
    const minus = rPlain(dData, 0.1 - h);
    const fd = plus.map((p, i) => (p - (minus[i] as number)) / (2 * h));
    expectClose(res.values.r, rPlain(dData, 0.1), 1e-12);
    expectClose(res.jacobian.r.xs, fd, 1e-8);
    // Not a vacuous comparison: the derivative is far from zero somewhere.
    expect(Math.max(...flat(res.jacobian.r.xs).map(Math.abs))).toBeGreaterThan(0.5);
    expect(Object.keys(res.jacobian.r)).toEqual(['xs']);
    expect(res.mode).toBe('forward');
  });

  test('the wire graph works too, sent inline (not stored) by default', async () => {
    const requests = server.requests.length;
    const wire = seedGraph().toJSON();
    const res = await client().jacobian({ graph: wire, args: { d: dData, xs: 0.1 }, constant: ['d'] });
    expectClose(
      at(at(res.jacobian, 'r'), 'xs'),
      flat((await client().jacobian({ graph: seedGraph(), args: { d: dData, xs: 0.1 }, constant: ['d'] })).jacobian.r.xs),
      0,
    );
    expect(server.requests.slice(requests, requests + 1)).toEqual(['POST /v1/jacobian']);
  });
});

// --- gradients and Hessians against closed forms ---------------------------------------------------

describe('gradient and hessian', () => {
  // f(x, y) = x0² y + sin(x1) y²
  const g = graph();
  const x = g.input('x', [2]);
  const y = g.input('y', []);
  const model = g.output('f', add(mul(square(sum(mul(x, tensor([1, 0])))), y), mul(sin(sum(mul(x, tensor([0, 1])))), square(y))));
  const [x0, x1, yv] = [0.7, -1.3, 2.5];

  test('gradient: [2 x0 y, cos(x1) y²] and x0² + 2 sin(x1) y', async () => {
    const res = await client().gradient({ graph: model, args: { x: [x0, x1], y: yv } });
    expectClose(res.values.f, [x0 ** 2 * yv + Math.sin(x1) * yv ** 2], 1e-14);
    expectClose(res.gradient.x, [2 * x0 * yv, Math.cos(x1) * yv ** 2], 1e-14);
    expectClose(res.gradient.y, [x0 ** 2 + 2 * Math.sin(x1) * yv], 1e-14);
  });

  test('hessian: every block of the analytic Hessian', async () => {
    const res = await client().hessian({ graph: model, args: { x: [x0, x1], y: yv } });
    expectClose(res.hessian.x.x, [2 * yv, 0, 0, -Math.sin(x1) * yv ** 2], 1e-14);
    expectClose(res.hessian.x.y, [2 * x0, 2 * Math.cos(x1) * yv], 1e-14);
    expectClose(res.hessian.y.x, [2 * x0, 2 * Math.cos(x1) * yv], 1e-14);
    expectClose(res.hessian.y.y, [2 * Math.sin(x1)], 1e-14);
  });

  test('a coo Hessian lists the non-zero entries, and check compares with fd', async () => {
    const res = await client().hessian({ graph: model, args: { x: [x0, x1], y: yv }, format: 'coo', check: true });
    const xx = res.hessian.x.x;
    expect(xx.shape).toEqual([2, 2]);
    const dense = [0, 0, 0, 0];
    xx.rows.forEach((r, k) => {
      dense[r * 2 + (xx.cols[k] as number)] = flat(xx.values)[k] as number;
    });
    expectClose(dense, [2 * yv, 0, 0, -Math.sin(x1) * yv ** 2], 1e-14);
    expect(res.check?.maxAbsError).toBeLessThan(1e-4);
  });

  test('jvp, vjp and hvp take their maps', async () => {
    const c = client();
    const args = { x: [x0, x1], y: yv };
    const jvp = await c.jvp({ graph: model, args, tangents: { x: [1, 0], y: 0 } });
    expectClose(jvp.jvp.f, [2 * x0 * yv], 1e-14);
    const vjp = await c.vjp({ graph: model, args, cotangents: { f: 3 } });
    expectClose(vjp.vjp.x, [6 * x0 * yv, 3 * Math.cos(x1) * yv ** 2], 1e-14);
    const hvp = await c.hvp({ graph: model, args, constant: ['y'], vector: { x: [1, 1] } });
    expectClose(hvp.hvp.x, [2 * yv, -Math.sin(x1) * yv ** 2], 1e-14);
  });
});

// --- base64 ---------------------------------------------------------------------------------------

describe('base64', () => {
  test('a large Float64Array goes as base64 and the results come back exact, -0 included', async () => {
    const n = 3000;
    const xs = Float64Array.from({ length: n }, (_, i) => (i === 7 ? -0 : Math.sin(i) * 1e3 + 1 / 3));
    const g = graph();
    const x = g.input('x', [n]);
    const model = g.output('s', sum(square(x)));
    const twiceGraph = graph();
    const twiceModel = twiceGraph.output('twice', mul(twiceGraph.input('x', [n]), 2));
    const bodies: string[] = [];
    const c = new Derivd({
      url: server.url,
      fetch: (input, init) => {
        bodies.push(String(init.body));
        return server.fetch(input, init);
      },
    });
    const res = await c.gradient({ graph: model, args: { x: xs }, encoding: 'base64' });
    const evaluated = await c.evaluate({ graph: twiceModel, args: { x: { shape: [n], data: xs } }, encoding: 'base64' });
    const sent = JSON.parse(bodies.at(-1) as string);
    expect(sent.args.x).toMatchObject({ dtype: 'float64', shape: [n] });
    const grad: Packed = res.gradient.x;
    expect(grad.shape).toEqual([n]);
    expect(grad.data).toBeInstanceOf(Float64Array);
    // 2x is exact in floating point, so every element must come back to the bit (as JSON text would not).
    const twice = evaluated.values.twice.data;
    for (let i = 0; i < n; i++) {
      if (grad.data[i] !== 2 * (xs[i] as number)) expect.fail(`gradient element ${i}: ${grad.data[i]}`);
      if (!Object.is(twice[i], 2 * (xs[i] as number))) expect.fail(`value element ${i}: ${twice[i]}`);
    }
    expect(Object.is(twice[7], -0)).toBe(true);
    expect(res.values.s.shape).toEqual([]);
    expect(res.values.s.data[0]).toBeCloseTo(
      flat(Array.from(xs)).reduce((a, v) => a + v * v, 0),
      6,
    );
  });

  test('a small Float64Array goes as nested numbers', async () => {
    const bodies: string[] = [];
    const c = new Derivd({ url: server.url, fetch: (i, init) => (bodies.push(String(init.body)), server.fetch(i, init)) });
    const g = graph();
    const x = g.input('x', [2, 2]);
    const res = await c.evaluate({ graph: g.output('y', mul(x, 2)), args: { x: Float64Array.of(1, 2, 3, 4) } });
    expect(JSON.parse(bodies.at(-1) as string).args.x).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(res.values.y).toEqual([
      [2, 4],
      [6, 8],
    ]);
  });
});

// --- stored graphs -------------------------------------------------------------------------------

describe('stored graphs', () => {
  test('a builder graph is registered once, called by id, and registered again when the service lost it', async () => {
    const c = client();
    const model = seedGraph();
    const args = { d: dData, xs: 0.1 };
    const start = server.requests.length;
    const first = await c.jacobian({ graph: model, args, constant: ['d'] });
    const second = await c.jacobian({ graph: model, args: { d: dData, xs: 0.2 }, constant: ['d'] });
    const calls = server.requests.slice(start);
    expect(calls[0]).toBe('POST /v1/graphs');
    expect(calls.slice(1)).toMatchObject([expect.stringMatching(/^POST \/v1\/graphs\/[0-9a-f]{64}\/jacobian$/), calls[1]]);
    expect(second.values.r).not.toEqual(first.values.r);
    expectClose(second.values.r, rPlain(dData, 0.2), 1e-12);

    await server.restart(); // a new server stores nothing
    const again = server.requests.length;
    const third = await c.jacobian({ graph: model, args, constant: ['d'] });
    expect(server.requests.slice(again)).toEqual([calls[1], 'POST /v1/graphs', calls[1]]);
    expect(third.jacobian.r.xs).toEqual(first.jacobian.r.xs);
  });

  test('register answers the id, and stored: false sends the graph inline', async () => {
    const c = client();
    const id = await c.register(seedGraph());
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const start = server.requests.length;
    await c.evaluate({ graph: seedGraph(), args: { d: dData, xs: 0 }, stored: false });
    expect(server.requests.slice(start)).toEqual(['POST /v1/evaluate']);
  });
});

// --- functions and batches ------------------------------------------------------------------------

describe('functions', () => {
  test('scan integrates c <- c + 0.1 sin(c) x (docs/graph-format.md), checked by a plain loop', async () => {
    const g = graph();
    const c0 = g.input('c0', [2]);
    const xs = g.input('xs', [3, 2]);
    const step = g.fn('step', { c: [2], x: [2] }, ({ c, x }) => add(c, mul(mul(sin(c), x), 0.1)));
    const model = g.output('cs', step.scan(3, c0, xs));
    const xsData = [
      [1, 0.5],
      [0.25, 1],
      [1, 2],
    ];
    const res = await client().evaluate({ graph: model, args: { c0: [1, 2], xs: xsData } });
    const want: number[] = [];
    let c = [1, 2];
    for (const row of xsData) {
      c = c.map((ci, i) => ci + 0.1 * Math.sin(ci) * (row[i] as number));
      want.push(...c);
    }
    expectClose(res.values.cs, want, 1e-15);
  });

  test('call: the gradient through a function matches its closed form', async () => {
    const g = graph();
    const x = g.input('x', [3]);
    const energy = g.fn('energy', { v: [3] }, ({ v }) => sum(mul(square(v), tensor([1, 2, 3]))));
    const model = g.output('e', energy.call(x));
    expect(model.toJSON().functions?.energy?.outputs).toHaveLength(1);
    const res = await client().gradient({ graph: model, args: { x: [1, -2, 0.5] } });
    expectClose(res.gradient.x, [2, -8, 3], 1e-15);
  });
});

describe('batches', () => {
  test('a batched input takes stacked points; every result gets their axis', async () => {
    const g = graph();
    const x = g.input('x', [2]);
    const model = g.output('f', sum(mul(square(x), tensor([1, 10]))));
    const pts = [
      [1, 2],
      [3, -1],
      [0.5, 0.25],
    ];
    const res = await client().gradient({ graph: model, args: { x: batchOf(pts) }, batched: ['x'] });
    expect(res.stats.batch).toBe(3);
    expectClose(
      res.gradient.x,
      pts.flatMap(([a, b]) => [2 * (a as number), 20 * (b as number)]),
      1e-15,
    );
    expectClose(
      res.values.f,
      pts.map(([a, b]) => (a as number) ** 2 + 10 * (b as number) ** 2),
      1e-15,
    );
  });
});

// --- problems and aborts ----------------------------------------------------------------------------

describe('problems', () => {
  test('a 422 comes back as a DerivdProblem naming the path', async () => {
    const err = await client()
      .jacobian({ graph: seedGraph(), args: { d: [1, 2, 3], xs: 0.1 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DerivdProblem);
    const p = err as DerivdProblem;
    expect(p.status).toBe(422);
    expect(p.type).toMatch(/^urn:derivd:problem:/);
    expect(p.errors).toContainEqual({ path: 'args.d', message: expect.stringContaining('(shape [21]), found length 3') });
    expect(p.message).toContain('args.d');
  });

  test('a graph the service rejects is a DerivdProblem from registration, not remembered', async () => {
    const g = graph();
    const x = g.input('x', [3]);
    const y = g.input('y', [4]);
    const model = g.output('z', dot(x, y)); // shapes the builder does not check: the service does
    const c = client();
    for (let i = 0; i < 2; i++) {
      const err = await c.evaluate({ graph: model, args: { x: [1, 2, 3], y: [1, 2, 3, 4] } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DerivdProblem);
      expect((err as DerivdProblem).errors[0]?.path).toMatch(/^graph\.nodes\[0\]/);
    }
  });

  test('timeoutMs aborts a call the service does not answer in time', async () => {
    // A fetch that never answers: only the client's timeout can end the call.
    const silent = (_: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    const c = new Derivd({ url: server.url, fetch: silent, timeoutMs: 50 });
    await expect(c.evaluate({ graph: seedGraph(), args: { d: dData, xs: 0 } })).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(c.evaluate({ graph: seedGraph(), args: { d: dData, xs: 0 }, timeoutMs: 10, stored: false })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
  });

  test('an aborted call rejects with the abort reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(client().evaluate({ graph: seedGraph(), args: { d: dData, xs: 0 }, signal: controller.signal })).rejects.toThrow('stop');
  });
});
