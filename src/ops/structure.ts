/**
 * Matrix structure, with NumPy semantics: eye, diag, diagonal, trace, triu, tril,
 * and the internal diagonal_scatter (diagonal's transpose). Batched ops act on the
 * last two axes and carry the leading ones along.
 *
 * All but eye are linear. diag, diagonal, diagonal_scatter, triu and tril only copy
 * argument elements or write exact zeros (movesElements): the sparsity analysis and
 * the compiler read their structure from their kernels. Their tangent is the op
 * applied to the tangent; their cotangent is the transposed op.
 */
import { z } from 'zod';
import { formatShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { OpError, type OpDef } from './types.js';
import type { DiagAttrs } from './vocabulary.js';

const Int = z.number().int();

/** Length of diagonal k of a rows × cols matrix, and the flat offset of its first element. */
export function diagonalGeometry(rows: number, cols: number, k: number): { len: number; start: number } {
  if (k >= 0) return { len: Math.max(0, Math.min(rows, cols - k)), start: k };
  return { len: Math.max(0, Math.min(rows + k, cols)), start: -k * cols };
}

/** The argument as a batch of matrices: rank ≥ 2 or an OpError naming argument 0. */
function matrices(s: Shape): { batch: Shape; rows: number; cols: number } {
  if (s.length < 2) throw new OpError(`expected rank 2 or more, found shape ${formatShape(s)}`, 0);
  return { batch: s.slice(0, -2), rows: s[s.length - 2], cols: s[s.length - 1] };
}

/** Wire k: an integer, 0 by default. */
const prepareK = (wire: { k?: number }): DiagAttrs => ({ k: wire.k ?? 0 });

/** Copies diagonal k of each rows × cols matrix of x into out ([batch, len]), or back (scatter) with zeros elsewhere. */
function diagonalCopy(x: Float64Array, out: Float64Array, count: number, rows: number, cols: number, k: number, scatter: boolean): void {
  const { len, start } = diagonalGeometry(rows, cols, k);
  const step = cols + 1;
  const size = rows * cols;
  if (scatter) out.fill(0);
  for (let b = 0; b < count; b++) {
    for (let i = 0; i < len; i++) {
      const m = b * size + start + i * step;
      if (scatter) out[m] = x[b * len + i];
      else out[b * len + i] = x[m];
    }
  }
}

// --- eye -------------------------------------------------------------------------

const nonNegative = (v: number, attr: string): number => {
  if (v < 0) throw new OpError(`expected a non-negative integer, found ${v}`, undefined, attr);
  return v;
};

/** eye: NumPy eye(n, m, k), ones on diagonal k of an n × m matrix. */
const eyeOp: OpDef<'eye'> = {
  name: 'eye',
  arity: 0,
  attrs: { n: Int, m: Int.optional(), k: Int.optional() },
  prepare: (wire: { n: number; m?: number; k?: number }) => ({
    n: nonNegative(wire.n, 'n'),
    m: nonNegative(wire.m ?? wire.n, 'm'),
    k: wire.k ?? 0,
  }),
  shape: (_s, a) => [a.n, a.m],
  kernel(_i, _s, out, _o, { n, m, k }) {
    out.fill(0);
    const { len, start } = diagonalGeometry(n, m, k);
    for (let i = 0; i < len; i++) out[start + i * (m + 1)] = 1;
  },
  work: (_s, out) => sizeOf(out),
};

// --- diag, diagonal and diagonal_scatter -------------------------------------------

/** diag: a vector on diagonal k of a square matrix of side n + |k|. */
const diagOp: OpDef<'diag'> = {
  name: 'diag',
  movesElements: true,
  arity: 1,
  attrs: { k: Int.optional() },
  prepare: prepareK,
  shape([s], { k }) {
    if (s.length !== 1) throw new OpError(`expected a vector, found shape ${formatShape(s)}`, 0);
    const side = s[0] + Math.abs(k);
    return [side, side];
  },
  kernel: ([x], _s, out, [side], { k }) => diagonalCopy(x, out, 1, side, side, k, true),
  work: (_s, out) => sizeOf(out),
  // y = diag(a); ẏ = diag(ȧ); ā = diagonal(ȳ)
  jvp: ({ e, attrs }, [xDot]) => (xDot === null ? null : e.apply('diag', [xDot], attrs)),
  vjp: ({ e, attrs }, yBar) => [e.apply('diagonal', [yBar], attrs)],
};

/** diagonal: diagonal k of the last two axes, as a last axis (NumPy diagonal(a, k, -2, -1)). */
const diagonalOp: OpDef<'diagonal'> = {
  name: 'diagonal',
  movesElements: true,
  arity: 1,
  attrs: { k: Int.optional() },
  prepare: prepareK,
  shape([s], { k }) {
    const { batch, rows, cols } = matrices(s);
    return [...batch, diagonalGeometry(rows, cols, k).len];
  },
  kernel([x], [s], out, _o, { k }) {
    const { batch, rows, cols } = matrices(s);
    diagonalCopy(x, out, sizeOf(batch), rows, cols, k, false);
  },
  work: (_s, out) => sizeOf(out),
  jvp: ({ e, attrs }, [xDot]) => (xDot === null ? null : e.apply('diagonal', [xDot], attrs)),
  vjp({ e, attrs: { k }, inShapes: [s] }, yBar) {
    const { rows, cols } = matrices(s);
    return [e.apply('diagonal_scatter', [yBar], { k, rows, cols })];
  },
};

/** Internal: the transpose of diagonal, zero matrices of rows × cols with the last axis on diagonal k. */
const diagonalScatterOp: OpDef<'diagonal_scatter'> = {
  name: 'diagonal_scatter',
  movesElements: true,
  arity: 1,
  attrs: {},
  internal: true,
  shape([s], { k, rows, cols }) {
    const len = diagonalGeometry(rows, cols, k).len;
    if (s.length < 1 || s[s.length - 1] !== len) {
      throw new OpError(`expected a last axis of ${len}, found shape ${formatShape(s)}`, 0);
    }
    return [...s.slice(0, -1), rows, cols];
  },
  kernel: ([x], [s], out, _o, { k, rows, cols }) => diagonalCopy(x, out, sizeOf(s.slice(0, -1)), rows, cols, k, true),
  work: (_s, out) => sizeOf(out),
  jvp: ({ e, attrs }, [xDot]) => (xDot === null ? null : e.apply('diagonal_scatter', [xDot], attrs)),
  vjp: ({ e, attrs }, yBar) => [e.apply('diagonal', [yBar], { k: attrs.k })],
};

// --- trace -----------------------------------------------------------------------

/** trace: the sum of the main diagonal of the last two axes. */
const traceOp: OpDef<'trace'> = {
  name: 'trace',
  arity: 1,
  attrs: {},
  shape: ([s]) => matrices(s).batch,
  kernel([x], [s], out) {
    const { batch, rows, cols } = matrices(s);
    const len = Math.min(rows, cols);
    for (let b = 0; b < sizeOf(batch); b++) {
      let acc = 0;
      for (let i = 0; i < len; i++) acc += x[b * rows * cols + i * (cols + 1)];
      out[b] = acc;
    }
  },
  work([s]) {
    const { batch, rows, cols } = matrices(s);
    return sizeOf(batch) * Math.min(rows, cols);
  },
  // each output element from its matrix's diagonal
  sparsity([s], _os, _a, dep) {
    const { batch, rows, cols } = matrices(s);
    for (let b = 0; b < sizeOf(batch); b++) for (let i = 0; i < Math.min(rows, cols); i++) dep(b, 0, b * rows * cols + i * (cols + 1));
  },
  // y = Σ diag(a); ẏ = trace(ȧ); ā = ȳ I (ȳ broadcast along the diagonal)
  jvp: ({ e }, [xDot]) => (xDot === null ? null : e.apply('trace', [xDot])),
  vjp({ e, inShapes: [s], outShape }, yBar) {
    const { rows, cols } = matrices(s);
    const len = Math.min(rows, cols);
    const along = e.broadcastTo(e.reshape(yBar, [...outShape, 1]), [...outShape, len]);
    return [e.apply('diagonal_scatter', [along], { k: 0, rows, cols })];
  },
};

// --- triu and tril ---------------------------------------------------------------

/** triu keeps the elements on and above diagonal k (j - i ≥ k), tril those on and below it (j - i ≤ k). */
function triangle<N extends 'triu' | 'tril'>(name: N): OpDef<N> {
  const upper = name === 'triu';
  return {
    name,
    movesElements: true,
    arity: 1,
    attrs: { k: Int.optional() },
    prepare: prepareK,
    shape: ([s]) => {
      matrices(s);
      return s;
    },
    kernel([x], [s], out, _o, { k }) {
      const { batch, rows, cols } = matrices(s);
      let o = 0;
      for (let b = 0; b < sizeOf(batch); b++) {
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < cols; j++, o++) out[o] = (upper ? j - i >= k : j - i <= k) ? x[o] : 0;
        }
      }
    },
    work: (_s, out) => sizeOf(out),
    // Attributes spelt out ({ k }) because the name is generic here.
    jvp: ({ e, attrs: { k } }, [xDot]) => (xDot === null ? null : e.apply(name, [xDot], { k })),
    vjp: ({ e, attrs: { k } }, yBar) => [e.apply(name, [yBar], { k })],
  };
}

export const structureOps = [eyeOp, diagOp, diagonalOp, diagonalScatterOp, traceOp, triangle('triu'), triangle('tril')] as const;
