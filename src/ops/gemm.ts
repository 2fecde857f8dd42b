/**
 * f64 gemm, C = A B, for matmul, matmul_nt and matmul_tn (linalg.ts), in two kernels
 * that give the same bits: every C[i, j] is 0 plus A[i, 0] B[0, j], plus A[i, 1] B[1, j],
 * and so on in order of p, each product rounded before its add, as a triple loop sums it.
 *
 * - gemmJs: register-blocked 2 × 4 in plain JavaScript, strided, no copies.
 * - the WebAssembly one (wasm/gemm.ts, f64x2 SIMD, 4 × 4 blocks of C, no FMA; for large
 *   operands B packed in cache-sized blocks): it exists for speed, about 5× the JS kernel on
 *   P4's 128 × 64 × 256 product and 10× on 512³ (bench/gemm.ts). Its memory
 *   is its own, so A and B are copied in (A as stored, row-major or transposed; B row-major,
 *   matmul_nt's transposed by the module) and C copied out. Below WASM_MIN_WORK multiply-adds
 *   the call and copies cost more than SIMD saves; above MAX_WASM_BYTES the JS kernel runs
 *   rather than hold more memory.
 *
 * `gemm` picks between them. The module is compiled and instantiated synchronously on first
 * use, once per thread (module state is per isolate, so each worker thread has its own
 * instance and memory; calls within a thread never interleave). Where WebAssembly or its SIMD
 * is missing (validation fails) or instantiation throws, every call runs the JS kernel.
 */
import { GEMM_WASM_BASE64 } from './gemm-wasm.generated.js';

/** Which kernel gemm runs: 'auto' (by size, the default), or one forced, e.g. by tests and bench/gemm.ts. */
export type GemmKernel = 'js' | 'wasm' | 'auto';

let choice: GemmKernel = 'auto';

/** Sets the kernel gemm runs and returns the previous setting. 'wasm' still falls back to JS where it is unavailable or too large. */
export function setGemmKernel(kernel: GemmKernel): GemmKernel {
  const previous = choice;
  choice = kernel;
  return previous;
}

/**
 * In auto, products of fewer multiply-adds (m·n·k) than this run in JS: the crossover measured by
 * bench/gemm.ts (5 × 5 × 5 is faster in JS, 6 × 6 × 6 and 8 × 8 × 8 in WebAssembly, 1.35× and 1.6×).
 */
export const WASM_MIN_WORK = 200;
/**
 * gemmBlocked (B packed in cache-sized blocks) from this many rows of A and elements of B;
 * below, B is read as copied in. bench/gemm.ts: blocked, 256³ runs at 21 GFLOP/s against 18
 * and 512³ at 20 against 8 (a 4 KiB row stride maps B's loads onto one cache set), while
 * P4's products (k·n = 16384) and thin A lose a few to 40 % to the packing.
 * Its work area holds KC × (NC + 4) doubles (wasm/gemm.ts).
 */
const BLOCKED_MIN_M = 16;
const BLOCKED_MIN_KN = 65536;
const BLOCKED_WORK = 256 * (512 + 4);
/** A, B, C, slack and work area together may take this much WebAssembly memory; larger products run in JS. */
export const MAX_WASM_BYTES = 64 * 2 ** 20;

/**
 * C = A B with A(i, p) = a[ao + i·ai + p·ap], B(p, j) = b[bo + p·bp + j·bj] and
 * C[co + i·n + j] (m × n): the WebAssembly kernel where it is available and pays, else gemmJs.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  ao: number,
  ai: number,
  ap: number,
  b: Float64Array,
  bo: number,
  bp: number,
  bj: number,
  c: Float64Array,
  co: number,
): void {
  // 1 × k × 1 is a dot product: a 4 × 4 block would waste 15 of its 16 lanes (bench/gemm.ts: no faster).
  if (choice !== 'js' && (choice === 'wasm' || (m * n * k >= WASM_MIN_WORK && (m > 1 || n > 1)))) {
    if (gemmWasm(m, n, k, a, ao, ai, ap, b, bo, bp, bj, c, co)) return;
  }
  gemmJs(m, n, k, a, ao, ai, ap, b, bo, bp, bj, c, co);
}

/** The little of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

interface WasmGemm {
  run: (m: number, n: number, k: number, pa: number, sai: number, sap: number, pb: number, sbp: number, pc: number) => void;
  runBlocked: (
    m: number,
    n: number,
    k: number,
    pa: number,
    sai: number,
    sap: number,
    pb: number,
    sbp: number,
    pc: number,
    pw: number,
  ) => void;
  transpose: (k: number, n: number, src: number, dst: number) => void;
  memory: WasmMemory;
  /** First usable byte (16-aligned). */
  base: number;
  /** A view of memory, renewed when it grows. */
  f64: Float64Array;
}

/** undefined: not tried yet in this thread; null: unavailable, JS for good. */
let wasm: WasmGemm | null | undefined;
/** Test hook: the bytes to load instead of the generated module's. */
let bytesOverride: Uint8Array | undefined;

function loadWasm(): WasmGemm | null {
  if (wasm !== undefined) return wasm;
  wasm = null;
  try {
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (typeof api !== 'object' || api === null) return null;
    const bytes = bytesOverride ?? Buffer.from(GEMM_WASM_BASE64, 'base64');
    // validate is false where the engine lacks an instruction the module uses (SIMD)
    if (!api.validate(bytes)) return null;
    const { exports } = new api.Instance(new api.Module(bytes), {});
    const memory = exports.memory as WasmMemory;
    const base = (exports.heapBase as () => number)();
    wasm = {
      run: exports.gemm as WasmGemm['run'],
      runBlocked: exports.gemmBlocked as WasmGemm['runBlocked'],
      transpose: exports.transpose as WasmGemm['transpose'],
      memory,
      base,
      f64: new Float64Array(memory.buffer),
    };
  } catch {
    wasm = null;
  }
  return wasm;
}

/** Whether this thread has the WebAssembly kernel (loading it if not tried yet). */
export function gemmWasmAvailable(): boolean {
  return loadWasm() !== null;
}

/** This thread's WebAssembly memory in bytes (0 before it is loaded or where it is unavailable): for tests. */
export function gemmWasmMemoryBytes(): number {
  return wasm ? wasm.memory.buffer.byteLength : 0;
}

/** Tests: forget this thread's instance, so the next call loads again, from `bytes` if given. */
export function reloadGemmWasm(bytes?: Uint8Array): void {
  wasm = undefined;
  bytesOverride = bytes;
}

/**
 * The WebAssembly kernel; false (nothing written) where it is unavailable or the operands exceed MAX_WASM_BYTES.
 * Its memory holds A as stored (row-major or transposed: one copy), B row-major (one copy, or a
 * transposing one for matmul_nt's layout), C, and slack for the reads past A's last rows.
 */
function gemmWasm(
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  ao: number,
  ai: number,
  ap: number,
  b: Float64Array,
  bo: number,
  bp: number,
  bj: number,
  c: Float64Array,
  co: number,
): boolean {
  const w = loadWasm();
  if (w === null) return false;
  if (m === 0 || n === 0) return true;
  // Memory, in doubles from base: A (m·k), B (k·n), C (m·n), slack, work area.
  // A 4 × 4 block of C reads up to 3 rows past A's last row, 3 doubles past a row of B,
  // and (gemmBlocked) 3 rows past C's last row: the slack covers what C and B do not.
  // The work area holds matmul_nt's B as stored, before the module transposes it into
  // place, and then gemmBlocked's packed block of B.
  const blocked = m >= BLOCKED_MIN_M && k * n >= BLOCKED_MIN_KN;
  const slack = 3 * Math.max(k, n) + 8;
  const work = Math.max(bj === 1 ? 0 : k * n, blocked ? BLOCKED_WORK : 0);
  const doubles = m * k + k * n + m * n + slack + work;
  if (doubles * 8 > MAX_WASM_BYTES) return false;
  const end = w.base + doubles * 8;
  if (end > w.memory.buffer.byteLength) {
    try {
      w.memory.grow(Math.ceil((end - w.memory.buffer.byteLength) / 65536));
    } catch {
      return false;
    }
    w.f64 = new Float64Array(w.memory.buffer);
  }
  const f64 = w.f64;
  const pa = w.base / 8;
  const pb = pa + m * k;
  const pc = pb + k * n;
  const pw = pc + m * n + slack;
  // A(i, p) at pa + i·sai + p·sap (in doubles here)
  let sai = k;
  let sap = 1;
  if (ap === 1 && ai === k) f64.set(a.subarray(ao, ao + m * k), pa);
  else if (ai === 1 && ap === m) {
    f64.set(a.subarray(ao, ao + m * k), pa);
    [sai, sap] = [1, m];
  } else for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) f64[pa + i * k + p] = a[ao + i * ai + p * ap];
  if (bj === 1 && bp === n) f64.set(b.subarray(bo, bo + k * n), pb);
  else if (bp === 1 && bj === k) {
    // matmul_nt's B, stored n × k: copied to the work area, then transposed into place by the module
    f64.set(b.subarray(bo, bo + k * n), pw);
    w.transpose(k, n, pw * 8, pb * 8);
  } else for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) f64[pb + p * n + j] = b[bo + p * bp + j * bj];
  if (blocked) w.runBlocked(m, n, k, pa * 8, sai * 8, sap * 8, pb * 8, n * 8, pc * 8, pw * 8);
  else w.run(m, n, k, pa * 8, sai * 8, sap * 8, pb * 8, n * 8, pc * 8);
  c.set(f64.subarray(pc, pc + m * n), co);
  return true;
}

/**
 * The JS kernel: C = A B in f64, register-blocked 2 × 4: eight accumulators stay in registers and
 * each element of A and B is loaded once per block. Strided, so one kernel serves
 * the stored layouts of matmul and its reverse rules:
 *   A(i, p) = a[ao + i·ai + p·ap],  B(p, j) = b[bo + p·bp + j·bj],  C[co + i·n + j] (m × n).
 * Each C[i, j] is summed from 0 over p in order, as a plain triple loop sums it, so
 * results are the same bits whatever the blocking.
 */
export function gemmJs(
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  ao: number,
  ai: number,
  ap: number,
  b: Float64Array,
  bo: number,
  bp: number,
  bj: number,
  c: Float64Array,
  co: number,
): void {
  let i = 0;
  for (; i + 1 < m; i += 2) {
    let j = 0;
    for (; j + 3 < n; j += 4) {
      let c00 = 0;
      let c01 = 0;
      let c02 = 0;
      let c03 = 0;
      let c10 = 0;
      let c11 = 0;
      let c12 = 0;
      let c13 = 0;
      let pa = ao + i * ai;
      let pb = bo + j * bj;
      for (let p = 0; p < k; p++) {
        const a0 = a[pa];
        const a1 = a[pa + ai];
        const b0 = b[pb];
        const b1 = b[pb + bj];
        const b2 = b[pb + 2 * bj];
        const b3 = b[pb + 3 * bj];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        pa += ap;
        pb += bp;
      }
      const r0 = co + i * n + j;
      const r1 = r0 + n;
      c[r0] = c00;
      c[r0 + 1] = c01;
      c[r0 + 2] = c02;
      c[r0 + 3] = c03;
      c[r1] = c10;
      c[r1 + 1] = c11;
      c[r1 + 2] = c12;
      c[r1 + 3] = c13;
    }
    for (; j < n; j++) {
      c[co + i * n + j] = dotAt(k, a, ao + i * ai, ap, b, bo + j * bj, bp);
      c[co + (i + 1) * n + j] = dotAt(k, a, ao + (i + 1) * ai, ap, b, bo + j * bj, bp);
    }
  }
  for (; i < m; i++) for (let j = 0; j < n; j++) c[co + i * n + j] = dotAt(k, a, ao + i * ai, ap, b, bo + j * bj, bp);
}

function dotAt(k: number, a: Float64Array, pa: number, ap: number, b: Float64Array, pb: number, bp: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) s += a[pa + p * ap] * b[pb + p * bp];
  return s;
}
