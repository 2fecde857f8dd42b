/**
 * NumPy broadcasting, done once for every elementwise op.
 *
 * Shapes are aligned on the right; a dimension of 1 stretches to match, a missing
 * leading dimension counts as 1:
 *
 *     a      [4, 1, 3]
 *     b   [5, 1, 2, 1]   ->  incompatible? no: [5, 4, 2, 3]
 *     a         [2, 3]
 *     b         [4, 3]   ->  incompatible (2 vs 4)
 */
import { sizeOf, stridesOf, type Shape } from './tensor.js';

/** The broadcast shape of all operands, or null when two dimensions clash. */
export function broadcastShapes(shapes: readonly Shape[]): Shape | null {
  let rank = 0;
  for (const s of shapes) rank = Math.max(rank, s.length);
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i];
      const o = out[off + i];
      if (d === o || d === 1) continue;
      if (o === 1) out[off + i] = d;
      else return null;
    }
  }
  return out;
}

/**
 * Strides (in elements) for reading an operand of shape `inShape` while walking an
 * output of shape `outShape` in row-major order: broadcast dimensions get stride 0.
 */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let acc = 1;
  for (let i = inShape.length - 1; i >= 0; i--) {
    const o = rank - inShape.length + i;
    strides[o] = inShape[i] === 1 && outShape[o] !== 1 ? 0 : acc;
    acc *= inShape[i];
  }
  return strides;
}

/**
 * The axes of `outShape` that an operand of shape `inShape` was stretched along
 * (leading axes it lacks, and its 1s that became >1). Summing a cotangent over
 * these axes and reshaping to `inShape` undoes the broadcast.
 *
 *     in [4, 1, 3], out [5, 4, 2, 3]  ->  [0, 2]
 */
export function broadcastAxes(inShape: Shape, outShape: Shape): number[] {
  const off = outShape.length - inShape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < off || (inShape[i - off] === 1 && outShape[i] !== 1)) axes.push(i);
  }
  return axes;
}

/**
 * The group (flat index into the reduced, keepdims shape) of every element of an
 * array of shape s reduced over `axes`, and the number of groups: what reductions
 * fold by, and the compiler's map from an element to its accumulator.
 */
export function reductionGroups(s: Shape, axes: readonly number[]): { index: Int32Array; count: number } {
  const kept = s.map((d, i) => (axes.includes(i) ? 1 : d));
  const strides = stridesOf(kept);
  for (const a of axes) strides[a] = 0;
  const index = new Int32Array(sizeOf(s));
  const counter = new Int32Array(s.length);
  let g = 0;
  for (let i = 0; i < index.length; i++) {
    index[i] = g;
    for (let ax = s.length - 1; ax >= 0; ax--) {
      counter[ax]++;
      g += strides[ax];
      if (counter[ax] < s[ax]) break;
      g -= strides[ax] * s[ax];
      counter[ax] = 0;
    }
  }
  return { index, count: sizeOf(kept) };
}
