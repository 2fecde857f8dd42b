/**
 * Load from autocannon, run in a worker thread of the test process (its own event
 * loop, so the load's bookkeeping does not delay the /healthz prober running on the
 * test's main thread, nor the prober the load).
 *
 *   cannon({ base, path, body, connections, seconds })
 *     POSTs `body` over `connections` keep-alive connections for `seconds`, and counts
 *     every response by status; each 503 is checked as it arrives (Retry-After in whole
 *     seconds, a problem+json body whose type is recorded), and a sample of every
 *     other 5xx body is kept. Bounded: the worker is terminated if autocannon has not
 *     reported `seconds` + 30 s after the start.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { percentile } from './http.js';

export interface LoadResult {
  /** Responses by status code. */
  statuses: Record<string, number>;
  responses: number;
  /** Connection errors (resets, refused) and requests that timed out, as autocannon counts them. */
  errors: number;
  timeouts: number;
  /** 503s by problem type ('(no problem body)' when the body was not a problem). */
  types503: Record<string, number>;
  /** 503s without a Retry-After of whole seconds. */
  without503RetryAfter: number;
  /** Up to 5 bodies of 5xx answers other than 503, with their status. */
  other5xx: { status: number; body: string }[];
  /** Response latencies in ms (autocannon's, every response). */
  latencies: number[];
  seconds: number;
}

export interface CannonOptions {
  base: string;
  path: string;
  body: string;
  connections: number;
  seconds: number;
  /** Per-request timeout of autocannon, in seconds (default 30). */
  timeoutS?: number;
}

// The load stands for clients on other machines: on Linux its thread yields the CPU
// (nice 10, as derivd's compute threads do), so that on a 2-core machine the load
// generator does not take the service's event loop's core and turn the measurement
// into one of this machine's scheduler.
const LOAD = `
const { parentPort, workerData: w } = require('node:worker_threads');
try { require('node:os').setPriority(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()), 10); } catch {}
const statuses = {};
const types503 = {};
const other5xx = [];
const latencies = [];
let without503RetryAfter = 0;
const header = (h, name) => { for (const k of Object.keys(h)) if (k.toLowerCase() === name) return Array.isArray(h[k]) ? h[k][0] : h[k]; return undefined; };
function onResponse(status, body, _ctx, headers) {
  if (status === 503) {
    if (!/^\\d+$/.test(String(header(headers, 'retry-after') ?? ''))) without503RetryAfter++;
    let type = '(no problem body)';
    try { const p = JSON.parse(body); if (p && typeof p.type === 'string') type = p.type; } catch {}
    if (!/^application\\/problem\\+json/.test(String(header(headers, 'content-type') ?? ''))) type += ' (not problem+json)';
    types503[type] = (types503[type] ?? 0) + 1;
  } else if (status >= 500 && other5xx.length < 5) {
    other5xx.push({ status, body: String(body).slice(0, 500) });
  }
}
const inst = require(w.autocannon)({
  url: w.base, connections: w.connections, duration: w.seconds, timeout: w.timeoutS,
  requests: [{ method: 'POST', path: w.path, headers: { 'content-type': 'application/json' }, body: w.body, onResponse }],
}, (err, r) => {
  if (err) { parentPort.postMessage({ error: String(err && err.stack || err) }); return; }
  parentPort.postMessage({ statuses, types503, other5xx, without503RetryAfter, latencies,
    responses: Object.values(statuses).reduce((a, b) => a + b, 0), errors: r.errors, timeouts: r.timeouts, seconds: r.duration });
});
inst.on('response', (_client, status, _bytes, ms) => { statuses[status] = (statuses[status] ?? 0) + 1; latencies.push(ms); });
`;

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon');

export function cannon(o: CannonOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD, {
      eval: true,
      workerData: {
        autocannon: AUTOCANNON,
        base: o.base,
        path: o.path,
        body: o.body,
        connections: o.connections,
        seconds: o.seconds,
        timeoutS: o.timeoutS ?? 30,
      },
    });
    const bound = setTimeout(
      () => {
        void worker.terminate();
        reject(new Error(`autocannon did not finish within ${o.seconds + 30} s`));
      },
      (o.seconds + 30) * 1000,
    );
    worker.once('message', (m: LoadResult | { error: string }) => {
      clearTimeout(bound);
      void worker.terminate();
      if ('error' in m) reject(new Error(m.error));
      else resolve(m);
    });
    worker.once('error', (err) => {
      clearTimeout(bound);
      reject(err);
    });
  });
}

/** "1536 responses (200: 512, 503: 1024), latency p50 3 ms, p99 900 ms; errors 0, timeouts 0; 503 types: …" */
export function describeLoad(r: LoadResult): string {
  const st = Object.entries(r.statuses)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  const t = Object.entries(r.types503)
    .map(([s, n]) => `${s} × ${n}`)
    .join(', ');
  const lat = r.latencies.length
    ? `, latency p50 ${percentile(r.latencies, 50).toFixed(0)} ms, p99 ${percentile(r.latencies, 99).toFixed(0)} ms`
    : '';
  return `${r.responses} responses (${st || 'none'})${lat}; errors ${r.errors}, timeouts ${r.timeouts}${t ? `; 503 types: ${t}` : ''}${r.without503RetryAfter ? `; ${r.without503RetryAfter} 503s without Retry-After` : ''}`;
}
