/**
 * Sizing a pooled request to a compute time on this machine, against the service
 * that will be loaded: matmulGradient(n) costs about 4 n³ multiply-adds and n² tanh
 * and result elements, so n is scaled by (target / measured)^(1/p), p the growth
 * measured between the last two sizes, until the warm compute time is within 15 %
 * of the target (at most 8 rounds).
 *
 * The time measured is the computation's own (`total` in Server-Timing, which the
 * worker reports), the best of three warm runs: queueing and HTTP are not the
 * request's cost.
 */
import { post, type Reply } from './http.js';
import { matmulGradient } from './graphs.js';

export interface Sized {
  n: number;
  /** Warm compute time at n, in ms. */
  ms: number;
  body: string;
}

function computeMs(r: Reply): number {
  const m = /(?:^|,\s*)total;dur=([\d.]+)/.exec(String(r.headers['server-timing'] ?? ''));
  return m ? Number(m[1]) : r.ms;
}

/** Warm compute time of `body` on `base`: the best of `runs` after one warm-up. */
export async function timeRequest(base: string, op: string, body: string, runs = 3): Promise<number> {
  let best = Infinity;
  for (let i = 0; i <= runs; i++) {
    const r = await post(base, op, body, { timeoutMs: 30_000 });
    if (r.status !== 200) throw new Error(`calibration request answered ${r.status}: ${r.text().slice(0, 300)}`);
    if (i > 0) best = Math.min(best, computeMs(r));
  }
  return best;
}

export async function sizeMatmulGradient(base: string, targetMs: number, startN = 250): Promise<Sized> {
  let n = startN;
  let ms = NaN;
  // Time grows like n^p with p between 2 (tanh, the result) and 3 (the products): p is
  // estimated from the last two sizes, so the steps neither stall nor overshoot.
  let p = 2.5;
  let last: { n: number; ms: number } | undefined;
  for (let round = 0; round < 8; round++) {
    ms = await timeRequest(base, 'gradient', JSON.stringify(matmulGradient(n)));
    if (Math.abs(ms - targetMs) <= 0.15 * targetMs) break;
    if (last && last.n !== n && last.ms > 0 && ms > 0) p = Math.min(3.5, Math.max(1.5, Math.log(ms / last.ms) / Math.log(n / last.n)));
    last = { n, ms };
    n = Math.max(8, Math.round(n * (targetMs / Math.max(ms, 0.05)) ** (1 / p)));
  }
  if (!(Math.abs(ms - targetMs) <= 0.3 * targetMs))
    throw new Error(`could not size matmulGradient to ${targetMs} ms: n = ${n} takes ${ms} ms`);
  return { n, ms, body: JSON.stringify(matmulGradient(n)) };
}
