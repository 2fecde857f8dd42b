/**
 * Compressed sweeps of a sparse Jacobian (analysis/colouring.ts): forward mode
 * seeds every column of one colour at once (columns of a colour share no row, so
 * each row's tangent holds exactly one of them), reverse mode every row of one
 * colour; then each structurally non-zero entry is read back from the sweep of its
 * colour. As many sweeps as colours, instead of one per input (or output) element:
 * a diagonal Jacobian takes one.
 */
import type { Compression } from '../analysis/colouring.js';
import type { Plan } from '../analysis/plan.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import { chunkSize } from './sweeps.js';
import { forwardProgram, reverseProgram, runDerived } from './programs.js';
import { allOf } from './sweeps.js';
import type { BlockResult, Primal } from './types.js';

/** Zero blocks [output][active input], each output.shape ++ input.shape (in a batch, with the points first). */
function zeroBlocks(plan: Plan, points: number): Tensor[][] {
  const info = (v: number) => plan.program.values.info(v as never).shape;
  const lead = plan.batched ? [points] : [];
  return plan.outputValues.map((o) =>
    plan.activeValues.map((a) => ({
      shape: [...lead, ...info(o), ...info(a)],
      data: new Float64Array(points * sizeOf(info(o)) * sizeOf(info(a))),
    })),
  );
}

/**
 * How the colours are swept: a batch of points carries one colour at every point at
 * once (k = points), a single point a chunk of colours (k = colours in the chunk).
 */
function sweepsOf(plan: Plan, primal: Primal, perSweep: number): { points: number; step: number } {
  return plan.batched ? { points: primal.batch, step: 1 } : { points: 1, step: perSweep };
}

/** Which active input (by offset) a column belongs to: the last offset at or below it. */
function inputOfColumns(offsets: readonly number[], cols: number): Int32Array {
  const of = new Int32Array(cols);
  for (let a = 0; a < offsets.length; a++) of.fill(a, offsets[a], a + 1 < offsets.length ? offsets[a + 1] : cols);
  return of;
}

/** Forward mode, one sweep per column colour (chunked), every active input's tangent seeded at once. */
export function compressedForward(plan: Plan, primal: Primal, c: Compression): BlockResult {
  const { sparsity: sp, colour, count } = c;
  const d = forwardProgram(plan, allOf(plan.activeValues));
  const { points, step } = sweepsOf(plan, primal, chunkSize(d, count));
  const blocks = zeroBlocks(plan, points);
  const sizes = plan.activeValues.map((v) => sizeOf(plan.program.values.info(v).shape));
  const outSizes = plan.outputValues.map((v) => sizeOf(plan.program.values.info(v).shape));
  const inputOf = inputOfColumns(sp.colOffsets, sp.cols);
  for (let first = 0; first < count; first += step) {
    const k = Math.min(step, count - first);
    const width = plan.batched ? points : k;
    // Seed q of the chunk (or, in a batch, every point's seed): 1 at every column of colour first + q.
    const seeds = sizes.map((n) => new Float64Array(width * n));
    for (let col = 0; col < sp.cols; col++) {
      const q = colour[col] - first;
      if (q < 0 || q >= k) continue;
      const a = inputOf[col];
      const j = col - sp.colOffsets[a];
      if (plan.batched) for (let b = 0; b < points; b++) seeds[a][b * sizes[a] + j] = 1;
      else seeds[a][q * sizes[a] + j] = 1;
    }
    const env = runDerived(d, primal.env, seeds, width);
    d.results.forEach((v, o) => {
      if (v === null) return;
      const data = env[v] as Float64Array;
      const batched = d.values.info(v).batched;
      const m = outSizes[o];
      const p = sp.outputs[o];
      for (let r = 0; r < m; r++) {
        for (let e = p.ptr[r]; e < p.ptr[r + 1]; e++) {
          const col = p.idx[e];
          const q = colour[col] - first;
          if (q < 0 || q >= k) continue;
          const a = inputOf[col];
          const n = sizes[a];
          const j = col - sp.colOffsets[a];
          const block = blocks[o][a].data;
          if (plan.batched) for (let b = 0; b < points; b++) block[b * m * n + r * n + j] = data[(batched ? b * m : 0) + r];
          else block[r * n + j] = data[(batched ? q * m : 0) + r];
        }
      }
    });
  }
  return { blocks, directions: count };
}

/** Reverse mode, one sweep per row colour (chunked), every output's cotangent seeded at once. */
export function compressedReverse(plan: Plan, primal: Primal, c: Compression): BlockResult {
  const { sparsity: sp, colour, count } = c;
  const d = reverseProgram(plan, allOf(plan.outputValues));
  const { points, step } = sweepsOf(plan, primal, chunkSize(d, count));
  const blocks = zeroBlocks(plan, points);
  const sizes = plan.activeValues.map((v) => sizeOf(plan.program.values.info(v).shape));
  const outSizes = plan.outputValues.map((v) => sizeOf(plan.program.values.info(v).shape));
  const inputOf = inputOfColumns(sp.colOffsets, sp.cols);
  for (let first = 0; first < count; first += step) {
    const k = Math.min(step, count - first);
    const width = plan.batched ? points : k;
    const seeds = outSizes.map((m) => new Float64Array(width * m));
    let row = 0;
    outSizes.forEach((m, o) => {
      for (let r = 0; r < m; r++, row++) {
        const q = colour[row] - first;
        if (q < 0 || q >= k) continue;
        if (plan.batched) for (let b = 0; b < points; b++) seeds[o][b * m + r] = 1;
        else seeds[o][q * m + r] = 1;
      }
    });
    const env = runDerived(d, primal.env, seeds, width);
    const results = d.results.map((v) => (v === null ? null : { data: env[v] as Float64Array, batched: d.values.info(v).batched }));
    row = 0;
    outSizes.forEach((m, o) => {
      const p = sp.outputs[o];
      for (let r = 0; r < m; r++, row++) {
        const q = colour[row] - first;
        if (q < 0 || q >= k) continue;
        for (let e = p.ptr[r]; e < p.ptr[r + 1]; e++) {
          const col = p.idx[e];
          const a = inputOf[col];
          const res = results[a];
          if (res === null) continue;
          const n = sizes[a];
          const j = col - sp.colOffsets[a];
          const block = blocks[o][a].data;
          if (plan.batched) for (let b = 0; b < points; b++) block[b * m * n + r * n + j] = res.data[(res.batched ? b * n : 0) + j];
          else block[r * n + j] = res.data[(res.batched ? q * n : 0) + j];
        }
      }
    });
  }
  return { blocks, directions: count };
}
