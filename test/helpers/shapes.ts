/**
 * Index arithmetic for reference implementations in tests:
 *   indices(shape)      every multi-index of a shape in row-major order
 *   flat(idx, shape)    the row-major flat offset of a multi-index
 */
import type { Shape } from '../../src/tensor/tensor.js';

export function* indices(shape: Shape): Generator<number[]> {
  if (shape.some((d) => d === 0)) return;
  const idx = shape.map(() => 0);
  for (;;) {
    yield [...idx];
    let ax = shape.length - 1;
    while (ax >= 0 && ++idx[ax] === shape[ax]) idx[ax--] = 0;
    if (ax < 0) return;
  }
}

export const flat = (idx: number[], shape: Shape): number => idx.reduce((acc, i, ax) => acc * shape[ax] + i, 0);
