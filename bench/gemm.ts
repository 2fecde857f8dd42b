/**
 * The gemm kernels (issue 11 item 4): src/ops/gemm.ts's JS kernel against its
 * WebAssembly SIMD one (copies in and out included), timed together (timing.ts,
 * interleaved round-robin) on P4's five products and on small and thin shapes, to
 * find where the WebAssembly one starts to pay (WASM_MIN_WORK in src/ops/gemm.ts).
 * Shapes are m × k × n: C (m × n) = A (m × k) B (k × n), in the stored layout the
 * product has in derivd (nn: matmul; nt: matmul_nt, B stored n × k; tn: matmul_tn).
 *
 * Standalone: `npx tsx bench/gemm.ts [--quick]`; `npm run bench` runs it too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gemm, gemmWasmAvailable, setGemmKernel } from '../src/ops/gemm.js';
import { measure } from './timing.js';

type Layout = 'nn' | 'nt' | 'tn';

interface Shape {
  m: number;
  k: number;
  n: number;
  layout: Layout;
  what: string;
}

export interface GemmRecord {
  problem: 'GEMM';
  shape: string;
  layout: Layout;
  what: string;
  jsUs: number;
  wasmUs: number;
  jsGflops: number;
  wasmGflops: number;
  /** JS median over WebAssembly median: above 1, WebAssembly is faster. */
  speedup: number;
}

const SHAPES: Shape[] = [
  { m: 128, k: 64, n: 256, layout: 'nn', what: 'P4 W1 X' },
  { m: 128, k: 256, n: 64, layout: 'nt', what: 'P4 dW1 = dZ Xᵀ' },
  { m: 10, k: 128, n: 256, layout: 'nn', what: 'P4 W2 H' },
  { m: 128, k: 10, n: 256, layout: 'tn', what: 'P4 dH = W2ᵀ dR' },
  { m: 10, k: 256, n: 128, layout: 'nt', what: 'P4 dW2 = dR Hᵀ' },
  { m: 512, k: 512, n: 512, layout: 'nn', what: 'square' },
  { m: 256, k: 256, n: 256, layout: 'nn', what: 'square' },
  { m: 64, k: 64, n: 64, layout: 'nn', what: 'square' },
  { m: 32, k: 32, n: 32, layout: 'nn', what: 'square' },
  { m: 16, k: 16, n: 16, layout: 'nn', what: 'square' },
  { m: 12, k: 12, n: 12, layout: 'nn', what: 'square' },
  { m: 8, k: 8, n: 8, layout: 'nn', what: 'square' },
  { m: 6, k: 6, n: 6, layout: 'nn', what: 'square' },
  { m: 5, k: 5, n: 5, layout: 'nn', what: 'square' },
  { m: 4, k: 4, n: 4, layout: 'nn', what: 'square' },
  { m: 3, k: 3, n: 3, layout: 'nn', what: 'square' },
  { m: 8, k: 8, n: 8, layout: 'nt', what: 'square' },
  { m: 8, k: 8, n: 8, layout: 'tn', what: 'square' },
  { m: 250, k: 4, n: 4, layout: 'nn', what: 'P7 x W' },
  { m: 2, k: 64, n: 256, layout: 'nn', what: 'two rows' },
  { m: 1, k: 64, n: 256, layout: 'nn', what: 'vector × matrix' },
  { m: 128, k: 64, n: 1, layout: 'nn', what: 'matrix × vector' },
  { m: 1, k: 200, n: 1, layout: 'nn', what: 'dot as gemm' },
  { m: 1, k: 10000, n: 1, layout: 'nn', what: 'dot as gemm' },
  { m: 3, k: 1, n: 100, layout: 'nn', what: 'thin' },
  { m: 21, k: 1, n: 21, layout: 'nn', what: 'outer as gemm' },
  { m: 1000, k: 1, n: 1000, layout: 'nn', what: 'outer as gemm' },
];

const QUICK = ['P4 W1 X', 'P4 dW1 = dZ Xᵀ', 'square'];

function operands({ m, k, n, layout }: Shape) {
  const a = Float64Array.from({ length: m * k }, (_, i) => Math.sin(i + 1));
  const b = Float64Array.from({ length: k * n }, (_, i) => Math.cos(i + 1));
  const [ai, ap] = layout === 'tn' ? [1, m] : [k, 1];
  const [bp, bj] = layout === 'nt' ? [1, k] : [n, 1];
  return { a, b, ai, ap, bp, bj, c: new Float64Array(m * n) };
}

export async function runGemm(quick = false): Promise<GemmRecord[]> {
  if (!gemmWasmAvailable()) throw new Error('the WebAssembly gemm is unavailable here');
  const records: GemmRecord[] = [];
  for (const s of SHAPES.filter((x) => !quick || QUICK.includes(x.what))) {
    const { m, k, n } = s;
    const { a, b, ai, ap, bp, bj, c } = operands(s);
    const run = (kernel: 'js' | 'wasm') => () => {
      const before = setGemmKernel(kernel);
      gemm(m, n, k, a, 0, ai, ap, b, 0, bp, bj, c, 0);
      setGemmKernel(before);
    };
    // the same bits, or the timing means nothing
    run('js')();
    const js = c.slice();
    run('wasm')();
    for (let i = 0; i < js.length; i++) if (!Object.is(js[i], c[i])) throw new Error(`${m}×${k}×${n}: kernels differ at ${i}`);
    const t = await measure(
      [
        { name: 'js', fn: run('js') },
        { name: 'wasm', fn: run('wasm') },
      ],
      { minMs: quick ? 100 : 300, minCalls: 20, capMs: 10_000, minSamples: 5 },
    );
    const jsUs = t.get('js')?.medianUs ?? NaN;
    const wasmUs = t.get('wasm')?.medianUs ?? NaN;
    const flops = 2 * m * n * k;
    records.push({
      problem: 'GEMM',
      shape: `${m}×${k}×${n}`,
      layout: s.layout,
      what: s.what,
      jsUs,
      wasmUs,
      jsGflops: flops / (jsUs * 1e3),
      wasmGflops: flops / (wasmUs * 1e3),
      speedup: jsUs / wasmUs,
    });
  }
  return records;
}

const fmt = (x: number, digits = 3): string => (x >= 100 ? x.toFixed(0) : x.toPrecision(digits));

export function gemmTable(records: GemmRecord[]): string {
  const lines = [
    '| m×k×n | layout | what | JS µs | WASM µs | JS GFLOP/s | WASM GFLOP/s | JS / WASM |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of records) {
    lines.push(
      `| ${r.shape} | ${r.layout} | ${r.what} | ${fmt(r.jsUs)} | ${fmt(r.wasmUs)} | ${fmt(r.jsGflops)} | ${fmt(r.wasmGflops)} | ${r.speedup.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

export function appendGemm(records: GemmRecord[]): void {
  const dir = new URL('./', import.meta.url);
  const json = JSON.parse(readFileSync(new URL('results.json', dir), 'utf8')) as unknown[];
  writeFileSync(new URL('results.json', dir), `${JSON.stringify([...json, ...records], null, 2)}\n`);
  const md = readFileSync(new URL('results.md', dir), 'utf8');
  const title = '## gemm: JS against WebAssembly SIMD (one thread, medians, copies included)';
  writeFileSync(new URL('results.md', dir), `${md}\n${title}\n\n${gemmTable(records)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(gemmTable(await runGemm(process.argv.includes('--quick'))));
}
