/**
 * What encoding one result number costs, as the cost model prices it
 * (api/cost.ts, ENCODE_NS_PER_ELEMENT and ENCODE_BASE64_NS_PER_ELEMENT): a result
 * tensor of n pseudo-random doubles written in each form, then JSON.stringify of
 * the envelope that holds it (what the service sends). Median of repeated runs,
 * in ns per element. Run by hand: `npx tsx bench/encode-cost.ts`.
 */
import { toBase64 } from '../src/tensor/base64.js';
import { toNested } from '../src/tensor/nested.js';
import type { Tensor } from '../src/tensor/tensor.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function nsPerElement(n: number, encode: (t: Tensor) => unknown): number {
  let s = 12345;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = Math.sin(s) * 1e3; // 16-17 significant digits, as results have
  }
  const t: Tensor = { shape: [n], data };
  const reps = Math.max(5, Math.min(200, Math.ceil(2e7 / n)));
  const times: number[] = [];
  for (let r = 0; r < reps + 3; r++) {
    const t0 = performance.now();
    const text = JSON.stringify({ values: { y: encode(t) } });
    const ms = performance.now() - t0;
    if (text.length === 0) throw new Error('empty');
    if (r >= 3) times.push(ms);
  }
  return (median(times) * 1e6) / n;
}

const rows = [1e3, 1e4, 1e5, 1e6].map((n) => ({
  elements: n,
  jsonNs: Number(nsPerElement(n, (t) => toNested(t, true)).toFixed(1)),
  base64Ns: Number(nsPerElement(n, toBase64).toFixed(2)),
}));
console.table(rows);
