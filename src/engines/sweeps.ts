/**
 * Sweeps over bases of directions, shared by the engines that propagate
 * derivatives: a derivative program runs once per chunk of identity directions,
 * and its batched results are scattered into Jacobian or Hessian blocks. Chunks
 * are sized so no batched tensor grows past a budget.
 */
import type { Plan } from '../analysis/plan.js';
import type { Env } from '../ir/interpret.js';
import type { ValueId } from '../ir/program.js';
import { sizeOf, type Shape, type Tensor } from '../tensor/tensor.js';
import { repeat } from './primal.js';
import { reverseProgram, runDerived, type Derived } from './programs.js';
import type { BlockResult, Primal } from './types.js';

/** Most elements one batched tensor may hold; bounds chunk sizes. */
const BATCH_BUDGET = 1 << 22;

export function chunkSize(d: Derived, total: number): number {
  return Math.max(1, Math.min(total, Math.floor(BATCH_BUDGET / d.widest)));
}

/** Identity rows start..start+count of an n-element basis, as the batched input of one chunk of directions. */
export function basisChunk(n: number, start: number, count: number): Float64Array {
  const small = count * n <= SMALL_BASIS_ELEMENTS;
  const key = `${n},${start},${count}`;
  const hit = small ? basisCache.get(key) : undefined;
  if (hit) return hit;
  const basis = new Float64Array(count * n);
  for (let r = 0; r < count; r++) basis[r * n + start + r] = 1;
  if (small && basisCache.size < BASIS_CACHE_ENTRIES) basisCache.set(key, basis);
  return basis;
}

/** Small identity chunks are kept: programs only read their directionInputs, never write them. */
const SMALL_BASIS_ELEMENTS = 4096;
const BASIS_CACHE_ENTRIES = 1024;
const basisCache = new Map<string, Float64Array>();

export function readResult(env: Env, v: ValueId | null, batched: boolean, size: number, k: number): Float64Array | null {
  if (v === null) return null;
  const data = env[v] as Float64Array;
  if (batched || k === 1) return data;
  // An unbatched result (the derivative does not depend on the direction's value) is the same for every direction.
  const out = new Float64Array(size * k);
  for (let r = 0; r < k; r++) out.set(data, r * size);
  return out;
}

/**
 * Runs `build(group)` once per group with basis chunks of the group's
 * elements, and scatters batched results into blocks of shape
 * rowShape ++ colShape (transpose=false: direction = column, as forward mode)
 * or colShape... (transpose=true: direction = row, as reverse mode).
 */
export function basisSweeps(
  primal: Primal,
  batched: boolean,
  groupShapes: readonly Shape[],
  resultShapes: readonly Shape[],
  build: (group: number) => Derived,
  directionIsRow: boolean,
): BlockResult {
  if (batched) return pointSweeps(primal.env, primal.batch, groupShapes, resultShapes, build, directionIsRow);
  const base = primal.env;
  // blocks[g][r] holds d(result r)/d(group g) directions; we lay them out as the caller asks.
  // Plain loops: for small graphs this bookkeeping costs as much as the arithmetic.
  const blocks: Tensor[][] = [];
  let directions = 0;
  const resultSizes = resultShapes.map(sizeOf);
  for (let g = 0; g < groupShapes.length; g++) {
    const gShape = groupShapes[g];
    const n = sizeOf(gShape);
    const row = zeroRow(gShape, resultShapes, resultSizes, directionIsRow, []);
    blocks.push(row);
    if (n === 0) continue;
    const d = build(g);
    // Nothing flows from this group (an input used only as indices or a condition): its block is zeros, at no sweep.
    if (d.results.every((r) => r === null)) continue;
    const c = chunkSize(d, n);
    for (let start = 0; start < n; start += c) {
      const k = Math.min(c, n - start);
      const env = runDerived(d, base, [basisChunk(n, start, k)], k);
      directions += k;
      for (let r = 0; r < d.results.length; r++) {
        const v = d.results[r];
        const m = resultSizes[r];
        const data = readResult(env, v, v !== null && d.values.info(v).batched, m, k);
        if (data === null) continue;
        const out = row[r].data;
        if (directionIsRow) {
          out.set(k * m === data.length ? data : data.subarray(0, k * m), start * m);
        } else if (k === 1 && n === 1) {
          out.set(data.length === m ? data : data.subarray(0, m));
        } else {
          for (let q = 0; q < k; q++) for (let p = 0; p < m; p++) out[p * n + start + q] = data[q * m + p];
        }
      }
    }
  }
  return { blocks, directions };
}

/**
 * basisSweeps for a batch of `points`: the primal's values are batched over the
 * points (k = points), so a sweep carries one direction, e_j at every point at once;
 * blocks get the points as their leading axis. n sweeps for n directions, whatever
 * the number of points.
 */
function pointSweeps(
  base: Env,
  points: number,
  groupShapes: readonly Shape[],
  resultShapes: readonly Shape[],
  build: (group: number) => Derived,
  directionIsRow: boolean,
): BlockResult {
  const blocks: Tensor[][] = [];
  let directions = 0;
  const resultSizes = resultShapes.map(sizeOf);
  for (let g = 0; g < groupShapes.length; g++) {
    const gShape = groupShapes[g];
    const n = sizeOf(gShape);
    const row = zeroRow(gShape, resultShapes, resultSizes, directionIsRow, [points]);
    blocks.push(row);
    if (n === 0) continue;
    const d = build(g);
    const direction = new Float64Array(points * n);
    for (let j = 0; j < n; j++) {
      for (let b = 0; b < points; b++) {
        if (j > 0) direction[b * n + j - 1] = 0;
        direction[b * n + j] = 1;
      }
      const env = runDerived(d, base, [direction], points);
      directions++;
      for (let r = 0; r < d.results.length; r++) {
        const v = d.results[r];
        if (v === null) continue;
        const m = resultSizes[r];
        const data = env[v] as Float64Array;
        const perPoint = d.values.info(v).batched ? m : 0; // an unbatched result is every point's
        const out = row[r].data;
        for (let b = 0; b < points; b++) {
          const from = b * perPoint;
          const block = b * n * m;
          if (directionIsRow) out.set(data.subarray(from, from + m), block + j * m);
          else for (let p = 0; p < m; p++) out[block + p * n + j] = data[from + p];
        }
      }
    }
  }
  return { blocks, directions };
}

/** Zero blocks of one group against every result, lead ++ group ++ result (direction = row) or lead ++ result ++ group. */
function zeroRow(
  gShape: Shape,
  resultShapes: readonly Shape[],
  resultSizes: readonly number[],
  directionIsRow: boolean,
  lead: readonly number[],
): Tensor[] {
  const n = sizeOf(gShape) * (lead.length > 0 ? lead[0] : 1);
  return resultShapes.map((rs, r) => ({
    shape: directionIsRow ? [...lead, ...gShape, ...rs] : [...lead, ...rs, ...gShape],
    data: new Float64Array(n * resultSizes[r]),
  }));
}

export function transposeBlocks(blocks: Tensor[][], rows: number): Tensor[][] {
  const out: Tensor[][] = [];
  for (let r = 0; r < rows; r++) {
    const row: Tensor[] = [];
    for (const b of blocks) row.push(b[r]);
    out.push(row);
  }
  return out;
}

/** Shapes of the plan's active inputs and of its outputs, in plan order. */
export const activeShapes = (plan: Plan): Shape[] => plan.activeValues.map((v) => plan.program.values.info(v).shape);
export const outputShapes = (plan: Plan): Shape[] => plan.outputValues.map((v) => plan.program.values.info(v).shape);

/**
 * The tensor of a result value (zeros for a symbolic zero), copied out of the
 * environment; in a batch (`points`), with the points as a leading axis.
 */
export function resultTensor(env: Env, v: ValueId | null, shape: Shape, points?: number, batched = true): Tensor {
  const size = sizeOf(shape);
  if (points === undefined) return { shape, data: v === null ? new Float64Array(size) : (env[v] as Float64Array).slice(0, size) };
  const all = [points, ...shape];
  if (v === null) return { shape: all, data: new Float64Array(points * size) };
  const data = env[v] as Float64Array;
  return { shape: all, data: batched ? data.slice(0, points * size) : repeat(data.subarray(0, size), points) };
}

/** 0, 1, …, n - 1: every group of a list of n (all active inputs, or all outputs, at once). */
export const allOf = (list: readonly unknown[]): number[] => list.map((_, i) => i);

/**
 * Runs derivative program `d` once, with one direction (k = 1) given by `inputs`;
 * its results as tensors shaped like `like` (the values they are derivatives of).
 */
export function singleSweep(plan: Plan, d: Derived, primal: Primal, inputs: readonly Tensor[], like: readonly ValueId[]): Tensor[] {
  // In a batch, one direction per point: the inputs hold every point's ([B, ...]).
  const points = plan.batched ? primal.batch : undefined;
  const env = runDerived(
    d,
    primal.env,
    inputs.map((t) => t.data),
    points ?? 1,
  );
  return d.results.map((v, i) =>
    resultTensor(env, v, plan.program.values.info(like[i]).shape, points, v !== null && d.values.info(v).batched),
  );
}

/**
 * One reverse sweep with the given cotangents (k = 1): the VJP for every active input.
 * Shared: the reverse engine's vjp, and the gradient the fd engine differences for Hessians.
 */
export function vjpSweep(plan: Plan, primal: Primal, cotangents: readonly Tensor[]): Tensor[] {
  return singleSweep(plan, reverseProgram(plan, allOf(plan.outputValues)), primal, cotangents, plan.activeValues);
}

/** The gradient of the scalar output by one reverse sweep. */
export function gradientSweep(plan: Plan, primal: Primal): Tensor[] {
  const ones = plan.batched
    ? { shape: [primal.batch], data: new Float64Array(primal.batch).fill(1) }
    : { shape: [], data: Float64Array.of(1) };
  return vjpSweep(plan, primal, [ones]);
}
