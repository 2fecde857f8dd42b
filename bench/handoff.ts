/**
 * What a pooled call costs between the handler's checks and the computation
 * (issue 10, item 6), without HTTP: the old way, a structured clone of the
 * parsed body and a full prepare() of it on the "worker" side (its plan cache
 * warm, as in steady state); the new way, handOff() of the prepared call, a
 * structured clone with its buffers in the transfer list (what postMessage does)
 * and takeOver() on the other side. Both sides run on this thread, each with its
 * own plan cache. Median of repeated runs, in ms, beside what the handler's own
 * prepare() costs (the same either way). Run by hand:
 *
 *   npx tsx bench/handoff.ts [problem ids, default P3-1e5,P4]
 */
import { handOff, PlanCache, prepare, takeOver } from '../src/api/index.js';
import { PROBLEMS, request } from './problems.js';

const ids = (process.argv[2] ?? 'P3-1e5,P4').split(',');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const b64 = (t: { shape: readonly number[]; data: Float64Array }) => ({
  dtype: 'float64',
  shape: [...t.shape],
  data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64'),
});

function time(fn: (i: number) => void, reps: number): number {
  const out: number[] = [];
  for (let i = 0; i < reps + 5; i++) {
    const t0 = performance.now();
    fn(i);
    if (i >= 5) out.push(performance.now() - t0);
  }
  return median(out);
}

const rows = [];
for (const id of ids) {
  const p = PROBLEMS.find((q) => q.id === id);
  if (!p) throw new Error(`no problem ${id}`);
  const nested = request(p, 'auto');
  const bodies = {
    json: nested,
    base64: { ...nested, args: Object.fromEntries(p.graph.inputs.map((inp, i) => [inp.name, b64(p.args[i])])) },
  };
  for (const [encoding, body] of Object.entries(bodies)) {
    const main = new PlanCache(1 << 28);
    const worker = new PlanCache(1 << 28);
    const op = p.operation;
    const opts = { cache: main, strictFloats: true };
    // both caches warm: the steady state of a repeated call
    prepare(op, structuredClone(body), { cache: worker, strictFloats: true });
    const warm = handOff(prepare(op, body, opts));
    takeOver(warm.handoff, body.graph, { cache: worker });
    const reps = 30;
    const mainCheck = time(() => void prepare(op, body, opts), reps);
    const before = time(() => {
      const clone = structuredClone(body);
      prepare(op, clone, { cache: worker, strictFloats: true });
    }, reps);
    // a handoff moves its call's buffers: one prepared call per run, prepared beforehand
    const calls = Array.from({ length: reps + 5 }, () => prepare(op, body, opts));
    const after = time((i) => {
      const { handoff, transfer } = handOff(calls[i]);
      takeOver(structuredClone(handoff, { transfer }), undefined, { cache: worker });
    }, reps);
    rows.push({
      problem: id,
      encoding,
      'main prepare ms': Number(mainCheck.toFixed(3)),
      'before: clone + worker prepare ms': Number(before.toFixed(3)),
      'after: handOff + transfer + takeOver ms': Number(after.toFixed(3)),
    });
  }
}
console.table(rows);
