/**
 * Derivative programs: built from a plan by the program transformations
 * (ir/transform.ts) on top of the primal program, whose values they share and never
 * recompute, memoised per plan, and run over a batch of k directions.
 *
 * Directions are grouped: forward mode directionInputs one active input at a time, so a
 * direction only flows through what that input reaches; reverse mode directionInputs one
 * output at a time.
 */
import { cheaperToRecompute } from '../analysis/cost.js';
import type { Plan } from '../analysis/plan.js';
import type { MemoryAccount } from '../graph/plan-cache.js';
import { ProgramBuilder } from '../ir/builder.js';
import { runEqns, type Env } from '../ir/interpret.js';
import type { Eqn, ValueId, ValueTable } from '../ir/program.js';
import { jvpEqns, vjpEqns } from '../ir/transform.js';
import { sizeOf } from '../tensor/tensor.js';
import { compiledSource, execute, type Kept } from '../compile/execute.js';

/** Slots an environment needs for the plan and every derivative program built on it so far. */
const envSizes = new WeakMap<Plan, number>();

/** Slots a primal environment needs so that every derivative program built so far can extend it. */
export function envSlots(plan: Plan): number {
  return envSizes.get(plan) ?? plan.program.values.length;
}

/**
 * A derivative program: equations to run after the primal, directionInputs to fill, results
 * to read. Its value table extends the primal's; the Emit that built it (with its
 * common-subexpression map) is dropped once it is built.
 */
export interface Derived {
  values: ValueTable;
  eqns: Eqn[];
  directionInputs: ValueId[];
  results: (ValueId | null)[];
  /** Widest batched value: bounds chunk sizes. */
  widest: number;
  /** The plan's account, which its compiled code charges too. */
  account: MemoryAccount;
  /** What callers read after a run: the results (compiled code keeps no other value). */
  kept: Kept;
  /** What runs: with k > 1, and with k = 1 (when that recomputes cheap residuals in its own loops). */
  general: Variant;
  single: Variant;
  primalKept: PrimalKept;
  plan: Plan;
}

/** An equation list to run and the primal values it reads (residuals): the primal run keeps them once it runs. */
interface Variant {
  eqns: readonly Eqn[];
  residuals: ValueId[];
  registered: boolean;
}

function derived(plan: Plan, e: ProgramBuilder, eqns: Eqn[], directionInputs: ValueId[], results: (ValueId | null)[]): Derived {
  let widest = 1;
  // batched values are the program's own: the primal it extends has none
  for (const v of e.values.ownValues()) if (v.batched) widest = Math.max(widest, sizeOf(v.shape));
  const kept = { values: new Set(results.filter((r): r is ValueId => r !== null)), version: 0 };
  const general = variant(plan, eqns, results, []);
  // With one direction batched and unbatched values share loops, so recomputed residuals fuse.
  const again = recomputed(plan, eqns);
  const single = again.length === 0 ? general : variant(plan, [...again, ...eqns], results, again);
  return {
    values: e.values,
    eqns,
    directionInputs,
    results,
    widest,
    account: plan.account,
    kept,
    general,
    single,
    primalKept: primalKeptOf(plan),
    plan,
  };
}

function variant(plan: Plan, eqns: readonly Eqn[], results: readonly (ValueId | null)[], again: readonly Eqn[]): Variant {
  const primalLength = plan.program.values.length;
  const made = new Set(again.map((q) => q.out));
  const residuals = new Set<ValueId>();
  for (const q of eqns) for (const a of q.args) if (a < primalLength && !made.has(a)) residuals.add(a);
  for (const r of results) if (r !== null && r < primalLength && !made.has(r)) residuals.add(r);
  return { eqns, residuals: [...residuals], registered: false };
}

/** Most primal equations a derivative program recomputes (its loops grow by as many). */
const MAX_RECOMPUTED = 64;

/**
 * The primal equations a derivative program recomputes instead of reading their
 * values (the cost model's choice, cheaperToRecompute), in primal order: every
 * residual whose producer is cheap, and its arguments' producers in turn.
 */
function recomputed(plan: Plan, eqns: readonly Eqn[]): Eqn[] {
  const primalLength = plan.program.values.length;
  const producer = producers(plan);
  const chosen = new Set<Eqn>();
  const visit = (v: ValueId): void => {
    const q = producer.get(v);
    if (q === undefined || chosen.has(q) || chosen.size >= MAX_RECOMPUTED || !cheaperToRecompute(q)) return;
    chosen.add(q);
    for (const a of q.args) visit(a);
  };
  for (const q of eqns) for (const a of q.args) if (a < primalLength) visit(a);
  return plan.schedule.filter((q) => chosen.has(q));
}

function producers(plan: Plan): Map<ValueId, Eqn> {
  let m = plan.memo.get('producers') as Map<ValueId, Eqn> | undefined;
  if (m === undefined) {
    m = new Map(plan.schedule.map((q) => [q.out, q]));
    plan.memo.set('producers', m);
  }
  return m;
}

/**
 * The primal values read after the primal run: the outputs, and the residuals of
 * every derivative program built for the plan so far. It grows as programs are
 * built, and its version with it, so the primal's compiled code keeps them.
 */
class PrimalKept implements Kept {
  readonly values: Set<ValueId>;
  version = 0;
  constructor(outputs: readonly ValueId[]) {
    this.values = new Set(outputs);
  }
  add(vs: readonly ValueId[]): void {
    const before = this.values.size;
    for (const v of vs) this.values.add(v);
    if (this.values.size > before) this.version++;
  }
}

export function primalKept(plan: Plan): Kept {
  return primalKeptOf(plan);
}

function primalKeptOf(plan: Plan): PrimalKept {
  let k = plan.memo.get('primal-kept') as PrimalKept | undefined;
  if (k === undefined) {
    k = new PrimalKept(plan.outputValues);
    plan.memo.set('primal-kept', k);
  }
  return k;
}

/** Bytes a derivative program keeps: its equations (with their argument lists) and its own values. */
function derivedBytes(d: Derived): number {
  let bytes = 256 + 96 * d.values.ownValues().length;
  for (const q of d.eqns) bytes += 160 + 8 * q.args.length;
  return bytes;
}

/**
 * Runs a derivative program on top of the primal's environment. It writes only
 * slots past the primal's (every derivative program numbers its values from
 * there), and computes every slot before reading it, so programs can share the
 * environment one after another without copying it.
 */
export function runDerived(d: Derived, base: Env, inputData: readonly Float64Array[], k: number): Env {
  const env = base;
  const run = k === 1 ? d.single : d.general;
  if (!run.registered) {
    // From now on the primal keeps what this list reads; this time it may have to fill it in.
    run.registered = true;
    d.primalKept.add(run.residuals);
  }
  for (const v of run.residuals) {
    if (env[v] === undefined) {
      // The primal ran compiled before this list was built: run it again, interpreted,
      // keeping every value (its arguments are in env; a batch's derivative programs run at k = points).
      runEqns(d.plan.schedule, d.plan.program.values, env, d.plan.batched ? k : 1);
      break;
    }
  }
  for (let i = 0; i < d.directionInputs.length; i++) env[d.directionInputs[i]] = inputData[i];
  execute(run.eqns, d.values, env, k, d.account, d.kept);
  return env;
}

/** Batched tangent inputs for the active inputs `group` (indices into plan.activeValues), recorded in `tangents`. */
function tangentInputs(e: ProgramBuilder, plan: Plan, group: readonly number[], tangents: Map<ValueId, ValueId>): ValueId[] {
  return group.map((j) => {
    const v = plan.activeValues[j];
    const s = e.input(plan.program.values.info(v).shape, true);
    tangents.set(v, s);
    return s;
  });
}

/**
 * Builds a derivative program once per plan and key, and keeps it when the graph's
 * account can pay for it; otherwise it is used for this call and built again next
 * time (a plan with thousands of per-input programs keeps what fits).
 */
function memo(plan: Plan, key: string, build: () => Derived): Derived {
  let d = plan.memo.get(key) as Derived | undefined;
  if (d === undefined) {
    d = build();
    if (plan.account.charge(derivedBytes(d))) plan.memo.set(key, d);
    else plan.memo.set('programs-dropped', true);
    envSizes.set(plan, Math.max(envSizes.get(plan) ?? 0, d.values.length));
  }
  return d;
}

/** Tangents of the outputs, with batched tangent inputs for the active inputs `group` (indices into plan.activeValues). */
export function forwardProgram(plan: Plan, group: readonly number[]): Derived {
  return memo(plan, `forward:${group.join(',')}`, () => buildForward(plan, group));
}

function buildForward(plan: Plan, group: readonly number[]): Derived {
  const e = new ProgramBuilder(plan.program);
  const tangents = new Map<ValueId, ValueId>();
  const directionInputs = tangentInputs(e, plan, group, tangents);
  const start = e.eqns.length;
  jvpEqns(e, plan.activeSchedule, tangents);
  return derived(
    plan,
    e,
    e.eqns.slice(start),
    directionInputs,
    plan.outputValues.map((v) => tangents.get(v) ?? null),
  );
}

/** Cotangents of the active inputs, with batched cotangent inputs for the outputs `group` (indices into plan.outputValues). */
export function reverseProgram(plan: Plan, group: readonly number[]): Derived {
  return memo(plan, `reverse:${group.join(',')}`, () => buildReverse(plan, group));
}

function buildReverse(plan: Plan, group: readonly number[]): Derived {
  const e = new ProgramBuilder(plan.program);
  const cotangents = new Map<ValueId, ValueId>();
  const directionInputs = group.map((o) => {
    const v = plan.outputValues[o];
    const s = e.input(plan.program.values.info(v).shape, true);
    cotangents.set(v, cotangents.has(v) ? e.add(cotangents.get(v) as ValueId, s) : s);
    return s;
  });
  const start = e.eqns.length;
  vjpEqns(e, plan.schedule, plan.varied, cotangents);
  return derived(
    plan,
    e,
    e.eqns.slice(start),
    directionInputs,
    plan.activeValues.map((v) => cotangents.get(v) ?? null),
  );
}

/**
 * Forward-over-reverse: the gradient of the (scalar) output as unbatched
 * equations, then batched tangents of that gradient for the active inputs
 * `group`. results[a] is the tangent of the gradient of active input a.
 */
export function hessianProgram(plan: Plan, group: readonly number[]): Derived {
  return memo(plan, `hessian:${group.join(',')}`, () => buildHessian(plan, group));
}

function buildHessian(plan: Plan, group: readonly number[]): Derived {
  const e = new ProgramBuilder(plan.program);
  const start = e.eqns.length;
  const cotangents = new Map<ValueId, ValueId>([[plan.outputValues[0], e.literal(1)]]);
  vjpEqns(e, plan.schedule, plan.varied, cotangents);
  const gradients = plan.activeValues.map((v) => cotangents.get(v) ?? null);
  const gradientEqns = e.eqns.slice(start);
  const tangents = new Map<ValueId, ValueId>();
  const directionInputs = tangentInputs(e, plan, group, tangents);
  jvpEqns(e, [...plan.schedule, ...gradientEqns], tangents);
  return derived(
    plan,
    e,
    e.eqns.slice(start),
    directionInputs,
    gradients.map((g) => (g === null ? null : (tangents.get(g) ?? null))),
  );
}

/**
 * Forward-over-forward: first-level tangents u (unbatched inputs, one per active
 * input) give the directional derivative of the scalar output; its batched
 * tangents for active input `group` are one row of H u.
 */
export function forwardOverForwardProgram(plan: Plan, group: number): Derived {
  return memo(plan, `forward-over-forward:${group}`, () => buildForwardOverForward(plan, group));
}

function buildForwardOverForward(plan: Plan, group: number): Derived {
  const e = new ProgramBuilder(plan.program);
  const start = e.eqns.length;
  const first = new Map<ValueId, ValueId>();
  // In a batch each point has its own u.
  const us = plan.activeValues.map((v) => {
    const u = e.input(plan.program.values.info(v).shape, plan.batched);
    first.set(v, u);
    return u;
  });
  jvpEqns(e, plan.schedule, first);
  const firstEqns = e.eqns.slice(start);
  const dir = first.get(plan.outputValues[0]) ?? null;
  const v = plan.activeValues[group];
  const input = e.input(plan.program.values.info(v).shape, true);
  const second = new Map<ValueId, ValueId>([[v, input]]);
  jvpEqns(e, [...plan.schedule, ...firstEqns], second);
  return derived(plan, e, e.eqns.slice(start), [...us, input], [dir === null ? null : (second.get(dir) ?? null)]);
}

/** The compiled code of a plan's lists, for reading: the primal, then each derivative program built so far. */
export interface Listing {
  /** 'primal', or the program's kind and groups ('reverse:0', 'forward:0,1', 'hessian:0'). */
  program: string;
  /** The batch size it is compiled for here (1: the loops recompute cheap residuals). */
  k: number;
  source: string;
}

export function listings(plan: Plan): Listing[] {
  const out: Listing[] = [
    {
      program: 'primal',
      k: 1,
      source: compiledSource(plan.schedule, plan.program.values, 1, { keep: primalKeptOf(plan).values, debug: true }),
    },
  ];
  for (const [key, d] of plan.memo) {
    if (typeof key !== 'string' || !(d as Derived)?.single) continue;
    const run = (d as Derived).single;
    out.push({
      program: key,
      k: 1,
      source: compiledSource(run.eqns, (d as Derived).values, 1, { keep: (d as Derived).kept.values, debug: true }),
    });
  }
  return out;
}
