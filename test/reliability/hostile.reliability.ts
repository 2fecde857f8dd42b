/**
 * Issue 8's hostile requests against the real service (dist/server/main.js in a
 * child process, see helpers/service.ts), one test per finding that one request
 * reproduces over HTTP; the reproducers are built in code (helpers/graphs.ts).
 *
 *   1  planning cost per input: 20,000 scalar inputs → a quick 413 (MAX_INPUTS) and
 *      /healthz p99 < 100 ms; 9,000 (valid) → /healthz p99 < 100 ms while it is handled
 *   3  responses: one 1e7-element output over a lowered MAX_RESPONSE_BYTES, and three at
 *      the defaults (over MAX_ELEMENTS in all), → a quick 413, never a 500; a million
 *      unknown argument keys → a 4xx under 1 MB with capped errors, about as fast as
 *      parsing the body
 *   4  a valid 10,000-node Hessian → 200 or a clean refusal, never a 500
 *   5  a 10,000-node chain (first seen) → /healthz p99 < 100 ms while it runs
 *   11 1e999 as a number → 400 with a path; a gzip or deflate body → the answer the
 *      plain body gets; a gzip bomb over BODY_LIMIT → 413; corrupt gzip → 400; an
 *      unknown coding → 415
 *
 * (2 and the memory scenarios are in memory.reliability.ts, 6 in overload, 7 in
 * shutdown, 8 in slow-body, 9 in determinism, 10 in budget.)
 *
 * Every wait is bounded; a test that fails leaves its service to useServices, which
 * SIGKILLs it. Each test prints one line with what it saw (the figures the issue's
 * closing note compares).
 */
import { gzipSync, deflateSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { chain, ranges, seedJacobian, sumStack, unknownArgKeys } from './helpers/graphs.js';
import { describeProbes, NoAnswer, post, probeHealth, sleep, type Reply } from './helpers/http.js';
import { expectProblem, fromReply, PROBLEM, problemViolations } from './helpers/problem.js';
import { useServices } from './helpers/use-services.js';

const start = useServices();

/** /healthz is liveness: issue 8 wants its p99 under this while anything else happens. */
const HEALTHZ_P99_MS = 100;

/** Sends one request while /healthz is probed; a request without an answer within boundMs gives its NoAnswer instead of a reply. */
async function whileProbing(
  base: string,
  op: string,
  body: unknown,
  boundMs: number,
): Promise<{ reply?: Reply; error?: Error; probes: Awaited<ReturnType<ReturnType<typeof probeHealth>['stop']>> }> {
  const prober = probeHealth(base);
  await sleep(100); // a few probes before, so the prober's own connection is set up
  let reply: Reply | undefined;
  let error: Error | undefined;
  try {
    reply = await post(base, op, body, { timeoutMs: boundMs, keepBytes: 2 * 1024 * 1024 });
  } catch (err) {
    error = err as Error;
  }
  await sleep(100);
  return { reply, error, probes: await prober.stop() };
}

const outcome = (r: { reply?: Reply; error?: Error }): string =>
  r.reply
    ? `${r.reply.status} after ${r.reply.ms.toFixed(0)} ms (${r.reply.bytes} bytes)`
    : `${r.error instanceof NoAnswer ? 'no answer' : r.error?.message} within the bound`;

describe('finding 1: planning is linear in the graph and bounded by MAX_INPUTS', () => {
  test('gradient of sum(stack(a0 … a19999)): a quick 413 with errors[].path, /healthz p99 < 100 ms meanwhile', async () => {
    const svc = await start();
    const body = JSON.stringify(sumStack(20_000));
    const r = await whileProbing(svc.base, 'gradient', body, 15_000);
    console.log(`[finding 1] 20,000 inputs (${(body.length / 1e6).toFixed(2)} MB): ${outcome(r)}; ${describeProbes(r.probes)}`);
    expect(r.reply, `no answer within 15 s (${r.error?.message})`).toBeDefined();
    const p = expectProblem(fromReply(r.reply!), 413, PROBLEM.limitExceeded);
    // The limit is on graph.inputs and names MAX_INPUTS (as MAX_NODES is named for graph.nodes).
    expect(p.errors!.map((e) => e.path)).toContain('graph.inputs');
    expect(p.errors!.map((e) => e.message).join('\n')).toMatch(/MAX_INPUTS/);
    expect(r.reply!.ms, 'answered quickly (the count is checked before any per-input work)').toBeLessThan(1_000);
    expect(r.probes.p99, describeProbes(r.probes)).toBeLessThan(HEALTHZ_P99_MS);
  }, 30_000);

  test('a valid 9,000-input gradient: 200, and /healthz p99 < 100 ms while it is handled', async () => {
    const svc = await start();
    const r = await whileProbing(svc.base, 'gradient', JSON.stringify(sumStack(9_000, 'b')), 15_000);
    console.log(`[finding 1] 9,000 inputs: ${outcome(r)}; ${describeProbes(r.probes)}`);
    expect(r.reply, `no answer within 15 s (${r.error?.message})`).toBeDefined();
    expect(r.reply!.status, r.reply!.text().slice(0, 300)).toBe(200);
    const g = r.reply!.json().gradient as Record<string, number>;
    expect(Object.keys(g)).toHaveLength(9_000);
    expect(g.b0).toBe(1);
    expect(r.probes.p99, describeProbes(r.probes)).toBeLessThan(HEALTHZ_P99_MS);
  }, 30_000);
});

describe('finding 3: everything returned counts, and error lists are capped', () => {
  test('evaluate of one 1e7-element range with MAX_RESPONSE_BYTES = 8 MiB: 413 before computing', async () => {
    const svc = await start({ MAX_RESPONSE_BYTES: String(8 * 1024 * 1024) });
    const r = await whileProbing(svc.base, 'evaluate', ranges(1), 20_000);
    console.log(
      `[finding 3] one 1e7 range, MAX_RESPONSE_BYTES 8 MiB: ${outcome(r)}; RSS now ${svc.rssMb().toFixed(0)} MB, peak ${svc.peakRssMb().toFixed(0)} MB`,
    );
    expect(r.reply, `no answer within 20 s (${r.error?.message})`).toBeDefined();
    const p = expectProblem(fromReply(r.reply!), 413, PROBLEM.limitExceeded);
    expect(p.errors!.map((e) => e.message).join('\n')).toMatch(/MAX_RESPONSE_BYTES/);
    expect(r.reply!.ms, 'refused before computing').toBeLessThan(2_000);
  }, 40_000);

  test('evaluate of three 1e7-element ranges at the defaults: 413 (over MAX_ELEMENTS in all), never a 500', async () => {
    const svc = await start();
    const r = await whileProbing(svc.base, 'evaluate', ranges(3), 20_000);
    console.log(
      `[finding 3] three 1e7 ranges, defaults: ${outcome(r)}; RSS now ${svc.rssMb().toFixed(0)} MB, peak ${svc.peakRssMb().toFixed(0)} MB`,
    );
    expect(r.reply, `no answer within 20 s (${r.error?.message})`).toBeDefined();
    expect(r.reply!.status, 'never a 500').not.toBe(500);
    const p = expectProblem(fromReply(r.reply!), 413, PROBLEM.limitExceeded);
    // 3e7 elements in all (over MAX_ELEMENTS), and some 570 MB of JSON (over MAX_RESPONSE_BYTES): either says why.
    expect(p.errors!.map((e) => e.message).join('\n')).toMatch(/MAX_ELEMENTS|MAX_RESPONSE_BYTES/);
    expect(r.reply!.ms, 'refused before computing').toBeLessThan(2_000);
  }, 40_000);

  test('1,000,000 unknown argument keys (~12 MB): a 4xx under 1 MB, errors capped, about as fast as parsing the body', async () => {
    const svc = await start();
    const body = unknownArgKeys(1_000_000);
    // The service parses the same text on the same machine: that parse is the bound's unit.
    const t0 = performance.now();
    JSON.parse(body);
    const parseMs = performance.now() - t0;
    const boundMs = 2 * parseMs + 1_000;
    const r = await whileProbing(svc.base, 'evaluate', body, 20_000);
    console.log(
      `[finding 3] 1e6 unknown keys (${(body.length / 1e6).toFixed(1)} MB, local JSON.parse ${parseMs.toFixed(0)} ms, bound ${boundMs.toFixed(0)} ms): ${outcome(r)}; ${describeProbes(r.probes)}`,
    );
    expect(r.reply, `no answer within 20 s (${r.error?.message})`).toBeDefined();
    const status = r.reply!.status;
    expect(status === 400 || status === 422, `status ${status}`).toBe(true);
    expect(r.reply!.bytes, 'error body under 1 MB').toBeLessThan(1_000_000);
    const p = expectProblem(fromReply(r.reply!), status);
    // The first 100 issues, then one "… and N more" entry (spec-issue8.md).
    expect(p.errors!.length).toBeLessThanOrEqual(101);
    expect(p.errors![0].path).toMatch(/^args/);
    expect(r.reply!.ms, `answered within ${boundMs.toFixed(0)} ms (2 × the body's JSON.parse + 1 s)`).toBeLessThan(boundMs);
    expect(r.probes.max, `the event loop stalls no longer than about the parse (${describeProbes(r.probes)})`).toBeLessThan(boundMs);
  }, 40_000);
});

describe('finding 4: codegen cannot overflow', () => {
  test('a valid 10,000-node Hessian (one fused chain of elementwise ops): 200 or a clean refusal, never a 500', async () => {
    const svc = await start();
    const r = await whileProbing(svc.base, 'hessian', chain(10_000, 1, 'unary'), 30_000);
    console.log(
      `[finding 4] 10,000-node Hessian: ${outcome(r)}${r.reply && r.reply.status >= 500 ? ` ${r.reply.text().slice(0, 200)}` : ''}; ${describeProbes(r.probes)}`,
    );
    expect(r.reply, `no answer within 30 s (${r.error?.message})`).toBeDefined();
    const { status } = r.reply!;
    if (status === 200) {
      const h = r.reply!.json().hessian.x.x as number[][];
      expect(h).toHaveLength(4);
      expect(h.flat().every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
    } else {
      // Refusals the issue allows: over a limit or estimate (4xx with errors), overloaded (503) or cut (504).
      expect([400, 413, 422, 503, 504], `status ${status}: ${r.reply!.text().slice(0, 300)}`).toContain(status);
      expect(problemViolations(fromReply(r.reply!))).toEqual([]);
    }
  }, 45_000);
});

describe('finding 5: inline work is bounded', () => {
  test('10,000-node chains, each first seen: /healthz p99 < 100 ms while they are handled', async () => {
    const svc = await start();
    const prober = probeHealth(svc.base);
    await sleep(100);
    const outcomes: string[] = [];
    const statuses: number[] = [];
    for (let tag = 0; tag < 3; tag++) {
      try {
        const r = await post(svc.base, 'gradient', chain(10_000, 100 + tag, 'literals'), { timeoutMs: 15_000 });
        outcomes.push(`${r.status} in ${r.ms.toFixed(0)} ms`);
        statuses.push(r.status);
      } catch (err) {
        outcomes.push((err as Error).message);
        statuses.push(0);
        break;
      }
    }
    const probes = await prober.stop();
    console.log(`[finding 5] three first-seen 10,000-node chains: ${outcomes.join(', ')}; ${describeProbes(probes)}`);
    expect(
      statuses.every((s) => s === 200 || s === 503 || s === 504),
      `statuses ${statuses.join(', ')}`,
    ).toBe(true);
    expect(probes.p99, describeProbes(probes)).toBeLessThan(HEALTHZ_P99_MS);
  }, 60_000);
});

describe('finding 11: non-finite literals and content encodings', () => {
  const text = (value: string, literal: string): string =>
    `{"graph":{"inputs":[{"name":"x","shape":[]}],"nodes":[{"id":"y","op":"mul","args":["x",${literal}]}],"outputs":["y"]},"args":{"x":${value}}}`;

  test('1e999 in an argument or a node literal: 400 with its path, never Infinity', async () => {
    const svc = await start();
    const inArg = await post(svc.base, 'evaluate', text('1e999', '2'), { timeoutMs: 5_000 });
    const inLiteral = await post(svc.base, 'evaluate', text('0.5', '-1e999'), { timeoutMs: 5_000 });
    console.log(
      `[finding 11] 1e999 in args: ${inArg.status} ${inArg.text().slice(0, 120)}; -1e999 as a literal: ${inLiteral.status} ${inLiteral.text().slice(0, 120)}`,
    );
    const a = expectProblem(fromReply(inArg), 400, PROBLEM.invalidRequest);
    expect(a.errors!.map((e) => e.path)).toContain('args.x');
    const b = expectProblem(fromReply(inLiteral), 400, PROBLEM.invalidRequest);
    expect(b.errors!.map((e) => e.path)).toContain('graph.nodes[0].args[1]');
  });

  test('a gzip or deflate body: the plain answer; a bomb over BODY_LIMIT: 413; corrupt: 400; unknown coding: 415', async () => {
    const svc = await start({ BODY_LIMIT: String(1024 * 1024) });
    const json = JSON.stringify(seedJacobian());
    const plain = await post(svc.base, 'jacobian', json, { timeoutMs: 5_000, headers: { 'content-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    const replies: [string, Reply][] = [];
    for (const [encoding, body] of [
      ['gzip', gzipSync(json)],
      ['deflate', deflateSync(json)],
    ] as const) {
      replies.push([encoding, await post(svc.base, 'jacobian', body, { timeoutMs: 5_000, headers: { 'content-encoding': encoding } })]);
    }
    const bombBody = gzipSync(Buffer.alloc(10_000_000)); // 10 MB of zeros in about 10 KB, over a 1 MiB BODY_LIMIT
    const bomb = await post(svc.base, 'jacobian', bombBody, { timeoutMs: 5_000, headers: { 'content-encoding': 'gzip' } });
    const corrupt = await post(svc.base, 'jacobian', gzipSync(json).subarray(0, 40), {
      timeoutMs: 5_000,
      headers: { 'content-encoding': 'gzip' },
    });
    const unknown = await post(svc.base, 'jacobian', json, { timeoutMs: 5_000, headers: { 'content-encoding': 'x-custom' } });
    console.log(
      `[finding 11] ${[...replies, ['bomb', bomb] as const, ['corrupt', corrupt] as const, ['x-custom', unknown] as const]
        .map(([e, r]) => `${e}: ${r.status} ${r.text().slice(0, 100)}`)
        .join('; ')}`,
    );
    const values = (r: Reply) => (JSON.parse(r.text()) as { jacobian: unknown }).jacobian;
    for (const [encoding, r] of replies) {
      expect(r.status, encoding).toBe(200);
      expect(values(r), encoding).toEqual(values(plain));
    }
    expectProblem(fromReply(bomb), 413, PROBLEM.limitExceeded);
    expectProblem(fromReply(corrupt), 400, PROBLEM.malformedBody);
    expectProblem(fromReply(unknown), 415, PROBLEM.unsupportedContentEncoding);
    const after = await post(svc.base, 'jacobian', json, { timeoutMs: 5_000 });
    expect(after.status).toBe(200);
  });
});
