/**
 * The prose examples of docs/graph-format.md's rows for eye and the structure ops
 * (diag, diagonal, trace, triu, tril): read from the page and run, so a changed digit
 * or behaviour fails here. (docs-examples.test.ts checks the page's other examples.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../src/index.js';

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

describe('graph-format.md, 4. Ops: structure examples', () => {
  it('eye', async () => {
    const [node, value] = find(/`(\{ "op": "eye"[^`]*\})` is `([^`]*)`/, 'eye');
    const { op, ...attrs } = json(node) as { op: string };
    expect(await valueFor(op, attrs, undefined)).toEqual(json(value));
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
