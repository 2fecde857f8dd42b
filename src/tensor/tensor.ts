/**
 * Dense row-major float64 tensors. Everything numeric in derivd is a Float64Array
 * plus a shape; a scalar has shape [] and one element.
 */
export type Shape = readonly number[];

export interface Tensor {
  readonly shape: Shape;
  readonly data: Float64Array;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides in elements: strides of [2,3,4] are [12,4,1]. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function tensor(shape: Shape, data?: Float64Array): Tensor {
  return { shape: [...shape], data: data ?? new Float64Array(sizeOf(shape)) };
}

/** Normalises a possibly negative axis against a rank; returns -1 when out of range. */
export function normaliseAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : -1;
}
