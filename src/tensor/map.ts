/**
 * Elementwise kernels over Float64Array with NumPy broadcasting. Kernels write
 * into a caller-owned output (stdlib style) and allocate nothing per element.
 */
import { broadcastStrides } from './broadcast.js';
import { sameShape, sizeOf, type Shape } from './tensor.js';

export type Unary = (x: number) => number;
export type Binary = (a: number, b: number) => number;
export type Ternary = (a: number, b: number, c: number) => number;

export function mapUnary(f: Unary, x: Float64Array, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = f(x[i]);
}

/** out = f(a, b), broadcasting a (shape as) and b (shape bs) to outShape. */
export function mapBinary(f: Binary, a: Float64Array, as: Shape, b: Float64Array, bs: Shape, out: Float64Array, outShape: Shape): void {
  const n = out.length;
  if (a.length === n && b.length === n && sameShape(as, bs)) {
    for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);
  } else if (b.length === 1 && a.length === n) {
    const bv = b[0];
    for (let i = 0; i < n; i++) out[i] = f(a[i], bv);
  } else if (a.length === 1 && b.length === n) {
    const av = a[0];
    for (let i = 0; i < n; i++) out[i] = f(av, b[i]);
  } else {
    mapStrided([a, b], [as, bs], out, outShape, (_o, off) => f(a[off[0]], b[off[1]]));
  }
}

/** out = f(a, b, c) with broadcasting (used by `where`). */
export function mapTernary(
  f: Ternary,
  a: Float64Array,
  as: Shape,
  b: Float64Array,
  bs: Shape,
  c: Float64Array,
  cs: Shape,
  out: Float64Array,
  outShape: Shape,
): void {
  const n = out.length;
  if (a.length === n && b.length === n && c.length === n) {
    for (let i = 0; i < n; i++) out[i] = f(a[i], b[i], c[i]);
  } else {
    mapStrided([a, b, c], [as, bs, cs], out, outShape, (_o, off) => f(a[off[0]], b[off[1]], c[off[2]]));
  }
}

/**
 * The general broadcasting walk: visits every output element in row-major order
 * with the flat offset of each operand. `offsets` is reused across elements.
 */
function mapStrided(
  ins: Float64Array[],
  shapes: Shape[],
  out: Float64Array,
  outShape: Shape,
  body: (outIndex: number, offsets: Int32Array) => number,
): void {
  const rank = outShape.length;
  const k = ins.length;
  const n = sizeOf(outShape);
  if (n === 0) return;
  const strides = shapes.map((s) => broadcastStrides(s, outShape));
  const offsets = new Int32Array(k);
  const counter = new Int32Array(rank);
  for (let o = 0; o < n; o++) {
    out[o] = body(o, offsets);
    // odometer increment: advance the last axis, carrying into earlier ones
    for (let ax = rank - 1; ax >= 0; ax--) {
      counter[ax]++;
      for (let j = 0; j < k; j++) offsets[j] += strides[j][ax];
      if (counter[ax] < outShape[ax]) break;
      for (let j = 0; j < k; j++) offsets[j] -= strides[j][ax] * outShape[ax];
      counter[ax] = 0;
    }
  }
}
