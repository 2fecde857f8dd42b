/**
 * Measures the cost model's weights on this machine and writes
 * src/analysis/cost-weights.json (run: npm run calibrate).
 *
 * For each wire op, a representative graph is timed in three sweeps: the primal,
 * a forward sweep and a reverse sweep, each at k = 1 and k = K directions. The
 * per-direction weight is the slope (t(K) - t(1)) / (K - 1), the per-sweep weight
 * the intercept t(1) - slope, both divided by the op's work units; the
 * per-equation overhead comes from a long chain of scalar ops.
 * Times are medians of repeated runs of the compiled code (what the engines run).
 *
 * Then the costs around the arithmetic that a first call pays (`overheads`):
 * parsing a body per byte, checking a graph per node, reading arguments per byte of JSON, building
 * derivative programs and compiling equation lists per primal equation they
 * cover. `npm run calibrate -- --overheads` measures only these and keeps the
 * op weights as they are; `npm run calibrate -- --only=solve,inv` measures only the
 * ops named (a new op's first weights) and keeps everything else.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { makePlan, type Plan } from '../src/analysis/plan.js';
import { workOf, type CostWeights, type OpWeights, type RequestOverheads } from '../src/analysis/cost.js';
import { PlanCache, MemoryAccount } from '../src/graph/plan-cache.js';
import { compileSegment } from '../src/compile/codegen.js';
import { checkRequest } from '../src/graph/request.js';
import { WIRE_OPS } from '../src/ops/registry.js';
import { execute } from '../src/compile/execute.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { forwardProgram, reverseProgram } from '../src/engines/programs.js';
import { runPrimal } from '../src/engines/primal.js';

const K = 9;
const N = 4096;

type Node = Record<string, unknown>;
interface Case {
  inputs: { name: string; shape: number[] }[];
  node: Node;
  /** Inputs whose values argFor's would not fit (a matrix that must be well conditioned). */
  args?: Record<string, unknown>;
}

const vec = (name: string, shape: number[] = [N]) => ({ name, shape });

/** A representative call of each wire op on inputs x (and y, z). */
function caseFor(op: string): Case | undefined {
  const unary = { inputs: [vec('x')], node: { op, args: ['x'] } };
  const binary = { inputs: [vec('x'), vec('y')], node: { op, args: ['x', 'y'] } };
  const m = [vec('x', [64, 64])];
  switch (op) {
    case 'const':
    case 'range':
    case 'fill':
    case 'eye':
      return undefined; // never varied
    case 'where':
      return { inputs: [vec('c'), vec('x'), vec('y')], node: { op, args: ['c', 'x', 'y'] } };
    case 'sum':
    case 'mean':
    case 'prod':
    case 'max':
    case 'min':
    case 'logsumexp':
      return { inputs: m, node: { op, args: ['x'], axes: [1] } };
    case 'dot':
      return binary;
    case 'matmul':
      return { inputs: [vec('x', [48, 48]), vec('y', [48, 48])], node: { op, args: ['x', 'y'] } };
    case 'transpose':
      return { inputs: m, node: { op, args: ['x'] } };
    case 'outer':
      return { inputs: [vec('x', [64]), vec('y', [64])], node: { op, args: ['x', 'y'] } };
    case 'reshape':
      return { inputs: m, node: { op, args: ['x'], shape: [N] } };
    case 'broadcast_to':
      return { inputs: [vec('x', [64])], node: { op, args: ['x'], shape: [64, 64] } };
    case 'slice':
      return { inputs: m, node: { op, args: ['x'], start: [0, 0], stop: [64, 32], step: [1, 1] } };
    case 'index':
      return { inputs: m, node: { op, args: ['x'], axis: 0, indices: Array.from({ length: 32 }, (_, i) => 2 * i) } };
    case 'concat':
      return { inputs: [vec('x', [32, 64]), vec('y', [32, 64])], node: { op, args: ['x', 'y'] } };
    case 'stack':
      return { inputs: [vec('x', [64, 64]), vec('y', [64, 64])], node: { op, args: ['x', 'y'] } };
    case 'diag':
      return { inputs: [vec('x', [64])], node: { op, args: ['x'] } };
    case 'diagonal':
    case 'trace':
    case 'triu':
    case 'tril':
    case 'cumsum':
    case 'cumprod':
    case 'softmax':
    case 'log_softmax':
      return { inputs: m, node: { op, args: ['x'] } };
    case 'norm':
      return { inputs: m, node: { op, args: ['x'], axes: [1] } };
    // indexing by tensors: 32 rows of a 64 × 64 matrix, every other one
    case 'gather':
      return { inputs: [vec('x', [64, 64]), vec('i', [32])], node: { op, args: ['x', 'i'] }, args: { i: evenRows } };
    case 'scatter_add':
    case 'scatter_set':
      return {
        inputs: [vec('x', [64, 64]), vec('i', [32]), vec('y', [32, 64])],
        node: { op, args: ['x', 'i', 'y'] },
        args: { i: evenRows },
      };
    // solves and factorizations of a 96 × 96 matrix (the LU blocked), diagonally dominant (positive definite, for cholesky)
    case 'solve':
    case 'triangular_solve':
      return { inputs: [vec('x', [96, 96]), vec('y', [96, 8])], node: { op, args: ['x', 'y'] }, args: { x: dominant(96) } };
    case 'inv':
    case 'det':
    case 'logabsdet':
    case 'cholesky':
      return { inputs: [vec('x', [96, 96])], node: { op, args: ['x'] }, args: { x: dominant(96) } };
    default: {
      const def = WIRE_OPS.find((o) => o.name === op);
      if (def?.arity === 1) return unary;
      if (def?.arity === 2) return binary;
      return undefined;
    }
  }
}

/** argFor's n × n matrix with n added to its diagonal: well conditioned, and (symmetrised) positive definite. */
/** Row indices 0, 2, …, 62: what the gather and scatter cases read and write. */
const evenRows = Array.from({ length: 32 }, (_, i) => 2 * i);

function dominant(n: number): number[][] {
  return (argFor([n, n], 1) as number[][]).map((row, i) => row.map((v, j) => (i === j ? v + n : v)));
}

/** Values in (0.2, 0.8): inside every unary op's domain, away from kinks. */
function argFor(shape: number[], seed: number): number | unknown[] {
  let s = seed;
  const next = (): number => {
    s = (s * 16807) % 2147483647;
    return 0.2 + 0.6 * (s / 2147483647);
  };
  const build = (d: number): number | unknown[] => (d === shape.length ? next() : Array.from({ length: shape[d] }, () => build(d + 1)));
  return build(0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median nanoseconds of `f`, repeated until about 40 ms are spent. */
function timeNs(f: () => void): number {
  for (let i = 0; i < 3; i++) f();
  const samples: number[] = [];
  const end = performance.now() + 40;
  while (performance.now() < end || samples.length < 5) {
    const t = process.hrtime.bigint();
    f();
    samples.push(Number(process.hrtime.bigint() - t));
  }
  return median(samples);
}

function planFor(c: Case): Plan & { args: Tensor[] } {
  const graph = { inputs: c.inputs, nodes: [{ id: 'y_out', ...c.node }], outputs: ['y_out'] };
  const args = Object.fromEntries(c.inputs.map((inp, i) => [inp.name, c.args?.[inp.name] ?? argFor(inp.shape, i + 1)]));
  const constant = c.node.op === 'where' ? ['c'] : [];
  const req = checkRequest('evaluate', { graph, args, constant });
  return { ...makePlan(req), args: req.args };
}

function sweepNs(plan: Plan & { args: Tensor[] }, kind: 'jvp' | 'vjp', k: number): number {
  const primal = runPrimal(plan, plan.args);
  const d =
    kind === 'jvp'
      ? forwardProgram(
          plan,
          plan.activeValues.map((_, j) => j),
        )
      : reverseProgram(plan, [0]);
  const seeds = d.directionInputs.map((s) =>
    Float64Array.from({ length: k * d.values.info(s).shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)),
  );
  return timeNs(() => {
    const env = primal.env.slice();
    d.directionInputs.forEach((s, i) => {
      env[s] = seeds[i];
    });
    execute(d.eqns, d.values, env, k, plan.account);
  });
}

function measure(op: string): OpWeights | undefined {
  const c = caseFor(op);
  if (!c) return undefined;
  const plan = planFor(c);
  const q = plan.schedule[plan.schedule.length - 1];
  const work = workOf(plan, q);
  const primal = timeNs(() => runPrimal(plan, plan.args)) / work;
  if (!q.op.jvp) return { primal, jvp: 0, vjp: 0, jvpFixed: 0, vjpFixed: 0 };
  const fitWeights = (kind: 'jvp' | 'vjp'): [number, number] => {
    const t1 = sweepNs(plan, kind, 1);
    const slope = Math.max(0, (sweepNs(plan, kind, K) - t1) / (K - 1));
    return [slope / work, Math.max(0, t1 - slope) / work];
  };
  const [jvp, jvpFixed] = fitWeights('jvp');
  const [vjp, vjpFixed] = fitWeights('vjp');
  return { primal, jvp, vjp, jvpFixed, vjpFixed };
}

/** Nanoseconds per equation of a chain of scalar negations: the fixed cost of running any equation. */
function overheadNs(): number {
  const n = 200;
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, op: 'neg', args: [i === 0 ? 'x' : `n${i - 1}`] }));
  const req = checkRequest('evaluate', { graph: { inputs: [{ name: 'x', shape: [] }], nodes, outputs: [`n${n - 1}`] }, args: { x: 0.5 } });
  const plan = makePlan(req);
  return timeNs(() => runPrimal(plan, req.args)) / n;
}

/** A chain of n elementwise ops over a vector of `size`, cycling through ops with different rules. */
function chainRequest(n: number, size: number) {
  const cycle = ['sin', 'exp', 'tanh', 'square', 'cos', 'neg'];
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, op: cycle[i % cycle.length], args: [i === 0 ? 'x' : `n${i - 1}`] }));
  nodes.push({ id: 'y', op: 'sum', args: [`n${n - 1}`] });
  return { graph: { inputs: [{ name: 'x', shape: [size] }], nodes, outputs: ['y'] }, args: { x: argFor([size], 7) } };
}

/** What a first call costs beyond arithmetic, per unit (see RequestOverheads). */
function requestOverheads(): RequestOverheads {
  const n = 400;
  const req = chainRequest(n, 8);
  const checkNsPerNode = timeNs(() => checkRequest('gradient', req)) / (n + 1);

  const big = chainRequest(2, 100_000);
  const cache = new PlanCache(1 << 28);
  checkRequest('gradient', big, undefined, undefined, cache); // the graph is cached: what is left is reading arguments
  const text = JSON.stringify(big);
  const parseNsPerByte = timeNs(() => JSON.parse(text)) / text.length;
  const bytes = JSON.stringify(big.args).length;
  const validateNsPerByte = timeNs(() => checkRequest('gradient', big, undefined, undefined, cache)) / bytes;

  const checked = checkRequest('gradient', req);
  const planNs = timeNs(() => makePlan(checked));
  const eqns = makePlan(checked).activeSchedule.length;
  const fwd = timeNs(() => forwardProgram(makePlan(checked), [0])) - planNs;
  const rev = timeNs(() => reverseProgram(makePlan(checked), [0])) - planNs;
  const buildNsPerEqn = Math.max(fwd, rev) / eqns;

  const plan = makePlan(checked);
  const programs = [forwardProgram(plan, [0]), reverseProgram(plan, [0])];
  const compileNs = programs.map((d) => timeNs(() => compileSegment(d.eqns, d.values, 1, new MemoryAccount(Infinity))));
  const compileNsPerEqn = Math.max(...compileNs) / eqns;
  return { parseNsPerByte, checkNsPerNode, validateNsPerByte, buildNsPerEqn, compileNsPerEqn };
}

const round = (x: number): number => Number(x.toPrecision(3));
const out = new URL('../src/analysis/cost-weights.json', import.meta.url);
// --only a,b: measure just these ops and keep every other weight (a new op's first weights)
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
if (only !== undefined) {
  const current = JSON.parse(readFileSync(out, 'utf8')) as CostWeights;
  const measured: Record<string, OpWeights> = {};
  for (const name of only.split(',')) {
    const w = measure(name);
    if (!w) throw new Error(`no calibration case for ${name}`);
    measured[name] = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, round(v)])) as unknown as OpWeights;
  }
  writeFileSync(out, `${JSON.stringify({ ...current, ops: { ...current.ops, ...measured } }, null, 2)}\n`);
  console.table(measured);
  console.log(`${Object.keys(measured).join(', ')} written to ${out.pathname}`);
  process.exit(0);
}
const overheads = Object.fromEntries(Object.entries(requestOverheads()).map(([k, v]) => [k, round(v)])) as unknown as RequestOverheads;
if (process.argv.includes('--overheads')) {
  const current = JSON.parse(readFileSync(out, 'utf8')) as CostWeights;
  writeFileSync(out, `${JSON.stringify({ ...current, overheads }, null, 2)}\n`);
  console.table(overheads);
  console.log(`overheads written to ${out.pathname}`);
  process.exit(0);
}
const ops: Record<string, OpWeights> = {};
for (const op of WIRE_OPS) {
  const w = measure(op.name);
  if (w) ops[op.name] = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, round(v)])) as unknown as OpWeights;
}
const all = Object.values(ops);
const weights: CostWeights & { note: string } = {
  note: `Measured by npm run calibrate (scripts/calibrate-cost.ts) on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}; nanoseconds per unit of work (per direction for jvp and vjp).`,
  eqnOverheadNs: round(overheadNs()),
  default: {
    primal: round(median(all.map((w) => w.primal))),
    jvp: round(median(all.map((w) => w.jvp).filter((x) => x > 0))),
    vjp: round(median(all.map((w) => w.vjp).filter((x) => x > 0))),
    jvpFixed: round(median(all.map((w) => w.jvpFixed))),
    vjpFixed: round(median(all.map((w) => w.vjpFixed))),
  },
  overheads,
  ops,
};
writeFileSync(out, `${JSON.stringify(weights, null, 2)}\n`);
console.table(ops);
console.log(`eqnOverheadNs ${weights.eqnOverheadNs}; written to ${out.pathname}`);
