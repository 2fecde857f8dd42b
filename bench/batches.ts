/**
 * Batches of points (issue 10): the seed Jacobian (P1, dr/dxs with d constant) at
 * B = 1,000 points of xs, in the library and over HTTP.
 *
 * Library, timed together (timing.ts, interleaved), each per point:
 *   batched    jacobian(request with `batched: ["xs"]`), nested output: one call for B points
 *   prepared   prepare(...).run(args) of that batched call: the engines alone
 *   single     jacobian(P1 request) at one point (a plan-cache hit), one call per point
 *   hand       the hand-written fused derivative (bench/hand/seed.ts) at one point
 * HTTP (autocannon in a worker thread, 10 connections, loopback, as bench/http.ts): points
 * per second of the batched request with base64 points in and base64 tensors out
 * (`"encoding": "base64"`), against single inline P1 requests.
 *
 * Standalone: `npx tsx bench/batches.ts [--quick]`; `npm run bench` runs it too.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { jacobian, prepare } from '../src/index.js';
import { buildApp } from '../src/server/app.js';
import { DEFAULT_CONFIG } from '../src/server/config.js';
import { seedJacobian } from './hand/seed.js';
import { cannon } from './http.js';
import { PROBLEMS, request, type Problem } from './problems.js';
import { measure } from './timing.js';

export const POINTS = 1000;
/** Pause after each HTTP run (a batched request takes a few ms; ten connections' worth is far less). */
const SETTLE_MS = 300;

export interface BatchRecord {
  problem: 'BATCH-P1';
  target: 'library batched' | 'library prepared' | 'library single' | 'hand' | 'HTTP batched base64' | 'HTTP single inline';
  points: number;
  /** Microseconds per point (library), or points per second (HTTP). */
  usPerPoint?: number;
  pointsPerSec?: number;
  /** Against library single (library rows) or HTTP single inline (HTTP rows): speed-up in points per second. */
  speedup: number;
  /** Largest |derivd - hand| over every point's dr/dxs. */
  maxAbsError?: number;
}

const b64 = (data: Float64Array): { dtype: 'float64'; shape: number[]; data: string } => ({
  dtype: 'float64',
  shape: [data.length],
  data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
});

export async function runBatches(quick: boolean): Promise<BatchRecord[]> {
  const p1 = PROBLEMS.find((p) => p.id === 'P1') as Problem;
  const single = request(p1, 'auto');
  const [d] = p1.args;
  const xs = Float64Array.from({ length: POINTS }, (_, b) => -2 + (4 * b) / (POINTS - 1));
  const batched = { ...single, args: { ...single.args, xs: Array.from(xs) }, batched: ['xs'] };

  // Every point's derivative against the hand-written one.
  const seed = seedJacobian();
  const r = await jacobian(batched, { output: 'packed' });
  const block = r.jacobian.r.xs.data;
  let maxAbsError = 0;
  for (let b = 0; b < POINTS; b++) {
    const ref = seed.derivative([d.data, Float64Array.of(xs[b])])[0];
    for (let i = 0; i < ref.length; i++) maxAbsError = Math.max(maxAbsError, Math.abs(block[b * ref.length + i] - ref[i]));
  }
  if (!(maxAbsError <= 1e-12)) throw new Error(`batched seed Jacobian differs from the hand-written one by ${maxAbsError}`);

  const prepared = prepare('jacobian', batched);
  const packedArgs = prepared.request.args;
  const xs0 = Float64Array.of(xs[0]);
  const m = await measure([
    { name: 'batched', fn: () => jacobian(batched) },
    { name: 'prepared', fn: () => prepared.run(packedArgs) },
    { name: 'single', fn: () => jacobian(single) },
    { name: 'hand', fn: () => seed.derivative([d.data, xs0]) },
  ]);
  const us = (name: string, points: number): number => (m.get(name)?.medianUs ?? NaN) / points;
  const singleUs = us('single', 1);
  const lib = (target: BatchRecord['target'], name: string, points: number): BatchRecord => ({
    problem: 'BATCH-P1',
    target,
    points,
    usPerPoint: us(name, points),
    speedup: singleUs / us(name, points),
    ...(name === 'batched' ? { maxAbsError } : {}),
  });
  const records = [
    lib('library batched', 'batched', POINTS),
    lib('library prepared', 'prepared', POINTS),
    lib('library single', 'single', 1),
    lib('hand', 'hand', 1),
  ];

  // 'error': the load generator's last requests of each run are cut off (499s), which is expected here.
  const { app } = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'error' });
  try {
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `${base}/v1/jacobian`;
    const body = { ...batched, args: { ...single.args, xs: b64(xs) }, encoding: 'base64' };
    const check = (await (
      await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    ).json()) as {
      stats?: { batch?: number };
    };
    if (check.stats?.batch !== POINTS) throw new Error(`HTTP batched: expected stats.batch ${POINTS}, got ${JSON.stringify(check.stats)}`);
    const seconds = quick ? 2 : 5;
    const targets = [
      { target: 'HTTP batched base64' as const, text: JSON.stringify(body), points: POINTS },
      { target: 'HTTP single inline' as const, text: JSON.stringify(single), points: 1 },
    ];
    for (const t of targets) await cannon(url, t.text, 1); // warm-up
    const rate = new Map<string, { requests: number; seconds: number }>();
    for (let round = 0; round < 2; round++) {
      for (const t of targets) {
        const c = await cannon(url, t.text, seconds / 2);
        if (c.non2xx > 0 || c.errors > 0) throw new Error(`${t.target}: ${c.non2xx} non-2xx, ${c.errors} errors`);
        // Requests cut off at the end of a run may still be computing in the pool: let them finish
        // before the other target's run, which they would slow down.
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const acc = rate.get(t.target) ?? { requests: 0, seconds: 0 };
        rate.set(t.target, { requests: acc.requests + c.requests, seconds: acc.seconds + c.seconds });
      }
    }
    const pps = (t: (typeof targets)[number]): number => {
      const x = rate.get(t.target) as { requests: number; seconds: number };
      return (t.points * x.requests) / x.seconds;
    };
    const singlePps = pps(targets[1]);
    for (const t of targets)
      records.push({ problem: 'BATCH-P1', target: t.target, points: t.points, pointsPerSec: pps(t), speedup: pps(t) / singlePps });
  } finally {
    await app.close();
  }
  return records;
}

export function batchTable(records: BatchRecord[]): string {
  const rows = records.map((r) =>
    [
      r.target,
      String(r.points),
      r.usPerPoint === undefined ? '' : r.usPerPoint.toFixed(3),
      r.pointsPerSec === undefined ? '' : Math.round(r.pointsPerSec).toLocaleString('en-US'),
      `${r.speedup.toFixed(1)}x`,
    ].join(' | '),
  );
  return [
    '| target | points per call | µs per point | points per second | vs single |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n');
}

/** Adds the batch records to results.json and a section to results.md (written by report.ts first). */
export function appendBatches(records: BatchRecord[]): void {
  const dir = new URL('./', import.meta.url);
  const json = JSON.parse(readFileSync(new URL('results.json', dir), 'utf8')) as unknown[];
  writeFileSync(new URL('results.json', dir), `${JSON.stringify([...json, ...records], null, 2)}\n`);
  const md = readFileSync(new URL('results.md', dir), 'utf8');
  writeFileSync(new URL('results.md', dir), `${md}\n## Batches: the seed Jacobian at ${POINTS} points\n\n${batchTable(records)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(batchTable(await runBatches(process.argv.includes('--quick'))));
}
