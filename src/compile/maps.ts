/**
 * Index maps: how a fused loop over a region's n elements finds element i of a
 * value it reads from an array. Broadcasting, and ops that only move elements
 * (slice, transpose, index, slice_scatter, reshape), become maps instead of
 * buffers; a map is found once, when the code is compiled, by running the op's own
 * kernel on element numbers (the trick sparsity.ts uses), so no op needs index
 * arithmetic written twice. Maps that are arithmetic (the same element, one
 * element, a stride) are written as arithmetic; any other is a table.
 */
import type { Eqn } from '../ir/program.js';
import { broadcastStrides } from '../tensor/broadcast.js';
import { sizeOf, type Shape } from '../tensor/tensor.js';

/** Element i reads element map(i) of the array; -1 in a table reads a zero (slice_scatter's fill). */
export type IndexMap =
  | { readonly kind: 'same' }
  | { readonly kind: 'one'; readonly at: number }
  | { readonly kind: 'stride'; readonly at: number; readonly step: number }
  | { readonly kind: 'table'; readonly table: Int32Array; readonly holes: boolean }
  /**
   * A table that repeats every `period` elements, shifted by `shift`: map(i) =
   * base[i mod period] + shift·floor(i / period), -1 in base a hole in every period.
   * Slices of interleaved data, slice_scatter's output and row broadcasts are such
   * maps; a loop unrolled by the period reads them as strides, with holes as zeros
   * known when the code is written, and no table is read.
   */
  | { readonly kind: 'periodic'; readonly table: Int32Array; readonly period: number; readonly shift: number; readonly base: Int32Array };

export const SAME: IndexMap = { kind: 'same' };

/** The cheapest map that reads what `table` reads. */
export function classify(table: Int32Array): IndexMap {
  const n = table.length;
  if (n === 0) return SAME;
  const at = table[0];
  const step = n > 1 ? table[1] - at : 0;
  let holes = false;
  let arithmetic = at >= 0;
  for (let i = 0; i < n; i++) {
    if (table[i] < 0) {
      holes = true;
      arithmetic = false;
    } else if (table[i] !== at + step * i) arithmetic = false;
  }
  if (!arithmetic) return periodic(table) ?? { kind: 'table', table, holes };
  if (step === 0) return { kind: 'one', at };
  if (step === 1 && at === 0) return SAME;
  return { kind: 'stride', at, step };
}

/** Longest period a loop is unrolled by. */
export const MAX_PERIOD = 8;

function periodic(table: Int32Array): IndexMap | undefined {
  const n = table.length;
  for (let p = 2; p <= MAX_PERIOD && p < n; p++) {
    if (n % p !== 0) continue;
    let shift: number | undefined;
    let ok = true;
    for (let i = 0; ok && i + p < n; i++) {
      const a = table[i];
      const b = table[i + p];
      if (a < 0 || b < 0) ok = a < 0 && b < 0;
      else if (shift === undefined) shift = b - a;
      else ok = b - a === shift;
    }
    if (ok) return { kind: 'periodic', table, period: p, shift: shift ?? 0, base: table.slice(0, p) };
  }
  return undefined;
}

/** The map as a table (for composing). */
function tableOf(m: IndexMap, n: number): Int32Array {
  if (m.kind === 'table' || m.kind === 'periodic') return m.table;
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) t[i] = m.kind === 'same' ? i : m.kind === 'one' ? m.at : m.at + m.step * i;
  return t;
}

/** Reading an operand of shape `inShape` while walking `outShape` in row-major order (NumPy broadcasting). */
export function broadcastMap(inShape: Shape, outShape: Shape): IndexMap {
  const n = sizeOf(outShape);
  if (sizeOf(inShape) === n) return SAME;
  const strides = broadcastStrides(inShape, outShape);
  const rank = outShape.length;
  const at = new Array<number>(rank).fill(0);
  const table = new Int32Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    table[i] = j;
    for (let d = rank - 1; d >= 0; d--) {
      j += strides[d];
      if (++at[d] < outShape[d]) break;
      j -= strides[d] * outShape[d];
      at[d] = 0;
    }
  }
  return classify(table);
}

/**
 * The map of a one-argument op that moves elements, found by running its kernel on
 * element numbers 1..m; undefined when an output element is neither an argument
 * element nor a plain zero (then the op is not a map and runs as a step).
 */
export function movedMap(q: Eqn, inShape: Shape, outShape: Shape): IndexMap | undefined {
  const m = sizeOf(inShape);
  const numbers = new Float64Array(m);
  for (let i = 0; i < m; i++) numbers[i] = i + 1;
  const out = new Float64Array(sizeOf(outShape)).fill(Number.NaN);
  q.op.kernel([numbers], [inShape], out, outShape, q.attrs as never);
  const table = new Int32Array(out.length);
  for (let i = 0; i < out.length; i++) {
    const x = out[i];
    if (Object.is(x, 0)) table[i] = -1;
    else if (Number.isInteger(x) && x >= 1 && x <= m) table[i] = x - 1;
    else return undefined;
  }
  return classify(table);
}

/** Reading through `outer` then `inner`: element i is inner(outer(i)); a zero stays a zero. */
export function compose(inner: IndexMap, innerSize: number, outer: IndexMap, n: number): IndexMap {
  if (outer.kind === 'same') return inner;
  if (inner.kind === 'same') return outer;
  const a = tableOf(inner, innerSize);
  const b = tableOf(outer, n);
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) t[i] = b[i] < 0 ? -1 : a[b[i]];
  return classify(t);
}

/** Bytes a map keeps with the code. */
export const mapBytes = (m: IndexMap): number => (m.kind === 'table' || m.kind === 'periodic' ? m.table.byteLength : 0);
