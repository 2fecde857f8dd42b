/**
 * derivd's f64 gemm in WebAssembly SIMD (AssemblyScript), issue 11 item 4.
 *
 * Why: V8 runs the JS kernel (src/ops/gemm.ts) on scalar doubles; here two
 * adjacent columns of C share one f64x2 register, so each multiply and each add
 * does two elements' work. `npm run build:wasm` (scripts/build-wasm.ts) compiles
 * this file and writes the bytes into src/ops/gemm-wasm.generated.ts, which
 * src/ops/gemm.ts instantiates on first use.
 *
 * The same bits as the JS kernel and a triple loop: every C[i, j] starts at 0
 * and adds A[i, p] · B[p, j] for p = 0, 1, .., k - 1 in that order, each product
 * rounded before its add (f64x2.mul then f64x2.add; WebAssembly never fuses them,
 * and relaxed SIMD's fma is not used). Vectorising across j leaves each
 * element's order of summation as it was.
 *
 * Memory is laid out by the caller (src/ops/gemm.ts), at byte offsets and byte
 * strides it passes: A(i, p) is the double at pa + i·sai + p·sap (so A may be stored
 * row-major, sai = 8k, or transposed, sai = 8), B(p, j) at pb + p·sbp + 8j (row-major),
 * C[i, j] at pc + 8(i·n + j) (row-major, m × n). Each 4 × 4 block of C is 8 f64x2
 * accumulators kept in registers over p. Past the last row or column of a block the
 * kernel reads whatever follows A, B and C (up to 3 rows of A, 3 doubles past a row of
 * B, 3 rows of C in gemmBlocked; the caller keeps that much memory beyond them) and
 * computes lanes it never stores: only C's m × n elements are written.
 *
 * gemm reads B where it was copied; gemmBlocked, for large operands, first packs each
 * 256 × 512 block of B so that its loads are sequential and stay in cache.
 */

export function gemm(m: i32, n: i32, k: i32, pa: usize, sai: usize, sap: usize, pb: usize, sbp: usize, pc: usize): void {
  const ldc = <usize>n << 3;
  for (let i = 0; i < m; i += 4) {
    const a = pa + <usize>i * sai;
    const rows = min(m - i, 4);
    const c = pc + <usize>i * ldc;
    for (let j = 0; j < n; j += 4) block(a, sai, sap, k, pb + (<usize>j << 3), sbp, c + (<usize>j << 3), ldc, rows, min(n - j, 4), false);
  }
}

/** Rows of the B block packed at a time (KC) and its columns (NC): 256 × 512 doubles, 1 MiB, stays in L2. */
const KC = 256;
const NC = 512;

/**
 * gemm for large operands, with the same arguments and the same bits, plus `pw`: a
 * work area of KC · (NC + 4) doubles. B is taken in KC × NC blocks, each copied to pw
 * in panels of 4 columns (4 consecutive doubles per p, so a block's loads are
 * sequential and no power-of-two row stride of B maps them onto one cache set), and
 * every row of A runs over the block. C holds each element's sum over the blocks of p
 * done so far and the next block adds on from it: a double stored and reloaded is
 * the same double, so the sums and their order are gemm's.
 */
export function gemmBlocked(m: i32, n: i32, k: i32, pa: usize, sai: usize, sap: usize, pb: usize, sbp: usize, pc: usize, pw: usize): void {
  const ldc = <usize>n << 3;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(n - jc, NC);
    for (let kc0 = 0; kc0 < k; kc0 += KC) {
      const kc = min(k - kc0, KC);
      packB(kc, nc, pb + <usize>kc0 * sbp + (<usize>jc << 3), sbp, pw);
      const panel = <usize>kc << 5;
      for (let i = 0; i < m; i += 4) {
        const a = pa + <usize>i * sai + <usize>kc0 * sap;
        const rows = min(m - i, 4);
        const c = pc + <usize>i * ldc + (<usize>jc << 3);
        for (let j = 0; j < nc; j += 4) {
          block(a, sai, sap, kc, pw + <usize>(j >> 2) * panel, 32, c + (<usize>j << 3), ldc, rows, min(nc - j, 4), kc0 > 0);
        }
      }
    }
  }
  // k = 0: C is 0, as gemm leaves it
  if (k == 0) gemm(m, n, 0, pa, sai, sap, pb, sbp, pc);
}

/** B(p, j) at b + p·sbp + 8j, p < kc, j < nc, to dst in panels of 4 columns (kc · 4 doubles each; past nc, zeros). */
function packB(kc: i32, nc: i32, b: usize, sbp: usize, dst: usize): void {
  let d = dst;
  let j = 0;
  for (; j + 3 < nc; j += 4) {
    let s = b + (<usize>j << 3);
    for (let p = 0; p < kc; p++) {
      v128.store(d, v128.load(s));
      v128.store(d, v128.load(s, 16), 16);
      d += 32;
      s += sbp;
    }
  }
  if (j < nc) {
    const left = nc - j;
    let s = b + (<usize>j << 3);
    for (let p = 0; p < kc; p++) {
      for (let t = 0; t < 4; t++) f64.store(d + (<usize>t << 3), t < left ? f64.load(s + (<usize>t << 3)) : 0);
      d += 32;
      s += sbp;
    }
  }
}

/**
 * One block of C, rows × cols (up to 4 × 4) at c: its sums over p < k of A(i, p) B(p, j),
 * with A(i, p) at a + i·sai + p·sap and B(p, j) at b + p·sbp + 8j, started from 0, or
 * from C's values when `more` (C holds the sums over the earlier p).
 */
// @ts-ignore: decorator
@inline
function block(a: usize, sai: usize, sap: usize, k: i32, b: usize, sbp: usize, c: usize, ldc: usize, rows: i32, cols: i32, more: bool): void {
  let c00 = f64x2.splat(0);
  let c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0);
  let c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0);
  let c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0);
  let c31 = f64x2.splat(0);
  if (more) {
    // lanes past the block's rows and columns are read (C's slack follows it) and never stored
    c00 = v128.load(c);
    c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc);
    c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc);
    c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc);
    c31 = v128.load(c + 3 * ldc, 16);
  }
  let a0 = a;
  let a1 = a + sai;
  let a2 = a + 2 * sai;
  let a3 = a + 3 * sai;
  const end = a + <usize>k * sap;
  while (a0 < end) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load64_splat(a0);
    c00 = f64x2.add(c00, f64x2.mul(x, b0));
    c01 = f64x2.add(c01, f64x2.mul(x, b1));
    x = v128.load64_splat(a1);
    c10 = f64x2.add(c10, f64x2.mul(x, b0));
    c11 = f64x2.add(c11, f64x2.mul(x, b1));
    x = v128.load64_splat(a2);
    c20 = f64x2.add(c20, f64x2.mul(x, b0));
    c21 = f64x2.add(c21, f64x2.mul(x, b1));
    x = v128.load64_splat(a3);
    c30 = f64x2.add(c30, f64x2.mul(x, b0));
    c31 = f64x2.add(c31, f64x2.mul(x, b1));
    a0 += sap;
    a1 += sap;
    a2 += sap;
    a3 += sap;
    b += sbp;
  }
  if (rows == 4 && cols == 4) {
    v128.store(c, c00);
    v128.store(c, c01, 16);
    v128.store(c + ldc, c10);
    v128.store(c + ldc, c11, 16);
    v128.store(c + 2 * ldc, c20);
    v128.store(c + 2 * ldc, c21, 16);
    v128.store(c + 3 * ldc, c30);
    v128.store(c + 3 * ldc, c31, 16);
  } else {
    storeRow(c, c00, c01, cols);
    if (rows > 1) storeRow(c + ldc, c10, c11, cols);
    if (rows > 2) storeRow(c + 2 * ldc, c20, c21, cols);
    if (rows > 3) storeRow(c + 3 * ldc, c30, c31, cols);
  }
}

/**
 * dst (k × n, row-major) = the transpose of src (n × k, row-major): matmul_nt's B,
 * stored as its rows B(·, j), made row-major for gemm. In 2 × 2 blocks, two f64x2
 * loads and two shuffles each; no arithmetic, so the bits are unchanged.
 */
export function transpose(k: i32, n: i32, src: usize, dst: usize): void {
  const ks = <usize>k << 3;
  const ns = <usize>n << 3;
  let j = 0;
  for (; j + 1 < n; j += 2) {
    const s0 = src + <usize>j * ks;
    const s1 = s0 + ks;
    const d = dst + (<usize>j << 3);
    let p = 0;
    for (; p + 1 < k; p += 2) {
      const r0 = v128.load(s0 + (<usize>p << 3));
      const r1 = v128.load(s1 + (<usize>p << 3));
      v128.store(d + <usize>p * ns, v128.shuffle<f64>(r0, r1, 0, 2));
      v128.store(d + <usize>(p + 1) * ns, v128.shuffle<f64>(r0, r1, 1, 3));
    }
    if (p < k) {
      f64.store(d + <usize>p * ns, f64.load(s0 + (<usize>p << 3)));
      f64.store(d + <usize>p * ns, f64.load(s1 + (<usize>p << 3)), 8);
    }
  }
  if (j < n) {
    const s0 = src + <usize>j * ks;
    const d = dst + (<usize>j << 3);
    for (let p = 0; p < k; p++) f64.store(d + <usize>p * ns, f64.load(s0 + (<usize>p << 3)));
  }
}

/** The first `cols` (1 to 4) of a row of the block. */
// @ts-ignore: decorator
@inline
function storeRow(c: usize, lo: v128, hi: v128, cols: i32): void {
  f64.store(c, f64x2.extract_lane(lo, 0));
  if (cols > 1) f64.store(c, f64x2.extract_lane(lo, 1), 8);
  if (cols > 2) f64.store(c, f64x2.extract_lane(hi, 0), 16);
  if (cols > 3) f64.store(c, f64x2.extract_lane(hi, 1), 24);
}

/** Where the caller's buffers may start: the first byte past static data, 16-aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}
