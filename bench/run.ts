/**
 * The benchmark suite (issue 4): `npm run bench` (every problem, ~10 s of HTTP per
 * target) or `npm run bench -- --quick` (P1, P2, P3-1e5, P4, shortened HTTP); `-- --only P1,P4`
 * runs just those problems (and HTTP). Then the batches (batches.ts), the gemm kernels (gemm.ts)
 * and the scan row (scan.ts).
 * Prints the table and writes bench/results.json and bench/results.md. Exits 1 if a
 * derivative is wrong, a hand derivative fails its fd check, or HTTP saw non-2xx.
 */
import { gradient, jacobian, prepare } from '../src/index.js';
import { checkHand, maxRelError } from './hand/check.js';
import { hand, kept, type Impl } from './hand/index.js';
import { appendBatches, batchTable, POINTS, runBatches } from './batches.js';
import { appendGemm, gemmTable, runGemm } from './gemm.js';
import { appendScan, runScan, scanTable } from './scan.js';
import { runHttp } from './http.js';
import { appendTorch, runTorch, torchLine } from './torch.js';
import { PROBLEMS, request, type Problem } from './problems.js';
import { printReport, problems, writeResults, type EngineRecord } from './report.js';
import type { TfjsBench } from './tfjs-types.js';
import { measure, type Entry } from './timing.js';

const quick = process.argv.includes('--quick');
/** `--only P1,P5-1000`: just these problems (and HTTP), e.g. while working on one. */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]?.split(',') : undefined;
/** Max rel error above which a derivative is wrong: exact engines, fd, and tfjs (float32). */
const TOLERANCE: Record<EngineRecord['engine'], number> = { forward: 1e-8, reverse: 1e-8, auto: 1e-8, fd: 1e-5, hand: 0, tfjs: 1e-4 };
/** tfjs is skipped on a problem where one derivative call takes longer than this. */
const TFJS_MAX_CALL_MS = 20_000;
/**
 * TensorFlow.js is bench/'s own dependency (bench/package.json), installed by `npm run
 * bench`, not by the root install: its module is loaded through a name, which the root
 * typecheck does not follow (bench/tsconfig.json checks it against TfjsBench).
 */
const TFJS_MODULE = './tfjs.js';
const { initTfjs, tfjs } = ((await import(TFJS_MODULE)) as { default: TfjsBench }).default;

const log = (s: string): void => void process.stderr.write(`${s}\n`);

async function bench(p: Problem): Promise<EngineRecord[]> {
  const args = p.args.map((t) => t.data);
  const h = hand(p);
  const ref = kept(h.derivative(args));
  const fdCheck = checkHand(p, h);
  const api = p.operation === 'jacobian' ? jacobian : gradient;
  const wire = request(p, 'auto');

  const { format: _jacobianOnly, ...evaluated } = wire;
  const primal = prepare('evaluate', evaluated);
  const calls = p.engines.map((mode) => ({ mode, call: prepare(p.operation, { ...wire, mode }) }));
  const errors = new Map(
    calls.map(({ mode, call }) => [
      mode,
      maxRelError(
        call.run(p.args).derivatives.map((t) => t.data),
        ref,
      ),
    ]),
  );

  let tf: Impl | undefined;
  let tfSkip: string | undefined;
  let tfError = NaN;
  try {
    // tfjs has no sparse Jacobians: a coo problem's dense one could be 10^10 numbers
    if (p.format) throw new Error('no sparse Jacobians (coo)');
    tf = tfjs(p);
    const t0 = performance.now();
    tfError = maxRelError(tf.derivative(args), ref);
    if (performance.now() - t0 > TFJS_MAX_CALL_MS)
      [tf, tfSkip] = [undefined, `one tfjs derivative call took over ${TFJS_MAX_CALL_MS / 1000} s`];
  } catch (e) {
    [tf, tfSkip] = [undefined, `tfjs failed: ${(e as Error).message}`];
  }

  const entries: Entry[] = [
    { name: 'derivd:primal', fn: () => primal.run(p.args) },
    ...calls.map(({ mode, call }) => ({ name: mode, fn: () => call.run(p.args) })),
    ...calls.map(({ mode }) => ({ name: `api:${mode}`, fn: () => api({ ...wire, mode }) })),
    { name: 'hand:primal', fn: () => h.primal(args) },
    { name: 'hand', fn: () => h.derivative(args) },
    ...(tf
      ? [
          { name: 'tfjs:primal', fn: () => tf.primal(args) },
          { name: 'tfjs', fn: () => tf.derivative(args) },
        ]
      : []),
  ];
  const m = await measure(entries);
  const med = (name: string): number | null => m.get(name)?.medianUs ?? null;
  const div = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a / b);
  const handUs = med('hand');

  const derivd: EngineRecord[] = calls.map(({ mode, call }) => ({
    problem: p.id,
    engine: mode,
    medianUs: med(mode),
    apiMedianUs: med(`api:${mode}`),
    ratioToPrimal: div(med(mode), med('derivd:primal')),
    ratioToHand: div(med(mode), handUs),
    maxRelError: errors.get(mode) as number,
    ...(mode === 'auto' ? { picked: call.mode } : {}),
    primalUs: med('derivd:primal'),
    samples: m.get(mode)?.samples,
  }));
  const auto = derivd.find((r) => r.engine === 'auto');
  const [fwd, rev] = [med('forward'), med('reverse')];
  if (auto && fwd !== null && rev !== null) auto.pickedVsBest = (auto.picked === 'forward' ? fwd : rev) / Math.min(fwd, rev);

  const handRecord: EngineRecord = {
    problem: p.id,
    engine: 'hand',
    medianUs: handUs,
    apiMedianUs: null,
    ratioToPrimal: div(handUs, med('hand:primal')),
    ratioToHand: 1,
    maxRelError: 0,
    primalUs: med('hand:primal'),
    samples: m.get('hand')?.samples,
    fdCheck,
    ...(handUs !== null && h.work ? { rate: rateOf(h.work, handUs) } : {}),
  };
  const tfRecord: EngineRecord = tf
    ? {
        problem: p.id,
        engine: 'tfjs',
        medianUs: med('tfjs'),
        apiMedianUs: null,
        ratioToPrimal: div(med('tfjs'), med('tfjs:primal')),
        ratioToHand: div(med('tfjs'), handUs),
        maxRelError: tfError,
        primalUs: med('tfjs:primal'),
        samples: m.get('tfjs')?.samples,
      }
    : {
        problem: p.id,
        engine: 'tfjs',
        medianUs: null,
        apiMedianUs: null,
        ratioToPrimal: null,
        ratioToHand: null,
        maxRelError: null,
        skipped: tfSkip,
      };
  const records = [...derivd, handRecord, tfRecord];
  for (const r of records) if (r.maxRelError !== null && !(r.maxRelError <= TOLERANCE[r.engine])) r.wrong = true;
  return records;
}

/** What a reference's median reaches: GFLOP/s for compute, GB/s for memory (1 flop per ns is 1 GFLOP/s). */
function rateOf(work: { flops?: number; bytes?: number }, us: number): string {
  if (work.flops !== undefined) return `${(work.flops / (us * 1e3)).toPrecision(3)} GFLOP/s`;
  return `${((work.bytes ?? 0) / (us * 1e3)).toPrecision(3)} GB/s`;
}

const t0 = performance.now();
const tfVersion = await initTfjs();
const records: EngineRecord[] = [];
for (const p of PROBLEMS.filter((q) => (only ? only.includes(q.id) : !quick || q.quick))) {
  const t = performance.now();
  records.push(...(await bench(p)));
  log(`${p.id} (${p.title}): ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
const p1 = PROBLEMS.find((p) => p.id === 'P1') as Problem;
const httpSeconds = quick ? 4 : 10;
const t = performance.now();
const http = await runHttp(request(p1, 'forward'), kept(hand(p1).derivative(p1.args.map((a) => a.data)))[0], httpSeconds, 2);
log(`HTTP-P1: ${((performance.now() - t) / 1000).toFixed(1)} s`);
// PyTorch beside P4, when the problem ran and torch is installed
const torch = records.some((r) => r.problem === 'P4') ? runTorch() : undefined;
const tb = performance.now();
const batches = await runBatches(quick);
log(`BATCH-P1: ${((performance.now() - tb) / 1000).toFixed(1)} s`);
const tg = performance.now();
const gemms = await runGemm(quick);
log(`GEMM: ${((performance.now() - tg) / 1000).toFixed(1)} s`);
const ts = performance.now();
const scan = await runScan(quick);
log(`SCAN: ${((performance.now() - ts) / 1000).toFixed(1)} s`);

const info = {
  command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
  quick,
  tfjs: tfVersion,
  httpSeconds,
  wallSeconds: (performance.now() - t0) / 1000,
};
printReport(records, http, info);
console.log(`\nBATCH-P1, the seed Jacobian at ${POINTS} points:\n${batchTable(batches)}`);
console.log(`\nGEMM, JS against WebAssembly SIMD (bench/gemm.ts):\n${gemmTable(gemms)}`);
console.log(`\nSCAN, a 1,000-step pendulum RK4 integrator (bench/scan.ts):\n${scanTable(scan)}`);
const p4 = records.find((r) => r.problem === 'P4' && r.engine === 'auto')?.medianUs ?? null;
const torchText = torch ? torchLine(torch, p4) : undefined;
if (torchText) console.log(`\n${torchText}`);
writeResults(records, http, info);
appendBatches(batches);
appendGemm(gemms);
appendScan(scan);
if (torch && torchText) appendTorch(torch, torchText);
log(`wrote bench/results.json and bench/results.md (${info.wallSeconds.toFixed(0)} s)`);
if (problems(records, http).length > 0) process.exitCode = 1;
// the scan's derivatives: forward equal to reverse, and to the unrolled integrator
if (!(scan.forwardVsReverse <= 1e-12) || !scan.sameAsUnrolled) process.exitCode = 1;
