/**
 * A seeded, structure-aware fuzzer: FUZZ_REQUESTS requests (default 20,000) built
 * from random valid graphs (test/helpers/random-graph.ts: well-conditioned graphs
 * with arguments, directions and fd's reference) and sent
 *
 *   - mostly with fastify.inject against buildApp: with WORKERS=0 (everything inline),
 *     and with a pool of one worker and INLINE_MAX_COST_MS=0 (every valid call is
 *     computed in the worker, from the structured clone of the body);
 *   - now and then (about 1 in 50) over a real socket to dist/server/main.js.
 *
 * Each iteration is one of:
 *   oracle     a valid case: jacobian in forward and reverse mode, and now and then fd on
 *              its fd graph; or, with a scalar output appended, gradient forward vs
 *              reverse, and hessian forward vs reverse for small ones. All must be 200,
 *              with the same values, forward and reverse agreeing to AD_REL (HESSIAN_REL),
 *              fd to FD_REL (test/helpers/tolerances.ts);
 *   variant    a valid case with a random operation, mode, constant set, output subset
 *              and check flag (valid or 422);
 *   mutation   a variant broken by 1–3 mutations (helpers/mutations.ts).
 *
 * Oracles on every answer: never a 5xx, and an answer within 30 s; every 4xx is
 * problem+json with type, title, status and detail, and for 400/413/422 `errors[]`
 * with at least one path, under 1 MB; every 200 is JSON with `values` (and `mode`
 * unless evaluate); a body with a non-finite literal (1e999) is never a 200.
 *
 * The seed is printed; without FUZZ_SEED each run draws a new one (a fuzzer that
 * repeats itself finds nothing new), and FUZZ_SEED=<seed> replays a run. Each
 * iteration draws from its own generator seeded from the seed and its index, so
 * FUZZ_ONLY=<index> replays one failing iteration alone. Failures are grouped by
 * kind, each with its first request. Sending takes 30-60 s here and is cut at 90 s
 * (then the test fails: fewer than FUZZ_REQUESTS were sent).
 */
import fc from 'fast-check';
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { maxAbs, rng, type Rng } from '../helpers/numeric.js';
import { activeInputs, randomGraphCase, withScalarOutput, type CaseRequest, type GraphCase } from '../helpers/random-graph.js';
import { AD_REL, FD_REL, HESSIAN_REL } from '../helpers/tolerances.js';
import { post, within } from './helpers/http.js';
import { mutate, type Json } from './helpers/mutations.js';
import { problemViolations, type AnswerLike } from './helpers/problem.js';
import { startService, type Service } from './helpers/service.js';

const SEED =
  process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== ''
    ? Number(process.env.FUZZ_SEED) >>> 0
    : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) >>> 0;
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 20_000);
const ONLY = process.env.FUZZ_ONLY !== undefined && process.env.FUZZ_ONLY !== '' ? Number(process.env.FUZZ_ONLY) : undefined;
/**
 * Distinct base graphs drawn up front (a few milliseconds each). Few enough that most
 * valid requests find their graph cached and compiled (that path is fuzzed too, and it
 * keeps 20,000 requests near 50 s); the mutations make every request different anyway.
 */
const CASES = 500;
/** Iterations in flight at once: the pooled app computes in its worker meanwhile. */
const CONCURRENCY = 4;
const SEND_BOUND_MS = 90_000;
const OPERATIONS = ['evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp'] as const;
const MODES = ['auto', 'auto', 'forward', 'reverse', 'fd'];
/** 4xx statuses a request can earn; anything else (and every 5xx) is a failure. */
const CLIENT_ERRORS = new Set([400, 413, 415, 422]);

type Target = 'inline' | 'pooled' | 'socket';

interface Failure {
  iteration: number;
  what: string;
  target: Target;
  op: string;
  via: string;
  status?: number;
  answer?: string;
  request: string;
}

interface Answer extends AnswerLike {
  target: Target;
}

let inline: App;
let pooled: App;
let service: Service;
let agent: Agent;
let cases: GraphCase[];

const statuses = new Map<string, number>();
const kinds = new Map<string, number>();
const mutationsSeen = new Map<string, number>();
/** Failures by category (the message without its numbers), each with its first example. */
const failures = new Map<string, { count: number; first: Failure }>();
let failureCount = 0;
let sent = 0;
const sentTo: Record<Target, number> = { inline: 0, pooled: 0, socket: 0 };
const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

beforeAll(async () => {
  const t0 = performance.now();
  inline = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 0 });
  pooled = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 1, inlineMaxCostMs: 0 });
  service = await startService();
  agent = new Agent({ keepAlive: true, maxSockets: 2 });
  cases = fc.sample(randomGraphCase(), { seed: SEED | 0, numRuns: CASES });
  console.log(
    `[fuzz] seed ${SEED} (FUZZ_SEED=${SEED} replays it), ${REQUESTS} requests, ${CASES} base graphs drawn in ${(performance.now() - t0).toFixed(0)} ms`,
  );
}, 60_000);

afterAll(async () => {
  agent?.destroy();
  await Promise.all([inline?.app.close(), pooled?.app.close(), service?.kill()]);
}, 30_000);

/** Sends one request to `target`; the body is JSON (stringified here) or raw text. */
async function send(target: Target, op: string, body: Json | { raw: string }, contentType = 'application/json'): Promise<Answer> {
  const text = typeof body === 'object' && body !== null && 'raw' in body && typeof body.raw === 'string' ? body.raw : JSON.stringify(body);
  sent++;
  sentTo[target]++;
  if (target === 'socket') {
    const r = await post(service.base, op, text, { agent, timeoutMs: 30_000, headers: { 'content-type': contentType } });
    return { target, status: r.status, headers: r.headers, bytes: r.bytes, text: r.text() };
  }
  const app = target === 'inline' ? inline : pooled;
  // A request that never gets an answer is a finding too (a stuck worker, a lost promise), not a hung run.
  const r = await within(
    app.app.inject({ method: 'POST', url: `/v1/${op}`, payload: text, headers: { 'content-type': contentType } }),
    30_000,
    `POST /v1/${op} (inject, ${target})`,
  );
  return { target, status: r.statusCode, headers: r.headers as AnswerLike['headers'], bytes: r.rawPayload.length, text: r.body };
}

/** Per iteration: what it sent (for replaying a failure) and where failures go. */
class Iteration {
  readonly log: string[] = [];
  constructor(
    readonly index: number,
    readonly r: Rng,
    readonly via: string,
  ) {}

  fail(what: string, a: Answer | undefined, op: string, request: Json | { raw: string }): void {
    failureCount++;
    const category = `${what.replace(/-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+e[-+]?\d+/g, '#')} [${a?.target ?? '?'}]`;
    const known = failures.get(category);
    if (known) {
      known.count++;
      return;
    }
    const req = typeof request === 'object' && request !== null && 'raw' in request ? String(request.raw) : JSON.stringify(request);
    failures.set(category, {
      count: 1,
      first: {
        iteration: this.index,
        what,
        target: a?.target ?? 'inline',
        op,
        via: this.via,
        status: a?.status,
        answer: a?.text.slice(0, 600),
        request: req.length > 3000 ? `${req.slice(0, 3000)}… (${req.length} chars)` : req,
      },
    });
  }

  target(): Target {
    const x = this.r.next();
    return x < 0.02 ? 'socket' : x < 0.35 ? 'pooled' : 'inline';
  }

  /** Sends and applies the oracles that hold for every answer; returns the parsed body of a 200. */
  async call(op: string, body: Json | { raw: string }, contentType?: string): Promise<{ a: Answer; json?: Record<string, any> }> {
    // eslint-disable-line @typescript-eslint/no-explicit-any
    const a = await send(this.target(), op, body, contentType);
    bump(statuses, String(a.status));
    if (a.status >= 500) this.fail(`${a.status} (a 5xx)`, a, op, body);
    else if (a.status === 200) {
      try {
        const json = JSON.parse(a.text);
        const ct = String(a.headers['content-type'] ?? '');
        if (!/^application\/json/.test(ct)) this.fail(`200 with content-type ${ct}`, a, op, body);
        else if (typeof json.values !== 'object' || json.values === null) this.fail('200 without values', a, op, body);
        else if (op !== 'evaluate' && !['forward', 'reverse', 'fd'].includes(json.mode))
          this.fail(`200 with mode ${json.mode}`, a, op, body);
        else return { a, json };
      } catch {
        this.fail('200 whose body is not JSON', a, op, body);
      }
    } else if (!CLIENT_ERRORS.has(a.status)) {
      this.fail(`unexpected status ${a.status}`, a, op, body);
    } else {
      const v = problemViolations(a);
      if (v.length > 0) {
        const type = (() => {
          try {
            return String(JSON.parse(a.text).type);
          } catch {
            return '?';
          }
        })();
        this.fail(`${a.status} ${type}: ${v.join('; ')}`, a, op, body);
      }
    }
    return { a };
  }
}

// --- numbers from answers ---------------------------------------------------------------

const wire = (v: unknown): number =>
  typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : NaN;
const flat = (v: unknown): number[] => (Array.isArray(v) ? (v.flat(Infinity as 1) as unknown[]).map(wire) : [wire(v)]);

/** max |got - ref| / max(1, max|ref|); Infinity on a length mismatch or NaN. */
function relErr(got: number[], ref: number[]): number {
  if (got.length !== ref.length) return Infinity;
  let err = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Object.is(got[i], ref[i]) || got[i] === ref[i]) continue;
    const d = Math.abs(got[i] - ref[i]);
    if (!(d <= err)) err = Number.isNaN(d) ? Infinity : d;
  }
  return err / Math.max(1, maxAbs(ref));
}

/** Compares grid[a][b] (or list[a]) of two answers; returns the first disagreement. */
function compareBlocks(x: Record<string, unknown>, y: Record<string, unknown>, tol: number): string | undefined {
  const keysX = Object.keys(x);
  if (JSON.stringify(keysX) !== JSON.stringify(Object.keys(y))) return `keys ${JSON.stringify(keysX)} vs ${JSON.stringify(Object.keys(y))}`;
  for (const k of keysX) {
    const vx = x[k];
    const vy = y[k];
    if (vx !== null && typeof vx === 'object' && !Array.isArray(vx)) {
      const inner = compareBlocks(vx as Record<string, unknown>, vy as Record<string, unknown>, tol);
      if (inner) return `${k}.${inner}`;
      continue;
    }
    const e = relErr(flat(vx), flat(vy));
    if (!(e <= tol)) return `${k}: relative error ${e} > ${tol}`;
  }
  return undefined;
}

// --- requests from cases ------------------------------------------------------------------

const req = (c: CaseRequest, extra: Record<string, Json> = {}): Json => ({
  graph: c.graph as unknown as Json,
  args: c.args as Json,
  constant: c.constant,
  ...extra,
});
const sizeOf = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

/** A random, mostly valid request for `op` on case c: mode, constant set, outputs subset, check, directions. */
function variant(c: GraphCase, r: Rng): { op: string; body: Json } {
  const op = r.pick(OPERATIONS);
  const scalar = op === 'gradient' || op === 'hessian' || op === 'hvp';
  const base: GraphCase = scalar && r.next() < 0.85 ? withScalarOutput(c, r.next() < 0.5 ? 'sum' : 'sumsq') : c;
  const inputs = base.graph.inputs.map((x) => x.name);
  const constant = r.next() < 0.5 ? base.constant : inputs.filter(() => r.next() < 0.3);
  const active = inputs.filter((n) => !constant.includes(n));
  const body: Record<string, Json> = { graph: base.graph as unknown as Json, args: base.args as Json };
  if (constant.length || r.next() < 0.3) body.constant = constant;
  if (r.next() < 0.6) body.mode = r.pick(MODES);
  if (r.next() < 0.1) body.check = true;
  let outputs = base.graph.outputs;
  if (r.next() < 0.3) {
    outputs = outputs.filter(() => r.next() < 0.6);
    if (outputs.length === 0) outputs = [base.graph.outputs[0]];
    body.outputs = outputs;
  }
  // Directions for the active inputs / requested outputs (random data of the right shape).
  const tensor = (shape: number[]): Json => {
    const data = Array.from({ length: sizeOf(shape) }, () => Math.round(r.uniform(-1, 1) * 100) / 100);
    if (shape.length === 0) return data[0];
    let k = 0;
    const build = (d: number): Json[] => Array.from({ length: shape[d] }, () => (d === shape.length - 1 ? data[k++] : build(d + 1)));
    return build(0);
  };
  if (op === 'jvp') body.tangents = Object.fromEntries(active.map((n) => [n, tensor(base.shapes[n])]));
  if (op === 'hvp') body.vector = Object.fromEntries(active.map((n) => [n, tensor(base.shapes[n])]));
  if (op === 'vjp') body.cotangents = Object.fromEntries(outputs.map((o) => [o, tensor(base.shapes[o])]));
  return { op, body };
}

// --- iterations ------------------------------------------------------------------------------

async function oracleFirstOrder(it: Iteration, c: GraphCase): Promise<void> {
  const [f, rv] = [await it.call('jacobian', req(c, { mode: 'forward' })), await it.call('jacobian', req(c, { mode: 'reverse' }))];
  if (!f.json || !rv.json) {
    for (const [m, x] of [
      ['forward', f],
      ['reverse', rv],
    ] as const)
      if (!x.json) it.fail(`valid jacobian (${m}) answered ${x.a.status}`, x.a, 'jacobian', req(c, { mode: m }));
    return;
  }
  if (JSON.stringify(f.json.values) !== JSON.stringify(rv.json.values))
    it.fail('jacobian: forward and reverse values differ', rv.a, 'jacobian', req(c, { mode: 'reverse' }));
  const d = compareBlocks(rv.json.jacobian, f.json.jacobian, AD_REL);
  if (d) it.fail(`jacobian reverse vs forward: ${d}`, rv.a, 'jacobian', req(c, { mode: 'reverse' }));
  if (it.r.next() < 0.3) {
    const fd = await it.call('jacobian', req(c.fd, { mode: 'fd' }));
    if (!fd.json) it.fail(`valid jacobian (fd) answered ${fd.a.status}`, fd.a, 'jacobian', req(c.fd, { mode: 'fd' }));
    else {
      // fd's graph has the stop_gradient nodes as extra constant inputs: compare the blocks of the active inputs.
      const active = activeInputs(c);
      const pick = (j: Record<string, Record<string, unknown>>) =>
        Object.fromEntries(Object.entries(j).map(([o, row]) => [o, Object.fromEntries(active.map((i) => [i, row[i]]))]));
      const e = compareBlocks(pick(fd.json.jacobian), pick(f.json.jacobian), FD_REL);
      if (e) it.fail(`jacobian fd vs forward: ${e}`, fd.a, 'jacobian', req(c.fd, { mode: 'fd' }));
    }
  }
}

async function oracleSecondOrder(it: Iteration, c: GraphCase): Promise<void> {
  const s = withScalarOutput(c, 'sum');
  const gf = await it.call('gradient', req(s, { mode: 'forward' }));
  const gr = await it.call('gradient', req(s, { mode: 'reverse' }));
  if (!gf.json || !gr.json) {
    it.fail(`valid gradient answered ${gf.a.status} / ${gr.a.status}`, gf.json ? gr.a : gf.a, 'gradient', req(s));
    return;
  }
  const d = compareBlocks(gr.json.gradient, gf.json.gradient, AD_REL);
  if (d) it.fail(`gradient reverse vs forward: ${d}`, gr.a, 'gradient', req(s, { mode: 'reverse' }));
  const activeElements = activeInputs(c).reduce((n, i) => n + sizeOf(c.shapes[i]), 0);
  if (activeElements > 12) return;
  const q = withScalarOutput(c, 'sumsq');
  const hf = await it.call('hessian', req(q, { mode: 'forward' }));
  const hr = await it.call('hessian', req(q, { mode: 'reverse' }));
  if (!hf.json || !hr.json) {
    it.fail(`valid hessian answered ${hf.a.status} / ${hr.a.status}`, hf.json ? hr.a : hf.a, 'hessian', req(q));
    return;
  }
  const h = compareBlocks(hr.json.hessian, hf.json.hessian, HESSIAN_REL);
  if (h) it.fail(`hessian reverse vs forward: ${h}`, hr.a, 'hessian', req(q, { mode: 'reverse' }));
}

async function iteration(index: number): Promise<void> {
  const r = rng((SEED ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const c = cases[r.int(0, cases.length - 1)];
  const k = r.next();
  const kind = k < 0.25 ? 'oracle' : k < 0.35 ? 'oracle2' : k < 0.55 ? 'variant' : 'mutation';
  bump(kinds, kind);
  const it = new Iteration(index, r, kind);
  if (kind === 'oracle') return oracleFirstOrder(it, c);
  if (kind === 'oracle2') return oracleSecondOrder(it, c);
  const v = variant(c, r);
  if (kind === 'variant') {
    await it.call(v.op, v.body);
    return;
  }
  let m: { body: Json | { raw: string }; contentType?: string; name: string } = { body: v.body, name: '' };
  const names: string[] = [];
  for (let n = r.int(1, 3); n > 0; n--) {
    m = mutate(m.body, r, m.contentType);
    names.push(m.name);
    bump(mutationsSeen, m.name.split(' ')[0]);
  }
  const it2 = new Iteration(index, r, `mutation: ${names.join(', ')}`);
  const { a } = await it2.call(v.op, m.body, m.contentType);
  // A non-finite literal (1e999) anywhere in the body is refused with a path (finding 11), never computed.
  if (names.includes('nonFiniteText') && a.status === 200)
    it2.fail('a body with a non-finite literal (1e999) answered 200', a, v.op, m.body);
}

describe('fuzz: never a 5xx, always a proper problem, forward and reverse agree', () => {
  test(
    `${REQUESTS} seeded requests`,
    async () => {
      const t0 = performance.now();
      const deadline = t0 + SEND_BOUND_MS;
      let next = ONLY ?? 0;
      const stopAt = ONLY !== undefined ? ONLY + 1 : Infinity;
      await Promise.all(
        Array.from({ length: ONLY !== undefined ? 1 : CONCURRENCY }, async () => {
          while (sent < REQUESTS && next < stopAt && performance.now() < deadline) {
            const index = next++;
            // No answer in time, a broken connection, or a bug of the fuzzer itself: reported like a failure, and the run goes on.
            await iteration(index).catch((err: Error) =>
              new Iteration(index, rng(0), 'thrown').fail(
                `the iteration threw: ${err.stack?.split('\n').slice(0, 3).join(' ')}`,
                undefined,
                '-',
                null,
              ),
            );
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const fmt = (m: Map<string, number>): string =>
        [...m]
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k}: ${n}`)
          .join(', ');
      console.log(
        `[fuzz] seed ${SEED}: ${sent} requests (${next} iterations) in ${seconds.toFixed(1)} s — inline ${sentTo.inline}, pooled ${sentTo.pooled}, socket ${sentTo.socket}; ` +
          `statuses ${fmt(statuses)}; iterations ${fmt(kinds)}; ${failureCount} failures`,
      );
      console.log(`[fuzz] mutations applied: ${fmt(mutationsSeen)}`);
      for (const [category, { count, first: f }] of failures) {
        console.log(
          `[fuzz] FAILURE × ${count}: ${category}; first: iteration ${f.iteration} (FUZZ_SEED=${SEED} FUZZ_ONLY=${f.iteration}): ${f.what}\n  ${f.via}; POST /v1/${f.op} to ${f.target}\n  answer: ${f.answer}\n  request: ${f.request}`,
        );
      }
      expect(
        [...failures].map(([category, { count, first: f }]) => `${count} × ${category} (first: #${f.iteration}, ${f.via}, /v1/${f.op})`),
        `failures (seed ${SEED})`,
      ).toEqual([]);
      if (ONLY === undefined) expect(sent, `requests sent within ${SEND_BOUND_MS / 1000} s`).toBeGreaterThanOrEqual(REQUESTS);
    },
    SEND_BOUND_MS + 60_000,
  );
});
