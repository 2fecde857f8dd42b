/**
 * How many sweeps touch each value, in one pass over the schedule, whatever the
 * number of inputs and outputs.
 *
 * Forward mode runs one sweep per active input (a group of directions), touching
 * what that input varies; reverse mode one per output, touching what that output
 * uses. The cost model needs, for every active value v, how many of those sweeps
 * touch v (`count`) and how many directions they carry there in all (`size`: the
 * summed element counts of those inputs or outputs).
 *
 * Exact with bitsets when the sets are small enough to be cheap (sources × values
 * within EXACT_BUDGET bits); past that, a bound that is exact on trees: a value's
 * sources are taken as the sum over its distinct arguments', capped by the total
 * (a diamond then counts a source twice, never more than all of them).
 */
import type { Eqn, ValueId } from '../ir/program.js';

/** Bits of set work (sources × values) below which the counts are exact. */
const EXACT_BUDGET = 1 << 21;

export interface Reach {
  /** Sweeps touching each value (0 for values no sweep touches). */
  count: Float64Array;
  /** Directions those sweeps carry, summed. */
  size: Float64Array;
}

/**
 * `sources[i]` is seeded with `sizes[i]` directions at value `seeds[i]`; sets flow
 * along `edges(q)`, which yields [from, to] value pairs of equation q, visited in
 * `order` (forward: schedule order, from argument to result; reverse: backwards,
 * from result to argument). Only values with `keep[v]` are counted and passed on.
 * `exactBudget`: tests pass 0 to see the bound.
 */
export function reach(
  valueCount: number,
  seeds: readonly ValueId[],
  sizes: readonly number[],
  eqns: readonly Eqn[],
  backward: boolean,
  keep: Uint8Array,
  exactBudget = EXACT_BUDGET,
): Reach {
  const n = seeds.length;
  if (n * valueCount <= exactBudget) return exact(valueCount, seeds, sizes, eqns, backward, keep);
  return bounded(valueCount, seeds, sizes, eqns, backward, keep);
}

/** The arguments a derivative flows along: not through ops without a JVP, nor their constant arguments. */
function flowArgs(q: Eqn): readonly ValueId[] {
  if (!q.op.jvp) return [];
  const cut = q.op.constantArgs;
  return cut ? q.args.filter((_, i) => !cut.includes(i)) : q.args;
}

function visit(eqns: readonly Eqn[], backward: boolean, f: (q: Eqn) => void): void {
  if (backward) for (let i = eqns.length - 1; i >= 0; i--) f(eqns[i]);
  else for (const q of eqns) f(q);
}

function exact(
  valueCount: number,
  seeds: readonly ValueId[],
  sizes: readonly number[],
  eqns: readonly Eqn[],
  backward: boolean,
  keep: Uint8Array,
): Reach {
  const words = Math.max(1, Math.ceil(seeds.length / 32));
  const bits = new Uint32Array(valueCount * words);
  seeds.forEach((v, i) => {
    if (keep[v]) bits[v * words + (i >>> 5)] |= 1 << (i & 31);
  });
  const union = (to: ValueId, from: ValueId): void => {
    for (let w = 0; w < words; w++) bits[to * words + w] |= bits[from * words + w];
  };
  visit(eqns, backward, (q) => {
    if (backward) {
      if (!keep[q.out]) return;
      for (const a of flowArgs(q)) if (keep[a]) union(a, q.out);
    } else if (keep[q.out]) {
      for (const a of flowArgs(q)) if (keep[a]) union(q.out, a);
    }
  });
  const count = new Float64Array(valueCount);
  const size = new Float64Array(valueCount);
  for (let v = 0; v < valueCount; v++) {
    if (!keep[v]) continue;
    let c = 0;
    let s = 0;
    for (let w = 0; w < words; w++) {
      let word = bits[v * words + w];
      while (word !== 0) {
        const low = word & -word;
        s += sizes[w * 32 + 31 - Math.clz32(low)];
        c++;
        word ^= low;
      }
    }
    count[v] = c;
    size[v] = s;
  }
  return { count, size };
}

function bounded(
  valueCount: number,
  seeds: readonly ValueId[],
  sizes: readonly number[],
  eqns: readonly Eqn[],
  backward: boolean,
  keep: Uint8Array,
): Reach {
  const count = new Float64Array(valueCount);
  const size = new Float64Array(valueCount);
  const total = sizes.reduce((a, b) => a + b, 0);
  seeds.forEach((v, i) => {
    if (!keep[v]) return;
    count[v] += 1;
    size[v] += sizes[i];
  });
  const cap = (v: ValueId): void => {
    count[v] = Math.min(count[v], seeds.length);
    size[v] = Math.min(size[v], total);
  };
  // seen[a] === stamp: a was already taken from this equation (an argument used twice counts once)
  const seen = new Uint32Array(valueCount);
  let stamp = 0;
  visit(eqns, backward, (q) => {
    if (!keep[q.out]) return;
    stamp++;
    for (const a of flowArgs(q)) {
      if (!keep[a] || seen[a] === stamp) continue;
      seen[a] = stamp;
      if (backward) {
        count[a] += count[q.out];
        size[a] += size[q.out];
        cap(a);
      } else {
        count[q.out] += count[a];
        size[q.out] += size[a];
      }
    }
    if (!backward) cap(q.out);
  });
  return { count, size };
}
