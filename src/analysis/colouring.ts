/**
 * Colourings of a sparse Jacobian (Curtis, Powell and Reid; Gebremedhin, Manne and
 * Pothen, "What color is your Jacobian?"): columns that share no row can be seeded
 * together in one forward sweep (distance-2 colouring of the column intersection
 * graph), rows that share no column in one reverse sweep. Greedy, in natural order:
 * each column (row) takes the smallest colour none of its neighbours has. A Hessian,
 * symmetric, may instead be star coloured (star-colouring.ts) when that takes fewer.
 *
 * A plan's colourings are computed once, for Jacobians only, and kept in its memo;
 * a compression is offered only when the cost model prices its sweeps below the
 * plain ones (cost.ts), so a dense Jacobian never pays for a colouring it cannot use.
 */
import { ProgramBuilder } from '../ir/builder.js';
import { vjpEqns } from '../ir/transform.js';
import type { ValueId } from '../ir/program.js';
import { jacobianSparsity, sparsityOf, type JacobianSparsity, type Pattern } from './sparsity.js';
import { adjacencyOf, starColouring, symmetricRecovery, type SymmetricRecovery } from './star-colouring.js';
import type { Plan } from './plan.js';
import { sizeOf } from '../tensor/tensor.js';

export interface Colouring {
  /** colour[i] of each column (forward) or row (reverse), 0 .. count - 1. */
  readonly colour: Int32Array;
  readonly count: number;
  /**
   * A star colouring of a Hessian: where each pattern entry is read instead of its own
   * row at its column's colour (star-colouring.ts).
   */
  readonly recovery?: SymmetricRecovery;
}

export interface Compression extends Colouring {
  readonly sparsity: JacobianSparsity;
  /** Total rows: the requested outputs' elements, output after output. */
  readonly rows: number;
}

/** The whole Jacobian's pattern as one CSR over all output rows, and its transpose. */
function stacked(sp: JacobianSparsity): { rows: number; ptr: Int32Array; idx: Int32Array } {
  let rows = 0;
  for (const p of sp.outputs) rows += p.ptr.length - 1;
  const ptr = new Int32Array(rows + 1);
  const idx = new Int32Array(sp.nonZeros);
  let r = 0;
  let n = 0;
  for (const p of sp.outputs) {
    for (let i = 0; i + 1 < p.ptr.length; i++) {
      for (let k = p.ptr[i]; k < p.ptr[i + 1]; k++) idx[n++] = p.idx[k];
      ptr[++r] = n;
    }
  }
  return { rows, ptr, idx };
}

function transposed(rows: number, cols: number, p: Pattern): Pattern {
  const ptr = new Int32Array(cols + 1);
  for (let k = 0; k < p.idx.length; k++) ptr[p.idx[k] + 1]++;
  for (let c = 0; c < cols; c++) ptr[c + 1] += ptr[c];
  const next = ptr.slice(0, cols);
  const idx = new Int32Array(p.idx.length);
  for (let r = 0; r < rows; r++) for (let k = p.ptr[r]; k < p.ptr[r + 1]; k++) idx[next[p.idx[k]]++] = r;
  return { ptr, idx };
}

/**
 * Greedy distance-2 colouring of the `n` items of `byItem` (item → its lines) where
 * items sharing a line (`byLine`: line → its items) must differ: columns by rows, or
 * rows by columns. Undefined when it would cost more than `budget` neighbour visits.
 */
export function greedyColouring(n: number, byItem: Pattern, byLine: Pattern, budget: number): Colouring | undefined {
  const colour = new Int32Array(n).fill(-1);
  const seenBy = new Int32Array(n + 1).fill(-1); // seenBy[c] = the last item for which colour c was forbidden
  let count = 0;
  let visits = 0;
  for (let i = 0; i < n; i++) {
    for (let k = byItem.ptr[i]; k < byItem.ptr[i + 1]; k++) {
      const line = byItem.idx[k];
      visits += byLine.ptr[line + 1] - byLine.ptr[line];
      if (visits > budget) return undefined;
      for (let q = byLine.ptr[line]; q < byLine.ptr[line + 1]; q++) {
        const c = colour[byLine.idx[q]];
        if (c >= 0) seenBy[c] = i;
      }
    }
    let c = 0;
    while (seenBy[c] === i) c++;
    colour[i] = c;
    if (c + 1 > count) count = c + 1;
  }
  return { colour, count };
}

/** Entries the sparsity analysis and the colourings may visit, per element of the Jacobian's sides. */
const WORK_PER_ELEMENT = 64;
const MIN_WORK = 1 << 16;

interface Colourings {
  columns?: Compression;
  rows?: Compression;
}

/**
 * The column and row colourings of the plan's Jacobian, computed once; none when
 * the pattern or a colouring would take more than a budget linear in the inputs and
 * outputs (a dense Jacobian), or when it has one row or one column (nothing to save).
 */
export function colouringsOf(plan: Plan): Colourings {
  const known = plan.memo.get('colourings') as Colourings | undefined;
  if (known) return known;
  const found = compute(plan);
  plan.memo.set('colourings', found);
  return found;
}

function compute(plan: Plan): Colourings {
  const values = plan.program.values;
  let n = 0;
  let m = 0;
  for (const v of plan.activeValues) n += sizeOf(values.info(v).shape);
  for (const v of plan.outputValues) m += sizeOf(values.info(v).shape);
  if (n <= 1 || m <= 1) return {};
  const budget = MIN_WORK + WORK_PER_ELEMENT * (n + m);
  const sp = jacobianSparsity(plan, budget);
  if (!sp) return {};
  const rowsOf = stacked(sp);
  const colsOf = transposed(rowsOf.rows, sp.cols, rowsOf);
  const byCol = greedyColouring(sp.cols, colsOf, rowsOf, budget);
  const byRow = greedyColouring(rowsOf.rows, rowsOf, colsOf, budget);
  return {
    ...(byCol && byCol.count < n ? { columns: { ...byCol, sparsity: sp, rows: rowsOf.rows } } : {}),
    ...(byRow && byRow.count < m ? { rows: { ...byRow, sparsity: sp, rows: rowsOf.rows } } : {}),
  };
}

/**
 * A Jacobian's structurally non-zero entries block by block, [output][active input]:
 * each block's entries in (row, column) order, rows flat into the output's shape and
 * columns flat into the input's; and, for each entry of the whole pattern (outputs in
 * order, each row's columns ascending), where it lands: its block's input and its
 * position there. The layout of `format: "coo"` results.
 */
export interface CooLayout {
  readonly blocks: readonly (readonly { rows: Int32Array; cols: Int32Array }[])[];
  /** Per pattern entry: its active input (the block's column) and its position in that block. */
  readonly input: Int32Array;
  readonly position: Int32Array;
}

export function cooLayout(plan: Plan, sp: JacobianSparsity): CooLayout {
  const known = plan.memo.get('coo-layout') as { sp: JacobianSparsity; layout: CooLayout } | undefined;
  if (known?.sp === sp) return known.layout;
  const inputs = sp.colOffsets.length;
  const input = new Int32Array(sp.nonZeros);
  const position = new Int32Array(sp.nonZeros);
  const owner = sp.columnInput;
  const blocks = sp.outputs.map((p) => {
    const counts = new Int32Array(inputs);
    for (let k = 0; k < p.idx.length; k++) counts[owner[p.idx[k]]]++;
    return Array.from({ length: inputs }, (_, a) => ({ rows: new Int32Array(counts[a]), cols: new Int32Array(counts[a]) }));
  });
  let e = 0;
  sp.outputs.forEach((p, o) => {
    const fill = new Int32Array(inputs);
    for (let r = 0; r + 1 < p.ptr.length; r++) {
      for (let k = p.ptr[r]; k < p.ptr[r + 1]; k++, e++) {
        const col = p.idx[k];
        const a = owner[col];
        const at = fill[a]++;
        blocks[o][a].rows[at] = r;
        blocks[o][a].cols[at] = col - sp.colOffsets[a];
        input[e] = a;
        position[e] = at;
      }
    }
  });
  const layout = { blocks, input, position };
  plan.memo.set('coo-layout', { sp, layout });
  return layout;
}

/** A pattern with colourings of any count for both sweeps: what a `format: "coo"` call runs. */
export interface ColouredPattern {
  sparsity: JacobianSparsity;
  columns: Colouring;
  rows: Colouring;
}

/**
 * The pattern a `format: "coo"` Jacobian returns, within `budget` entries (undefined past
 * it), and its colourings for forward and reverse sweeps (whatever their count: a
 * coo result is never made dense). Computed once per plan and budget.
 */
export function cooSparsity(plan: Plan, budget: number): ColouredPattern | undefined {
  return colouredOnce(plan, `coo-sparsity:${budget}`, () => jacobianSparsity(plan, budget), budget, false);
}

/** The same for a Hessian's pattern (rows and columns both the active inputs). */
export function hessianPattern(plan: Plan, budget: number): ColouredPattern | undefined {
  return colouredOnce(plan, `hessian-pattern:${budget}`, () => hessianSparsity(plan, budget), budget, true);
}

/**
 * A pattern and its colourings, kept in the plan's memo under `key`. A colouring that
 * would take too long (long rows and long columns) falls back to one colour per column
 * (row): slower sweeps, the same entries.
 */
function colouredOnce(
  plan: Plan,
  key: string,
  find: () => JacobianSparsity | undefined,
  budget: number,
  symmetric: boolean,
): ColouredPattern | undefined {
  if (plan.memo.has(key)) return plan.memo.get(key) as ColouredPattern | undefined;
  const sp = find();
  let found: ColouredPattern | undefined;
  if (sp) {
    const byRow = stacked(sp);
    const byCol = transposed(byRow.rows, sp.cols, byRow);
    const visits = COLOURING_VISITS_PER_ENTRY * budget;
    if (symmetric) {
      // a Hessian is swept by its columns only; its distance-2 colouring colours its rows too
      const { best, distance2 } = symmetricColourings(sp.cols, byRow, byCol, visits);
      found = { sparsity: sp, columns: best ?? oneEach(sp.cols), rows: distance2 ?? oneEach(sp.cols) };
    } else {
      const columns = greedyColouring(sp.cols, byCol, byRow, visits) ?? oneEach(sp.cols);
      const rows = greedyColouring(byRow.rows, byRow, byCol, visits) ?? oneEach(byRow.rows);
      found = { sparsity: sp, columns, rows };
    }
  }
  plan.memo.set(key, found);
  return found;
}

/**
 * A Hessian's colourings: distance-2 (columns sharing no row), and the one its sweeps
 * use, the distance-2 one or a star colouring read back by symmetry, whichever needs
 * fewer colours; on a tie the distance-2 one, whose entries are read in place. Star
 * colouring cannot beat two colours, so it is not tried then. Each within `budget`
 * neighbour visits, or undefined.
 */
function symmetricColourings(n: number, byRow: Pattern, byCol: Pattern, budget: number): { best?: Colouring; distance2?: Colouring } {
  const distance2 = greedyColouring(n, byCol, byRow, budget);
  if (distance2 && distance2.count <= 2) return { best: distance2, distance2 };
  const adj = adjacencyOf(n, byRow, byCol);
  const star = starColouring(adj, budget);
  if (star && !(distance2 && distance2.count <= star.count)) {
    return { best: { ...star, recovery: symmetricRecovery(byRow, adj, star.colour, star.count) }, ...(distance2 ? { distance2 } : {}) };
  }
  return distance2 ? { best: distance2, distance2 } : {};
}

/** Neighbour visits a coo call's colourings may make, per entry its pattern may hold. */
const COLOURING_VISITS_PER_ENTRY = 16;

/** The colouring that gives every item its own colour. */
function oneEach(n: number): Colouring {
  return { colour: Int32Array.from({ length: n }, (_, i) => i), count: n };
}

/**
 * The Hessian's pattern (the Jacobian of the gradient program: the reverse sweep of
 * the scalar output, as ordinary equations, differentiated structurally) and a
 * colouring for forward-over-reverse sweeps (symmetricColourings); computed once per
 * plan, within a budget linear in the active elements. Undefined when over it, or when no colour is saved.
 */
export function hessianCompression(plan: Plan): Compression | undefined {
  if (plan.memo.has('hessian-compression')) return plan.memo.get('hessian-compression') as Compression | undefined;
  const found = computeHessian(plan, MIN_WORK + WORK_PER_ELEMENT * 4 * activeElements(plan));
  plan.memo.set('hessian-compression', found);
  return found;
}

function activeElements(plan: Plan): number {
  let n = 0;
  for (const v of plan.activeValues) n += sizeOf(plan.program.values.info(v).shape);
  return n;
}

function hessianSparsity(plan: Plan, budget: number): JacobianSparsity | undefined {
  const e = new ProgramBuilder(plan.program);
  const cotangents = new Map<ValueId, ValueId>([[plan.outputValues[0], e.literal(1)]]);
  vjpEqns(e, plan.schedule, plan.varied, cotangents);
  const gradients = plan.activeValues.map((v) => cotangents.get(v) ?? null);
  return sparsityOf(
    {
      values: e.values,
      inputs: plan.activeValues,
      schedule: [...plan.activeSchedule, ...e.eqns],
      // derivative values all carry derivatives; primal ones only where the plan says
      isActive: (v) => v >= plan.program.values.length || plan.isActive[v] === 1,
      outputs: gradients,
    },
    budget,
  );
}

function computeHessian(plan: Plan, budget: number): Compression | undefined {
  const n = activeElements(plan);
  if (n <= 1 || plan.outputValues.length !== 1) return undefined;
  const sp = hessianSparsity(plan, budget);
  if (!sp) return undefined;
  const byRow = stacked(sp);
  const byCol = transposed(byRow.rows, sp.cols, byRow);
  const { best } = symmetricColourings(sp.cols, byRow, byCol, budget);
  return best && best.count < n ? { ...best, sparsity: sp, rows: byRow.rows } : undefined;
}
