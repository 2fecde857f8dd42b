/**
 * Both gemm kernels (JS, and WebAssembly SIMD with its copies in and out) against a
 * plain triple loop summing in the same order: the same bits (NaN, ±Infinity and -0
 * included), for every stored layout, odd sizes (the blocks' remainders), empty
 * dimensions and offsets into larger buffers; the choice between them; the fallback
 * to JS where the module cannot load; the memory cap.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  gemm,
  gemmJs,
  gemmWasmAvailable,
  gemmWasmMemoryBytes,
  MAX_WASM_BYTES,
  reloadGemmWasm,
  setGemmKernel,
  type GemmKernel,
} from './gemm.js';

function naive(
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
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ao + i * ai + p * ap] * b[bo + p * bp + j * bj];
      c[i * n + j] = s;
    }
  }
  return c;
}

const value = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, -0) },
);

type Layout = 'nn' | 'nt' | 'tn';

/** Runs `run` (gemm or gemmJs) on A and B in `layout` at offset `off`, and checks it against the triple loop. */
function check(run: typeof gemm, m: number, n: number, k: number, layout: Layout, off: number, xa: Float64Array, xb: Float64Array): void {
  const [ai, ap] = layout === 'tn' ? [1, m] : [k, 1];
  const [bp, bj] = layout === 'nt' ? [1, k] : [n, 1];
  const a = new Float64Array(off + m * k + 3).fill(Number.NaN);
  a.set(xa.subarray(0, m * k), off);
  const b = new Float64Array(off + k * n + 3).fill(Number.NaN);
  b.set(xb.subarray(0, k * n), off);
  const c = new Float64Array(off + m * n + 2).fill(7);
  run(m, n, k, a, off, ai, ap, b, off, bp, bj, c, off);
  const want = naive(m, n, k, a, off, ai, ap, b, off, bp, bj);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(c[off + i], want[i])) throw new Error(`${layout} ${m}×${k}×${n} element ${i}: ${c[off + i]} vs ${want[i]}`);
  }
  // nothing outside C is written
  for (let i = 0; i < off; i++) if (c[i] !== 7) throw new Error(`wrote before C at ${i}`);
  if (c[off + m * n] !== 7 || c[off + m * n + 1] !== 7) throw new Error('wrote after C');
}

function withKernel(kernel: GemmKernel): typeof gemm {
  return (...args) => {
    const before = setGemmKernel(kernel);
    try {
      gemm(...args);
    } finally {
      setGemmKernel(before);
    }
  };
}

const KERNELS = { js: gemmJs, wasm: withKernel('wasm'), auto: withKernel('auto') };

afterEach(() => {
  setGemmKernel('auto');
  reloadGemmWasm();
  vi.unstubAllGlobals();
});

describe('gemm', () => {
  it('has the WebAssembly kernel on this Node', () => {
    expect(gemmWasmAvailable()).toBe(true);
  });

  for (const [name, run] of Object.entries(KERNELS)) {
    it(`${name}: is a triple loop, bit for bit, in every layout (small)`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 7 }),
          fc.integer({ min: 0, max: 9 }),
          fc.integer({ min: 0, max: 6 }),
          fc.constantFrom<Layout>('nn', 'nt', 'tn'),
          fc.integer({ min: 0, max: 3 }),
          fc.array(value, { minLength: 200, maxLength: 200 }),
          (m, n, k, layout, off, xs) =>
            check(run, m, n, k, layout, off, Float64Array.from(xs.slice(0, 100)), Float64Array.from(xs.slice(100))),
        ),
        { numRuns: 300 },
      );
    });

    it(`${name}: is a triple loop, bit for bit, in every layout (up to 4 blocks a side)`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 17 }),
          fc.integer({ min: 1, max: 17 }),
          fc.integer({ min: 0, max: 40 }),
          fc.constantFrom<Layout>('nn', 'nt', 'tn'),
          fc.integer({ min: 0, max: 3 }),
          fc.array(value, { minLength: 17 * 40, maxLength: 17 * 40 }),
          fc.array(value, { minLength: 17 * 40, maxLength: 17 * 40 }),
          (m, n, k, layout, off, xa, xb) => check(run, m, n, k, layout, off, Float64Array.from(xa), Float64Array.from(xb)),
        ),
        { numRuns: 200 },
      );
    });
  }

  it('wasm: 1 × 1 × 1, k = 0, and a large odd product', () => {
    const run = KERNELS.wasm;
    check(run, 1, 1, 1, 'nn', 0, Float64Array.of(3), Float64Array.of(-0));
    for (const layout of ['nn', 'nt', 'tn'] as const) check(run, 5, 3, 0, layout, 1, new Float64Array(0), new Float64Array(0));
    const xa = Float64Array.from({ length: 131 * 67 }, (_, i) => Math.sin(i));
    const xb = Float64Array.from({ length: 67 * 259 }, (_, i) => Math.cos(i));
    for (const layout of ['nn', 'nt', 'tn'] as const) check(run, 131, 259, 67, layout, 2, xa, xb);
  });

  it('wasm: large products, B packed in blocks (several blocks of p and of j, odd edges), in every layout', () => {
    const rnd = fc.sample(value, { numRuns: 40_000, seed: 11 });
    const xs = (length: number, from: number) => Float64Array.from({ length }, (_, i) => rnd[(from + i * 7) % rnd.length]);
    for (const [m, k, n] of [
      [17, 300, 517],
      [33, 257, 1030],
      [16, 256, 256],
    ]) {
      for (const layout of ['nn', 'nt', 'tn'] as const) check(KERNELS.wasm, m, n, k, layout, 1, xs(m * k, 0), xs(k * n, 5));
    }
  });

  it('falls back to JS for good where the module does not validate (no SIMD)', () => {
    reloadGemmWasm(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff));
    expect(gemmWasmAvailable()).toBe(false);
    expect(gemmWasmMemoryBytes()).toBe(0);
    check(KERNELS.wasm, 9, 10, 11, 'nt', 1, Float64Array.from({ length: 99 }, Math.sqrt), Float64Array.from({ length: 110 }, Math.cbrt));
    check(KERNELS.auto, 9, 10, 11, 'tn', 0, Float64Array.from({ length: 99 }, Math.sqrt), Float64Array.from({ length: 110 }, Math.cbrt));
    reloadGemmWasm();
    expect(gemmWasmAvailable()).toBe(true);
  });

  it('falls back to JS where there is no WebAssembly, or instantiation throws', () => {
    vi.stubGlobal('WebAssembly', undefined);
    reloadGemmWasm();
    expect(gemmWasmAvailable()).toBe(false);
    check(KERNELS.wasm, 6, 7, 8, 'nn', 0, Float64Array.from({ length: 48 }, Math.sin), Float64Array.from({ length: 56 }, Math.cos));
    vi.unstubAllGlobals();
    const real = (globalThis as any).WebAssembly;
    vi.stubGlobal('WebAssembly', {
      validate: () => true,
      Module: real.Module,
      Instance: () => {
        throw new Error('no');
      },
    });
    reloadGemmWasm();
    expect(gemmWasmAvailable()).toBe(false);
    check(KERNELS.auto, 6, 7, 8, 'tn', 0, Float64Array.from({ length: 48 }, Math.sin), Float64Array.from({ length: 56 }, Math.cos));
  });

  it('keeps its memory under the cap: a larger product runs in JS', () => {
    // C alone is 9 · 10⁶ doubles, 72 MB
    const [m, n] = [3000, 3000];
    const a = Float64Array.from({ length: m }, (_, i) => i - 1500);
    const b = Float64Array.from({ length: n }, (_, j) => 1 / (j + 1));
    const c = new Float64Array(m * n);
    KERNELS.wasm(m, n, 1, a, 0, 1, 1, b, 0, n, 1, c, 0);
    expect(gemmWasmMemoryBytes()).toBeLessThanOrEqual(MAX_WASM_BYTES + 65536);
    for (const [i, j] of [
      [0, 0],
      [1499, 7],
      [2999, 2999],
    ])
      expect(Object.is(c[i * n + j], 0 + a[i] * b[j])).toBe(true);
  });
});
