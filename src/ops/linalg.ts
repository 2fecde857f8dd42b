/**
 * Contractions and axis permutation, with NumPy semantics: dot of two vectors,
 * matmul (1-D promotion, broadcast batch dimensions), transpose, outer.
 * Chain-rule products with a tangent or cotangent go through zmul, or through
 * matmul with strongZero (and matmul_nt/matmul_tn, always strong), so a zero
 * tangent times an infinite factor is 0 in contractions too.
 */
import { z } from 'zod';
import { broadcastShapes, broadcastStrides } from '../tensor/broadcast.js';
import { formatShape, normaliseAxis, sizeOf, stridesOf, type Shape } from '../tensor/tensor.js';
import { zmulScalar } from './binary.js';
import { gemm } from './gemm.js';
import { OpError, type OpDef, type ValueId } from './types.js';

/** matmul as a batch of [m, k] × [k, n] products: a2 and b2 are the arguments with 1-D ones promoted. */
interface MatmulDims {
  a2: Shape;
  b2: Shape;
  batch: Shape;
  m: number;
  k: number;
  n: number;
  out: Shape;
}

function matmulDims(as: Shape, bs: Shape): MatmulDims {
  const what = `${formatShape(as)} × ${formatShape(bs)}`;
  if (as.length === 0) throw new OpError(`${what}: argument 0 is a scalar; expected rank 1 or more`, 0);
  if (bs.length === 0) throw new OpError(`${what}: argument 1 is a scalar; expected rank 1 or more`, 1);
  const a2 = as.length === 1 ? [1, as[0]] : as;
  const b2 = bs.length === 1 ? [bs[0], 1] : bs;
  const [m, k] = a2.slice(-2);
  const [kb, n] = b2.slice(-2);
  if (k !== kb) throw new OpError(`${what}: inner dimensions ${k} and ${kb} differ`, 1);
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
  if (batch === null) throw new OpError(`${what}: batch dimensions do not broadcast`, 1);
  const out = [...batch];
  if (as.length > 1) out.push(m);
  if (bs.length > 1) out.push(n);
  return { a2, b2, batch, m, k, n, out };
}

/**
 * Which operand is stored transposed: 'nn' is a b, 'nt' is a bᵀ (b stored [n, k]),
 * 'tn' is aᵀ b (a stored [k, m]). The reverse rules use nt and tn so that a
 * cotangent never waits for a transposed copy of a (possibly large) operand.
 */
type Layout = 'nn' | 'nt' | 'tn';

function matmulKernel(
  a: Float64Array,
  as: Shape,
  b: Float64Array,
  bs: Shape,
  out: Float64Array,
  layout: Layout = 'nn',
  strongZero = false,
): void {
  const { a2, b2, batch, m, k, n } = layout === 'nn' ? matmulDims(as, bs) : storedDims(as, bs, layout);
  // With only finite operands a strong zero changes nothing, so the fast loops serve.
  const careful = strongZero && !(allFinite(a) && allFinite(b));
  // Strides in whole matrices; 0 along batch dimensions an argument is broadcast over.
  const sa = broadcastStrides(a2.slice(0, -2), batch);
  const sb = broadcastStrides(b2.slice(0, -2), batch);
  out.fill(0);
  for (let t = 0; t < sizeOf(batch); t++) {
    let ia = 0;
    let ib = 0;
    for (let d = batch.length - 1, r = t; d >= 0; d--) {
      const c = r % batch[d];
      r = (r - c) / batch[d];
      ia += c * sa[d];
      ib += c * sb[d];
    }
    const ao = ia * m * k;
    const bo = ib * k * n;
    const oo = t * m * n;
    if (careful) {
      // Element (i, l) of a and (l, j) of b in the stored layouts; 0 times ±Infinity or NaN is 0.
      const [ai, al] = layout === 'tn' ? [1, m] : [k, 1];
      const [bl, bj] = layout === 'nt' ? [1, k] : [n, 1];
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let l = 0; l < k; l++) acc += zmulScalar(a[ao + i * ai + l * al], b[bo + l * bl + j * bj]);
          out[oo + i * n + j] = acc;
        }
      }
    } else {
      // gemm.ts (WebAssembly SIMD, or register-blocked JS): the same sums in the same order as a triple loop, far faster.
      const [ai, ap] = layout === 'tn' ? [1, m] : [k, 1];
      const [bp, bj] = layout === 'nt' ? [1, k] : [n, 1];
      gemm(m, n, k, a, ao, ai, ap, b, bo, bp, bj, out, oo);
    }
  }
}

function allFinite(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/** Dims of an nt or tn product of rank >= 2 arguments, in the kernel's a2 [.., m, k], b2 [.., k, n] terms. */
function storedDims(as: Shape, bs: Shape, layout: 'nt' | 'tn'): MatmulDims {
  const what = `${formatShape(as)} × ${formatShape(bs)} (${layout})`;
  if (as.length < 2 || bs.length < 2) throw new OpError(`${what}: arguments need rank 2 or more`, as.length < 2 ? 0 : 1);
  const [a0, a1] = as.slice(-2);
  const [b0, b1] = bs.slice(-2);
  const [m, k, kb, n] = layout === 'nt' ? [a0, a1, b1, b0] : [a1, a0, b0, b1];
  if (k !== kb) throw new OpError(`${what}: inner dimensions ${k} and ${kb} differ`, 1);
  const batch = broadcastShapes([as.slice(0, -2), bs.slice(0, -2)]);
  if (batch === null) throw new OpError(`${what}: batch dimensions do not broadcast`, 1);
  return { a2: [...as.slice(0, -2), m, k], b2: [...bs.slice(0, -2), k, n], batch, m, k, n, out: [...batch, m, n] };
}

/**
 * Internal: a bᵀ ('nt') and aᵀ b ('tn') for the reverse rules of matmul. Bilinear,
 * so the tangent is the same product of tangents. They get no VJP: they appear
 * only in reverse programs, which are differentiated forward, never in reverse.
 */
function transposedMatmul<L extends 'nt' | 'tn'>(layout: L): OpDef<`matmul_${L}`> {
  const name = `matmul_${layout}` as const;
  return {
    name,
    arity: 2,
    attrs: {},
    internal: true,
    shape: ([as, bs]) => storedDims(as, bs, layout).out,
    kernel: ([a, b], [as, bs], out) => matmulKernel(a, as, b, bs, out, layout, true),
    work([as, bs]) {
      const { batch, m, k, n } = storedDims(as, bs, layout);
      return sizeOf(batch) * m * k * n;
    },
    // Attributes spelt out ({}) because the name is generic here.
    jvp({ e, xs: [a, b], outShape }, [aDot, bDot]) {
      const terms = [aDot === null ? null : e.apply(name, [aDot, b], {}), bDot === null ? null : e.apply(name, [a, bDot], {})];
      return e.sumTerms(terms, outShape);
    },
  };
}

function preparePerm(wire: readonly number[] | undefined, rank: number): number[] {
  if (wire === undefined) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (wire.length !== rank) {
    throw new OpError(
      `perm ${formatShape(wire)} has ${wire.length} ${wire.length === 1 ? 'entry' : 'entries'}; expected ${rank} for rank ${rank}`,
      undefined,
      'perm',
    );
  }
  const perm: number[] = [];
  for (const p of wire) {
    const a = normaliseAxis(p, rank);
    if (a < 0) throw new OpError(`perm entry ${p} is out of range for rank ${rank}`, undefined, 'perm');
    if (perm.includes(a)) throw new OpError(`perm ${formatShape(wire)} names axis ${a} twice`, undefined, 'perm');
    perm.push(a);
  }
  return perm;
}

const dot: OpDef<'dot'> = {
  name: 'dot',
  arity: 2,
  attrs: {},
  shape([as, bs]) {
    for (const [i, s] of [as, bs].entries()) {
      if (s.length !== 1) throw new OpError(`expected 1-D arguments; argument ${i} has shape ${formatShape(s)}`, i);
    }
    if (as[0] !== bs[0]) throw new OpError(`lengths of ${formatShape(as)} and ${formatShape(bs)} differ`, 1);
    return [];
  },
  // A plain loop, not gemm: as a 1 × k × 1 product the WebAssembly gemm is no faster (bench/gemm.ts),
  // and vectorising the sum itself would change its order, so its bits.
  kernel([a, b], _s, out) {
    let acc = 0;
    for (let i = 0; i < a.length; i++) acc += a[i] * b[i];
    out[0] = acc;
  },
  batchKernel([a, b], [as], [aBatched, bBatched], k, out) {
    const n = as[0];
    for (let e = 0; e < k; e++) {
      const ao = aBatched ? e * n : 0;
      const bo = bBatched ? e * n : 0;
      let acc = 0;
      for (let i = 0; i < n; i++) acc += a[ao + i] * b[bo + i];
      out[e] = acc;
    }
  },
  work: (s) => s[0][0],
  // y = a·b; ẏ = Σ ȧ b + Σ a ḃ; ā = ȳ b; b̄ = ȳ a
  jvp({ e, xs: [a, b] }, [aDot, bDot]) {
    const terms = [aDot === null ? null : e.sum(e.zmul(aDot, b), [0], false), bDot === null ? null : e.sum(e.zmul(a, bDot), [0], false)];
    return e.sumTerms(terms, []);
  },
  vjp: ({ e, xs: [a, b] }, yBar, wanted) => [wanted[0] ? e.zmul(yBar, b) : null, wanted[1] ? e.zmul(yBar, a) : null],
};

/** Kernel attributes (MatmulAttrs): strongZero is set only by derivative rules, never on the wire. */
const STRONG = { strongZero: true } as const;

const matmul: OpDef<'matmul'> = {
  name: 'matmul',
  arity: 2,
  attrs: {},
  shape: ([as, bs]) => matmulDims(as, bs).out,
  // y[.., i, j] from row i of a and column j of b, at the batch entries they broadcast from
  sparsity([as, bs], _os, _a, dep) {
    const { a2, b2, batch, m, k, n } = matmulDims(as, bs);
    const count = sizeOf(batch);
    const aStrides = broadcastStrides(a2.slice(0, -2), batch);
    const bStrides = broadcastStrides(b2.slice(0, -2), batch);
    const at = new Array<number>(batch.length).fill(0);
    for (let t = 0; t < count; t++) {
      let aBase = 0;
      let bBase = 0;
      for (let d = 0; d < batch.length; d++) {
        aBase += at[d] * aStrides[d];
        bBase += at[d] * bStrides[d];
      }
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const e = (t * m + i) * n + j;
          for (let p = 0; p < k; p++) {
            dep(e, 0, (aBase * m + i) * k + p);
            dep(e, 1, (bBase * k + p) * n + j);
          }
        }
      }
      for (let d = batch.length - 1; d >= 0; d--) {
        if (++at[d] < batch[d]) break;
        at[d] = 0;
      }
    }
  },
  kernel: ([a, b], [as, bs], out, _o, attrs) => matmulKernel(a, as, b, bs, out, 'nn', attrs.strongZero === true),
  work([as, bs]) {
    const { batch, m, k, n } = matmulDims(as, bs);
    return sizeOf(batch) * m * k * n;
  },
  // y = a b; ẏ = ȧ b + a ḃ; ā = ȳ bᵀ; b̄ = aᵀ ȳ (in promoted 2-D views, summed over broadcast batch dims)
  jvp({ e, xs: [a, b], outShape }, [aDot, bDot]) {
    const terms = [
      aDot === null ? null : e.apply('matmul', [aDot, b], STRONG),
      bDot === null ? null : e.apply('matmul', [a, bDot], STRONG),
    ];
    return e.sumTerms(terms, outShape);
  },
  vjp({ e, xs: [a, b], inShapes: [as, bs] }, yBar, wanted) {
    const { a2, b2, batch, m, n } = matmulDims(as, bs);
    const yBar2 = e.reshape(yBar, [...batch, m, n]);
    return [
      wanted[0] ? e.reshape(e.sumTo(e.apply('matmul_nt', [yBar2, e.reshape(b, b2)]), a2), as) : null,
      wanted[1] ? e.reshape(e.sumTo(e.apply('matmul_tn', [e.reshape(a, a2), yBar2]), b2), bs) : null,
    ];
  },
};

const transpose: OpDef<'transpose'> = {
  name: 'transpose',
  movesElements: true,
  arity: 1,
  attrs: { perm: z.array(z.number().int()).optional() },
  prepare: (wire: { perm?: number[] }, s) => ({ perm: preparePerm(wire.perm, s[0].length) }),
  shape: ([s], { perm }) => perm.map((p) => s[p]),
  kernel([x], [s], out, os, { perm }) {
    const inStrides = stridesOf(s);
    const strides = perm.map((p) => inStrides[p]);
    const counter = new Int32Array(os.length);
    let off = 0;
    for (let o = 0; o < out.length; o++) {
      out[o] = x[off];
      for (let ax = os.length - 1; ax >= 0; ax--) {
        counter[ax]++;
        off += strides[ax];
        if (counter[ax] < os[ax]) break;
        off -= strides[ax] * os[ax];
        counter[ax] = 0;
      }
    }
  },
  work: (s) => sizeOf(s[0]),
  // y = xᵀ; ẏ = ẋᵀ; x̄ = ȳ transposed by the inverse permutation
  jvp: ({ e, attrs }, [xDot]) => (xDot === null ? null : e.apply('transpose', [xDot], { perm: [...attrs.perm] })),
  vjp({ e, attrs: { perm } }, yBar) {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => {
      inverse[p] = i;
    });
    return [e.apply('transpose', [yBar], { perm: inverse })];
  },
};

const outer: OpDef<'outer'> = {
  name: 'outer',
  arity: 2,
  attrs: {},
  shape: ([as, bs]) => [sizeOf(as), sizeOf(bs)],
  // y[i, j] from a[i] and b[j]
  sparsity([as, bs], _os, _a, dep) {
    const [m, n] = [sizeOf(as), sizeOf(bs)];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        dep(i * n + j, 0, i);
        dep(i * n + j, 1, j);
      }
    }
  },
  // Not gemm: as a k = 1 product it would write 0 + a[i] b[j], which turns a -0 product into +0;
  // and this is a pass of writes, bound by memory rather than arithmetic.
  kernel([a, b], _s, out) {
    const m = b.length;
    for (let i = 0; i < a.length; i++) for (let j = 0; j < m; j++) out[i * m + j] = a[i] * b[j];
  },
  work: (_s, [n, m]) => n * m,
  // y = a bᵀ (flattened); ẏ = ȧ bᵀ + a ḃᵀ; ā = Σ_j ȳ b; b̄ = Σ_i a ȳ
  jvp({ e, xs: [a, b], outShape: [n, m] }, [aDot, bDot]) {
    const col = (v: ValueId): ValueId => e.reshape(v, [n, 1]);
    const row = (v: ValueId): ValueId => e.reshape(v, [1, m]);
    const terms = [aDot === null ? null : e.zmul(col(aDot), row(b)), bDot === null ? null : e.zmul(col(a), row(bDot))];
    return e.sumTerms(terms, [n, m]);
  },
  vjp({ e, xs: [a, b], inShapes: [as, bs], outShape: [n, m] }, yBar, wanted) {
    return [
      wanted[0] ? e.reshape(e.sum(e.zmul(yBar, e.reshape(b, [1, m])), [1], false), as) : null,
      wanted[1] ? e.reshape(e.sum(e.zmul(e.reshape(a, [n, 1]), yBar), [0], false), bs) : null,
    ];
  },
};

export const linalgOps = [dot, matmul, transposedMatmul('nt'), transposedMatmul('tn'), transpose, outer] as const;
