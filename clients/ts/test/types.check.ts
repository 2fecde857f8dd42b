/**
 * Compile-time checks of the builder's and the client's types: every
 * `@ts-expect-error` line must be an error, every other line must compile.
 * package.test.ts runs tsc on this file under strict settings with
 * noUncheckedIndexedAccess; `npm run typecheck` checks it too. Never run.
 */
import {
  add,
  at,
  concat,
  type Derivd,
  exp,
  fill,
  graph,
  matmul,
  mul,
  type Nested,
  type Packed,
  sub,
  sum,
  type Tensor,
  where,
} from '../src/index.js';

const g = graph();
const x = g.input('x', [3]);
const y = g.input('y', [4]);
const s = g.input('s', []);
const m = g.input('m', [2, 3]);
const col = g.input('col', [2, 1]);

// Shapes: inputs carry theirs, elementwise ops broadcast them.
export const vector: Tensor<readonly [3]> = add(x, s);
export const literal: Tensor<readonly [3]> = mul(-1.5, x);
export const matrix: Tensor<readonly [2, 3]> = mul(m, x);
export const outer: Tensor<readonly [2, 3]> = sub(col, x);
export const chosen: Tensor<readonly [2, 3]> = where(col, m, 0);
export const unknown = matmul(m, x); // not elementwise: its shape is the service's business
export const stillFine = add(unknown, y); // an unknown shape broadcasts with anything

// @ts-expect-error [3] and [4] do not broadcast
add(x, y);
// @ts-expect-error [2, 3] and [4] do not broadcast
mul(m, y);
// @ts-expect-error the shape is [3], not [4]
export const wrong: Tensor<readonly [4]> = exp(x);

// Attributes: names and types from the op table.
export const reduced = sum(x, { axes: [0], keepdims: true });
export const joined = concat([x, y], { axis: 0 });
export const filled = fill({ shape: [2], value: 'NaN' });
// @ts-expect-error sum has `axes`, not `axis`
sum(x, { axis: [0] });
// @ts-expect-error keepdims is a boolean
sum(x, { keepdims: 1 });
// @ts-expect-error fill needs its shape
fill({ value: 1 });
// @ts-expect-error exp takes no attributes
exp(x, { axes: [0] });

// Results: keys from the output names and the non-constant argument names.
export async function results(client: Derivd): Promise<void> {
  const model = g.output('r', add(x, s)).output('q', sum(m));
  const args = {
    x: [1, 2, 3],
    y: [1, 2, 3, 4],
    s: 2,
    m: [
      [1, 2, 3],
      [4, 5, 6],
    ],
    col: [[1], [0]],
  };
  const res = await client.jacobian({ graph: model, args, constant: ['y', 'm', 'col'] });
  const block: Nested = res.jacobian.r.x;
  const values: Nested = res.values.q;
  // @ts-expect-error y is constant: it has no block
  res.jacobian.r.y;
  // @ts-expect-error there is no output named z
  res.jacobian.z;
  const packed = await client.gradient({ graph: g.output('total', sum(x)), args, encoding: 'base64' });
  const data: Float64Array = packed.gradient.x.data;
  // @ts-expect-error base64 results are Packed, not nested numbers
  const nested: Nested = packed.gradient.x;
  const coo = await client.hessian({ graph: model, args, format: 'coo' });
  const rows: number[] = coo.hessian.x.s.rows;
  // A wire graph's outputs are not typed: read them with at().
  const wire = await client.evaluate({ graph: model.toJSON(), args });
  const r: Nested = at(wire.values, 'r');
  const p: Packed = { shape: [3], data };
  void [block, values, nested, rows, r, p];
}
