/**
 * The scan row (issue 12): a 1,000-step pendulum RK4 integrator written as a scan
 * of a step function that calls its stage function four times
 * (test/helpers/pendulum.ts). Prepared calls (prepare().run: no request parsing),
 * timed together (timing.ts, interleaved round-robin):
 *
 *   - the primal (evaluate the final state);
 *   - the Jacobian of the final state [θ, ω] with respect to the initial state and
 *     the parameter k, in reverse mode (two cotangent directions, one sweep) and in
 *     forward mode (three tangent directions, one sweep);
 *   - the gradient of the final θ alone, in reverse mode (one direction).
 *
 * Each derivative's median is given over the primal's. Also checked: forward equals
 * reverse to 1e-12 (relative to the largest entry), and both equal the same
 * integrator unrolled into plain nodes at 50 steps (the unrolled graph at 1,000
 * steps would be past MAX_NODES).
 *
 * Standalone: `npx tsx bench/scan.ts [--quick]`; `npm run bench` runs it too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { jacobian, prepare } from '../src/index.js';
import { pendulumScan, unrolled } from '../test/helpers/pendulum.js';
import { DEFAULT_TIMING, measure } from './timing.js';

export interface ScanRecord {
  problem: 'SCAN';
  steps: number;
  what: string;
  medianUs: number;
  /** This median over the primal's. */
  ratioToPrimal: number;
}

export interface ScanRun {
  records: ScanRecord[];
  /** max |forward - reverse| / max |entry| of the Jacobian at 1,000 steps. */
  forwardVsReverse: number;
  /** Whether scan and unrolled agree bit for bit at 50 steps, in both modes. */
  sameAsUnrolled: boolean;
}

const ARGS = { s0: [1.0, 0.2], k: 9.81 };
const STEPS = 1000;

const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

export async function runScan(quick = false): Promise<ScanRun> {
  const graph = pendulumScan(STEPS);
  const state = { graph, args: ARGS, outputs: ['state'] };
  const primal = prepare('evaluate', state);
  const reverse = prepare('jacobian', { ...state, mode: 'reverse' });
  const forward = prepare('jacobian', { ...state, mode: 'forward' });
  const gradient = prepare('gradient', { graph, args: ARGS, outputs: ['theta'], mode: 'reverse' });
  const args = primal.request.args;
  const entries = [
    { name: 'primal', what: 'evaluate (the primal)', fn: () => primal.run(args) },
    { name: 'reverse', what: 'Jacobian of [θ, ω] wrt s0 and k, reverse', fn: () => reverse.run(args) },
    { name: 'forward', what: 'Jacobian of [θ, ω] wrt s0 and k, forward', fn: () => forward.run(args) },
    { name: 'gradient', what: 'gradient of θ wrt s0 and k, reverse', fn: () => gradient.run(args) },
  ];
  const m = await measure(entries, quick ? { ...DEFAULT_TIMING, minMs: 50 } : DEFAULT_TIMING);
  const primalUs = m.get('primal')?.medianUs as number;
  const records = entries.map(({ name, what }) => {
    const medianUs = m.get(name)?.medianUs as number;
    return { problem: 'SCAN' as const, steps: STEPS, what, medianUs, ratioToPrimal: medianUs / primalUs };
  });

  const f = flat(forward.run(args).derivatives.map((t) => Array.from(t.data)));
  const r = flat(reverse.run(args).derivatives.map((t) => Array.from(t.data)));
  const scale = Math.max(...r.map(Math.abs));
  const forwardVsReverse = Math.max(...f.map((v, i) => Math.abs(v - r[i]))) / scale;

  let sameAsUnrolled = true;
  const short = pendulumScan(50);
  const written = unrolled(short);
  for (const mode of ['forward', 'reverse'] as const) {
    const a = await jacobian({ graph: short, args: ARGS, outputs: ['state'], mode });
    const b = await jacobian({ graph: written, args: ARGS, outputs: ['state'], mode });
    if (JSON.stringify(a.jacobian) !== JSON.stringify(b.jacobian)) sameAsUnrolled = false;
  }
  return { records, forwardVsReverse, sameAsUnrolled };
}

export function scanTable(run: ScanRun): string {
  const rows = run.records.map((r) => `| ${r.what} | ${r.medianUs.toFixed(0)} | ${r.ratioToPrimal.toFixed(2)} |`);
  return [
    `| ${STEPS}-step pendulum RK4 scan | median µs | × primal |`,
    '| --- | ---: | ---: |',
    ...rows,
    '',
    `forward vs reverse: ${run.forwardVsReverse.toExponential(1)} (relative to the largest entry); scan equals the unrolled integrator at 50 steps, bit for bit, in both modes: ${run.sameAsUnrolled ? 'yes' : 'NO'}`,
  ].join('\n');
}

export function appendScan(run: ScanRun): void {
  const dir = new URL('./', import.meta.url);
  const json = JSON.parse(readFileSync(new URL('results.json', dir), 'utf8')) as unknown[];
  writeFileSync(new URL('results.json', dir), `${JSON.stringify([...json, ...run.records], null, 2)}\n`);
  const md = readFileSync(new URL('results.md', dir), 'utf8');
  const title = '## scan: a 1,000-step pendulum RK4 integrator (prepared calls, medians)';
  writeFileSync(new URL('results.md', dir), `${md}\n${title}\n\n${scanTable(run)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(scanTable(await runScan(process.argv.includes('--quick'))));
}
