/**
 * Structural sparsity of a plan's Jacobian: which active input elements each
 * output element can depend on, found from the program alone (no values), so it is
 * cached with the plan. Each value's pattern is propagated through its equation by
 * the op's own rule (OpDef.sparsity), or generically: elementwise ops by
 * broadcasting, ops that move elements by running their kernel on element numbers,
 * anything else densely (every output element from every argument element). A
 * pattern is conservative: it never leaves out an element whose partial can be
 * non-zero.
 *
 * Columns are numbered over the active inputs in plan order (input a's element j
 * is column offsets[a] + j); a pattern is CSR over a value's elements, columns
 * sorted in each row.
 */
import type { Eqn, ValueId, ValueTable } from '../ir/program.js';
import { broadcastStrides } from '../tensor/broadcast.js';
import { sizeOf, type Shape } from '../tensor/tensor.js';
import type { Plan } from './plan.js';

export interface Pattern {
  /** Row r's columns are idx[ptr[r]] .. idx[ptr[r + 1] - 1], ascending. */
  readonly ptr: Int32Array;
  readonly idx: Int32Array;
}

export interface JacobianSparsity {
  /** Columns: the active inputs' elements, input after input. */
  readonly cols: number;
  /** Where each active input's columns start. */
  readonly colOffsets: readonly number[];
  /** The active input each column belongs to (its index in colOffsets). */
  readonly columnInput: Int32Array;
  /** The pattern of each requested output (rows: its elements). */
  readonly outputs: readonly Pattern[];
  /** Structurally non-zero entries of the whole Jacobian. */
  readonly nonZeros: number;
}

/** An op as equations hold it (analysis sees ops through the IR). */
type Op = Eqn['op'];

/**
 * Element numbers a kernel moves stay exact doubles up to 2^53: argument a's element i
 * is a·2^32 + i + 1, so that an output element the kernel fills with 0 (slice_scatter
 * outside its slice) depends on nothing.
 */
const ARG_STRIDE = 2 ** 32;

/**
 * The Jacobian's sparsity for `plan`, or undefined when the patterns of its values
 * together would hold more than `budget` entries (then it is treated as dense).
 */
export function jacobianSparsity(plan: Plan, budget: number): JacobianSparsity | undefined {
  return sparsityOf(
    {
      values: plan.program.values,
      inputs: plan.activeValues,
      schedule: plan.activeSchedule,
      isActive: (v) => plan.isActive[v] === 1,
      outputs: plan.outputValues,
    },
    budget,
  );
}

/**
 * What a pattern is propagated through: a value table, the inputs whose elements are
 * the columns, the equations in order, which values carry derivatives, and the values
 * whose rows are asked for (null: a row of zeros, as a symbolic zero).
 */
export interface SparsityInput {
  values: ValueTable;
  inputs: readonly ValueId[];
  schedule: readonly Eqn[];
  isActive(v: ValueId): boolean;
  outputs: readonly (ValueId | null)[];
}

/**
 * The pattern of `outputs` with respect to `inputs` through `schedule`: a plan's
 * Jacobian (jacobianSparsity), or a Hessian as the Jacobian of the gradient program.
 */
export function sparsityOf(input: SparsityInput, budget: number): JacobianSparsity | undefined {
  const { values } = input;
  const patterns = new Map<ValueId, Pattern>();
  const colOffsets: number[] = [];
  let cols = 0;
  for (const v of input.inputs) {
    colOffsets.push(cols);
    const n = sizeOf(values.info(v).shape);
    const ptr = new Int32Array(n + 1);
    const idx = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      ptr[j + 1] = j + 1;
      idx[j] = cols + j;
    }
    // an input listed twice (it cannot be: names are unique) would keep its first columns
    if (!patterns.has(v)) patterns.set(v, { ptr, idx });
    cols += n;
  }
  let total = 0;
  const stamp = new Int32Array(cols);
  let generation = 0;
  for (const q of input.schedule) {
    const outShape = values.info(q.out).shape;
    const args = q.args.map((a, i) => (input.isActive(a) && !q.op.constantArgs?.includes(i) ? (patterns.get(a) ?? null) : null));
    const deps = dependencies(
      q,
      q.args.map((a) => values.info(a).shape),
      outShape,
      args.map((p) => p !== null),
      budget - total,
    );
    if (deps === 'over') return undefined;
    const rows = sizeOf(outShape);
    if (deps === 'dense') {
      // Every output element from every element of every argument: one union, repeated.
      const union = unionOfAll(args, stamp, ++generation);
      total += rows * union.length;
      if (total > budget) return undefined;
      const ptr = new Int32Array(rows + 1);
      const idx = new Int32Array(rows * union.length);
      for (let r = 0; r < rows; r++) {
        idx.set(union, r * union.length);
        ptr[r + 1] = (r + 1) * union.length;
      }
      patterns.set(q.out, { ptr, idx });
      continue;
    }
    // Union, per output element, of the rows its dependencies have.
    const ptr = new Int32Array(rows + 1);
    let idx: Int32Array<ArrayBuffer> = new Int32Array(Math.max(16, rows));
    let n = 0;
    for (let r = 0; r < rows; r++) {
      generation++;
      const start = n;
      for (let d: number = deps.ptr[r]; d < deps.ptr[r + 1]; d++) {
        const p: Pattern | null = args[deps.arg[d]];
        if (p === null) continue;
        const e: number = deps.elem[d];
        for (let k: number = p.ptr[e]; k < p.ptr[e + 1]; k++) {
          const c = p.idx[k];
          if (stamp[c] === generation) continue;
          stamp[c] = generation;
          if (n === idx.length) idx = grow(idx);
          idx[n++] = c;
        }
      }
      if (n - start > 1) idx.subarray(start, n).sort();
      ptr[r + 1] = n;
      total += n - start;
      if (total > budget) return undefined;
    }
    patterns.set(q.out, { ptr, idx: idx.slice(0, n) });
  }
  const outputs = input.outputs.map((v, k) => (v === null ? undefined : patterns.get(v)) ?? emptyPattern(rowsOf(input, k)));
  let nonZeros = 0;
  for (const p of outputs) nonZeros += p.ptr[p.ptr.length - 1];
  const columnInput = new Int32Array(cols);
  for (let a = 0; a < colOffsets.length; a++) columnInput.fill(a, colOffsets[a], a + 1 < colOffsets.length ? colOffsets[a + 1] : cols);
  return { cols, colOffsets, columnInput, outputs, nonZeros };
}

/** Every column any row of the given patterns has, ascending. */
function unionOfAll(args: readonly (Pattern | null)[], stamp: Int32Array, generation: number): Int32Array {
  const cols: number[] = [];
  for (const p of args) {
    if (p === null) continue;
    for (let k = 0; k < p.idx.length; k++) {
      const c = p.idx[k];
      if (stamp[c] === generation) continue;
      stamp[c] = generation;
      cols.push(c);
    }
  }
  return Int32Array.from(cols).sort();
}

/** Rows of output k: its value's elements (a symbolic zero has the shape of the input it stands for, in a gradient). */
function rowsOf(input: SparsityInput, k: number): number {
  const v = input.outputs[k] ?? input.inputs[k];
  return sizeOf(input.values.info(v).shape);
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

const emptyPattern = (rows: number): Pattern => ({ ptr: new Int32Array(rows + 1), idx: new Int32Array(0) });

/** Each output element's dependencies: CSR over output elements of (argument, element) pairs. */
interface Dependencies {
  ptr: Int32Array;
  arg: Uint8Array;
  elem: Int32Array;
}

/** The dependencies of q's output elements on the elements of the arguments marked `wanted`. */
function dependencies(
  q: Eqn,
  inShapes: readonly Shape[],
  outShape: Shape,
  wanted: readonly boolean[],
  limit: number,
): Dependencies | 'dense' | 'over' {
  const op = q.op as Op;
  if (op.sparsity) return fromPairs(op, inShapes, outShape, q.attrs, wanted, limit);
  if (op.elementwise) return broadcasting(inShapes, outShape, wanted);
  if (op.movesElements) return moved(op, inShapes, outShape, q.attrs);
  return 'dense';
}

/** An elementwise op: output element e from the element of each argument that broadcasting reads. */
function broadcasting(inShapes: readonly Shape[], outShape: Shape, wanted: readonly boolean[]): Dependencies {
  const rows = sizeOf(outShape);
  const used = inShapes.map((_, a) => a).filter((a) => wanted[a]);
  const ptr = new Int32Array(rows + 1);
  const arg = new Uint8Array(rows * used.length);
  const elem = new Int32Array(rows * used.length);
  const strides = used.map((a) => broadcastStrides(inShapes[a], outShape));
  const rank = outShape.length;
  const at = new Array<number>(rank).fill(0);
  let n = 0;
  for (let r = 0; r < rows; r++) {
    for (let u = 0; u < used.length; u++) {
      let i = 0;
      for (let d = 0; d < rank; d++) i += at[d] * strides[u][d];
      arg[n] = used[u];
      elem[n++] = i;
    }
    ptr[r + 1] = n;
    for (let d = rank - 1; d >= 0; d--) {
      if (++at[d] < outShape[d]) break;
      at[d] = 0;
    }
  }
  return { ptr, arg, elem };
}

/** An op whose output elements are argument elements: its kernel, run on element numbers, says which. */
function moved(op: Op, inShapes: readonly Shape[], outShape: Shape, attrs: Eqn['attrs']): Dependencies {
  const ins = inShapes.map((s, a) => Float64Array.from({ length: sizeOf(s) }, (_, i) => a * ARG_STRIDE + i + 1));
  const rows = sizeOf(outShape);
  const out = new Float64Array(rows).fill(Number.NaN);
  op.kernel(ins, inShapes, out, outShape, attrs as never);
  const ptr = new Int32Array(rows + 1);
  const arg = new Uint8Array(rows);
  const elem = new Int32Array(rows);
  let n = 0;
  for (let r = 0; r < rows; r++) {
    const x = out[r];
    // Not an element number (0 from a fill, say): the element depends on no argument.
    if (Number.isInteger(x) && x >= 1) {
      arg[n] = Math.floor((x - 1) / ARG_STRIDE);
      elem[n++] = (x - 1) % ARG_STRIDE;
    }
    ptr[r + 1] = n;
  }
  return { ptr, arg, elem };
}

/** Thrown by a rule's callback once it has named more pairs than the budget allows. */
const OVER = Symbol('over budget');

/** An op's own rule: its (output, argument, element) pairs, grouped by output element; 'over' past `limit` pairs. */
function fromPairs(
  op: Op,
  inShapes: readonly Shape[],
  outShape: Shape,
  attrs: Eqn['attrs'],
  wanted: readonly boolean[],
  limit: number,
): Dependencies | 'over' {
  const rows = sizeOf(outShape);
  let outs: Int32Array<ArrayBuffer> = new Int32Array(64);
  let args = new Uint8Array(64);
  let elems: Int32Array<ArrayBuffer> = new Int32Array(64);
  let n = 0;
  try {
    (op.sparsity as NonNullable<Op['sparsity']>)(inShapes, outShape, attrs as never, (out, a, element) => {
      if (!wanted[a]) return;
      if (n >= limit) throw OVER;
      if (n === outs.length) {
        outs = grow(outs);
        elems = grow(elems);
        const more = new Uint8Array(args.length * 2);
        more.set(args);
        args = more;
      }
      outs[n] = out;
      args[n] = a;
      elems[n++] = element;
    });
  } catch (err) {
    if (err === OVER) return 'over';
    throw err;
  }
  const ptr = new Int32Array(rows + 1);
  for (let i = 0; i < n; i++) ptr[outs[i] + 1]++;
  for (let r = 0; r < rows; r++) ptr[r + 1] += ptr[r];
  const next = ptr.slice(0, rows);
  const arg = new Uint8Array(n);
  const elem = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const at = next[outs[i]]++;
    arg[at] = args[i];
    elem[at] = elems[i];
  }
  return { ptr, arg, elem };
}
