/**
 * The numeric sweeps shared by the engines. Each builds a derivative program from
 * the plan (primal equations are shared, never recomputed), then runs its new
 * equations over batches of directions.
 *
 * Directions are grouped: forward mode seeds one active input at a time, so a
 * direction only flows through what that input reaches; reverse mode seeds one
 * output at a time. Batches are chunked so no batched tensor grows past a budget.
 */
import type { Plan } from '../analysis/plan.js';
import type { MemoryAccount } from '../graph/cache.js';
import type { Eqn, ValueId, ValueTable } from '../graph/program.js';
import { Emit } from '../ops/emit.js';
import { sizeOf, type Shape, type Tensor } from '../tensor/tensor.js';
import { execute } from '../compile/execute.js';
import type { Env } from './interpret.js';
import { jvpEqns, vjpEqns } from './transform.js';

/** Most elements one batched tensor may hold; bounds chunk sizes. */
const BATCH_BUDGET = 1 << 22;

export interface Primal {
  /** The arguments, in graph input order. */
  args: readonly Tensor[];
  env: Env;
  values: Tensor[];
}

/** Slots an environment needs for the plan and every derivative program built on it so far. */
const envSizes = new WeakMap<Plan, number>();

export function runPrimal(plan: Plan, args: readonly Tensor[]): Primal {
  const { program, graph } = plan;
  // Sized for the derivative programs that will share it (see runDerived), and filled,
  // so the array stays a dense one as they write their slots.
  const env: Env = new Array(envSizes.get(plan) ?? program.values.length).fill(undefined);
  const inputs = graph.inputs;
  for (let i = 0; i < inputs.length; i++) env[inputs[i].value] = args[i].data;
  execute(plan.schedule, program.values, env, 1, plan.account);
  // Copies: an output may be an argument (the caller's array) or a buffer compiled code reuses.
  const values: Tensor[] = [];
  for (const v of plan.outputValues) values.push({ shape: program.values.info(v).shape, data: (env[v] as Float64Array).slice() });
  return { args, env, values };
}

/**
 * A derivative program: equations to run after the primal, seeds to fill, results
 * to read. Its value table extends the primal's; the Emit that built it (with its
 * common-subexpression map) is dropped once it is built.
 */
interface Derived {
  values: ValueTable;
  eqns: Eqn[];
  seeds: ValueId[];
  results: (ValueId | null)[];
  /** Widest batched value: bounds chunk sizes. */
  widest: number;
  /** The plan's account, which its compiled code charges too. */
  account: MemoryAccount;
}

function derived(plan: Plan, e: Emit, eqns: Eqn[], seeds: ValueId[], results: (ValueId | null)[]): Derived {
  let widest = 1;
  // batched values are the program's own: the primal it extends has none
  for (const v of e.values.ownValues()) if (v.batched) widest = Math.max(widest, sizeOf(v.shape));
  return { values: e.values, eqns, seeds, results, widest, account: plan.account };
}

/** Bytes a derivative program keeps: its equations (with their argument lists) and its own values. */
function derivedBytes(d: Derived): number {
  let bytes = 256 + 96 * d.values.ownValues().length;
  for (const q of d.eqns) bytes += 160 + 8 * q.args.length;
  return bytes;
}

function chunkSize(d: Derived, total: number): number {
  return Math.max(1, Math.min(total, Math.floor(BATCH_BUDGET / d.widest)));
}

/**
 * Runs a derivative program on top of the primal's environment. It writes only
 * slots past the primal's (every derivative program numbers its values from
 * there), and computes every slot before reading it, so programs can share the
 * environment one after another without copying it.
 */
function runDerived(d: Derived, base: Env, seedData: readonly Float64Array[], k: number): Env {
  const env = base;
  for (let i = 0; i < d.seeds.length; i++) env[d.seeds[i]] = seedData[i];
  execute(d.eqns, d.values, env, k, d.account);
  return env;
}

/** Batched tangent inputs for the active inputs `seeded` (indices into plan.activeValues), recorded in `tangents`. */
function seedTangents(e: Emit, plan: Plan, seeded: readonly number[], tangents: Map<ValueId, ValueId>): ValueId[] {
  return seeded.map((j) => {
    const v = plan.activeValues[j];
    const s = e.input(plan.program.values.info(v).shape, true);
    tangents.set(v, s);
    return s;
  });
}

/**
 * Builds a derivative program once per plan and key, and keeps it when the graph's
 * account can pay for it; otherwise it is used for this call and built again next
 * time (a plan with thousands of per-input programs keeps what fits).
 */
function memo(plan: Plan, key: string, build: () => Derived): Derived {
  let d = plan.memo.get(key) as Derived | undefined;
  if (d === undefined) {
    d = build();
    if (plan.account.charge(derivedBytes(d))) plan.memo.set(key, d);
    else plan.memo.set('programs-dropped', true);
    envSizes.set(plan, Math.max(envSizes.get(plan) ?? 0, d.values.length));
  }
  return d;
}

/** Tangents of the outputs, with batched tangent inputs for the active inputs `seeded` (indices into plan.activeValues). */
export function forwardProgram(plan: Plan, seeded: readonly number[]): Derived {
  return memo(plan, `forward:${seeded.join(',')}`, () => buildForward(plan, seeded));
}

function buildForward(plan: Plan, seeded: readonly number[]): Derived {
  const e = new Emit(plan.program);
  const tangents = new Map<ValueId, ValueId>();
  const seeds = seedTangents(e, plan, seeded, tangents);
  const start = e.eqns.length;
  jvpEqns(e, plan.activeSchedule, tangents);
  return derived(plan, e, e.eqns.slice(start), seeds, plan.outputValues.map((v) => tangents.get(v) ?? null));
}

/** Cotangents of the active inputs, with batched cotangent inputs for the outputs `seeded` (indices into plan.outputValues). */
export function reverseProgram(plan: Plan, seeded: readonly number[]): Derived {
  return memo(plan, `reverse:${seeded.join(',')}`, () => buildReverse(plan, seeded));
}

function buildReverse(plan: Plan, seeded: readonly number[]): Derived {
  const e = new Emit(plan.program);
  const cotangents = new Map<ValueId, ValueId>();
  const seeds = seeded.map((o) => {
    const v = plan.outputValues[o];
    const s = e.input(plan.program.values.info(v).shape, true);
    cotangents.set(v, cotangents.has(v) ? e.add(cotangents.get(v) as ValueId, s) : s);
    return s;
  });
  const start = e.eqns.length;
  vjpEqns(e, plan.schedule, plan.varied, cotangents);
  return derived(plan, e, e.eqns.slice(start), seeds, plan.activeValues.map((v) => cotangents.get(v) ?? null));
}

/**
 * Forward-over-reverse: the gradient of the (scalar) output as unbatched
 * equations, then batched tangents of that gradient for the active inputs
 * `seeded`. results[a] is the tangent of the gradient of active input a.
 */
export function hessianProgram(plan: Plan, seeded: readonly number[]): Derived {
  return memo(plan, `hessian:${seeded.join(',')}`, () => buildHessian(plan, seeded));
}

function buildHessian(plan: Plan, seeded: readonly number[]): Derived {
  const e = new Emit(plan.program);
  const start = e.eqns.length;
  const cotangents = new Map<ValueId, ValueId>([[plan.outputValues[0], e.scalar(1)]]);
  vjpEqns(e, plan.schedule, plan.varied, cotangents);
  const gradients = plan.activeValues.map((v) => cotangents.get(v) ?? null);
  const gradientEqns = e.eqns.slice(start);
  const tangents = new Map<ValueId, ValueId>();
  const seeds = seedTangents(e, plan, seeded, tangents);
  jvpEqns(e, [...plan.schedule, ...gradientEqns], tangents);
  return derived(plan, e, e.eqns.slice(start), seeds, gradients.map((g) => (g === null ? null : tangents.get(g) ?? null)));
}

/** Identity rows start..start+count of an n-element basis, as one batched seed. */
function basisChunk(n: number, start: number, count: number): Float64Array {
  const small = count * n <= SMALL_BASIS_ELEMENTS;
  const key = `${n},${start},${count}`;
  const hit = small ? basisCache.get(key) : undefined;
  if (hit) return hit;
  const seed = new Float64Array(count * n);
  for (let r = 0; r < count; r++) seed[r * n + start + r] = 1;
  if (small && basisCache.size < BASIS_CACHE_ENTRIES) basisCache.set(key, seed);
  return seed;
}

/** Small identity chunks are kept: programs only read their seeds, never write them. */
const SMALL_BASIS_ELEMENTS = 4096;
const BASIS_CACHE_ENTRIES = 1024;
const basisCache = new Map<string, Float64Array>();

function readResult(env: Env, v: ValueId | null, batched: boolean, size: number, k: number): Float64Array | null {
  if (v === null) return null;
  const data = env[v] as Float64Array;
  if (batched || k === 1) return data;
  // An unbatched result (the derivative does not depend on the direction's value) is the same for every direction.
  const out = new Float64Array(size * k);
  for (let r = 0; r < k; r++) out.set(data, r * size);
  return out;
}

export interface BlockResult {
  /** blocks[row][col]; row and column as the caller defines them. */
  blocks: Tensor[][];
  directions: number;
}

/**
 * Runs `build(seededGroup)` once per group with basis chunks of the group's
 * elements, and scatters batched results into blocks of shape
 * rowShape ++ colShape (transpose=false: direction = column, as forward mode)
 * or colShape... (transpose=true: direction = row, as reverse mode).
 */
function basisSweeps(
  base: Env,
  groupShapes: readonly Shape[],
  resultShapes: readonly Shape[],
  build: (group: number) => Derived,
  directionIsRow: boolean,
): BlockResult {
  // blocks[g][r] holds d(result r)/d(group g) directions; we lay them out as the caller asks.
  // Plain loops: for small graphs this bookkeeping costs as much as the arithmetic.
  const blocks: Tensor[][] = [];
  let directions = 0;
  const resultSizes = resultShapes.map(sizeOf);
  for (let g = 0; g < groupShapes.length; g++) {
    const gShape = groupShapes[g];
    const n = sizeOf(gShape);
    const row: Tensor[] = [];
    for (let r = 0; r < resultShapes.length; r++) {
      const shape = directionIsRow ? [...gShape, ...resultShapes[r]] : [...resultShapes[r], ...gShape];
      row.push({ shape, data: new Float64Array(n * resultSizes[r]) });
    }
    blocks.push(row);
    if (n === 0) continue;
    const d = build(g);
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

/** Jacobian blocks [output][active input] by forward mode: one direction per active input element. */
export function forwardJacobian(plan: Plan, primal: Primal): BlockResult {
  const inShapes = plan.activeValues.map((v) => plan.program.values.info(v).shape);
  const outShapes = plan.outputValues.map((v) => plan.program.values.info(v).shape);
  const r = basisSweeps(primal.env, inShapes, outShapes, (g) => forwardProgram(plan, [g]), false);
  return { blocks: transposeBlocks(r.blocks, outShapes.length), directions: r.directions };
}

/** Jacobian blocks [output][active input] by reverse mode: one direction per output element. */
export function reverseJacobian(plan: Plan, primal: Primal): BlockResult {
  const inShapes = plan.activeValues.map((v) => plan.program.values.info(v).shape);
  const outShapes = plan.outputValues.map((v) => plan.program.values.info(v).shape);
  return basisSweeps(primal.env, outShapes, inShapes, (o) => reverseProgram(plan, [o]), true);
}

/** Hessian blocks [a][b] = d(grad_a)/d(x_b), forward-over-reverse: one direction per active input element. */
export function hessianForwardOverReverse(plan: Plan, primal: Primal): BlockResult {
  const inShapes = plan.activeValues.map((v) => plan.program.values.info(v).shape);
  const r = basisSweeps(primal.env, inShapes, inShapes, (g) => hessianProgram(plan, [g]), false);
  return { blocks: transposeBlocks(r.blocks, inShapes.length), directions: r.directions };
}

function transposeBlocks(blocks: Tensor[][], rows: number): Tensor[][] {
  const out: Tensor[][] = [];
  for (let r = 0; r < rows; r++) {
    const row: Tensor[] = [];
    for (const b of blocks) row.push(b[r]);
    out.push(row);
  }
  return out;
}

/** One forward sweep with the given tangents (k = 1): the JVP of every output. */
export function forwardJvp(plan: Plan, primal: Primal, tangents: readonly Tensor[]): Tensor[] {
  const d = forwardProgram(plan, plan.activeValues.map((_, j) => j));
  const env = runDerived(d, primal.env, tangents.map((t) => t.data), 1);
  return d.results.map((v, o) => resultTensor(env, v, plan.program.values.info(plan.outputValues[o]).shape));
}

/** One reverse sweep with the given cotangents (k = 1): the VJP for every active input. */
export function reverseVjp(plan: Plan, primal: Primal, cotangents: readonly Tensor[]): Tensor[] {
  const d = reverseProgram(plan, plan.outputValues.map((_, o) => o));
  const env = runDerived(d, primal.env, cotangents.map((t) => t.data), 1);
  return d.results.map((v, j) => resultTensor(env, v, plan.program.values.info(plan.activeValues[j]).shape));
}

/** One forward-over-reverse sweep along `vector` (k = 1): H v for every active input. */
export function hvpForwardOverReverse(plan: Plan, primal: Primal, vector: readonly Tensor[]): Tensor[] {
  const d = hessianProgram(plan, plan.activeValues.map((_, j) => j));
  const env = runDerived(d, primal.env, vector.map((t) => t.data), 1);
  return d.results.map((v, j) => resultTensor(env, v, plan.program.values.info(plan.activeValues[j]).shape));
}

/** The gradient of the scalar output by one reverse sweep (used by fd's Hessian). */
export function reverseGradient(plan: Plan, primal: Primal): Tensor[] {
  return reverseVjp(plan, primal, [{ shape: [], data: Float64Array.of(1) }]);
}

function resultTensor(env: Env, v: ValueId | null, shape: Shape): Tensor {
  const data = v === null ? new Float64Array(sizeOf(shape)) : (env[v] as Float64Array).slice(0, sizeOf(shape));
  return { shape, data };
}

/**
 * Forward-over-forward: first-level tangents u (unbatched inputs, one per active
 * input) give the directional derivative of the scalar output; its batched
 * tangents for active input `group` are one row of H u.
 */
function forwardOverForwardProgram(plan: Plan, group: number): Derived {
  return memo(plan, `forward-over-forward:${group}`, () => buildForwardOverForward(plan, group));
}

function buildForwardOverForward(plan: Plan, group: number): Derived {
  const e = new Emit(plan.program);
  const start = e.eqns.length;
  const first = new Map<ValueId, ValueId>();
  const us = plan.activeValues.map((v) => {
    const u = e.input(plan.program.values.info(v).shape, false);
    first.set(v, u);
    return u;
  });
  jvpEqns(e, plan.schedule, first);
  const firstEqns = e.eqns.slice(start);
  const dir = first.get(plan.outputValues[0]) ?? null;
  const v = plan.activeValues[group];
  const seed = e.input(plan.program.values.info(v).shape, true);
  const second = new Map<ValueId, ValueId>([[v, seed]]);
  jvpEqns(e, [...plan.schedule, ...firstEqns], second);
  return derived(plan, e, e.eqns.slice(start), [...us, seed], [dir === null ? null : second.get(dir) ?? null]);
}

/** H u for every active input block, by forward-over-forward (one sweep per active input element). */
export function hvpForwardOverForward(plan: Plan, primal: Primal, u: readonly Tensor[]): { tensors: Tensor[]; directions: number } {
  let directions = 0;
  const tensors = plan.activeValues.map((v, g) => {
    const shape = plan.program.values.info(v).shape;
    const n = sizeOf(shape);
    const data = new Float64Array(n);
    if (n === 0) return { shape, data };
    const d = forwardOverForwardProgram(plan, g);
    const c = chunkSize(d, n);
    for (let start = 0; start < n; start += c) {
      const k = Math.min(c, n - start);
      const env = runDerived(d, primal.env, [...u.map((t) => t.data), basisChunk(n, start, k)], k);
      directions += k;
      const r = readResult(env, d.results[0], d.results[0] !== null && d.values.info(d.results[0]).batched, 1, k);
      if (r !== null) data.set(r.subarray(0, k), start);
    }
    return { shape, data };
  });
  return { tensors, directions };
}

/** Hessian blocks [a][b] by forward-over-forward: H e_i for every active input element i. */
export function hessianForwardOverForward(plan: Plan, primal: Primal): BlockResult {
  const shapes = plan.activeValues.map((v) => plan.program.values.info(v).shape);
  const blocks = shapes.map((a) => shapes.map((b) => ({ shape: [...a, ...b], data: new Float64Array(sizeOf(a) * sizeOf(b)) })));
  let directions = 0;
  shapes.forEach((aShape, a) => {
    const n = sizeOf(aShape);
    for (let p = 0; p < n; p++) {
      const u = shapes.map((s) => ({ shape: s, data: new Float64Array(sizeOf(s)) }));
      u[a].data[p] = 1;
      const r = hvpForwardOverForward(plan, primal, u);
      directions += r.directions;
      r.tensors.forEach((t, b) => blocks[a][b].data.set(t.data, p * t.data.length));
    }
  });
  return { blocks, directions };
}
