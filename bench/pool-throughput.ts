/**
 * Throughput of heavy requests through the worker pool (issue 4), at WORKERS = 0
 * (everything inline, the baseline), 1 and 2:
 *
 *   npx tsx bench/pool-throughput.ts [--seconds 5] [--connections 4]
 *
 * For each setting, derivd is built in-process (LOG_LEVEL error) and listens on
 * 127.0.0.1; autocannon runs in a worker thread (its own event loop) with
 * `connections` concurrent connections for `seconds`, after a warm-up that starts
 * every pool thread. Two bodies:
 *
 *   matmul-300   POST /v1/evaluate, sum(fill(300×300) · fill(300×300)): ~60 ms of
 *                compute from a 300-byte body, all of it in the worker;
 *   P3-1e5       POST /v1/gradient, the extended Rosenbrock gradient at n = 1e5
 *                (bench/problems): a 2 MB body, so parsing and validating on the
 *                event loop (and again in the worker) weigh as much as the compute.
 *
 * While each run goes, /healthz is polled every 50 ms from this thread: its worst
 * latency shows whether the event loop stayed free. Prints a table (requests/s,
 * p50/p99 latency, worst /healthz, non-2xx).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { buildApp } from '../src/server/app.js';
import { DEFAULT_CONFIG } from '../src/server/config.js';
import { PROBLEMS, request } from './problems.js';
import { matmulRequest } from '../test/helpers/requests.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 5);
const CONNECTIONS = arg('connections', 4);

const matmul = matmulRequest;
const rosenbrock = PROBLEMS.find((p) => p.id === 'P3-1e5');
if (!rosenbrock) throw new Error('bench/problems has no P3-1e5');

const BODIES = [
  { name: 'matmul-300 evaluate', path: '/v1/evaluate', body: JSON.stringify(matmul(300)) },
  { name: 'P3-1e5 gradient', path: '/v1/gradient', body: JSON.stringify(request(rosenbrock, 'auto')) },
];

interface Cannon {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** autocannon in a worker thread; outside the main thread it does not aggregate, so latencies come from its events. */
const LOAD = `
const { parentPort, workerData: w } = require('node:worker_threads');
const latencies = [];
const inst = require(w.autocannon)({ url: w.url, connections: w.connections, duration: w.seconds, method: 'POST',
  headers: { 'content-type': 'application/json' }, body: w.body }, (err, r) => {
  if (err) throw err;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : NaN;
  parentPort.postMessage({ requests: r.totalCompletedRequests, seconds: r.duration, p50: at(0.5), p99: at(0.99),
    non2xx: r.non2xx, errors: r.errors + r.timeouts });
});
inst.on('response', (client, status, bytes, ms) => { if (status >= 200 && status < 300) latencies.push(ms); });
`;
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon');

function cannon(url: string, body: string): Promise<Cannon> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD, {
      eval: true,
      workerData: { autocannon: AUTOCANNON, url, body, seconds: SECONDS, connections: CONNECTIONS },
    });
    worker.once('message', (m: Cannon) => void worker.terminate().then(() => resolve(m)));
    worker.once('error', reject);
  });
}

interface Row {
  body: string;
  workers: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  healthzMaxMs: number;
  non2xx: number;
  errors: number;
}

async function measure(workers: number, b: (typeof BODIES)[number]): Promise<Row> {
  // error: the requests autocannon abandons when it stops would log a 499 warning each
  const { app, pool } = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'error', workers });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    // Warm-up: start every thread and let each see the graph once.
    pool?.start();
    const once = () =>
      fetch(`${base}${b.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b.body }).then(async (r) => {
        if (r.status !== 200) throw new Error(`${b.name}: ${r.status} ${await r.text()}`);
      });
    await Promise.all(Array.from({ length: Math.max(1, workers) * 2 }, once));

    let healthzMax = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const t0 = performance.now();
        await fetch(`${base}/healthz`).then((r) => r.arrayBuffer());
        healthzMax = Math.max(healthzMax, performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const c = await cannon(`${base}${b.path}`, b.body);
    polling = false;
    await poll;
    return {
      body: b.name,
      workers,
      reqPerSec: c.requests / c.seconds,
      p50Ms: c.p50,
      p99Ms: c.p99,
      healthzMaxMs: healthzMax,
      non2xx: c.non2xx,
      errors: c.errors,
    };
  } finally {
    // autocannon stops mid-request (a 2 MB body half sent): those connections are not
    // idle, and close() would wait for their keep-alive timeout.
    app.server.closeAllConnections();
    await app.close();
  }
}

const rows: Row[] = [];
for (const b of BODIES) {
  for (const workers of [0, 1, 2]) {
    const row = await measure(workers, b);
    rows.push(row);
    process.stderr.write(`${row.body}, WORKERS=${workers}: ${row.reqPerSec.toFixed(1)} req/s\n`);
  }
}

const f = (x: number, d = 1): string => x.toFixed(d);
console.log(`\nnode ${process.version}, ${availableParallelism()} cores, ${CONNECTIONS} connections, ${SECONDS} s per run\n`);
console.log('| body | WORKERS | req/s | p50 ms | p99 ms | worst /healthz ms | non-2xx | errors |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.body} | ${r.workers} | ${f(r.reqPerSec)} | ${f(r.p50Ms, 0)} | ${f(r.p99Ms, 0)} | ${f(r.healthzMaxMs)} | ${r.non2xx} | ${r.errors} |`,
  );
if (rows.some((r) => r.non2xx > 0 || r.errors > 0)) process.exitCode = 1;
