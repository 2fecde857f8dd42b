/**
 * Response compression: bytes and time to compress a dense Jacobian response,
 * raw vs gzip levels vs brotli qualities (median of RUNS runs, one thread, the
 * same zlib calls @fastify/compress makes). The response is what
 * POST /v1/jacobian returns for y = tanh(A x), A an n×n random matrix held
 * constant, at x: an n×n Jacobian of random doubles.
 *
 *   npx tsx bench/compression.ts [n=1000] [runs=5]
 *
 * Brotli's default quality (11) is measured only for n ≤ 500: at n = 1000 one run takes minutes.
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { jacobian } from '../src/api/index.js';
import { tanhOfMatmul } from '../test/helpers/requests.js';

const n = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 5);
let seed = 1;
const rand = (): number => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647 - 0.5;
};
const A = Array.from({ length: n }, () => Array.from({ length: n }, () => rand() / Math.sqrt(n)));
const x = Array.from({ length: n }, () => rand());
const request = tanhOfMatmul(A, x);
const body = Buffer.from(JSON.stringify(await jacobian(request, { output: 'json' })));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const measure = (name: string, f: (b: Buffer) => Buffer): void => {
  let size = 0;
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    size = f(body).length;
    ms.push(performance.now() - t);
  }
  const m = median(ms);
  console.log(
    `${name.padEnd(12)} ${String(size).padStart(10)} B  ${((100 * size) / body.length).toFixed(1).padStart(5)} %  ${m.toFixed(1).padStart(8)} ms  ${((body.length / 1e6 / m) * 1000).toFixed(0).padStart(5)} MB/s`,
  );
};

console.log(`n=${n}: a ${n}x${n} Jacobian response, ${body.length} bytes; median of ${runs} runs`);
measure('identity', (b) => b);
for (const level of [1, 3, 4, 6, 9]) measure(`gzip -${level}`, (b) => gzipSync(b, { level }));
for (const q of n <= 500 ? [1, 2, 3, 4, 5, 11] : [1, 2, 3, 4, 5])
  measure(`br q${q}`, (b) =>
    brotliCompressSync(b, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: q,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: b.length,
      },
    }),
  );
