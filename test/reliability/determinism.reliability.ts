/**
 * Finding 9: answers must not depend on node order or cache history. One graph
 * (helpers/graphs.ts fanOutGraph: 28 nodes, two inputs feeding many consumers, so
 * reverse mode adds several contributions into each) is sent with its nodes in
 * ORDERS shuffled orders (the first is the original), each order to fresh caches:
 *
 *   - a fresh process with WORKERS=0 (the main thread's cache, inline), and
 *   - a fresh process with WORKERS=1 and INLINE_MAX_COST_MS=0 (a fresh worker's cache,
 *     the pooled path);
 *
 * and all orders to one process with two workers that takes them two at a time (each
 * worker's cache keeps whichever order reached it first). Every float of jacobian
 * (forward and reverse), gradient and hessian is compared by its Float64 bit
 * pattern, not approximately: one pattern per operation across every run.
 */
import { describe, expect, test } from 'vitest';
import { fanOutGraph } from './helpers/graphs.js';
import { post } from './helpers/http.js';
import { rng } from '../helpers/numeric.js';
import { startService } from './helpers/service.js';
import { useServices } from './helpers/use-services.js';

const start = useServices();

const ORDERS = 8;
/** Processes started at once (each start costs a core for a moment). */
const PARALLEL = 4;

const BASE = fanOutGraph() as { graph: { inputs: unknown[]; nodes: unknown[]; outputs: string[] }; args: Record<string, unknown> };
const CALLS = {
  'jacobian forward': ['jacobian', { mode: 'forward' }],
  'jacobian reverse': ['jacobian', { mode: 'reverse' }],
  gradient: ['gradient', { outputs: ['s'] }],
  hessian: ['hessian', { outputs: ['s'] }],
} as const;
type Call = keyof typeof CALLS;

const r = rng(20_260_101);
const orders = Array.from({ length: ORDERS }, (_, k) => (k === 0 ? BASE.graph.nodes : r.shuffle(BASE.graph.nodes)));

/** Every number of the result's derivative part (and values) as Float64 hex, in key order; wire strings ("NaN") as they are. */
function bits(result: Record<string, unknown>, key: string): string {
  const f = new Float64Array(1);
  const u = new BigUint64Array(f.buffer);
  const walk = (v: unknown): string => {
    if (typeof v === 'number') {
      f[0] = v;
      return u[0].toString(16);
    }
    if (Array.isArray(v)) return `[${v.map(walk).join(',')}]`;
    if (v !== null && typeof v === 'object')
      return `{${Object.keys(v)
        .map((k) => `${k}:${walk((v as Record<string, unknown>)[k])}`)
        .join(',')}}`;
    return JSON.stringify(v);
  };
  return `${walk(result.values)}|${walk(result[key])}`;
}

type Patterns = Record<Call, string>;

async function ask(base: string, order: number): Promise<Patterns> {
  const out = {} as Patterns;
  for (const [name, [op, extra]] of Object.entries(CALLS) as [Call, (typeof CALLS)[Call]][]) {
    const res = await post(base, op, { graph: { ...BASE.graph, nodes: orders[order] }, args: BASE.args, ...extra }, { timeoutMs: 15_000 });
    if (res.status !== 200) throw new Error(`order ${order}, ${name}: ${res.status} ${res.text().slice(0, 300)}`);
    out[name] = bits(res.json(), op);
  }
  return out;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

describe('finding 9: the same graph gives the same bits in any node order, on any worker', () => {
  test(`${ORDERS} shuffled orders, each to fresh caches (inline and pooled), and all to one two-worker process`, async () => {
    const runs: { label: string; patterns: Patterns }[] = [];
    const INLINE: Record<string, string> = { WORKERS: '0' };
    const POOLED: Record<string, string> = { WORKERS: '1', INLINE_MAX_COST_MS: '0' };
    const fresh = orders.flatMap((_, k) => [
      { label: `order ${k}, fresh process, inline`, env: INLINE, order: k },
      { label: `order ${k}, fresh process, pooled`, env: POOLED, order: k },
    ]);
    const freshRuns = await mapLimit(fresh, PARALLEL, async (f) => {
      const svc = await startService(f.env);
      try {
        return { label: f.label, patterns: await ask(svc.base, f.order) };
      } finally {
        await svc.kill();
      }
    });
    runs.push(...freshRuns);

    const shared = await start({ WORKERS: '2', INLINE_MAX_COST_MS: '0' });
    const sharedRuns = await mapLimit(
      orders.map((_, k) => k),
      2,
      async (k) => ({ label: `order ${k}, shared two-worker process`, patterns: await ask(shared.base, k) }),
    );
    runs.push(...sharedRuns);

    const summary = (Object.keys(CALLS) as Call[]).map((call) => {
      const distinct = new Set(runs.map((x) => x.patterns[call]));
      const differing = runs.filter((x) => x.patterns[call] !== runs[0].patterns[call]).length;
      return { call, distinct: distinct.size, differing };
    });
    console.log(
      `[finding 9] ${runs.length} runs (${ORDERS} orders × fresh inline, fresh pooled, shared two-worker): ` +
        summary
          .map(
            (s) =>
              `${s.call}: ${s.distinct} bit pattern${s.distinct === 1 ? '' : 's'} (${s.differing} of ${runs.length} runs differ from order 0 inline)`,
          )
          .join('; '),
    );
    for (const s of summary) expect.soft(s.distinct, `${s.call}: distinct bit patterns over ${runs.length} runs`).toBe(1);
  }, 120_000);
});
