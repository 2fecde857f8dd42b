/**
 * Tensors as aligned text: a scalar on its line, anything else as a matrix whose
 * rows are its leading indices and whose columns are its last axis. What is shown
 * is bounded whatever the tensor's size: past MAX_ROWS rows or MAX_COLS columns
 * only the first and last ones are, with what was left out counted.
 */

/** A tensor read where it lies: its shape and its element at a flat (row-major) index. */
export interface View {
  shape: number[];
  at: (i: number) => number;
}

export const MAX_ROWS = 12;
export const MAX_COLS = 8;
/** Most entries of a coo block listed. */
export const MAX_ENTRIES = 12;

const ELLIPSIS = '…';

/** A wire number: a JSON number, or "NaN", "Infinity", "-Infinity" as the service writes them. */
export function wireNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A result tensor as the service or the library writes it, nested arrays or the
 * base64 form ({dtype, shape, data}), as a View; null when it is neither.
 * Nothing is copied: nested arrays are indexed in place, base64 read through a DataView.
 */
export function viewOf(v: unknown): View | null {
  if (isObject(v) && typeof v.data === 'string' && Array.isArray(v.shape)) {
    const bytes = Buffer.from(v.data, 'base64');
    const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const shape = v.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    if (size * 8 !== bytes.byteLength) return null;
    // the wire's float64 is little-endian whatever this machine is
    return { shape, at: (i) => data.getFloat64(i * 8, true) };
  }
  if (!Array.isArray(v)) return typeof v === 'number' || typeof v === 'string' ? { shape: [], at: () => wireNumber(v) } : null;
  const shape: number[] = [];
  for (let x: unknown = v; Array.isArray(x); x = x[0]) shape.push(x.length);
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  return {
    shape,
    at: (i) => {
      let x: unknown = v;
      for (const s of strides) {
        x = (x as unknown[])[Math.floor(i / s)];
        i %= s;
      }
      return wireNumber(x);
    },
  };
}

/** `precision` significant digits, in the shortest form JavaScript writes that number in. */
export function formatNumber(x: number, precision: number): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(precision)));
}

export const shapeText = (shape: readonly number[]): string => `[${shape.join(',')}]`;

/** Indices 0..n-1 to show: all, or the first and last `max / 2` with null where the rest are left out. */
function pick(n: number, max: number): (number | null)[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const half = Math.floor(max / 2);
  return [...Array.from({ length: half }, (_, i) => i), null, ...Array.from({ length: half }, (_, i) => n - half + i)];
}

/** Strings right-aligned in columns; `left` columns (labels) left-aligned. */
export function align(rows: string[][], left = 0): string[] {
  const widths: number[] = [];
  for (const r of rows) for (let j = 0; j < r.length; j++) widths[j] = Math.max(widths[j] ?? 0, r[j].length);
  return rows.map((r) =>
    r
      .map((c, j) => (j < left ? c.padEnd(widths[j]) : c.padStart(widths[j])))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * The tensor's lines: one value for a scalar; otherwise a matrix, a row per index
 * of the leading axes (labelled [i,j] when there are any) and a column per index
 * of the last, cut to the first and last rows and columns when large.
 */
export function matrixLines(t: View, precision: number): string[] {
  const { shape } = t;
  if (shape.length === 0) return [formatNumber(t.at(0), precision)];
  const cols = shape[shape.length - 1];
  const lead = shape.slice(0, -1);
  const rows = lead.reduce((a, b) => a * b, 1);
  if (rows * cols === 0) return ['(empty)'];
  const label = (r: number): string[] => {
    if (lead.length === 0) return [];
    const idx: number[] = [];
    for (let k = lead.length - 1, q = r; k >= 0; k--) {
      idx.unshift(q % lead[k]);
      q = Math.floor(q / lead[k]);
    }
    return [`[${idx.join(',')}]`];
  };
  const colIdx = pick(cols, MAX_COLS);
  const table: string[][] = [];
  for (const r of pick(rows, MAX_ROWS)) {
    if (r === null) {
      table.push([...(lead.length ? [ELLIPSIS] : []), ...colIdx.map(() => '')]);
      continue;
    }
    table.push([...label(r), ...colIdx.map((c) => (c === null ? ELLIPSIS : formatNumber(t.at(r * cols + c), precision)))]);
  }
  const lines = align(table, lead.length ? 1 : 0);
  const left: string[] = [];
  if (rows > MAX_ROWS) left.push(`${rows - 2 * Math.floor(MAX_ROWS / 2)} rows`);
  if (cols > MAX_COLS) left.push(`${cols - 2 * Math.floor(MAX_COLS / 2)} columns`);
  if (left.length) lines.push(`(${left.join(' and ')} not shown; --json prints everything)`);
  return lines;
}

/**
 * A coo block ({shape, rows, cols, values}): its non-zero entries as (row, col) value
 * lines, the first and last ones when there are many.
 */
export function cooLines(block: Record<string, unknown>, precision: number): string[] {
  const rows = block.rows as number[];
  const cols = block.cols as number[];
  const values = viewOf(block.values);
  if (!values || !Array.isArray(rows) || !Array.isArray(cols)) return ['(not a coo block)'];
  // in a batch, values is [points, entries]: the entries of the first point are listed
  const batched = values.shape.length === 2;
  const table: string[][] = [];
  for (const k of pick(rows.length, MAX_ENTRIES)) {
    if (k === null) table.push([ELLIPSIS, '']);
    else table.push([`(${rows[k]}, ${cols[k]})`, formatNumber(values.at(k), precision)]);
  }
  const lines = align(table, 1);
  if (batched) lines.unshift(`(entries of point 0 of ${values.shape[0]})`);
  if (rows.length > MAX_ENTRIES)
    lines.push(`(${rows.length - 2 * Math.floor(MAX_ENTRIES / 2)} entries not shown; --json prints everything)`);
  return lines;
}
