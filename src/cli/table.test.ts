import { describe, expect, test } from 'vitest';
import { cooLines, formatNumber, MAX_COLS, MAX_ROWS, matrixLines, viewOf } from './table.js';

const nested = (v: unknown) => {
  const t = viewOf(v);
  if (!t) throw new Error('not a tensor');
  return t;
};

describe('viewOf', () => {
  test('nested arrays: the shape along the first elements, elements by flat index, wire strings as numbers', () => {
    const t = nested([
      [1, 2, 3],
      [4, 'NaN', '-Infinity'],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect([0, 1, 2, 3, 4, 5].map(t.at)).toEqual([1, 2, 3, 4, Number.NaN, Number.NEGATIVE_INFINITY]);
    expect(nested(2.5).shape).toEqual([]);
    expect(nested('Infinity').at(0)).toBe(Number.POSITIVE_INFINITY);
  });

  test('base64 tensors are read as little-endian float64, whatever the machine', () => {
    const bytes = Buffer.alloc(24);
    [0.5, -2, 1e-300].forEach((x, i) => bytes.writeDoubleLE(x, i * 8));
    const t = nested({ dtype: 'float64', shape: [3], data: bytes.toString('base64') });
    expect(t.shape).toEqual([3]);
    expect([0, 1, 2].map(t.at)).toEqual([0.5, -2, 1e-300]);
    // a data length that does not fit the shape is not a tensor
    expect(viewOf({ dtype: 'float64', shape: [4], data: bytes.toString('base64') })).toBeNull();
    expect(viewOf({ values: 1 })).toBeNull();
  });
});

describe('formatNumber', () => {
  test('significant digits in the shortest form, and non-finite numbers by name', () => {
    expect(formatNumber(Math.PI, 6)).toBe('3.14159');
    expect(formatNumber(Math.PI, 2)).toBe('3.1');
    expect(formatNumber(1 / 3e9, 3)).toBe('3.33e-10');
    expect(formatNumber(0, 6)).toBe('0');
    expect(formatNumber(-0, 6)).toBe('0');
    expect(formatNumber(Number.NaN, 6)).toBe('NaN');
    expect(formatNumber(Number.NEGATIVE_INFINITY, 6)).toBe('-Infinity');
  });
});

describe('matrixLines', () => {
  test('a scalar is one line; a vector one row; columns right-aligned', () => {
    expect(matrixLines(nested(2), 6)).toEqual(['2']);
    expect(matrixLines(nested([1, -22.5, 3]), 6)).toEqual(['1  -22.5  3']);
    expect(
      matrixLines(
        nested([
          [1, 2],
          [300, -4],
        ]),
        6,
      ),
    ).toEqual(['[0]    1   2', '[1]  300  -4']);
  });

  test('rank 3: a row per pair of leading indices', () => {
    const t = nested([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ]);
    expect(matrixLines(t, 6)).toEqual(['[0,0]  1  2', '[0,1]  3  4', '[1,0]  5  6', '[1,1]  7  8']);
  });

  test('a large matrix shows its first and last rows and columns and counts the rest', () => {
    const n = 1000;
    const t = { shape: [n, n], at: (i: number) => (Math.floor(i / n) === i % n ? 1 : 0) };
    const lines = matrixLines(t, 6);
    expect(lines.length).toBe(MAX_ROWS + 2); // shown rows, the … row, the count
    expect(lines[0].split(/\s+/)).toEqual(['[0]', '1', '0', '0', '0', '…', '0', '0', '0', '0']);
    expect(lines[MAX_ROWS / 2].trim()).toBe('…');
    expect(lines[MAX_ROWS].split(/\s+/)).toEqual(['[999]', '0', '0', '0', '0', '…', '0', '0', '0', '1']);
    expect(lines.at(-1)).toBe(`(${n - MAX_ROWS} rows and ${n - MAX_COLS} columns not shown; --json prints everything)`);
  });

  test('an empty tensor says so', () => {
    expect(matrixLines({ shape: [0, 3], at: () => 0 }, 6)).toEqual(['(empty)']);
  });
});

describe('cooLines', () => {
  test('entries as (row, col) value, the first and last of many', () => {
    expect(cooLines({ shape: [2, 2], rows: [0, 1], cols: [0, 1], values: [2, -3.5] }, 6)).toEqual(['(0, 0)     2', '(1, 1)  -3.5']);
    const n = 100;
    const idx = Array.from({ length: n }, (_, i) => i);
    const lines = cooLines({ shape: [n, n], rows: idx, cols: idx, values: idx.map((i) => i / 2) }, 6);
    expect(lines[0]).toBe('(0, 0)       0');
    expect(lines.at(-2)).toBe('(99, 99)  49.5');
    expect(lines[6].trim()).toBe('…');
    expect(lines.at(-1)).toBe('(88 entries not shown; --json prints everything)');
  });
});
