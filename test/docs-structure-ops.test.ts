/**
 * The prose examples of docs/graph-format.md's rows for eye, norm, the ops along an
 * axis (cumsum, cumprod, softmax, log_softmax) and the structure ops (diag, diagonal,
 * trace, triu, tril): read from the page and run, so a changed digit or behaviour
 * fails here. (docs-examples.test.ts checks the page's other examples.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluate, gradient, jacobian } from '../src/index.js';

const md = readFileSync(new URL('../docs/graph-format.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');

function find(re: RegExp, what: string): string[] {
  const m = md.match(re);
  if (m === null) throw new Error(`graph-format.md no longer has the ${what} example`);
  return m.slice(1);
}

/** A JSON value from the page. */
const json = (text: string): unknown => JSON.parse(text);

const oneNode = (op: string, attrs: object, shape: number[] | null) => ({
  inputs: shape === null ? [] : [{ name: 'a', shape }],
  nodes: [{ id: 'y', op, args: shape === null ? [] : ['a'], ...attrs }],
  outputs: ['y'],
});

function shapeOf(v: unknown): number[] {
  return Array.isArray(v) ? [v.length, ...(v.length > 0 ? shapeOf(v[0]) : [])] : [];
}

async function valueFor(op: string, attrs: object, a: unknown): Promise<unknown> {
  const r = await evaluate({ graph: oneNode(op, attrs, a === undefined ? null : shapeOf(a)), args: a === undefined ? {} : { a } });
  return r.values.y;
}

async function gradientFor(op: string, attrs: object, a: unknown): Promise<unknown> {
  const r = await gradient({ graph: oneNode(op, attrs, shapeOf(a)), args: { a } });
  return r.gradient.a;
}

describe('graph-format.md, 4. Ops: structure, norm and softmax examples', () => {
  it('eye', async () => {
    const [node, value] = find(/`(\{ "op": "eye"[^`]*\})` is `([^`]*)`/, 'eye');
    const { op, ...attrs } = json(node) as { op: string };
    expect(await valueFor(op, attrs, undefined)).toEqual(json(value));
  });

  it('norm of each order, and at 0', async () => {
    const [x, y, g, y1, g1, xi, yi, gi, x0, g0] = find(
      /`norm` of `(\[[^`]*\])` is `([^`]*)` with gradient `(\[[^`]*\])`; with `"ord": 1` it is `([^`]*)` with gradient `(\[[^`]*\])`; with `"ord": "inf"`, `norm` of `(\[[^`]*\])` is `([^`]*)` with gradient `(\[[^`]*\])`\. `norm` of `(\[[^`]*\])` has gradient `(\[[^`]*\])`/,
      'norm',
    );
    for (const [attrs, a, value, grad] of [
      [{}, x, y, g],
      [{ ord: 1 }, x, y1, g1],
      [{ ord: 'inf' }, xi, yi, gi],
    ] as const) {
      expect(await valueFor('norm', attrs, json(a)), JSON.stringify(attrs)).toEqual(json(value));
      expect(await gradientFor('norm', attrs, json(a)), JSON.stringify(attrs)).toEqual(json(grad));
    }
    for (const ord of [1, 2, 'inf']) expect(await gradientFor('norm', { ord }, json(x0))).toEqual(json(g0));
  });

  it('cumsum, cumprod at a zero, softmax and log_softmax at large inputs', async () => {
    const [x, y, yr] = find(/`cumsum` of `(\[[^`]*\])` is `(\[[^`]*\])`, and `(\[[^`]*\])` with `"reverse": true`/, 'cumsum');
    expect(await valueFor('cumsum', {}, json(x))).toEqual(json(y));
    expect(await valueFor('cumsum', { reverse: true }, json(x))).toEqual(json(yr));

    const [px, py, column] = find(
      /`cumprod` of `(\[[^`]*\])` is `(\[[^`]*\])`; its Jacobian's column for the zero is `(\[[^`]*\])`/,
      'cumprod',
    );
    const xs = json(px) as number[];
    expect(await valueFor('cumprod', {}, xs)).toEqual(json(py));
    const zero = xs.indexOf(0);
    for (const mode of ['forward', 'reverse'] as const) {
      const r = await jacobian({ graph: oneNode('cumprod', {}, [xs.length]), args: { a: xs }, mode });
      const J = r.jacobian.y.a as number[][];
      expect(
        J.map((row) => row[zero]),
        mode,
      ).toEqual(json(column));
      // every other column is 0 below the first row
      J.slice(1).forEach((row) => row.forEach((v, j) => j !== zero && expect(v).toBe(0)));
    }

    const [big, small] = find(/`softmax` of `(\[[^`]*\])` equals `softmax` of `(\[[^`]*\])`, to the bit/, 'softmax');
    expect(await valueFor('softmax', {}, json(big))).toEqual(await valueFor('softmax', {}, json(small)));
    const [lx, ly] = find(/`log_softmax` of `(\[[^`]*\])` is `(\[[^`]*\])`/, 'log_softmax');
    expect(await valueFor('log_softmax', {}, json(lx))).toEqual(json(ly));
  });

  it('diagonal, trace, triu, tril and diag', async () => {
    const [a, ...rest] = find(
      /With `a = (\[\[[^`]*\]\])`: `diagonal` with `"k": (-?\d+)` is `([^`]*)`, `trace` is `([^`]*)`, `triu` with `"k": (-?\d+)` is `([^`]*)`, `tril` with `"k": (-?\d+)` is `([^`]*)`; `diag` of `(\[[^`]*\])` with `"k": (-?\d+)` is `([^`]*)`\./,
      'structure ops',
    );
    const [kd, diagonal, trace, ku, triu, kl, tril, v, kv, diag] = rest;
    const m = json(a);
    expect(await valueFor('diagonal', { k: Number(kd) }, m)).toEqual(json(diagonal));
    expect(await valueFor('trace', {}, m)).toEqual(json(trace));
    expect(await valueFor('triu', { k: Number(ku) }, m)).toEqual(json(triu));
    expect(await valueFor('tril', { k: Number(kl) }, m)).toEqual(json(tril));
    expect(await valueFor('diag', { k: Number(kv) }, json(v))).toEqual(json(diag));
  });
});
