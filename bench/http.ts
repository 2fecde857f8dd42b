/**
 * HTTP load: autocannon (in a worker thread, so it does not share the event loop
 * with the servers; 10 connections, loopback) against derivd built in-process (LOG_LEVEL
 * warn) with the P1 body POSTed to /v1/jacobian, against the same call by stored-graph
 * id (the graph registered once, POST /v1/graphs/{id}/jacobian without it), and against
 * a bare Fastify route that parses the P1 body and returns a 21-number array. Targets alternate:
 * a 1 s warm-up each, then `rounds` × (derivd, bare) runs of `seconds` / `rounds` each.
 * Latency percentiles are over every 2xx response of a target's runs.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Fastify, { type FastifyInstance } from 'fastify';
import { DEFAULT_CONFIG } from '../src/server/config.js';
import { buildApp } from '../src/server/app.js';

export interface HttpRecord {
  problem: 'HTTP-P1';
  /** derivd with the graph inline, derivd by stored-graph id (POST /v1/graphs/{id}/jacobian), or the bare route. */
  target: 'derivd' | 'derivd by id' | 'bare';
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  non2xx: number;
  errors: number;
  seconds: number;
  /** derivd / bare, for each figure. */
  ratio: { reqPerSec: number; p50Ms: number; p99Ms: number; meanMs: number };
  /** Set when the derivd response did not match the hand-written Jacobian. */
  wrong?: string;
}

export interface Cannon {
  requests: number;
  seconds: number;
  /** Each 2xx response's latency in ms (autocannon's own histogram keeps whole ms only). */
  latencies: Float64Array;
  non2xx: number;
  errors: number;
}

/** autocannon in a worker thread (its own event loop and core), latencies from its 'response' events. */
const LOAD = `
const { parentPort, workerData: w } = require('node:worker_threads');
const latencies = [];
const inst = require(w.autocannon)({ url: w.url, connections: 10, duration: w.seconds, method: 'POST',
  headers: { 'content-type': 'application/json' }, body: w.body }, (err, r) => {
  if (err) throw err;
  parentPort.postMessage({ requests: r.totalCompletedRequests, seconds: r.duration, latencies: Float64Array.from(latencies),
    non2xx: r.non2xx, errors: r.errors + r.timeouts });
});
inst.on('response', (client, status, bytes, ms) => { if (status >= 200 && status < 300) latencies.push(ms); });
`;
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon');

export function cannon(url: string, body: string, seconds: number): Promise<Cannon> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD, { eval: true, workerData: { autocannon: AUTOCANNON, url, body, seconds } });
    worker.once('message', (m: Cannon) => void worker.terminate().then(() => resolve(m)));
    worker.once('error', reject);
  });
}

/** Requests per second and latency percentiles over every 2xx response of a target's runs. */
export function summarize(rs: readonly Cannon[]) {
  const lat = Float64Array.from(rs.flatMap((c) => Array.from(c.latencies))).sort();
  const q = (f: number): number => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))] ?? NaN;
  return {
    reqPerSec: rs.reduce((s, c) => s + c.requests, 0) / rs.reduce((s, c) => s + c.seconds, 0),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    meanMs: lat.reduce((a, b) => a + b, 0) / lat.length,
    non2xx: rs.reduce((s, c) => s + c.non2xx, 0),
    errors: rs.reduce((s, c) => s + c.errors, 0),
  };
}

async function listen(app: FastifyInstance): Promise<string> {
  return `${await app.listen({ port: 0, host: '127.0.0.1' })}/v1/jacobian`;
}

export async function runHttp(body: unknown, expected: ArrayLike<number>, seconds: number, rounds: number): Promise<HttpRecord[]> {
  const { app: derivd } = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'warn' });
  const bare = Fastify({ logger: false });
  bare.post('/v1/jacobian', async (req) => (req.body as { args: { d: number[] } }).args.d);
  const derivdUrl = await listen(derivd);
  const { graph, ...call } = body as { graph: unknown } & Record<string, unknown>;
  const registered = await fetch(derivdUrl.replace(/\/v1\/jacobian$/, '/v1/graphs'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ graph }),
  });
  const { id } = (await registered.json()) as { id: string };
  const targets = {
    derivd: { url: derivdUrl, text: JSON.stringify(body) },
    'derivd by id': { url: derivdUrl.replace(/\/v1\/jacobian$/, `/v1/graphs/${id}/jacobian`), text: JSON.stringify(call) },
    bare: { url: await listen(bare), text: JSON.stringify(body) },
  };
  const names = Object.keys(targets) as (keyof typeof targets)[];
  try {
    // One request each first: derivd's answers must be the right Jacobian.
    const wrongs: string[] = [];
    for (const t of ['derivd', 'derivd by id'] as const) {
      const res = await fetch(targets[t].url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: targets[t].text });
      const json = (await res.json()) as { jacobian?: { r?: { xs?: number[] } } };
      const got = json.jacobian?.r?.xs ?? [];
      const err = Math.max(...Array.from(expected, (e, i) => Math.abs((got[i] ?? NaN) - e)));
      if (res.status !== 200 || !(err <= 1e-8)) wrongs.push(`${t}: status ${res.status}, max abs error ${err}`);
    }
    const wrong = wrongs.length ? wrongs.join('; ') : undefined;

    const runs = Object.fromEntries(names.map((t) => [t, [] as Cannon[]])) as Record<keyof typeof targets, Cannon[]>;
    for (const t of names) await cannon(targets[t].url, targets[t].text, 1); // warm-up
    for (let r = 0; r < rounds; r++) for (const t of names) runs[t].push(await cannon(targets[t].url, targets[t].text, seconds / rounds));

    const summary = (t: keyof typeof targets) => summarize(runs[t]);
    const b = summary('bare');
    return names.map((t) => {
      const d = summary(t);
      const ratio = {
        reqPerSec: d.reqPerSec / b.reqPerSec,
        p50Ms: d.p50Ms / b.p50Ms,
        p99Ms: d.p99Ms / b.p99Ms,
        meanMs: d.meanMs / b.meanMs,
      };
      return { problem: 'HTTP-P1', target: t, ...d, seconds, ratio, ...(wrong && t !== 'bare' ? { wrong } : {}) };
    });
  } finally {
    await Promise.all([derivd.close(), bare.close()]);
  }
}
