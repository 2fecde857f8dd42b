/** Contractions of derivative blocks, for engines that get a jvp, vjp or hvp from a full matrix. */
import { sizeOf, type Shape, type Tensor } from '../tensor/tensor.js';
import type { BlockResult, TensorsResult } from './types.js';

/** (M v)_r = Σ_c M[r][c] · v_c, one result per row; rowShapes are the rows' shapes. */
export function blocksTimes(rowShapes: readonly Shape[], m: BlockResult, vectors: readonly Tensor[]): TensorsResult {
  const tensors = rowShapes.map((shape, r) => {
    const rows = sizeOf(shape);
    const data = new Float64Array(rows);
    vectors.forEach((t, c) => {
      const block = m.blocks[r][c].data;
      const n = t.data.length;
      for (let p = 0; p < rows; p++) {
        let acc = 0;
        for (let q = 0; q < n; q++) if (t.data[q] !== 0) acc += block[p * n + q] * t.data[q];
        data[p] += acc;
      }
    });
    return { shape, data };
  });
  return { tensors, directions: m.directions };
}

/** (cᵀ M)_c = Σ_r c_rᵀ · M[r][c], one result per column; colShapes are the columns' shapes. */
export function timesBlocks(colShapes: readonly Shape[], m: BlockResult, covectors: readonly Tensor[]): TensorsResult {
  const tensors = colShapes.map((shape, c) => {
    const n = sizeOf(shape);
    const data = new Float64Array(n);
    covectors.forEach((w, r) => {
      const block = m.blocks[r][c].data;
      for (let p = 0; p < w.data.length; p++) {
        const wp = w.data[p];
        if (wp === 0) continue;
        for (let q = 0; q < n; q++) data[q] += wp * block[p * n + q];
      }
    });
    return { shape, data };
  });
  return { tensors, directions: m.directions };
}
