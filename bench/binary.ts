/**
 * Binary tensors against JSON numbers (issue 10, item 3): the P3-1e5 Rosenbrock
 * gradient (10⁵ inputs) over HTTP with base64 in and out, against the same request
 * with nested JSON numbers in and out, and against the library call on the same
 * (already parsed) request. Not a timed test: run it by hand.
 *
 *   npx tsx bench/binary.ts [seconds per target, default 10] [connections, default 1] [workers, default: the config's] [problem, default P3-1e5]
 *
 * Any gradient problem of problems.ts will do: P4 (a 300 KB base64 body, parsed and
 * checked on the event loop, computed in the pool) exercises the handoff of a
 * checked call to a worker, where P3-1e5's bodies (1 and 2 MB) are parsed by a worker.
 *
 * HTTP: autocannon in a worker thread against derivd listening on loopback
 * (LOG_LEVEL warn), one warm-up second per target, then the targets alternate in
 * two rounds. Library: the median of repeated calls of `gradient` on the parsed
 * request, with and without JSON.stringify of the result (what the service adds).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { gradient } from '../src/index.js';
import { buildApp } from '../src/server/app.js';
import { DEFAULT_CONFIG } from '../src/server/config.js';
import { PROBLEMS, request } from './problems.js';

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 1);
const workers = process.argv[4] === undefined ? DEFAULT_CONFIG.workers : Number(process.argv[4]);
const problem = process.argv[5] ?? 'P3-1e5';

const p = PROBLEMS.find((q) => q.id === problem);
if (p?.operation !== 'gradient') throw new Error(`no gradient problem ${problem}`);
const nested = request(p, 'auto');
const b64 = (t: { shape: readonly number[]; data: Float64Array }) => ({
  dtype: 'float64',
  shape: [...t.shape],
  data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64'),
});
const binary = {
  ...nested,
  args: Object.fromEntries(p.graph.inputs.map((inp, i) => [inp.name, b64(p.args[i])])),
  encoding: 'base64',
};
const bodies = { json: JSON.stringify(nested), base64: JSON.stringify(binary) };

const LOAD = `
const { parentPort, workerData: w } = require('node:worker_threads');
const latencies = [];
const inst = require(w.autocannon)({ url: w.url, connections: w.connections, duration: w.seconds, method: 'POST',
  headers: { 'content-type': 'application/json' }, body: w.body }, (err, r) => {
  if (err) throw err;
  parentPort.postMessage({ requests: r.totalCompletedRequests, seconds: r.duration, latencies, non2xx: r.non2xx, errors: r.errors + r.timeouts,
    bytes: r.throughput.total });
});
inst.on('response', (client, status, bytes, ms) => { if (status >= 200 && status < 300) latencies.push(ms); });
`;
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon');
interface Run {
  requests: number;
  seconds: number;
  latencies: number[];
  non2xx: number;
  errors: number;
}
const cannon = (url: string, body: string, s: number): Promise<Run> =>
  new Promise((resolve, reject) => {
    const w = new Worker(LOAD, { eval: true, workerData: { autocannon: AUTOCANNON, url, body, seconds: s, connections } });
    w.once('message', (m: Run) => void w.terminate().then(() => resolve(m)));
    w.once('error', reject);
  });

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function library(): Promise<Record<string, { callMs: number; withStringifyMs: number; responseBytes: number }>> {
  const out: Record<string, { callMs: number; withStringifyMs: number; responseBytes: number }> = {};
  for (const [name, body] of Object.entries(bodies)) {
    const req = JSON.parse(body);
    const calls: number[] = [];
    const full: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      const r = await gradient(req, { output: 'json' });
      const t1 = performance.now();
      bytes = JSON.stringify(r).length;
      const t2 = performance.now();
      if (i >= 10) {
        calls.push(t1 - t0);
        full.push(t2 - t0);
      }
    }
    out[name] = { callMs: median(calls), withStringifyMs: median(full), responseBytes: bytes };
  }
  return out;
}

const lib = await library();
const { app } = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'warn', workers });
const url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/v1/gradient`;
try {
  // the answers agree, bit for bit
  const [a, b] = await Promise.all(
    Object.values(bodies).map(async (body) =>
      (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json(),
    ),
  );
  for (const input of Object.keys((a as { gradient: object }).gradient)) {
    const g = Buffer.from((b as { gradient: Record<string, { data: string }> }).gradient[input].data, 'base64');
    const fromB64 = new Float64Array(g.buffer.slice(g.byteOffset, g.byteOffset + g.byteLength));
    const fromJson = ((a as { gradient: Record<string, unknown[]> }).gradient[input] as unknown[]).flat(Infinity) as number[];
    const same = fromJson.every((v, i) => Object.is(v, fromB64[i]));
    if (!same || fromJson.length !== fromB64.length) throw new Error(`base64 and JSON gradients differ (${input})`);
  }

  const runs: Record<string, Run[]> = { json: [], base64: [] };
  for (const body of Object.values(bodies)) await cannon(url, body, 1);
  for (let r = 0; r < 2; r++) for (const [name, body] of Object.entries(bodies)) runs[name].push(await cannon(url, body, seconds / 2));
  const http = Object.fromEntries(
    Object.entries(runs).map(([name, rs]) => {
      const lat = rs.flatMap((x) => x.latencies);
      return [
        name,
        {
          p50Ms: median(lat),
          reqPerSec: rs.reduce((s, x) => s + x.requests, 0) / rs.reduce((s, x) => s + x.seconds, 0),
          non2xx: rs.reduce((s, x) => s + x.non2xx, 0),
          errors: rs.reduce((s, x) => s + x.errors, 0),
          requestBytes: bodies[name as 'json'].length,
        },
      ];
    }),
  );
  const round = (x: number) => Math.round(x * 100) / 100;
  console.log(JSON.stringify({ problem: `${problem} gradient`, seconds, connections, workers, http, library: lib }, null, 2));
  console.log(
    [
      `HTTP p50: json ${round(http.json.p50Ms)} ms, base64 ${round(http.base64.p50Ms)} ms (json/base64 ${round(http.json.p50Ms / http.base64.p50Ms)}×)`,
      `HTTP req/s: json ${round(http.json.reqPerSec)}, base64 ${round(http.base64.reqPerSec)}`,
      `library call (median): json ${round(lib.json.callMs)} ms, base64 ${round(lib.base64.callMs)} ms; with JSON.stringify: json ${round(lib.json.withStringifyMs)} ms, base64 ${round(lib.base64.withStringifyMs)} ms`,
      `HTTP p50 / library call+stringify: json ${round(http.json.p50Ms / lib.json.withStringifyMs)}×, base64 ${round(http.base64.p50Ms / lib.base64.withStringifyMs)}×`,
      `bytes: request json ${bodies.json.length}, base64 ${bodies.base64.length}; response json ${lib.json.responseBytes}, base64 ${lib.base64.responseBytes}`,
    ].join('\n'),
  );
} finally {
  await app.close();
}
