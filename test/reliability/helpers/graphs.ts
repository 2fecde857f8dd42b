/**
 * The reproducers of issue 8, built in code (no stored blobs), shared by the
 * reliability tests. Each returns a request body (an object, or raw JSON text where
 * JSON.stringify cannot say it or would be too slow).
 *
 *   sumStack(n, prefix, extra)      gradient of sum(stack(a0 … a(n-1))) over n scalar inputs
 *                                   (findings 1 and 2: planning and memory per input)
 *   ranges(count, elements)         evaluate of `count` range outputs of `elements` each (finding 3)
 *   unknownArgKeys(n)               raw text: a tiny graph with n unknown argument keys (finding 3)
 *   chain(n, tag, kind)             x [4] through n - 1 elementwise ops, then sum: n nodes (findings 4
 *                                   and 5); `tag` goes into a literal, so each tag is a graph the
 *                                   service has not seen
 *   matmulGradient(n, tag)          gradient through two n × n matmuls (about 4 n³ multiply-adds,
 *                                   tiny body): the pooled request of the load tests
 *   smallGraph(i)                   a small distinct graph (12 nodes on x [8]) for the memory test
 *   fanOutGraph()                   a few dozen nodes with fan-out (determinism)
 *   seedJacobian()                  the forum case of test/helpers/seed.ts, posted to /v1/jacobian
 */
import { d, graph as seedGraph, xs } from '../../helpers/seed.js';
import { rng } from '../../helpers/numeric.js';

export type Body = Record<string, unknown>;

/** gradient of sum(stack(<prefix>0 … <prefix>(n-1))) over n scalar inputs, all arguments set. */
export function sumStack(n: number, prefix = 'a', extra: Body = {}): Body {
  const names = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  return {
    graph: {
      inputs: names.map((name) => ({ name, shape: [] })),
      nodes: [
        { id: 'stacked', op: 'stack', args: names },
        { id: 'total', op: 'sum', args: ['stacked'] },
      ],
      outputs: ['total'],
    },
    args: Object.fromEntries(names.map((name, i) => [name, (i % 10) / 8])),
    ...extra,
  };
}

/**
 * evaluate of `count` outputs, each `elements` long: range(k + 1/3, …, step 1/7), so
 * every value takes some 18 characters of JSON (about 190 MB an output at 1e7
 * elements), from a request of a few hundred bytes.
 */
export function ranges(count: number, elements = 1e7): Body {
  const step = 1 / 7;
  const nodes = Array.from({ length: count }, (_, k) => ({
    id: `r${k}`,
    op: 'range',
    start: k + 1 / 3,
    stop: k + 1 / 3 + (elements - 0.5) * step,
    step,
  }));
  return { graph: { inputs: [], nodes, outputs: nodes.map((n) => n.id) }, args: {} };
}

/**
 * evaluate with one real argument and n unknown ones ("u0": 0, …), as raw text
 * (about 12 bytes a key: n = 1e6 gives some 12 MB, under the 16 MiB BODY_LIMIT).
 */
export function unknownArgKeys(n: number): string {
  const parts: string[] = [
    '{"graph":{"inputs":[{"name":"x","shape":[]}],"nodes":[{"id":"y","op":"sin","args":["x"]}],"outputs":["y"]},"args":{"x":0.5',
  ];
  for (let i = 0; i < n; i++) parts.push(`,"u${i}":0`);
  parts.push('}}');
  return parts.join('');
}

/**
 * x [4] plus a literal (the tag: each tag is a graph no cache has seen), then
 * elementwise ops to n - 1 nodes, then s = sum: n nodes, one scalar output, one shape
 * throughout, so the compiler fuses it all into one group. Every value stays small
 * and every derivative smooth.
 *   'unary'     sigmoid, softplus, tanh, erf, cycling (derivative rules of several
 *               equations each: the Hessian program is long)
 *   'literals'  sin, mul 1.5, tanh, add 0.25, cycling
 */
export function chain(n: number, tag = 0, kind: 'unary' | 'literals' = 'unary', extra: Body = {}): Body {
  const nodes: Body[] = [{ id: 'c0', op: 'add', args: ['x', 0.125 + tag / 1024] }];
  for (let i = 1; i < n - 1; i++) {
    const prev = `c${i - 1}`;
    if (kind === 'unary') nodes.push({ id: `c${i}`, op: ['sigmoid', 'softplus', 'tanh', 'erf'][i % 4], args: [prev] });
    else
      nodes.push({
        id: `c${i}`,
        ...[
          { op: 'sin', args: [prev] },
          { op: 'mul', args: [prev, 1.5] },
          { op: 'tanh', args: [prev] },
          { op: 'add', args: [prev, 0.25] },
        ][i % 4],
      });
  }
  nodes.push({ id: 's', op: 'sum', args: [`c${n - 2}`] });
  return { graph: { inputs: [{ name: 'x', shape: [4] }], nodes, outputs: ['s'] }, args: { x: [0.1, -0.4, 0.7, 1.2] }, ...extra };
}

/**
 * gradient with respect to x [n] of sum(tanh(outer(x, 1) · A) · A), A = fill(n × n):
 * two n × n matmuls forward and two back (about 4 n³ multiply-adds), from a body of
 * n numbers. The cost model sends it to the pool for any n worth loading a server with.
 */
export function matmulGradient(n: number, tag = 0): Body {
  return {
    graph: {
      inputs: [{ name: 'x', shape: [n] }],
      nodes: [
        { id: 'ones', op: 'fill', shape: [n], value: 1 },
        { id: 'A', op: 'fill', shape: [n, n], value: 1 / n + tag * 1e-9 },
        { id: 'X', op: 'outer', args: ['x', 'ones'] },
        { id: 'P', op: 'matmul', args: ['X', 'A'] },
        { id: 'T', op: 'tanh', args: ['P'] },
        { id: 'Q', op: 'matmul', args: ['T', 'A'] },
        { id: 's', op: 'sum', args: ['Q'] },
      ],
      outputs: ['s'],
    },
    args: { x: Array.from({ length: n }, (_, i) => Math.sin(i) / 2) },
  };
}

/** A small graph no other i gives (literals depend on i): 12 nodes on x [8], jacobian-sized for inline runs. */
export function smallGraph(i: number): Body {
  const nodes: Body[] = [];
  let prev = 'x';
  const ops = ['sin', 'tanh', 'cos', 'sigmoid', 'atan', 'softplus'];
  for (let k = 0; k < 11; k++) {
    const id = `g${k}`;
    if (k % 2 === 0) nodes.push({ id, op: 'mul', args: [prev, 1 + ((i * 11 + k) % 9973) / 9973] });
    else nodes.push({ id, op: ops[(i + k) % ops.length], args: [prev] });
    prev = id;
  }
  nodes.push({ id: 's', op: 'sum', args: [prev] });
  return {
    graph: { inputs: [{ name: 'x', shape: [8] }], nodes, outputs: ['s'] },
    args: { x: [0.5, -0.25, 1, 0.75, -1, 0.125, 0.3, -0.6] },
  };
}

/**
 * Determinism: two inputs x, w [3]; 24 elementwise nodes whose arguments are drawn
 * (seeded) mostly from a few hubs, so x, w and the first nodes feed many consumers and
 * reverse mode adds several contributions into each of them; every node is stacked,
 * y = sum over the stack axis (a vector output) and s = sum(square(y)) (scalar, for
 * gradient and hessian). 28 nodes.
 */
export function fanOutGraph(): Body {
  const r = rng(7);
  const nodes: Body[] = [];
  const ids = ['x', 'w'];
  const unary = ['sin', 'cos', 'tanh', 'sigmoid', 'atan', 'softplus'];
  const hub = (): string => (r.next() < 0.5 ? r.pick(['x', 'w', ...ids.slice(2, 6)]) : r.pick(ids));
  for (let i = 0; i < 24; i++) {
    const id = `n${i}`;
    if (r.next() < 0.4) nodes.push({ id, op: r.pick(unary), args: [hub()] });
    else
      nodes.push({
        id,
        op: r.pick(['add', 'mul', 'sub']),
        args: [hub(), r.next() < 0.2 ? Math.round(r.uniform(-3, 3) * 1000) / 1000 : hub()],
      });
    ids.push(id);
  }
  nodes.push(
    { id: 'stacked', op: 'stack', args: ids.slice(2) },
    { id: 'y', op: 'sum', args: ['stacked'], axes: [0] },
    { id: 'y2', op: 'square', args: ['y'] },
    { id: 's', op: 'sum', args: ['y2'] },
  );
  return {
    graph: {
      inputs: [
        { name: 'x', shape: [3] },
        { name: 'w', shape: [3] },
      ],
      nodes,
      outputs: ['y', 's'],
    },
    args: { x: [0.3, -1.2, 0.7], w: [1.1, 0.4, -0.9] },
  };
}

/** The forum case: the Jacobian dr/dxs with d constant (a small request, answered inline). */
export function seedJacobian(): Body {
  return { graph: seedGraph, args: { d, xs }, constant: ['d'] };
}
