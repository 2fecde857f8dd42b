/** Nested number arrays as the service writes them ("NaN" and "±Infinity" as strings). */
export type Wire = number | string | Wire[];

/** A wire number as a JS number: the strings the service uses for non-finite values become them. */
export function num(v: Wire): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}

/** The shape of a nested array (rectangular, as every tensor the service sends is). */
export function shapeOf(v: Wire): number[] {
  const shape: number[] = [];
  let cur: Wire = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

/** Row-major flattening. */
export function flatten(v: Wire): number[] {
  const out: number[] = [];
  const walk = (x: Wire): void => {
    if (Array.isArray(x)) for (const y of x) walk(y);
    else out.push(num(x));
  };
  walk(v);
  return out;
}

/** A flat array as a nested one of `shape` (what a request's `args` needs). */
export function nest(flat: readonly number[], shape: readonly number[]): Wire {
  if (shape.length === 0) return flat[0];
  let i = 0;
  const build = (axis: number): Wire => {
    if (axis === shape.length) return flat[i++];
    return Array.from({ length: shape[axis] }, () => build(axis + 1));
  };
  return build(0);
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * A block of shape `outShape ++ inShape` seen as a matrix: rows are the output's
 * elements, columns the input's (a scalar side is one row or one column).
 */
export function asMatrix(block: Wire, outShape: readonly number[]): { rows: number; cols: number; data: number[] } {
  const data = flatten(block);
  const rows = sizeOf(outShape);
  return { rows, cols: rows === 0 ? 0 : data.length / rows, data };
}

/** A human-readable number: 6 significant digits, exponent form for very small or large magnitudes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a < 1e-4 || a >= 1e6 ? x.toExponential(4) : String(Number(x.toPrecision(6)));
}
