/**
 * Contractions of derivative blocks, for engines that get a jvp, vjp or hvp from a
 * full matrix. In a batch (`points`), blocks and vectors have the points first and
 * each point is contracted with its own.
 */
import { sizeOf, type Shape, type Tensor } from '../tensor/tensor.js';
import type { BlockResult, TensorsResult } from './types.js';

/** (M v)_r = Σ_c M[r][c] · v_c, one result per row; rowShapes are the rows' shapes. */
export function blocksTimes(rowShapes: readonly Shape[], m: BlockResult, vectors: readonly Tensor[], points?: number): TensorsResult {
  const count = points ?? 1;
  const tensors = rowShapes.map((shape, r) => {
    const rows = sizeOf(shape);
    const data = new Float64Array(count * rows);
    vectors.forEach((t, c) => {
      const block = m.blocks[r][c].data;
      const n = t.data.length / count;
      for (let b = 0; b < count; b++) {
        const v = b * n;
        const at = b * rows * n;
        for (let p = 0; p < rows; p++) {
          let acc = 0;
          for (let q = 0; q < n; q++) if (t.data[v + q] !== 0) acc += block[at + p * n + q] * t.data[v + q];
          data[b * rows + p] += acc;
        }
      }
    });
    return { shape: points === undefined ? shape : [points, ...shape], data };
  });
  return { tensors, directions: m.directions };
}

/** (cᵀ M)_c = Σ_r c_rᵀ · M[r][c], one result per column; colShapes are the columns' shapes. */
export function timesBlocks(colShapes: readonly Shape[], m: BlockResult, covectors: readonly Tensor[], points?: number): TensorsResult {
  const count = points ?? 1;
  const tensors = colShapes.map((shape, c) => {
    const n = sizeOf(shape);
    const data = new Float64Array(count * n);
    covectors.forEach((w, r) => {
      const block = m.blocks[r][c].data;
      const rows = w.data.length / count;
      for (let b = 0; b < count; b++) {
        const at = b * rows * n;
        for (let p = 0; p < rows; p++) {
          const wp = w.data[b * rows + p];
          if (wp === 0) continue;
          for (let q = 0; q < n; q++) data[b * n + q] += wp * block[at + p * n + q];
        }
      }
    });
    return { shape: points === undefined ? shape : [points, ...shape], data };
  });
  return { tensors, directions: m.directions };
}
