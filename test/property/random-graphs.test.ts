/**
 * Random composite graphs (test/helpers/random-graph.ts), every engine against
 * every other and against the definitions:
 *
 *   - evaluate gives bit-identical values in every mode;
 *   - forward, reverse and auto Jacobians agree to 1e-12 and fd to 1e-6 (max-norm
 *     error relative to max(1, max|J|)); constant inputs get no block; forward
 *     propagates one direction per active input element, reverse one per output
 *     element; an `outputs` subset gives the same blocks;
 *   - jvp = J t and vjp = cᵀ J in forward and reverse mode (and fd's jvp);
 *   - gradient of sum(output) agrees between modes and with the Jacobian;
 *   - activity: activeNodes + inactiveNodes is the node count, and activeNodes is
 *     what the documented rule gives (varied, and useful for derivatives, both
 *     through differentiable ops only; where's condition carries nothing);
 *   - on graphs with a scalar output sum(square(o)): Hessians by forward-over-reverse,
 *     forward-over-forward and fd agree (1e-10 / 1e-6), are symmetric, and hvp = H v.
 *
 * fd runs on each case's `fd` graph, where stop_gradient nodes are constant inputs
 * (fd cannot see stop_gradient). The seed is fixed (override with
 * RANDOM_GRAPHS_SEED); fast-check prints it with the failing graph as JSON.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, gradient, hessian, hvp, jacobian, jvp, vjp, type Result } from '../../src/index.js';
import { hessianCompression } from '../../src/analysis/colouring.js';
import { compressionFor } from '../../src/analysis/cost.js';
import { makePlan } from '../../src/analysis/plan.js';
import { checkRequest } from '../../src/graph/request.js';
import { expectClose, maxAbs } from '../helpers/numeric.js';
import { activeInputs, pruned, randomGraphCase, withScalarOutput, type CaseRequest, type GraphCase } from '../helpers/random-graph.js';
import { AD_REL, FD_REL, HESSIAN_REL } from '../helpers/tolerances.js';

const SEED = Number(process.env.RANDOM_GRAPHS_SEED ?? 20_251_127);
const RUNS = 500;
const HESSIAN_RUNS = 150;
/** Cases whose derivatives are not all zero, at least: the properties must not pass vacuously. */
const NONTRIVIAL_RUNS = 250;
const NONTRIVIAL_HESSIANS = 30;

const PACKED = { output: 'packed' } as const;
type Packed = { shape: number[]; data: Float64Array };
type Mode = 'forward' | 'reverse' | 'fd' | 'auto';

const sizeOf = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const flat = (x: unknown): number[] => (Array.isArray(x) ? (x.flat(Infinity as 1) as number[]) : [x as number]);

// --- comparisons ---------------------------------------------------------------------

/**
 * A derivative block against its reference: the same shape, every reference element
 * finite (these graphs stay in safe domains, so a NaN or infinity is a bug), and
 * expectClose with the error relative to max(1, scale), scale defaulting to max |ref|.
 */
function expectBlock(label: string, got: Packed, ref: Packed, tol: number, scale?: number): void {
  equal(`${label}: shape`, got.shape, ref.shape);
  const bad = Array.from(ref.data).findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${label}: reference element ${bad} is ${ref.data[bad]}`);
  expectClose(got.data, ref.data, tol, { label, scale: scale ?? 'max' });
}

function equal<T>(label: string, got: T, want: T): void {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${label}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
}

const packed = (x: unknown): Packed => x as Packed;
const tensor = (shape: number[], data: ArrayLike<number>): Packed => ({ shape, data: Float64Array.from(data) });

// --- requests ------------------------------------------------------------------------

const request = (r: CaseRequest, mode: Mode, extra: object = {}) => ({
  graph: r.graph,
  args: r.args,
  constant: r.constant,
  mode,
  ...extra,
});
/** fd runs on the graph with stop_gradient frozen into constant inputs. */
const forMode = (c: GraphCase, mode: Mode): CaseRequest => (mode === 'fd' ? c.fd : c);

/** J[o][i] as a matrix (rows: output elements, columns: input elements). */
function blockOf(r: Result, o: string, i: string): Packed {
  return packed((r.jacobian as Record<string, Record<string, unknown>>)[o][i]);
}

/** Active nodes by the documented rule, computed from the wire graph. */
const NOT_DIFFERENTIABLE = new Set(['stop_gradient', 'const', 'fill', 'range', 'lt', 'le', 'gt', 'ge', 'eq', 'ne']);
function expectedActiveNodes(c: CaseRequest): number {
  const varied = new Set(activeInputs(c));
  for (const n of c.graph.nodes) {
    // where's condition (argument 0) carries no derivative
    const carries = (a: string | number, i: number): boolean => typeof a === 'string' && varied.has(a) && !(n.op === 'where' && i === 0);
    if (!NOT_DIFFERENTIABLE.has(n.op) && (n.args ?? []).some(carries)) varied.add(n.id);
  }
  const byId = new Map(c.graph.nodes.map((n) => [n.id, n]));
  // Useful for derivatives: reaches an output along edges a derivative can flow on.
  const useful = new Set<string>();
  const visit = (id: string): void => {
    if (useful.has(id)) return;
    useful.add(id);
    const n = byId.get(id);
    if (!n || NOT_DIFFERENTIABLE.has(n.op)) return;
    (n.args ?? []).forEach((a, i) => {
      if (typeof a === 'string' && !(n.op === 'where' && i === 0)) visit(a);
    });
  };
  c.graph.outputs.forEach(visit);
  return c.graph.nodes.filter((n) => useful.has(n.id) && varied.has(n.id)).length;
}

/**
 * Directions a Jacobian's sweeps carry in `mode`: one per input (forward) or output
 * (reverse) element, or, for a sparse Jacobian the cost model compresses, one per
 * colour (fewer: src/engines/compressed.test.ts holds the two to the same numbers).
 */
function jacobianDirections(req: object, mode: 'forward' | 'reverse', plain: number): number {
  const count = compressionFor(makePlan(checkRequest('jacobian', req)), mode)?.count;
  if (count !== undefined && !(count < plain)) throw new Error(`${mode}: ${count} colours for ${plain} elements`);
  return count ?? plain;
}

/** Elements of the active inputs a tangent can flow from to an output: what forward mode sweeps (an input that reaches none costs nothing). */
function reachingElements(req: object, operation: 'jacobian' | 'gradient'): number {
  const plan = makePlan(checkRequest(operation, req));
  return sum(plan.activeValues.filter((v) => plan.isActive[v] === 1).map((v) => sizeOf(plan.program.values.info(v).shape)));
}

/** Elements of the requested outputs some active input reaches: what reverse mode sweeps. */
function reachedElements(req: object, operation: 'jacobian' | 'gradient'): number {
  const plan = makePlan(checkRequest(operation, req));
  return sum(plan.outputValues.filter((v) => plan.isActive[v] === 1).map((v) => sizeOf(plan.program.values.info(v).shape)));
}

function checkStats(label: string, r: Result, c: CaseRequest, directions: number): void {
  equal(`${label}: stats.directions`, r.stats.directions, directions);
  equal(`${label}: activeNodes + inactiveNodes`, r.stats.activeNodes + r.stats.inactiveNodes, c.graph.nodes.length);
  equal(`${label}: activeNodes`, r.stats.activeNodes, expectedActiveNodes(c));
}

// --- the first-order property ----------------------------------------------------------

let nontrivialJacobians = 0;
let nontrivialHessians = 0;
/** Cases where `check: true` ran (graphs without stop_gradient, which fd cannot see). */
let checkedByFd = 0;

async function checkFirstOrder(c: GraphCase): Promise<void> {
  const active = activeInputs(c);
  const outs = c.graph.outputs;
  const shape = (n: string): number[] => c.shapes[n];
  const activeElements = sum(active.map((i) => sizeOf(shape(i))));

  // evaluate: the same values, bit for bit, in every mode (fd's graph too).
  const modes: Mode[] = ['forward', 'reverse', 'fd', 'auto'];
  const evals = await Promise.all(modes.map((m) => evaluate(request(forMode(c, m), m), PACKED)));
  const values = evals[0].values;
  for (const o of outs) equal(`values[${o}].shape`, packed(values[o]).shape, shape(o));
  evals.forEach((e, k) => {
    for (const o of outs) {
      expectClose(packed(e.values[o]).data, packed(values[o]).data, 0, `evaluate ${modes[k]}: values of ${o} (vs forward)`);
    }
  });

  // Packed arguments give the same values.
  const packedArgs = Object.fromEntries(
    Object.entries(c.args).map(([k, v]) => [k, { shape: c.shapes[k], data: Float64Array.from(flat(v)) }]),
  );
  const ep = await evaluate({ ...request(c, 'reverse'), args: packedArgs }, PACKED);
  for (const o of outs) expectClose(packed(ep.values[o]).data, packed(values[o]).data, 0, `evaluate with packed args: values of ${o}`);

  // Jacobians in every mode.
  const [jf, jr, jd, ja] = await Promise.all(modes.map((m) => jacobian(request(forMode(c, m), m), PACKED)));
  for (const [m, r] of [
    ['forward', jf],
    ['reverse', jr],
    ['fd', jd],
  ] as const)
    equal(`jacobian ${m}: mode`, r.mode, m);
  for (const [m, r] of [
    ['forward', jf],
    ['reverse', jr],
    ['fd', jd],
    ['auto', ja],
  ] as const) {
    equal(`jacobian ${m}: outputs`, Object.keys(r.jacobian ?? {}), outs);
    for (const o of outs) {
      equal(`jacobian ${m}: blocks of ${o} (constant inputs have none)`, Object.keys(r.jacobian?.[o] ?? {}), active);
      expectClose(packed(r.values[o]).data, packed(values[o]).data, 0, `jacobian ${m}: values of ${o} (vs evaluate)`);
    }
  }
  for (const o of outs) {
    for (const i of active) {
      const ref = blockOf(jf, o, i);
      equal(`jacobian forward: shape of d${o}/d${i}`, ref.shape, [...shape(o), ...shape(i)]);
      expectBlock(`jacobian reverse vs forward: d${o}/d${i}`, blockOf(jr, o, i), ref, AD_REL);
      expectBlock(`jacobian auto (${ja.mode}) vs forward: d${o}/d${i}`, blockOf(ja, o, i), ref, AD_REL);
      expectBlock(`jacobian fd vs forward: d${o}/d${i}`, blockOf(jd, o, i), ref, FD_REL);
    }
  }
  if (outs.some((o) => active.some((i) => maxAbs(blockOf(jf, o, i).data) > 0))) nontrivialJacobians++;
  checkStats(
    'jacobian forward',
    jf,
    c,
    jacobianDirections(request(c, 'forward'), 'forward', reachingElements(request(c, 'forward'), 'jacobian')),
  );
  // Nested output: the same numbers as packed.
  const nested = await jacobian(request(c, 'reverse'));
  for (const o of outs) {
    expectClose(flat(nested.values[o]), packed(values[o]).data, 0, `jacobian nested: values of ${o} (vs packed)`);
    for (const i of active) {
      expectClose(flat(nested.jacobian?.[o][i]), blockOf(jr, o, i).data, 0, `jacobian nested: d${o}/d${i} (vs packed)`);
    }
  }
  // check: true compares with fd on the same graph, which cannot see stop_gradient.
  if (!c.graph.nodes.some((n) => n.op === 'stop_gradient')) {
    checkedByFd++;
    const checked = await jacobian(request(c, 'reverse', { check: true }), PACKED);
    const err = Number(checked.check?.maxRelError ?? NaN);
    if (!(err <= FD_REL)) throw new Error(`jacobian check: true: maxRelError ${err} > ${FD_REL}`);
  }
  checkStats(
    'jacobian reverse',
    jr,
    c,
    jacobianDirections(request(c, 'reverse'), 'reverse', reachedElements(request(c, 'reverse'), 'jacobian')),
  );
  equal('jacobian fd: stats.directions', jd.stats.directions, activeElements);

  // A subset of the outputs: the same blocks, directions for that output only.
  const last = outs[outs.length - 1];
  const sub = await jacobian(request(c, 'reverse', { outputs: [last] }), PACKED);
  equal('jacobian outputs subset: outputs', Object.keys(sub.jacobian ?? {}), [last]);
  for (const i of active) expectBlock(`jacobian outputs subset: d${last}/d${i}`, blockOf(sub, last, i), blockOf(jf, last, i), AD_REL);
  equal(
    'jacobian outputs subset: directions',
    sub.stats.directions,
    jacobianDirections(
      request(c, 'reverse', { outputs: [last] }),
      'reverse',
      reachedElements(request(c, 'reverse', { outputs: [last] }), 'jacobian'),
    ),
  );

  // jvp = J t, per output; the scale is max over rows of Σ|J_pq t_q|.
  const t = await Promise.all(
    (['forward', 'reverse', 'fd'] as const).map((m) => jvp(request(forMode(c, m), m, { tangents: c.tangents }), PACKED)),
  );
  for (const o of outs) {
    const m = sizeOf(shape(o));
    const ref = new Float64Array(m);
    const abs = new Float64Array(m);
    for (const i of active) {
      const J = blockOf(jf, o, i).data;
      const ti = flat(c.tangents[i]);
      const n = ti.length;
      for (let p = 0; p < m; p++) {
        for (let q = 0; q < n; q++) {
          ref[p] += J[p * n + q] * ti[q];
          abs[p] += Math.abs(J[p * n + q] * ti[q]);
        }
      }
    }
    const want = tensor(shape(o), ref);
    const scale = maxAbs(abs);
    expectBlock(`jvp forward: ${o}`, packed(t[0].jvp?.[o]), want, AD_REL, scale);
    expectBlock(`jvp reverse: ${o}`, packed(t[1].jvp?.[o]), want, AD_REL, scale);
    expectBlock(`jvp fd: ${o}`, packed(t[2].jvp?.[o]), want, FD_REL, scale);
  }

  // vjp = cᵀ J, per active input.
  const v = await Promise.all(
    (['forward', 'reverse', 'fd'] as const).map((m) => vjp(request(forMode(c, m), m, { cotangents: c.cotangents }), PACKED)),
  );
  for (const r of v) equal(`vjp ${r.mode}: inputs`, Object.keys(r.vjp ?? {}), active);
  for (const i of active) {
    const n = sizeOf(shape(i));
    const ref = new Float64Array(n);
    const abs = new Float64Array(n);
    for (const o of outs) {
      const J = blockOf(jf, o, i).data;
      const co = flat(c.cotangents[o]);
      for (let p = 0; p < co.length; p++) {
        for (let q = 0; q < n; q++) {
          ref[q] += co[p] * J[p * n + q];
          abs[q] += Math.abs(co[p] * J[p * n + q]);
        }
      }
    }
    const want = tensor(shape(i), ref);
    for (const r of v) expectBlock(`vjp ${r.mode}: ${i}`, packed(r.vjp?.[i]), want, r.mode === 'fd' ? FD_REL : AD_REL, maxAbs(abs));
  }

  // gradient of sum(first output): both modes, and the column sums of its Jacobian.
  const s = withScalarOutput(c, 'sum');
  const [gf, gr] = await Promise.all((['forward', 'reverse'] as const).map((m) => gradient(request(s, m), PACKED)));
  const o0 = outs[0];
  for (const g of [gf, gr]) {
    equal(`gradient ${g.mode}: inputs`, Object.keys(g.gradient ?? {}), active);
    checkStats(
      `gradient ${g.mode}`,
      g,
      s,
      g.mode === 'forward' ? reachingElements(request(s, 'forward'), 'gradient') : reachedElements(request(s, 'reverse'), 'gradient'),
    );
  }
  for (const i of active) {
    const J = blockOf(jf, o0, i).data;
    const n = sizeOf(shape(i));
    const ref = new Float64Array(n);
    const abs = new Float64Array(n);
    for (let p = 0; p < J.length / Math.max(1, n); p++) {
      for (let q = 0; q < n; q++) {
        ref[q] += J[p * n + q];
        abs[q] += Math.abs(J[p * n + q]);
      }
    }
    const want = tensor(shape(i), ref);
    expectBlock(`gradient reverse vs forward: ${i}`, packed(gr.gradient?.[i]), packed(gf.gradient?.[i]), AD_REL);
    expectBlock(`gradient forward vs Jacobian of ${o0}: ${i}`, packed(gf.gradient?.[i]), want, AD_REL, maxAbs(abs));
  }
}

// --- the second-order property ---------------------------------------------------------

async function checkSecondOrder(c: GraphCase): Promise<void> {
  const active = activeInputs(c);
  const shape = (n: string): number[] => c.shapes[n];
  // Forward runs on the graph with its original outputs too, choosing the scalar one with `outputs`.
  const allOutputs = { ...c, graph: { ...c.graph, outputs: [...c.graph.outputs, ...(c.previousOutputs ?? [])] } };
  const [hr, hf, hd, ha] = await Promise.all([
    hessian(request(c, 'reverse'), PACKED),
    hessian(request(allOutputs, 'forward', { outputs: c.graph.outputs }), PACKED),
    hessian(request(c.fd, 'fd'), PACKED),
    hessian(request(c, 'auto'), PACKED),
  ]);
  const H = (r: Result, a: string, b: string): Packed => packed((r.hessian as Record<string, Record<string, unknown>>)[a][b]);
  let scale = 0;
  for (const r of [hr, hf, hd, ha]) {
    equal(`hessian ${r.mode}: rows`, Object.keys(r.hessian ?? {}), active);
    for (const a of active) equal(`hessian ${r.mode}: columns of ${a}`, Object.keys(r.hessian?.[a] ?? {}), active);
  }
  for (const a of active) for (const b of active) scale = Math.max(scale, maxAbs(H(hr, a, b).data));
  if (scale > 0) nontrivialHessians++;
  for (const a of active) {
    for (const b of active) {
      const ref = H(hr, a, b);
      equal(`hessian reverse: shape of d²/d${a}d${b}`, ref.shape, [...shape(a), ...shape(b)]);
      expectBlock(`hessian forward vs reverse: d²/d${a}d${b}`, H(hf, a, b), ref, HESSIAN_REL, scale);
      expectBlock(`hessian fd vs reverse: d²/d${a}d${b}`, H(hd, a, b), ref, FD_REL, scale);
      expectBlock(`hessian auto (${ha.mode}) vs reverse: d²/d${a}d${b}`, H(ha, a, b), ref, HESSIAN_REL, scale);
      // Symmetry: H[a][b][p, q] = H[b][a][q, p].
      const m = sizeOf(shape(a));
      const n = sizeOf(shape(b));
      const other = H(hr, b, a).data;
      const transposed = Float64Array.from({ length: m * n }, (_, k) => other[(k % n) * m + Math.floor(k / n)]);
      expectBlock(`hessian reverse symmetry: d²/d${a}d${b}`, tensor(ref.shape, transposed), ref, HESSIAN_REL, scale);
    }
  }
  // Directions (docs/graph-format.md, Modes): n for forward-over-reverse (one per colour
  // for a sparse Hessian, src/engines/compressed.test.ts) and fd, n² for forward-over-forward
  // (one forward-over-forward hvp of n directions per basis vector).
  const n = sum(active.map((a) => sizeOf(shape(a))));
  const colours = hessianCompression(makePlan(checkRequest('hessian', request(c, 'reverse'))))?.count;
  if (colours !== undefined && !(colours < n)) throw new Error(`hessian: ${colours} colours for ${n} elements`);
  checkStats('hessian reverse', hr, c, colours ?? n);
  checkStats('hessian forward (outputs subset)', hf, c, n * n);
  checkStats(`hessian auto (${ha.mode})`, ha, c, ha.mode === 'forward' ? n * n : (colours ?? n));
  equal('hessian fd: stats.directions', hd.stats.directions, n);

  // hvp = H v, in both modes.
  const hv = await Promise.all((['reverse', 'forward', 'auto'] as const).map((m) => hvp(request(c, m, { vector: c.vector }), PACKED)));
  for (const r of hv) equal(`hvp ${r.mode}: inputs`, Object.keys(r.hvp ?? {}), active);
  // one forward-over-reverse sweep, or n forward-over-forward ones
  for (const r of hv) equal(`hvp ${r.mode}: stats.directions`, r.stats.directions, r.mode === 'forward' ? n : 1);
  const hvFd = await hvp(request(c.fd, 'fd', { vector: c.vector }), PACKED);
  // one central difference along the vector, none along an all-zero one
  const moves = active.some((a) => flat(c.vector[a]).some((v) => v !== 0));
  equal('hvp fd: stats.directions', hvFd.stats.directions, moves ? 1 : 0);
  for (const a of active) {
    const m = sizeOf(shape(a));
    const ref = new Float64Array(m);
    const abs = new Float64Array(m);
    for (const b of active) {
      const blk = H(hr, a, b).data;
      const vb = flat(c.vector[b]);
      for (let p = 0; p < m; p++) {
        for (let q = 0; q < vb.length; q++) {
          ref[p] += blk[p * vb.length + q] * vb[q];
          abs[p] += Math.abs(blk[p * vb.length + q] * vb[q]);
        }
      }
    }
    const want = tensor(shape(a), ref);
    for (const r of hv) expectBlock(`hvp ${r.mode}: ${a}`, packed(r.hvp?.[a]), want, HESSIAN_REL, maxAbs(abs));
    expectBlock(`hvp fd: ${a}`, packed(hvFd.hvp?.[a]), want, FD_REL, maxAbs(abs));
  }
}

// --- running ---------------------------------------------------------------------------

/** Runs a check; a failure says which check and shows the graph without dead nodes. */
async function explained(c: GraphCase, check: (c: GraphCase) => Promise<void>): Promise<void> {
  try {
    await check(c);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${msg}\nthe graph without unused nodes: ${JSON.stringify(pruned(c.graph))}\nconstant: ${JSON.stringify(c.constant)}`);
  }
}

describe('random composite graphs', () => {
  it(`first order: every mode agrees on ${RUNS} graphs (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.limitShrink(randomGraphCase(), 100), (c) => explained(c, checkFirstOrder)),
      { seed: SEED, numRuns: RUNS },
    );
    expect(nontrivialJacobians).toBeGreaterThanOrEqual(NONTRIVIAL_RUNS);
    // the check: true comparison ran on most graphs, not only on the few without stop_gradient
    expect(checkedByFd).toBeGreaterThanOrEqual(NONTRIVIAL_RUNS);
  });

  it(`second order: Hessians of sum(square(o)) agree on ${HESSIAN_RUNS} graphs (seed ${SEED})`, async () => {
    const cases = randomGraphCase({ maxNodes: 12, maxActiveElements: 12 }).map((c) => withScalarOutput(c, 'sumsq'));
    await fc.assert(
      fc.asyncProperty(fc.limitShrink(cases, 100), (c) => explained(c, checkSecondOrder)),
      { seed: SEED, numRuns: HESSIAN_RUNS },
    );
    expect(nontrivialHessians).toBeGreaterThanOrEqual(NONTRIVIAL_HESSIANS);
  });

  it('the generator covers the op mix', () => {
    const seen = new Set<string>();
    for (const c of fc.sample(randomGraphCase(), { seed: SEED, numRuns: RUNS })) for (const n of c.graph.nodes) seen.add(n.op);
    const wanted = [
      'exp',
      'log',
      'sqrt',
      'sin',
      'cos',
      'tanh',
      'sigmoid',
      'softplus',
      'square',
      'atan',
      'erf',
      'add',
      'sub',
      'mul',
      'div',
      'pow',
      'maximum',
      'minimum',
      'gt',
      'lt',
      'where',
      'sum',
      'mean',
      'prod',
      'max',
      'min',
      'logsumexp',
      'dot',
      'matmul',
      'transpose',
      'outer',
      'reshape',
      'broadcast_to',
      'slice',
      'index',
      'concat',
      'stack',
      'const',
      'fill',
      'range',
      'stop_gradient',
    ];
    expect(wanted.filter((op) => !seen.has(op))).toEqual([]);
  });
});
