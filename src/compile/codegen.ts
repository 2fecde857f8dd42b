/**
 * Compiles a run of equations (a primal or derivative program segment, for one
 * batch size k) into one JavaScript function. Chains of elementwise equations of
 * one shape are fused into a single loop that keeps intermediates in locals and
 * calls each op's own scalar function; every other equation runs the
 * interpreter's evalEqn into a buffer allocated once. So compiled and interpreted
 * results are the same bits.
 *
 * Safety: the source is built from fixed text, identifiers minted from integers
 * (`a3` array, `s3` scalar, `v12` value, `f3` scalar function) and safe integers,
 * all checked by `int` below. Ids, names, attributes and literal values never
 * reach the source: literals are const equations whose values live in buffers.
 */
import type { MemoryAccount } from '../graph/plan-cache.js';
import type { Eqn, ValueId, ValueTable } from '../ir/program.js';
import { sameShape, sizeOf } from '../tensor/tensor.js';
import { checkDeadline } from '../ir/deadline.js';
import { evalEqn, type Env } from '../ir/interpret.js';
import { instantiate } from './new-function.js';

export interface Segment {
  /** Runs the equations, reading arguments from env and writing every value into env. */
  run(env: Env): void;
  /** The generated source, for debugging and snapshot tests. */
  readonly source: string;
}

/**
 * Most equations fused into one loop. A loop body is straight-line code with a
 * local per equation; past a few hundred V8 stops optimising it well, and an
 * unbounded one (a 10,000-node chain) would only make one huge function.
 */
export const MAX_GROUP_EQNS = 256;

/**
 * Most equations in one generated function. Every fused loop's locals live in the
 * function's frame, so one function for a 30,000-equation Hessian program would
 * need a frame larger than the stack; longer lists become a run of parts.
 */
export const MAX_PART_EQNS = 1024;

/** Bytes of generated code and closures per equation, charged with the code (measured order of magnitude). */
const CODE_BYTES_PER_EQN = 512;

/** A safe non-negative integer, as source text; anything else is a bug in the generator. */
function int(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`codegen: not a safe integer: ${n}`);
  return String(n);
}

interface Group {
  eqns: Eqn[];
  n: number;
  batched: boolean;
}

/**
 * Can q join a fused loop over `n` elements? Batched and unbatched equations share
 * a loop only when k = 1, where a batched value has the unbatched layout.
 */
function fusible(q: Eqn, values: ValueTable, group: Group | undefined, k: number): boolean {
  if (!q.op.perElement || !q.op.elementwise) return false;
  const out = values.info(q.out);
  const n = sizeOf(out.shape);
  if (group && (group.n !== n || (k > 1 && group.batched !== out.batched) || group.eqns.length >= MAX_GROUP_EQNS)) return false;
  // Every argument has the output's shape, or is a single element (hoisted out of the loop).
  return q.args.every((a) => sameShape(values.info(a).shape, out.shape) || sizeOf(values.info(a).shape) === 1);
}

/** How many segments have been compiled in this process (tests use it to see the compiler ran). */
export const compileStats = { segments: 0 };

/**
 * Compiles `eqns` for batch size k, charging `account` for the code and for every
 * buffer it keeps (a buffer the account cannot pay for is allocated per run
 * instead); undefined when the account cannot pay for the code itself.
 * Generated text is appended line by line: never spread into a call, whose
 * argument count the stack bounds.
 */
export function compileSegment(eqns: readonly Eqn[], values: ValueTable, k: number, account?: MemoryAccount): Segment | undefined {
  if (account && !account.charge(CODE_BYTES_PER_EQN * eqns.length)) return undefined;
  compileStats.segments++;
  const scalarFns: ((...xs: number[]) => number)[] = [];
  const steps: ((env: Env) => void)[] = [];
  const buffers: (Float64Array | number)[] = [];
  const lines: string[] = ['const parts = [];', 'parts.push(function (env) {'];
  let inPart = 0;
  let partCount = 1;
  /** Closes the current part and opens the next once it holds MAX_PART_EQNS equations (between groups and steps only). */
  const partBreak = (added: number): void => {
    inPart += added;
    if (inPart < MAX_PART_EQNS) return;
    lines.push('});', 'parts.push(function (env) {');
    inPart = 0;
    partCount++;
  };
  /** A buffer of len elements to keep, or undefined when the account cannot pay for it. */
  const keep = (len: number): Float64Array | undefined => (!account || account.charge(len * 8) ? new Float64Array(len) : undefined);

  const fnIndex = new Map<unknown, number>();
  const fn = (f: (...xs: number[]) => number): string => {
    let i = fnIndex.get(f);
    if (i === undefined) {
      i = scalarFns.length;
      scalarFns.push(f);
      fnIndex.set(f, i);
    }
    return `F[${int(i)}]`;
  };
  /** A buffer for value v: kept with the code if small, otherwise its length, allocated per run. */
  const buffer = (v: ValueId): string => {
    const len = sizeOf(values.info(v).shape) * (values.info(v).batched ? k : 1);
    const kept = keep(len);
    if (kept === undefined) return `new Float64Array(${int(len)})`;
    buffers.push(kept);
    return `B[${int(buffers.length - 1)}]`;
  };

  const emitGroup = (g: Group): void => {
    const produced = new Set(g.eqns.map((q) => q.out));
    const arrays = new Map<ValueId, string>(); // full-size external arguments
    const scalars = new Map<ValueId, string>(); // single-element arguments, hoisted
    const body: string[] = [];
    const pre: string[] = [];
    const perDirection: string[] = [];
    for (const q of g.eqns) {
      for (const a of q.args) {
        if (produced.has(a) || arrays.has(a) || scalars.has(a)) continue;
        const info = values.info(a);
        if (sizeOf(info.shape) === 1 && !(sizeOf(info.shape) === g.n && g.n === 1)) {
          const name = `s${int(a)}`;
          scalars.set(a, name);
          if (info.batched) perDirection.push(`const ${name} = env[${int(a)}][b];`);
          else pre.push(`const ${name} = env[${int(a)}][0];`);
        } else {
          const name = `a${int(a)}`;
          arrays.set(a, name);
          pre.push(`const ${name} = env[${int(a)}];`);
        }
      }
    }
    const index = (a: ValueId): string => (values.info(a).batched ? 'o + i' : 'i');
    const operand = (a: ValueId): string => (produced.has(a) ? `v${int(a)}` : (scalars.get(a) ?? `${arrays.get(a)}[${index(a)}]`));
    for (const q of g.eqns) {
      const name = `v${int(q.out)}`;
      pre.push(`const f${int(q.out)} = ${fn(q.op.perElement as (...xs: number[]) => number)};`);
      pre.push(`const r${int(q.out)} = ${buffer(q.out)};`);
      body.push(`const ${name} = f${int(q.out)}(${q.args.map(operand).join(', ')});`);
      body.push(`r${int(q.out)}[o + i] = ${name};`);
    }
    const directions = g.batched ? k : 1;
    lines.push('{', '  C();'); // a fused loop is the longest stretch without an evalEqn check
    for (const l of pre) lines.push(`  ${l}`);
    lines.push(`  for (let b = 0; b < ${int(directions)}; b++) {`, `    const o = b * ${int(g.n)};`);
    for (const l of perDirection) lines.push(`    ${l}`);
    lines.push(`    for (let i = 0; i < ${int(g.n)}; i++) {`);
    for (const l of body) lines.push(`      ${l}`);
    lines.push('    }', '  }');
    for (const q of g.eqns) lines.push(`  env[${int(q.out)}] = r${int(q.out)};`);
    lines.push('}');
    partBreak(g.eqns.length);
  };

  const emitStep = (q: Eqn): void => {
    const kept = keep(sizeOf(values.info(q.out).shape) * (values.info(q.out).batched ? k : 1));
    steps.push(kept ? (env) => evalEqn(q, values, env, k, kept) : (env) => evalEqn(q, values, env, k));
    lines.push(`S[${int(steps.length - 1)}](env);`);
    partBreak(1);
  };

  let group: Group | undefined;
  for (const q of eqns) {
    if (fusible(q, values, group, k)) {
      const info = values.info(q.out);
      group ??= { eqns: [], n: sizeOf(info.shape), batched: info.batched };
      group.eqns.push(q);
      continue;
    }
    if (group) emitGroup(group);
    group = undefined;
    if (fusible(q, values, undefined, k)) {
      group = { eqns: [q], n: sizeOf(values.info(q.out).shape), batched: values.info(q.out).batched };
    } else {
      emitStep(q);
    }
  }
  if (group) emitGroup(group);
  lines.push('});');
  lines.push(
    partCount === 1 ? 'return parts[0];' : 'return function run(env) {\n  for (let p = 0; p < parts.length; p++) parts[p](env);\n};',
  );

  const source = lines.join('\n');
  const run = instantiate<(env: Env) => void>(['F', 'B', 'S', 'C'], source, [scalarFns, buffers, steps, checkDeadline]);
  return { run, source };
}
