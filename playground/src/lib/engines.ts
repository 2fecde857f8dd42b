/**
 * The engines side by side: the same request run by forward, reverse, fd and auto,
 * and how far apart their derivatives are.
 */
import { flatten, type Wire } from './tensor.js';

export const ENGINES = ['forward', 'reverse', 'fd', 'auto'] as const;
export type Engine = (typeof ENGINES)[number];

/** The derivative field of a response, by operation. */
export const DERIVATIVE_FIELD = { jacobian: 'jacobian', gradient: 'gradient', hessian: 'hessian', evaluate: 'values' } as const;

/** Every number of a (nested) derivative object, in key order: two responses of one request line up entry by entry. */
export function derivativeNumbers(result: unknown): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v) || typeof v === 'number' || typeof v === 'string') out.push(...flatten(v as Wire));
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k]);
  };
  walk(result);
  return out;
}

/**
 * The largest difference between two engines' derivatives, absolute and relative
 * to the larger magnitude (floored at 1, so entries near 0 are judged absolutely).
 * Entries non-finite in both at the same place agree; Infinity where 0 was is Infinity apart.
 */
export function maxDisagreement(a: readonly number[], b: readonly number[]): { abs: number; rel: number } {
  if (a.length !== b.length) return { abs: Number.POSITIVE_INFINITY, rel: Number.POSITIVE_INFINITY };
  let abs = 0;
  let rel = 0;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    const d = Math.abs(a[i] - b[i]);
    const e = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
    abs = Math.max(abs, e);
    rel = Math.max(rel, e / Math.max(1, Math.abs(a[i]), Math.abs(b[i])));
  }
  return { abs, rel };
}

/** For each engine, its largest disagreement with any of the others. */
export function disagreements(results: Partial<Record<Engine, number[]>>): Partial<Record<Engine, number>> {
  const out: Partial<Record<Engine, number>> = {};
  for (const e of ENGINES) {
    const mine = results[e];
    if (!mine) continue;
    let worst = 0;
    for (const o of ENGINES) {
      const theirs = results[o];
      if (o !== e && theirs) worst = Math.max(worst, maxDisagreement(mine, theirs).abs);
    }
    out[e] = worst;
  }
  return out;
}

/** The two engines that disagree most, and by how much (null with fewer than two results). */
export function largestPair(results: Partial<Record<Engine, number[]>>): { a: Engine; b: Engine; abs: number } | null {
  let best: { a: Engine; b: Engine; abs: number } | null = null;
  ENGINES.forEach((a, i) => {
    for (const b of ENGINES.slice(i + 1)) {
      const [x, y] = [results[a], results[b]];
      if (!x || !y) continue;
      const { abs } = maxDisagreement(x, y);
      if (!best || abs > best.abs) best = { a, b, abs };
    }
  });
  return best;
}
