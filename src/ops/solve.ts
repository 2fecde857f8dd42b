/**
 * Solves and factorizations of square matrices, batched NumPy-style (leading axes
 * broadcast, the op applies to the last two): solve, triangular_solve, inv, det,
 * logabsdet, cholesky, and the internal adjugate and adjugate_jvp that det's
 * derivatives use.
 *
 * Kernels are LU with partial pivoting (LAPACK's getrf, blocked from 64 columns),
 * never an inverse formed on the way to a solve. Singular matrices are not an error:
 * they give what IEEE arithmetic gives (±Infinity, NaN), and a matrix that is not
 * positive definite gives a cholesky of NaN.
 *
 * Derivative rules are written with ops (solves, matmuls, transposes, constant
 * triangle masks), so they can be differentiated again.
 */
import { z } from 'zod';
import { broadcastShapes, broadcastStrides } from '../tensor/broadcast.js';
import { formatShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { gemm } from './gemm.js';
import { OpError, type Emit, type OpDef, type ValueId } from './types.js';
import type { SolveAttrs, TriangularSolveAttrs } from './vocabulary.js';

// --- shapes ------------------------------------------------------------------------

/** n of an argument [..., n, n]; throws naming argument `arg` otherwise. */
function squareSize(s: Shape, arg = 0): number {
  if (s.length < 2) throw new OpError(`argument ${arg} has shape ${formatShape(s)}; expected [..., n, n] (rank 2 or more)`, arg);
  const [r, c] = s.slice(-2);
  if (r !== c) throw new OpError(`argument ${arg} has shape ${formatShape(s)}; its last two axes (${r} × ${c}) are not square`, arg);
  return r;
}

/**
 * solve and triangular_solve: a [..., n, n] with b [n] (a vector: NumPy 2) or
 * [..., n, k]. b2 and x2 are b and the result as matrices (a vector as [n, 1]).
 */
interface SolveDims {
  n: number;
  k: number;
  vector: boolean;
  batch: Shape;
  b2: Shape;
  x2: Shape;
  out: Shape;
}

function solveDims(as: Shape, bs: Shape): SolveDims {
  const n = squareSize(as);
  const what = `${formatShape(as)} \\ ${formatShape(bs)}`;
  if (bs.length === 0) throw new OpError(`${what}: argument 1 is a scalar; expected [n] or [..., n, k]`, 1);
  const vector = bs.length === 1;
  const b2 = vector ? [bs[0], 1] : bs;
  const [rows, k] = b2.slice(-2);
  if (rows !== n) throw new OpError(`${what}: argument 1 has ${rows} rows; expected ${n}, as argument 0 is ${n} × ${n}`, 1);
  const batch = broadcastShapes([as.slice(0, -2), b2.slice(0, -2)]);
  if (batch === null) throw new OpError(`${what}: batch dimensions do not broadcast`, 1);
  const x2 = [...batch, n, k];
  return { n, k, vector, batch, b2, x2, out: vector ? [...batch, n] : x2 };
}

/**
 * Calls f(t, offsets) for every entry t of `batch`, with the matrix offset (in whole
 * matrices) of each argument, whose own batch shapes broadcast to `batch`.
 */
function forEachBatch(argBatches: readonly Shape[], batch: Shape, f: (t: number, at: readonly number[]) => void): void {
  const strides = argBatches.map((s) => broadcastStrides(s, batch));
  const at = new Array<number>(argBatches.length).fill(0);
  for (let t = 0; t < sizeOf(batch); t++) {
    at.fill(0);
    for (let d = batch.length - 1, r = t; d >= 0; d--) {
      const c = r % batch[d];
      r = (r - c) / batch[d];
      for (let i = 0; i < at.length; i++) at[i] += c * strides[i][d];
    }
    f(t, at);
  }
}

// --- kernels -----------------------------------------------------------------------

/** Panel width of the blocked LU; from LU_BLOCKED_MIN columns the trailing updates are gemm products. */
const LU_PANEL = 32;
const LU_BLOCKED_MIN = 64;

/**
 * LU with partial pivoting in place: lu holds L (unit, strictly below the diagonal)
 * and U; row i of the factored matrix is row perm[i] of the original. Returns the
 * permutation's sign. A zero pivot (a singular matrix) skips its elimination step,
 * as LAPACK's getrf does: U then has an exact 0 on its diagonal.
 *
 * From LU_BLOCKED_MIN columns it is getrf's blocked form: a panel of LU_PANEL columns
 * is factored (rows swapped whole), the rows of U beside it solved with its L, and the
 * trailing matrix updated by one product (gemm.ts: WebAssembly SIMD where it pays),
 * which is most of the n³ work. The pivots are the same as unblocked elimination's up
 * to rounding; the sums are grouped differently, so the last bits can differ.
 */
export function luFactor(lu: Float64Array, n: number, perm: Int32Array): number {
  for (let i = 0; i < n; i++) perm[i] = i;
  if (n < LU_BLOCKED_MIN) return luPanel(lu, n, perm, 0, n, 1);
  let sign = 1;
  const tmp = new Float64Array((n - LU_PANEL) * (n - LU_PANEL));
  for (let j0 = 0; j0 < n; j0 += LU_PANEL) {
    const jb = Math.min(LU_PANEL, n - j0);
    const j1 = j0 + jb;
    sign = luPanel(lu, n, perm, j0, j1, sign);
    if (j1 === n) break;
    // U12 = L11⁻¹ A12: rows j0..j1 of the columns right of the panel
    for (let i = j0 + 1; i < j1; i++) {
      const ri = i * n;
      for (let p = j0; p < i; p++) {
        const l = lu[ri + p];
        if (l === 0) continue;
        const rp = p * n;
        for (let j = j1; j < n; j++) lu[ri + j] -= l * lu[rp + j];
      }
    }
    // A22 -= L21 U12
    const m = n - j1;
    gemm(m, m, jb, lu, j1 * n + j0, n, 1, lu, j0 * n + j1, n, 1, tmp, 0);
    for (let i = 0; i < m; i++) {
      const ri = (j1 + i) * n + j1;
      const ti = i * m;
      for (let j = 0; j < m; j++) lu[ri + j] -= tmp[ti + j];
    }
  }
  return sign;
}

/**
 * Unblocked elimination of columns c0..c1 over all rows below, swapping whole rows and
 * updating only columns up to c1 (the whole matrix when c0 = 0 and c1 = n). Returns
 * the sign times the swaps' sign.
 */
function luPanel(lu: Float64Array, n: number, perm: Int32Array, c0: number, c1: number, sign: number): number {
  for (let c = c0; c < c1; c++) {
    let p = c;
    let best = Math.abs(lu[c * n + c]);
    for (let i = c + 1; i < n; i++) {
      const v = Math.abs(lu[i * n + c]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    const rc = c * n;
    if (p !== c) {
      const rp = p * n;
      for (let j = 0; j < n; j++) {
        const t = lu[rc + j];
        lu[rc + j] = lu[rp + j];
        lu[rp + j] = t;
      }
      const t = perm[c];
      perm[c] = perm[p];
      perm[p] = t;
      sign = -sign;
    }
    const pivot = lu[rc + c];
    if (pivot === 0) continue;
    for (let i = c + 1; i < n; i++) {
      const ri = i * n;
      const l = lu[ri + c] / pivot;
      lu[ri + c] = l;
      if (l === 0) continue;
      for (let j = c + 1; j < c1; j++) lu[ri + j] -= l * lu[rc + j];
    }
  }
  return sign;
}

/** x ← U⁻¹ L⁻¹ x for x [n, k] already permuted (row i holds row perm[i] of b). */
export function luSolve(lu: Float64Array, n: number, x: Float64Array, k: number): void {
  for (let i = 1; i < n; i++) {
    const ri = i * n;
    for (let p = 0; p < i; p++) {
      const l = lu[ri + p];
      if (l === 0) continue;
      for (let j = 0; j < k; j++) x[i * k + j] -= l * x[p * k + j];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    for (let p = i + 1; p < n; p++) {
      const u = lu[ri + p];
      if (u === 0) continue;
      for (let j = 0; j < k; j++) x[i * k + j] -= u * x[p * k + j];
    }
    const d = lu[ri + i];
    for (let j = 0; j < k; j++) x[i * k + j] /= d;
  }
}

interface Factors {
  lu: Float64Array;
  perm: Int32Array;
  sign: number;
}

/** The LU of the n × n matrix at a[offset...]. */
function factorsOf(a: Float64Array, offset: number, n: number): Factors {
  const lu = a.slice(offset, offset + n * n);
  const perm = new Int32Array(n);
  return { lu, perm, sign: luFactor(lu, n, perm) };
}

/** The factors of matrix ia of a [..., n, n], asked for batch entry after batch entry: each matrix factored once, when first asked for. */
function factorizer(a: Float64Array, n: number): (ia: number) => Factors {
  const kept = new Map<number, Factors>();
  return (ia) => {
    let f = kept.get(ia);
    if (f === undefined) {
      f = factorsOf(a, ia * n * n, n);
      kept.set(ia, f);
    }
    return f;
  };
}

/** x ← a⁻ᵀ x for x [n, k] with P a = L U: aᵀ = Uᵀ Lᵀ P, so Uᵀ z = x, Lᵀ w = z, then x = Pᵀ w (tmp: n k scratch). */
function luSolveTransposed({ lu, perm }: Factors, n: number, x: Float64Array, k: number, tmp: Float64Array): void {
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < i; p++) {
      const u = lu[p * n + i];
      if (u === 0) continue;
      for (let j = 0; j < k; j++) x[i * k + j] -= u * x[p * k + j];
    }
    const d = lu[i * n + i];
    for (let j = 0; j < k; j++) x[i * k + j] /= d;
  }
  for (let i = n - 2; i >= 0; i--) {
    for (let p = i + 1; p < n; p++) {
      const l = lu[p * n + i];
      if (l === 0) continue;
      for (let j = 0; j < k; j++) x[i * k + j] -= l * x[p * k + j];
    }
  }
  tmp.set(x);
  for (let i = 0; i < n; i++) x.set(tmp.subarray(i * k, (i + 1) * k), perm[i] * k);
}

function solveKernel(a: Float64Array, as: Shape, b: Float64Array, bs: Shape, out: Float64Array, transpose: boolean): void {
  const { n, k, batch, b2 } = solveDims(as, bs);
  const factor = factorizer(a, n);
  const m = n * k;
  const tmp = transpose ? new Float64Array(m) : out;
  forEachBatch([as.slice(0, -2), b2.slice(0, -2)], batch, (t, [ia, ib]) => {
    const f = factor(ia);
    const x = out.subarray(t * m, (t + 1) * m);
    if (transpose) {
      x.set(b.subarray(ib * m, (ib + 1) * m));
      luSolveTransposed(f, n, x, k, tmp);
    } else {
      for (let i = 0; i < n; i++) x.set(b.subarray(ib * m + f.perm[i] * k, ib * m + (f.perm[i] + 1) * k), i * k);
      luSolve(f.lu, n, x, k);
    }
  });
}

/** Solves op(T) x = b in place (x holds b), T the named triangle of a (unit diagonal if asked), op(T) = T or Tᵀ. */
export function triangularSolve(a: Float64Array, ao: number, n: number, x: Float64Array, k: number, attrs: TriangularSolveAttrs): void {
  const { lower, transpose, unit_diagonal: unit } = attrs;
  // op(T)[i][p]: T[i][p] or T[p][i]
  const at = transpose ? (i: number, p: number) => a[ao + p * n + i] : (i: number, p: number) => a[ao + i * n + p];
  const forward = lower !== transpose;
  for (let s = 0; s < n; s++) {
    const i = forward ? s : n - 1 - s;
    const [from, to] = forward ? [0, i] : [i + 1, n];
    for (let p = from; p < to; p++) {
      const t = at(i, p);
      if (t === 0) continue;
      for (let j = 0; j < k; j++) x[i * k + j] -= t * x[p * k + j];
    }
    if (!unit) {
      const d = a[ao + i * n + i];
      for (let j = 0; j < k; j++) x[i * k + j] /= d;
    }
  }
}

/**
 * LU with complete pivoting in place, P a Q = L U: row i of the result is row rp[i] of a
 * and column j column cp[j]. Stops at the first zero pivot (the rest of the matrix is
 * then all zeros), whose step is the rank (n when there is none); sign is P's and Q's.
 */
function completePivoting(a: Float64Array, n: number): { rp: Int32Array; cp: Int32Array; sign: number; rank: number } {
  const rp = Int32Array.from({ length: n }, (_, i) => i);
  const cp = Int32Array.from({ length: n }, (_, i) => i);
  let sign = 1;
  for (let c = 0; c < n; c++) {
    let [pi, pj, best] = [c, c, -1];
    for (let i = c; i < n; i++) {
      for (let j = c; j < n; j++) {
        const v = Math.abs(a[i * n + j]);
        if (v > best) [pi, pj, best] = [i, j, v];
      }
    }
    if (best === 0) return { rp, cp, sign, rank: c };
    if (pi !== c) {
      for (let j = 0; j < n; j++) [a[c * n + j], a[pi * n + j]] = [a[pi * n + j], a[c * n + j]];
      [rp[c], rp[pi]] = [rp[pi], rp[c]];
      sign = -sign;
    }
    if (pj !== c) {
      for (let i = 0; i < n; i++) [a[i * n + c], a[i * n + pj]] = [a[i * n + pj], a[i * n + c]];
      [cp[c], cp[pj]] = [cp[pj], cp[c]];
      sign = -sign;
    }
    const pivot = a[c * n + c];
    for (let i = c + 1; i < n; i++) {
      const l = a[i * n + c] / pivot;
      a[i * n + c] = l;
      if (l !== 0) for (let j = c + 1; j < n; j++) a[i * n + j] -= l * a[c * n + j];
    }
  }
  return { rp, cp, sign, rank: n };
}

/** Row-major x (m × p) times y (p × q), a new m × q array. */
function product(x: Float64Array, y: Float64Array, m: number, p: number, q: number): Float64Array {
  const out = new Float64Array(m * q);
  if (m > 0 && q > 0) gemm(m, q, p, x, 0, p, 1, y, 0, q, 1, out, 0);
  return out;
}

/** Σ of the arrays, each times its factor (same lengths). */
function combine(terms: readonly [number, Float64Array][]): Float64Array {
  const out = new Float64Array(terms[0][1].length);
  for (const [f, t] of terms) for (let i = 0; i < out.length; i++) out[i] += f * t[i];
  return out;
}

/**
 * The tangent of adj(a) along ȧ, for one n × n matrix (n ≥ 3), finite and right where
 * a has rank n, n - 1 or n - 2. With P a Q = B from complete pivoting (constant near a),
 * B11 its leading r × r block (r = n - 2, invertible down to rank n - 2), X = B11⁻¹,
 * P = X B12, Q = B21 X and S = B22 - B21 X B12 (k × k, k = 2):
 *   adj(B) = det(B11) [[det(S) X + P adj(S) Q, -P adj(S)], [-adj(S) Q, adj(S)]],
 * which divides by nothing that vanishes; its derivative is taken term by term, and
 * adj(a) = ±Q adj(B) P. Below rank n - 2 the tangent is 0; n = 2 gives adj(ȧ).
 */
function adjugateJvpOne(a: Float64Array, aDot: Float64Array, n: number, out: Float64Array): void {
  out.fill(0);
  if (n <= 1) return;
  if (a.some(Number.isNaN) || aDot.some(Number.isNaN)) {
    out.fill(NaN);
    return;
  }
  if (n === 2) {
    [out[0], out[1], out[2], out[3]] = [aDot[3], -aDot[1], -aDot[2], aDot[0]];
    return;
  }
  const { rp, cp, sign, rank } = completePivoting(a.slice(), n);
  if (rank < n - 2) return;
  // k = 2 whatever the rank: exact for any a whose leading block is invertible, which complete
  // pivoting makes well conditioned down to rank n - 2 (a k = 1 form would need that block of
  // n - 1, ill conditioned near rank n - 2)
  const r = n - 2;
  const k = 2;
  /** Block [i0, i0 + rows) × [j0, j0 + cols) of P x Q. */
  const block = (x: Float64Array, i0: number, rows: number, j0: number, cols: number): Float64Array =>
    Float64Array.from({ length: rows * cols }, (_, q) => x[rp[i0 + Math.floor(q / cols)] * n + cp[j0 + (q % cols)]]);
  const [b11, b12, b21, b22] = [block(a, 0, r, 0, r), block(a, 0, r, r, k), block(a, r, k, 0, r), block(a, r, k, r, k)];
  const [d11, d12, d21, d22] = [block(aDot, 0, r, 0, r), block(aDot, 0, r, r, k), block(aDot, r, k, 0, r), block(aDot, r, k, r, k)];
  // X = B11⁻¹ and det(B11) by LU
  const lu = b11.slice();
  const perm = new Int32Array(r);
  let det1 = luFactor(lu, r, perm);
  for (let i = 0; i < r; i++) det1 *= lu[i * r + i];
  const x = new Float64Array(r * r);
  for (let i = 0; i < r; i++) x[i * r + perm[i]] = 1;
  luSolve(lu, r, x, r);
  const xd = product(x, d11, r, r, r);
  let tr = 0;
  for (let i = 0; i < r; i++) tr += xd[i * r + i];
  const det1Dot = det1 * tr;
  const xDot = combine([[-1, product(xd, x, r, r, r)]]);
  const p = product(x, b12, r, r, k);
  const q = product(b21, x, k, r, r);
  const pDot = combine([
    [1, product(xDot, b12, r, r, k)],
    [1, product(x, d12, r, r, k)],
  ]);
  const qDot = combine([
    [1, product(d21, x, k, r, r)],
    [1, product(b21, xDot, k, r, r)],
  ]);
  const s = combine([
    [1, b22],
    [-1, product(b21, p, k, r, k)],
  ]);
  const sDot = combine([
    [1, d22],
    [-1, product(d21, p, k, r, k)],
    [-1, product(b21, pDot, k, r, k)],
  ]);
  // adj and det of the 2 × 2 S, and their tangents
  const adj2 = (m: Float64Array): Float64Array => Float64Array.of(m[3], -m[1], -m[2], m[0]);
  const adjS = adj2(s);
  const adjSDot = adj2(sDot);
  const detS = s[0] * s[3] - s[1] * s[2];
  const detSDot = sDot[0] * s[3] + s[0] * sDot[3] - sDot[1] * s[2] - s[1] * sDot[2];
  const pAdj = product(p, adjS, r, k, k);
  const adjQ = product(adjS, q, k, k, r);
  const pAdjDot = combine([
    [1, product(pDot, adjS, r, k, k)],
    [1, product(p, adjSDot, r, k, k)],
  ]);
  const adjQDot = combine([
    [1, product(adjSDot, q, k, k, r)],
    [1, product(adjS, qDot, k, k, r)],
  ]);
  // M = adj(B) / det(B11), blockwise, and its tangent
  const m11 = combine([
    [detS, x],
    [1, product(pAdj, q, r, k, r)],
  ]);
  const m11Dot = combine([
    [detSDot, x],
    [detS, xDot],
    [1, product(pAdjDot, q, r, k, r)],
    [1, product(pAdj, qDot, r, k, r)],
  ]);
  const put = (i0: number, j0: number, rows: number, cols: number, m: Float64Array, mDot: Float64Array, f: number): void => {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const v = f * (det1Dot * m[i * cols + j] + det1 * mDot[i * cols + j]);
        out[cp[i0 + i] * n + rp[j0 + j]] = sign * v + 0; // + 0: zeros unsigned, whatever the sums' order
      }
    }
  };
  put(0, 0, r, r, m11, m11Dot, 1);
  put(0, r, r, k, pAdj, pAdjDot, -1);
  put(r, 0, k, r, adjQ, adjQDot, -1);
  put(r, r, k, k, adjS, adjSDot, 1);
}

/**
 * adj(A) of one n × n matrix (row-major in a, overwritten) into out, finite and right
 * where A has rank n - 1: LU with complete pivoting, P A Q = L U, puts the one
 * vanishing pivot last, and adj(A) = ±Q adj(U) L⁻¹ P with adj(U) formed without
 * dividing by that pivot. Rank below n - 1 (a zero pivot before the last) gives 0,
 * which is the adjugate there; a NaN anywhere gives NaN.
 */
function adjugateOne(a: Float64Array, n: number, out: Float64Array): void {
  if (n === 0) return;
  if (a.some(Number.isNaN)) {
    out.fill(NaN);
    return;
  }
  if (n === 1) {
    out[0] = 1;
    return;
  }
  const { rp, cp, sign, rank } = completePivoting(a, n);
  // the rest all zeros before the last pivot: rank below n - 1, where adj(A) = 0
  if (rank < n - 1) {
    out.fill(0);
    return;
  }
  // W = adj(U), upper triangular: W[j][j] = Π_{l≠j} u_ll, and U W = det(U) I above the
  // diagonal gives W[i][j] = -(Σ_{i<l≤j} u_il W[l][j]) / u_ii, never dividing by u_{n-1,n-1}.
  const w = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = 1;
    for (let l = 0; l < n; l++) if (l !== j) d *= a[l * n + l];
    w[j * n + j] = d;
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let l = i + 1; l <= j; l++) s += a[i * n + l] * w[l * n + j];
      w[i * n + j] = -s / a[i * n + i];
    }
  }
  // M = W L⁻¹, row by row: m L = w, L unit lower, from the last column back.
  for (let r = 0; r < n; r++) {
    const row = w.subarray(r * n, (r + 1) * n);
    for (let j = n - 1; j >= 0; j--) {
      let s = row[j];
      for (let p = j + 1; p < n; p++) s -= row[p] * a[p * n + j];
      row[j] = s;
    }
  }
  // A = Pᵀ L U Qᵀ, so adj(A) = sign · Q M P: element [cp[r], rp[c]] is M[r][c].
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) out[cp[r] * n + rp[c]] = sign * w[r * n + c];
}

/** Lower L with L Lᵀ = a from a's lower triangle; all NaN when a pivot is not positive (not positive definite, or NaN). */
function choleskyOne(a: Float64Array, ao: number, n: number, out: Float64Array, oo: number): void {
  for (let j = 0; j < n; j++) {
    let s = a[ao + j * n + j];
    for (let p = 0; p < j; p++) s -= out[oo + j * n + p] * out[oo + j * n + p];
    if (!(s > 0)) {
      out.fill(NaN, oo, oo + n * n);
      return;
    }
    const d = Math.sqrt(s);
    out[oo + j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let v = a[ao + i * n + j];
      for (let p = 0; p < j; p++) v -= out[oo + i * n + p] * out[oo + j * n + p];
      out[oo + i * n + j] = v / d;
    }
  }
}

// --- rule helpers ------------------------------------------------------------------

/** Kernel attributes (MatmulAttrs) of chain-rule products: zeros of a tangent annihilate infinities. */
const STRONG = { strongZero: true } as const;

/** v with its last two axes swapped. */
function swapLast(e: Emit, v: ValueId): ValueId {
  const r = e.shapeOf(v).length;
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 2], perm[r - 1]] = [r - 1, r - 2];
  return e.apply('transpose', [v], { perm });
}

/** An n × n constant with 1 where keep(i, j) holds (a triangle mask), else 0. */
function mask(e: Emit, n: number, keep: (i: number, j: number) => number): ValueId {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = keep(i, j);
  return e.constant({ shape: [n, n], data });
}

/** Σ over the last two axes of x ⊙ y (tr(xᵀ y) per batch entry), keeping them as 1s if asked. */
function traceInner(e: Emit, x: ValueId, y: ValueId, keepdims: boolean): ValueId {
  const p = e.zmul(x, y);
  const r = e.shapeOf(p).length;
  return e.sum(p, [r - 2, r - 1], keepdims);
}

/** flops of an LU of each of `count` n × n matrices. */
const luWork = (count: number, n: number): number => count * Math.max(1, (2 * n * n * n) / 3);

// --- ops ---------------------------------------------------------------------------

const solve: OpDef<'solve'> = {
  name: 'solve',
  arity: 2,
  attrs: {},
  shape: ([as, bs]) => solveDims(as, bs).out,
  kernel: ([a, b], [as, bs], out, _os, attrs) => solveKernel(a, as, b, bs, out, attrs.transpose === true),
  // k directions through one a (a JVP's or VJP's right-hand sides): a factored once, the k entries
  // as one more leading batch axis of b (a vector b as [n, 1]), so every entry is the kernel's alone
  batchKernel([a, b], [as, bs], [aBatched, bBatched], k, out, os, attrs) {
    const t = attrs.transpose === true;
    const [sa, sb, so] = [sizeOf(as), sizeOf(bs), sizeOf(os)];
    if (aBatched || !bBatched) {
      for (let e = 0; e < k; e++) {
        const ae = aBatched ? a.subarray(e * sa, (e + 1) * sa) : a;
        const be = bBatched ? b.subarray(e * sb, (e + 1) * sb) : b;
        solveKernel(ae, as, be, bs, out.subarray(e * so, (e + 1) * so), t);
      }
      return;
    }
    const { b2 } = solveDims(as, bs);
    const pad = new Array<number>(Math.max(0, as.length - b2.length)).fill(1);
    solveKernel(a, as, b, [k, ...pad, ...b2], out, t);
  },
  work([as, bs]) {
    const { n, k, batch } = solveDims(as, bs);
    return luWork(sizeOf(as.slice(0, -2)), n) + sizeOf(batch) * 2 * n * n * k;
  },
  // x = op(a)⁻¹ b, op(a) = a or (transpose, set by rules only) aᵀ; ẋ = op(a)⁻¹ (ḃ - op(ȧ) x);
  // b̄ = op(a)⁻ᵀ x̄, a solve with the same factors; ā = -b̄ xᵀ, or -x b̄ᵀ for aᵀ (as matrices, b a vector as [n, 1])
  jvp({ e, xs: [a], y, attrs, inShapes: [as, bs], outShape }, [aDot, bDot]) {
    const d = solveDims(as, bs);
    const x2 = e.reshape(y, d.x2);
    const aTerm = aDot === null ? null : e.neg(e.apply('matmul', [attrs.transpose ? swapLast(e, aDot) : aDot, x2], STRONG));
    const rhs = e.sumTerms([bDot === null ? null : e.reshape(bDot, d.b2), aTerm], d.x2);
    return rhs === null ? null : e.reshape(e.apply('solve', [a, rhs], solveAttrs(attrs.transpose === true)), outShape);
  },
  vjp({ e, xs: [a], y, attrs, inShapes: [as, bs] }, yBar, wanted) {
    const d = solveDims(as, bs);
    const bBar2 = e.apply('solve', [a, e.reshape(yBar, d.x2)], solveAttrs(attrs.transpose !== true));
    const x2 = e.reshape(y, d.x2);
    return [
      wanted[0] ? e.sumTo(e.neg(attrs.transpose ? e.apply('matmul_nt', [x2, bBar2]) : e.apply('matmul_nt', [bBar2, x2])), as) : null,
      wanted[1] ? e.reshape(e.sumTo(bBar2, d.b2), bs) : null,
    ];
  },
};

/** solve's kernel attributes: {} for a x = b (as on the wire, so equal equations stay equal), transpose for aᵀ x = b. */
const solveAttrs = (transpose: boolean): SolveAttrs => (transpose ? { transpose: true } : {});

/** The part of an n × n matrix that triangular_solve reads: its triangle, without the diagonal when that is taken as ones. */
function triangleMask(e: Emit, n: number, { lower, unit_diagonal }: TriangularSolveAttrs): ValueId {
  return mask(e, n, (i, j) => ((lower ? i > j : i < j) || (i === j && !unit_diagonal) ? 1 : 0));
}

const triangularSolve_: OpDef<'triangular_solve'> = {
  name: 'triangular_solve',
  arity: 2,
  attrs: { lower: z.boolean().optional(), transpose: z.boolean().optional(), unit_diagonal: z.boolean().optional() },
  prepare: (wire: { lower?: boolean; transpose?: boolean; unit_diagonal?: boolean }) => ({
    lower: wire.lower ?? true,
    transpose: wire.transpose ?? false,
    unit_diagonal: wire.unit_diagonal ?? false,
  }),
  shape: ([as, bs]) => solveDims(as, bs).out,
  kernel([a, b], [as, bs], out, _os, attrs) {
    const { n, k, batch, b2 } = solveDims(as, bs);
    const m = n * k;
    forEachBatch([as.slice(0, -2), b2.slice(0, -2)], batch, (t, [ia, ib]) => {
      const x = out.subarray(t * m, (t + 1) * m);
      x.set(b.subarray(ib * m, (ib + 1) * m));
      triangularSolve(a, ia * n * n, n, x, k, attrs);
    });
  },
  work([as, bs]) {
    const { n, k, batch } = solveDims(as, bs);
    return sizeOf(batch) * Math.max(1, n * n * k);
  },
  // x = op(T)⁻¹ b, T the triangle read; ẋ = op(T)⁻¹ (ḃ - op(Ṫ) x); b̄ = op(T)⁻ᵀ x̄;
  // T̄ = -b̄ xᵀ (or -x b̄ᵀ when op is the transpose), kept to the triangle read
  jvp({ e, xs: [a], y, attrs, inShapes: [as, bs], outShape }, [aDot, bDot]) {
    const d = solveDims(as, bs);
    const x2 = e.reshape(y, d.x2);
    let aTerm: ValueId | null = null;
    if (aDot !== null) {
      const tDot = e.zmul(aDot, triangleMask(e, d.n, attrs));
      aTerm = e.neg(e.apply('matmul', [attrs.transpose ? swapLast(e, tDot) : tDot, x2], STRONG));
    }
    const rhs = e.sumTerms([bDot === null ? null : e.reshape(bDot, d.b2), aTerm], d.x2);
    return rhs === null ? null : e.reshape(e.apply('triangular_solve', [a, rhs], attrs), outShape);
  },
  vjp({ e, xs: [a], y, attrs, inShapes: [as, bs] }, yBar, wanted) {
    const d = solveDims(as, bs);
    const bBar2 = e.apply('triangular_solve', [a, e.reshape(yBar, d.x2)], { ...attrs, transpose: !attrs.transpose });
    let aBar: ValueId | null = null;
    if (wanted[0]) {
      const x2 = e.reshape(y, d.x2);
      const outer = attrs.transpose ? e.apply('matmul_nt', [x2, bBar2]) : e.apply('matmul_nt', [bBar2, x2]);
      aBar = e.sumTo(e.neg(e.zmul(outer, triangleMask(e, d.n, attrs))), as);
    }
    return [aBar, wanted[1] ? e.reshape(e.sumTo(bBar2, d.b2), bs) : null];
  },
};

const inv: OpDef<'inv'> = {
  name: 'inv',
  arity: 1,
  attrs: {},
  shape([as]) {
    squareSize(as);
    return as;
  },
  kernel([a], [as], out) {
    const n = squareSize(as);
    const factor = factorizer(a, n);
    for (let t = 0; t < sizeOf(as.slice(0, -2)); t++) {
      const { lu, perm } = factor(t);
      const x = out.subarray(t * n * n, (t + 1) * n * n);
      x.fill(0);
      for (let i = 0; i < n; i++) x[i * n + perm[i]] = 1;
      luSolve(lu, n, x, n);
    }
  },
  work([as]) {
    const n = squareSize(as);
    return 4 * luWork(sizeOf(as.slice(0, -2)), n);
  },
  // Y = a⁻¹; Ẏ = -Y ȧ Y; ā = -Yᵀ Ȳ Yᵀ
  jvp: ({ e, y }, [aDot]) => (aDot === null ? null : e.neg(e.apply('matmul', [e.apply('matmul', [y, aDot], STRONG), y], STRONG))),
  vjp({ e, y }, yBar) {
    const yt = swapLast(e, y);
    return [e.neg(e.apply('matmul', [e.apply('matmul', [yt, yBar], STRONG), yt], STRONG))];
  },
};

const det: OpDef<'det'> = {
  name: 'det',
  arity: 1,
  attrs: {},
  shape([as]) {
    squareSize(as);
    return as.slice(0, -2);
  },
  kernel([a], [as], out) {
    const n = squareSize(as);
    const factor = factorizer(a, n);
    for (let t = 0; t < out.length; t++) {
      const { lu, sign } = factor(t);
      let d = sign;
      for (let i = 0; i < n; i++) d *= lu[i * n + i];
      out[t] = d;
    }
  },
  work: ([as]) => luWork(sizeOf(as.slice(0, -2)), squareSize(as)),
  // d = det a; ḋ = tr(adj(a) ȧ); ā = d̄ adj(a)ᵀ: the adjugate, not d a⁻¹, so finite and right at rank n - 1
  jvp: ({ e, xs: [a] }, [aDot]) => (aDot === null ? null : traceInner(e, swapLast(e, e.apply('adjugate', [a])), aDot, false)),
  vjp({ e, xs: [a], outShape }, yBar) {
    return [e.zmul(e.reshape(yBar, [...outShape, 1, 1]), swapLast(e, e.apply('adjugate', [a])))];
  },
};

/**
 * Internal: adj(a), with adj(a) a = det(a) I, for det's rules. Its tangent is
 * adjugate_jvp, finite where a has rank n - 1 or n - 2, where the textbook
 * (tr(adj ȧ) adj - adj ȧ adj) / det a is 0 / 0. It has no VJP: it appears only in
 * derivative programs, which are differentiated forward.
 */
const adjugate: OpDef<'adjugate'> = {
  name: 'adjugate',
  arity: 1,
  attrs: {},
  internal: true,
  shape([as]) {
    squareSize(as);
    return as;
  },
  kernel([a], [as], out) {
    const n = squareSize(as);
    const m = n * n;
    for (let t = 0; t < sizeOf(as.slice(0, -2)); t++) adjugateOne(a.slice(t * m, (t + 1) * m), n, out.subarray(t * m, (t + 1) * m));
  },
  work([as]) {
    const n = squareSize(as);
    return 2 * luWork(sizeOf(as.slice(0, -2)), n);
  },
  jvp: ({ e, xs: [a] }, [aDot]) => (aDot === null ? null : e.apply('adjugate_jvp', [a, aDot])),
};

/**
 * Internal: the tangent of adj(a) along ȧ (adjugateJvpOne), finite and right at rank
 * n - 1 and n - 2, so det's second derivative is too. Linear in ȧ; it has no rules of
 * its own: a third derivative of det is not provided.
 */
const adjugateJvp: OpDef<'adjugate_jvp'> = {
  name: 'adjugate_jvp',
  arity: 2,
  attrs: {},
  internal: true,
  shape([as, ds]) {
    squareSize(as);
    if (ds.length !== as.length || ds.some((d, i) => d !== as[i]))
      throw new OpError(`argument 1 has shape ${formatShape(ds)}; expected ${formatShape(as)}`, 1);
    return as;
  },
  kernel([a, d], [as], out) {
    const n = squareSize(as);
    const m = n * n;
    for (let t = 0; t < sizeOf(as.slice(0, -2)); t++) {
      adjugateJvpOne(a.subarray(t * m, (t + 1) * m), d.subarray(t * m, (t + 1) * m), n, out.subarray(t * m, (t + 1) * m));
    }
  },
  work([as]) {
    const n = squareSize(as);
    return 6 * luWork(sizeOf(as.slice(0, -2)), n);
  },
};

const logabsdet: OpDef<'logabsdet'> = {
  name: 'logabsdet',
  arity: 1,
  attrs: {},
  shape([as]) {
    squareSize(as);
    return as.slice(0, -2);
  },
  kernel([a], [as], out) {
    const n = squareSize(as);
    const factor = factorizer(a, n);
    for (let t = 0; t < out.length; t++) {
      const { lu } = factor(t);
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.log(Math.abs(lu[i * n + i]));
      out[t] = s;
    }
  },
  work: ([as]) => luWork(sizeOf(as.slice(0, -2)), squareSize(as)),
  // y = ln |det a|; ẏ = tr(a⁻¹ ȧ); ā = ȳ a⁻ᵀ
  jvp: ({ e, xs: [a] }, [aDot]) => (aDot === null ? null : traceInner(e, swapLast(e, e.apply('inv', [a])), aDot, false)),
  vjp: ({ e, xs: [a], outShape }, yBar) => [e.zmul(e.reshape(yBar, [...outShape, 1, 1]), swapLast(e, e.apply('inv', [a])))],
};

const LOWER_SOLVE: TriangularSolveAttrs = { lower: true, transpose: false, unit_diagonal: false };
const LOWER_SOLVE_T: TriangularSolveAttrs = { lower: true, transpose: true, unit_diagonal: false };

const cholesky: OpDef<'cholesky'> = {
  name: 'cholesky',
  arity: 1,
  attrs: {},
  shape([as]) {
    squareSize(as);
    return as;
  },
  kernel([a], [as], out) {
    const n = squareSize(as);
    out.fill(0);
    for (let t = 0; t < sizeOf(as.slice(0, -2)); t++) choleskyOne(a, t * n * n, n, out, t * n * n);
  },
  work([as]) {
    const n = squareSize(as);
    return sizeOf(as.slice(0, -2)) * Math.max(1, (n * n * n) / 3);
  },
  // L Lᵀ = S, S the symmetric matrix of a's lower triangle; L̇ = L Φ(L⁻¹ Ṡ L⁻ᵀ), Φ the lower
  // triangle with the diagonal halved. Reverse: G = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹ is S̄, folded onto the
  // lower triangle: ā = G on and below the diagonal, plus Gᵀ strictly below.
  jvp({ e, y, inShapes: [as] }, [aDot]) {
    if (aDot === null) return null;
    const n = squareSize(as);
    const sDot = e.add(
      e.zmul(
        aDot,
        mask(e, n, (i, j) => (i >= j ? 1 : 0)),
      ),
      swapLast(
        e,
        e.zmul(
          aDot,
          mask(e, n, (i, j) => (i > j ? 1 : 0)),
        ),
      ),
    );
    const half = e.apply('triangular_solve', [y, sDot], LOWER_SOLVE);
    const x = e.apply('triangular_solve', [y, swapLast(e, half)], LOWER_SOLVE);
    const phi = e.zmul(
      x,
      mask(e, n, (i, j) => (i > j ? 1 : i === j ? 0.5 : 0)),
    );
    return e.apply('matmul', [y, phi], STRONG);
  },
  vjp({ e, y, inShapes: [as] }, yBar) {
    const n = squareSize(as);
    const p = e.zmul(
      e.apply('matmul_tn', [y, yBar]),
      mask(e, n, (i, j) => (i > j ? 1 : i === j ? 0.5 : 0)),
    );
    const w = e.apply('triangular_solve', [y, p], LOWER_SOLVE_T);
    const g = swapLast(e, e.apply('triangular_solve', [y, swapLast(e, w)], LOWER_SOLVE_T));
    return [
      e.add(
        e.zmul(
          g,
          mask(e, n, (i, j) => (i >= j ? 1 : 0)),
        ),
        e.zmul(
          swapLast(e, g),
          mask(e, n, (i, j) => (i > j ? 1 : 0)),
        ),
      ),
    ];
  },
};

export const solveOps = [solve, triangularSolve_, inv, det, adjugate, adjugateJvp, logabsdet, cholesky] as const;
