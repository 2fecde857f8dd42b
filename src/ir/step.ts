/**
 * A function body as a program (graph checking makes one per wire function), and
 * the StepFunction that scan's equations hold (ops/step-function.ts says why the op
 * sees it through an interface): the interpreter runs it, and the program
 * transformations differentiate it when a derivative rule asks.
 *
 * A body runs compiled when the compile layer has offered its runner (setBodyRunner),
 * interpreted otherwise; each run checks the compute deadline first, so a long loop
 * stops between two steps. Derived bodies (a JVP's, a VJP's) are bodies too, so
 * a derivative of a loop is a loop that can be differentiated again.
 */
import type { Emit, ValueId } from '../ops/types.js';
import type { StepFunction } from '../ops/step-function.js';
import { sizeOf, type Shape } from '../tensor/tensor.js';
import { batchedProgram } from './batch.js';
import { ProgramBuilder } from './builder.js';
import { checkDeadline } from './deadline.js';
import { runEqns, type Env } from './interpret.js';
import type { Eqn, Program, ValueTable } from './program.js';
import { jvpEqns, vjpEqns } from './transform.js';

/** A program with named inputs and one output: a wire function's body, checked. */
export interface Body {
  readonly program: Program;
  readonly inputs: readonly ValueId[];
  readonly output: ValueId;
}

/**
 * The body's equations written into `e` over `args` (one per input), with their
 * values renamed: returns the result and the equations as `e` holds them (an
 * equation `e` already had, merged, is listed with its earlier value), which is
 * what a transformation of the copy walks. `node` replaces the equations' wire
 * node when given (a call's expansion is tied to the calling node).
 */
export function replay(body: Body, e: ProgramBuilder, args: readonly ValueId[], node?: number): { out: ValueId; eqns: Eqn[] } {
  const m = new Map<ValueId, ValueId>();
  body.inputs.forEach((v, i) => {
    m.set(v, args[i]);
  });
  const at = (v: ValueId): ValueId => m.get(v) as ValueId;
  const eqns: Eqn[] = [];
  for (const q of body.program.eqns) {
    const as = q.args.map(at);
    const n = node ?? q.node;
    const out = e.applyOp(q.op, as, q.attrs, n);
    m.set(q.out, out);
    eqns.push({ op: q.op, args: as, attrs: q.attrs, out, node: n });
  }
  return { out: at(body.output), eqns };
}

/** The equations of `program` that `output` depends on, in order. */
function needed(program: Program, output: ValueId): Eqn[] {
  const useful = new Uint8Array(program.values.length);
  useful[output] = 1;
  const keep: Eqn[] = [];
  for (let i = program.eqns.length - 1; i >= 0; i--) {
    const q = program.eqns[i];
    if (!useful[q.out]) continue;
    keep.push(q);
    for (const a of q.args) useful[a] = 1;
  }
  return keep.reverse();
}

let serial = 0;

/**
 * How a body's equations are run: the interpreter, unless a higher layer offers a
 * faster runner (compile/execute.ts sets its compiled one when it loads: ir may not
 * import compile). `output` is the one value read afterwards.
 */
export type BodyRunner = (eqns: readonly Eqn[], values: ValueTable, env: Env, k: number, output: ValueId) => void;
let runBody: BodyRunner = (eqns, values, env, k) => runEqns(eqns, values, env, k);

export function setBodyRunner(runner: BodyRunner): void {
  runBody = runner;
}

function builderOf(e: Emit): ProgramBuilder {
  if (!(e instanceof ProgramBuilder)) throw new Error('internal error: a step body is written into a ProgramBuilder');
  return e;
}

export class ProgramStep implements StepFunction {
  readonly inShapes: readonly Shape[];
  readonly outShape: Shape;
  readonly work: number;
  readonly equations: number;
  private readonly body: Body;
  private readonly label: string;
  /** The body with some inputs batched, by which (a mask as a string of 0s and 1s). */
  private readonly batched = new Map<string, Program>();
  private readonly invariant: readonly Eqn[];
  private readonly varying: readonly Eqn[];
  /** The invariant equations' values, computed on the first run. */
  private constants?: Env;
  private readonly scratch = new Map<string, Env>();

  constructor(body: Body, name: string) {
    const eqns = needed(body.program, body.output);
    this.body = { program: { values: body.program.values, eqns }, inputs: body.inputs, output: body.output };
    // Loop-invariant equations (constants and what is computed from constants alone) run
    // once, when the body first runs, not once per step: their values are never written after.
    const varies = new Uint8Array(body.program.values.length);
    for (const v of body.inputs) varies[v] = 1;
    for (const q of eqns) if (q.args.some((a) => varies[a])) varies[q.out] = 1;
    this.invariant = eqns.filter((q) => !varies[q.out]);
    this.varying = eqns.filter((q) => varies[q.out]);
    this.inShapes = body.inputs.map((v) => body.program.values.info(v).shape);
    this.outShape = body.program.values.info(body.output).shape;
    this.work = eqns.reduce((w, q) => w + sizeOf(body.program.values.info(q.out).shape), 0);
    this.equations = eqns.length;
    this.label = `${name}#${++serial}`;
  }

  /** A fresh environment holding the invariant values. */
  private env(): Env {
    if (this.constants === undefined) {
      const env: Env = new Array(this.body.program.values.length);
      runEqns(this.invariant, this.body.program.values, env, 1);
      this.constants = env;
    }
    return this.constants.slice();
  }

  /**
   * The environment a run of `key` ('' unbatched, else the batch mask) reuses from step
   * to step: each step computes every value it reads before reading it, so what the
   * last step left is never read, and a body never runs inside its own run (a body
   * holds no scan of itself), so one per key is enough.
   */
  private scratchFor(key: string): Env {
    let env = this.scratch.get(key);
    if (env === undefined) {
      env = this.env();
      this.scratch.set(key, env);
    }
    return env;
  }

  run(ins: readonly Float64Array[], out: Float64Array): void {
    checkDeadline(); // once per step, whatever the body's code checks
    const { program, inputs, output } = this.body;
    const env = this.scratchFor('');
    for (let i = 0; i < inputs.length; i++) env[inputs[i]] = ins[i];
    runBody(this.varying, program.values, env, 1, output);
    out.set(env[output] as Float64Array);
  }

  runBatch(ins: readonly Float64Array[], batched: readonly boolean[], k: number, out: Float64Array): void {
    checkDeadline();
    const { inputs, output } = this.body;
    const key = batched.map((b) => (b ? 1 : 0)).join('');
    let program = this.batched.get(key);
    if (program === undefined) {
      const { values } = batchedProgram(
        this.body.program,
        inputs.filter((_, i) => batched[i]),
      );
      program = { values, eqns: [...this.varying] }; // its own list: compiled code is kept per list
      this.batched.set(key, program);
    }
    const env = this.scratchFor(key);
    for (let i = 0; i < inputs.length; i++) env[inputs[i]] = ins[i];
    runBody(program.eqns, program.values, env, k, output);
    const y = env[output] as Float64Array;
    if (program.values.info(output).batched) out.set(y);
    else for (let b = 0; b < k; b++) out.set(y, b * y.length);
  }

  derive(inShapes: readonly Shape[], build: (e: Emit, ins: readonly ValueId[]) => ValueId): StepFunction {
    const e = new ProgramBuilder();
    const inputs = inShapes.map((s) => e.input(s));
    const output = build(e, inputs);
    return new ProgramStep({ program: e.program(), inputs, output }, this.label.replace(/#\d+$/, "'"));
  }

  applyInto(e: Emit, args: readonly ValueId[]): ValueId {
    return replay(this.body, builderOf(e), args).out;
  }

  jvpInto(e: Emit, args: readonly ValueId[], dots: readonly (ValueId | null)[]): { y: ValueId; dot: ValueId | null } {
    const b = builderOf(e);
    const { out, eqns } = replay(this.body, b, args);
    const tangents = new Map<ValueId, ValueId>();
    args.forEach((a, i) => {
      const d = dots[i];
      if (d !== null && d !== undefined) tangents.set(a, d);
    });
    jvpEqns(b, eqns, tangents);
    return { y: out, dot: tangents.get(out) ?? null };
  }

  vjpInto(e: Emit, args: readonly ValueId[], yBar: ValueId, wanted: readonly boolean[]): (ValueId | null)[] {
    const b = builderOf(e);
    const { out, eqns } = replay(this.body, b, args);
    const varied = new Uint8Array(b.values.length);
    args.forEach((a, i) => {
      if (wanted[i]) varied[a] = 1;
    });
    for (const q of eqns) {
      const cut = q.op.constantArgs;
      if (q.op.jvp && q.args.some((a, i) => varied[a] && !cut?.includes(i))) varied[q.out] = 1;
    }
    if (!varied[out]) return args.map(() => null);
    const cotangents = new Map<ValueId, ValueId>([[out, yBar]]);
    vjpEqns(b, eqns, varied, cotangents);
    return args.map((a, i) => (wanted[i] ? (cotangents.get(a) ?? null) : null));
  }

  toJSON(): string {
    return this.label;
  }
}
