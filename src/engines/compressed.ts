/**
 * Compressed sweeps of a sparse Jacobian (analysis/colouring.ts): forward mode
 * seeds every column of one colour at once (columns of a colour share no row, so
 * each row's tangent holds exactly one of them), reverse mode every row of one
 * colour; then each structurally non-zero entry is read back from the sweep of its
 * colour. As many sweeps as colours, instead of one per input (or output) element:
 * a diagonal Jacobian takes one. A Hessian may instead be star coloured, its columns
 * sharing rows, and each entry read from whichever of its two symmetric positions
 * holds it alone (analysis/star-colouring.ts).
 *
 * The sweeps give each pattern entry's value (entries); they are laid out as dense
 * blocks, or as the blocks of a `format: "coo"` result (cooLayout).
 */
import { cooLayout, type Colouring, type Compression } from '../analysis/colouring.js';
import type { SymmetricRecovery } from '../analysis/star-colouring.js';
import type { Env } from '../ir/interpret.js';
import type { Plan } from '../analysis/plan.js';
import type { JacobianSparsity } from '../analysis/sparsity.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import { type Derived, forwardProgram, hessianProgram, reverseProgram, runDerived } from './programs.js';
import { allOf, chunkSize } from './sweeps.js';
import type { BlockResult, Primal } from './types.js';

/** Each pattern entry's value at every point (entries[b · nonZeros + e]), and the sweeps taken. */
interface Entries {
  entries: Float64Array;
  points: number;
  directions: number;
}

/**
 * How the colours are swept: a batch of points carries one colour at every point at
 * once (k = points), a single point a chunk of colours (k = colours in the chunk).
 */
function sweepsOf(plan: Plan, primal: Primal, perSweep: number): { points: number; step: number } {
  return plan.batched ? { points: primal.batch, step: 1 } : { points: 1, step: perSweep };
}

/** What both modes' compressed sweeps start from: the sweep plan, the sizes, each column's input, the entries to fill. */
function sweepSetup(plan: Plan, primal: Primal, sp: JacobianSparsity, perSweep: number) {
  const { points, step } = sweepsOf(plan, primal, perSweep);
  return {
    points,
    step,
    sizes: sizesOf(plan, plan.activeValues),
    // rows of each output (of each gradient, for a Hessian): the pattern's
    outSizes: sp.outputs.map((p) => p.ptr.length - 1),
    inputOf: sp.columnInput,
    nnz: sp.nonZeros,
    entries: new Float64Array(points * sp.nonZeros),
  };
}

const sizesOf = (plan: Plan, values: readonly number[]): number[] => values.map((v) => sizeOf(plan.program.values.info(v as never).shape));

/** Forward mode, one sweep per column colour (chunked), every active input's tangent seeded at once. */
function forwardEntries(
  plan: Plan,
  primal: Primal,
  sp: JacobianSparsity,
  c: Colouring,
  d: Derived = forwardProgram(plan, allOf(plan.activeValues)),
): Entries {
  const { colour, count } = c;
  const { points, step, sizes, outSizes, inputOf, nnz, entries } = sweepSetup(plan, primal, sp, chunkSize(d, count));
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
    if (c.recovery) {
      readRecovered(d, env, sp, c.recovery, first, k, points, plan.batched, entries);
      continue;
    }
    let e0 = 0;
    for (let o = 0; o < d.results.length; o++) {
      const v = d.results[o];
      const p = sp.outputs[o];
      const m = outSizes[o];
      if (v !== null) {
        const data = env[v] as Float64Array;
        const stride = d.values.info(v).batched ? m : 0;
        const { ptr, idx } = p;
        for (let r = 0; r < m; r++) {
          for (let e = ptr[r]; e < ptr[r + 1]; e++) {
            const q = colour[idx[e]] - first;
            if (q < 0 || q >= k) continue;
            if (plan.batched) for (let b = 0; b < points; b++) entries[b * nnz + e0 + e] = data[b * stride + r];
            else entries[e0 + e] = data[q * stride + r];
          }
        }
      }
      e0 += p.ptr[m];
    }
  }
  return { entries, points, directions: count };
}

/**
 * A star-coloured Hessian's entries from the sweeps of colours first .. first + k - 1:
 * each read from the row and colour its recovery names. Rows are the gradients of the
 * active inputs, so a row is numbered as a column is.
 */
function readRecovered(
  d: Derived,
  env: Env,
  sp: JacobianSparsity,
  recovery: SymmetricRecovery,
  first: number,
  k: number,
  points: number,
  batched: boolean,
  entries: Float64Array,
): void {
  const nnz = sp.nonZeros;
  const sizes = sp.outputs.map((p) => p.ptr.length - 1);
  const gradients = d.results.map((v, o) =>
    v === null ? null : { data: env[v] as Float64Array, stride: d.values.info(v).batched ? sizes[o] : 0 },
  );
  for (let e = 0; e < nnz; e++) {
    const q = recovery.colour[e] - first;
    if (q < 0 || q >= k) continue;
    const row = recovery.row[e];
    const o = sp.columnInput[row];
    const g = gradients[o];
    // a gradient that is structurally zero: its row of the Hessian too
    if (g === null) continue;
    const r = row - sp.colOffsets[o];
    if (batched) for (let b = 0; b < points; b++) entries[b * nnz + e] = g.data[b * g.stride + r];
    else entries[e] = g.data[q * g.stride + r];
  }
}

/** Reverse mode, one sweep per row colour (chunked), every output's cotangent seeded at once. */
function reverseEntries(plan: Plan, primal: Primal, sp: JacobianSparsity, c: Colouring): Entries {
  const { colour, count } = c;
  const d = reverseProgram(plan, allOf(plan.outputValues));
  const { points, step, sizes, outSizes, inputOf, nnz, entries } = sweepSetup(plan, primal, sp, chunkSize(d, count));
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
    let e0 = 0;
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
          if (plan.batched) for (let b = 0; b < points; b++) entries[b * nnz + e0 + e] = res.data[(res.batched ? b * n : 0) + j];
          else entries[e0 + e] = res.data[(res.batched ? q * n : 0) + j];
        }
      }
      e0 += p.ptr[m];
    });
  }
  return { entries, points, directions: count };
}

/** Dense blocks [output][active input] (in a batch, the points first), zero but at the pattern's entries. */
function denseBlocks(plan: Plan, sp: JacobianSparsity, r: Entries, rowValues: readonly number[] = plan.outputValues): BlockResult {
  const { entries, points } = r;
  const lead = plan.batched ? [points] : [];
  const info = (v: number) => plan.program.values.info(v as never).shape;
  const sizes = sizesOf(plan, plan.activeValues);
  const inputOf = sp.columnInput;
  const nnz = sp.nonZeros;
  let e0 = 0;
  const blocks = rowValues.map((o, k) => {
    const m = sizeOf(info(o));
    const row = plan.activeValues.map((a, i) => ({
      shape: [...lead, ...info(o), ...info(a)],
      data: new Float64Array(points * m * sizes[i]),
    }));
    const p = sp.outputs[k];
    for (let r = 0; r < m; r++) {
      for (let e = p.ptr[r]; e < p.ptr[r + 1]; e++) {
        const col = p.idx[e];
        const a = inputOf[col];
        const n = sizes[a];
        const at = r * n + col - sp.colOffsets[a];
        for (let b = 0; b < points; b++) row[a].data[b * m * n + at] = entries[b * nnz + e0 + e];
      }
    }
    e0 += p.ptr[m];
    return row;
  });
  return { blocks, directions: r.directions, nonZeros: sp.nonZeros };
}

/** The values of each `format: "coo"` block [output][active input], in its (row, column) order (in a batch, [points, entries]). */
export function cooValues(plan: Plan, sp: JacobianSparsity, entries: Float64Array, points: number): Tensor[][] {
  const layout = cooLayout(plan, sp);
  const nnz = sp.nonZeros;
  const values = layout.blocks.map((row) =>
    row.map((b) => ({ shape: plan.batched ? [points, b.rows.length] : [b.rows.length], data: new Float64Array(points * b.rows.length) })),
  );
  let e0 = 0;
  for (let o = 0; o < layout.blocks.length; o++) {
    const row = layout.blocks[o];
    let count = 0;
    for (const b of row) count += b.rows.length;
    if (row.length === 1) {
      // one active input: the block's order is the pattern's
      const data = values[o][0].data;
      for (let b = 0; b < points; b++) data.set(entries.subarray(b * nnz + e0, b * nnz + e0 + count), b * count);
    } else {
      const datas = values[o].map((t) => t.data);
      const sizes = row.map((b) => b.rows.length);
      for (let b = 0; b < points; b++) {
        for (let e = e0; e < e0 + count; e++) {
          const a = layout.input[e];
          datas[a][b * sizes[a] + layout.position[e]] = entries[b * nnz + e];
        }
      }
    }
    e0 += count;
  }
  return values;
}

/** Forward mode, compressed, as dense blocks. */
export function compressedForward(plan: Plan, primal: Primal, c: Compression): BlockResult {
  return denseBlocks(plan, c.sparsity, forwardEntries(plan, primal, c.sparsity, c));
}

/** Reverse mode, compressed, as dense blocks. */
export function compressedReverse(plan: Plan, primal: Primal, c: Compression): BlockResult {
  return denseBlocks(plan, c.sparsity, reverseEntries(plan, primal, c.sparsity, c));
}

/**
 * A Hessian by compressed forward-over-reverse sweeps: every active input element of
 * one colour seeded at once through the gradient program, rows read back per
 * colour; dense blocks [a][b].
 */
export function compressedHessian(plan: Plan, primal: Primal, c: Compression): BlockResult {
  const entries = forwardEntries(plan, primal, c.sparsity, c, hessianProgram(plan, allOf(plan.activeValues)));
  return denseBlocks(plan, c.sparsity, entries, plan.activeValues);
}

/** The Hessian pattern's entries by compressed forward-over-reverse sweeps. */
export function hessianEntries(plan: Plan, primal: Primal, sp: JacobianSparsity, c: Colouring): Entries {
  return forwardEntries(plan, primal, sp, c, hessianProgram(plan, allOf(plan.activeValues)));
}

/** The pattern's entries by compressed forward or reverse sweeps with the given colouring. */
export function sparseEntries(plan: Plan, primal: Primal, sp: JacobianSparsity, c: Colouring, mode: 'forward' | 'reverse'): Entries {
  return mode === 'forward' ? forwardEntries(plan, primal, sp, c) : reverseEntries(plan, primal, sp, c);
}
