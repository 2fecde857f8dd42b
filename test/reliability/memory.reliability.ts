/**
 * Finding 2 and the memory scenarios of issue 8: memory is bounded by configuration.
 * The service runs with an explicit MEMORY_BUDGET_MB and CACHE_BYTES; its RSS
 * (VmRSS of the whole process, every worker thread included) is sampled every 50 ms
 * from outside and must stay under the budget throughout, and the plan cache's byte
 * account, as /metrics reports it, must stay under CACHE_BYTES.
 *
 *   - six forward-mode gradients of sum(stack(…)) over 4,000 scalar inputs with fresh
 *     names each (about 220 kB apiece): today each builds one derivative program per
 *     input, copying the whole program, and caches them uncounted;
 *   - 6,000 distinct small graphs, each sent twice (the second run compiles, and the
 *     compiled code is kept with the plan), 8 at a time.
 *
 * A scenario stops at the first sample over the budget: today's code would otherwise
 * take the machine to gigabytes. Answers may be 503 (shed for memory, with
 * Retry-After), never another 5xx.
 *
 * Assumption (to be honoured by the service): /metrics exposes the bytes the plan
 * caches hold as `derivd_plan_cache_bytes` (a gauge; every sample of it, e.g. one per
 * thread, is summed), and that sum never exceeds CACHE_BYTES.
 */
import { Agent } from 'node:http';
import { describe, expect, test } from 'vitest';
import { smallGraph, sumStack } from './helpers/graphs.js';
import { post, send, type Reply } from './helpers/http.js';
import { fromReply, PROBLEM, problemViolations } from './helpers/problem.js';
import { sumMetric, watchRss, type Service } from './helpers/service.js';
import { useServices } from './helpers/use-services.js';

const start = useServices();

const MEMORY_BUDGET_MB = 512;
const CACHE_BYTES = 32 * 1024 * 1024;
const ENV = { MEMORY_BUDGET_MB: String(MEMORY_BUDGET_MB), CACHE_BYTES: String(CACHE_BYTES) };
const PLAN_CACHE_BYTES_METRIC = 'derivd_plan_cache_bytes';

/** Tallies statuses; a 5xx other than a proper 503 overloaded problem is a failure worth quoting. */
class Outcomes {
  readonly statuses: Record<string, number> = {};
  readonly bad: string[] = [];
  add(r: Reply | Error): void {
    const key = r instanceof Error ? r.message : String(r.status);
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
    if (r instanceof Error) {
      this.bad.push(r.message);
      return;
    }
    if (r.status === 503) {
      const v = problemViolations(fromReply(r));
      const type = (() => {
        try {
          return r.json().type as string;
        } catch {
          return undefined;
        }
      })();
      if (v.length > 0 || type !== PROBLEM.overloaded) this.bad.push(`503 ${type}: ${v.join('; ')}`);
    } else if (r.status !== 200) {
      this.bad.push(`${r.status}: ${r.text().slice(0, 200)}`);
    }
  }
  toString(): string {
    return Object.entries(this.statuses)
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
  }
}

async function planCacheBytes(svc: Service): Promise<number> {
  const r = await send(svc.base, { path: '/metrics', timeoutMs: 10_000 });
  return r.status === 200 ? sumMetric(r.text(), PLAN_CACHE_BYTES_METRIC) : NaN;
}

describe(`memory stays under MEMORY_BUDGET_MB=${MEMORY_BUDGET_MB} (CACHE_BYTES=${CACHE_BYTES})`, () => {
  test('finding 2: six forward-mode gradients over 4,000 fresh scalar inputs each', async () => {
    const svc = await start(ENV);
    const rss = watchRss(svc, MEMORY_BUDGET_MB);
    const startMb = svc.rssMb();
    const outcomes = new Outcomes();
    const steps: string[] = [];
    const deadline = performance.now() + 100_000;
    let over: number | undefined;
    for (let i = 0; i < 6 && over === undefined && performance.now() < deadline; i++) {
      const body = JSON.stringify(sumStack(4_000, `r${i}_a`, { mode: 'forward' }));
      // A request races the budget: the scenario ends at the first sample over it.
      const r = await Promise.race([
        post(svc.base, 'gradient', body, { timeoutMs: Math.max(1, deadline - performance.now()) }).catch((e: Error) => e),
        rss.exceeded.then((mb) => (over = mb)),
      ]);
      if (typeof r === 'number') {
        steps.push(`#${i + 1} (${(body.length / 1e3).toFixed(0)} kB): RSS reached ${r.toFixed(0)} MB while it ran`);
        break;
      }
      outcomes.add(r);
      if (!(r instanceof Error) && r.status === 200) expect(Object.keys(r.json().gradient as object)).toHaveLength(4_000);
      steps.push(`#${i + 1}: ${r instanceof Error ? r.message : `${r.status} in ${r.ms.toFixed(0)} ms`}, RSS ${svc.rssMb().toFixed(0)} MB`);
    }
    const maxMb = rss.stop();
    const cacheBytes = over === undefined ? await planCacheBytes(svc) : NaN;
    console.log(
      `[finding 2] RSS ${startMb.toFixed(0)} MB at start, max ${maxMb.toFixed(0)} MB (budget ${MEMORY_BUDGET_MB}); ${steps.join('; ')}; statuses ${outcomes}; ${PLAN_CACHE_BYTES_METRIC} ${cacheBytes}`,
    );
    expect.soft(maxMb, `max RSS in MB (${steps.join('; ')})`).toBeLessThan(MEMORY_BUDGET_MB);
    expect.soft(outcomes.bad, 'answers other than 200 or 503 overloaded').toEqual([]);
    expect.soft(steps.length, 'all six were sent').toBe(6);
    if (over === undefined)
      expect.soft(cacheBytes, `${PLAN_CACHE_BYTES_METRIC} (NaN: not in /metrics) <= CACHE_BYTES`).toBeLessThanOrEqual(CACHE_BYTES);
  }, 120_000);

  test('6,000 distinct small graphs, each sent twice, 8 at a time', async () => {
    const svc = await start(ENV);
    const rss = watchRss(svc, MEMORY_BUDGET_MB);
    const startMb = svc.rssMb();
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const outcomes = new Outcomes();
    const GRAPHS = 6_000;
    const total = GRAPHS * 2;
    let next = 0;
    let over: number | undefined;
    void rss.exceeded.then((mb) => (over = mb));
    const t0 = performance.now();
    const deadline = t0 + 60_000;
    try {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < total && over === undefined && performance.now() < deadline) {
            const i = next++;
            outcomes.add(await post(svc.base, 'jacobian', smallGraph(i >> 1), { agent, timeoutMs: 10_000 }).catch((e: Error) => e));
          }
        }),
      );
    } finally {
      agent.destroy();
    }
    const sent = Math.min(next, total);
    const maxMb = rss.stop();
    const cacheBytes = await planCacheBytes(svc).catch(() => NaN);
    console.log(
      `[memory] ${sent} of ${total} small-graph requests in ${((performance.now() - t0) / 1000).toFixed(1)} s${over !== undefined ? `, stopped at RSS ${over.toFixed(0)} MB` : ''}; RSS ${startMb.toFixed(0)} MB at start, max ${maxMb.toFixed(0)} MB (budget ${MEMORY_BUDGET_MB}); statuses ${outcomes}; ${PLAN_CACHE_BYTES_METRIC} ${cacheBytes} (CACHE_BYTES ${CACHE_BYTES})`,
    );
    expect.soft(maxMb, `max RSS in MB after ${sent} requests`).toBeLessThan(MEMORY_BUDGET_MB);
    expect.soft(sent, 'every request was sent within 60 s').toBe(total);
    expect.soft(outcomes.bad.slice(0, 5), 'answers other than 200 or 503 overloaded').toEqual([]);
    expect.soft(cacheBytes, `${PLAN_CACHE_BYTES_METRIC} (NaN: not in /metrics) <= CACHE_BYTES`).toBeLessThanOrEqual(CACHE_BYTES);
  }, 90_000);
});
