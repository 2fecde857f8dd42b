/**
 * Compiles a list of equations (a primal or derivative program, for one batch size
 * k) into one JavaScript function: each fusion region (regions.ts) becomes one loop
 * that keeps its values in locals, calls each op's own scalar function, reads
 * arrays through index maps (maps.ts) and writes only the buffers liveness asks
 * for; every other equation runs the interpreter's evalEqn into a buffer allocated
 * once. Elementwise values are the same bits as the interpreter's; sums accumulate
 * in the kernel's order (from 0, element by element), so they are too.
 *
 * Safety: the source is built from `Code` fragments only (code.ts): fixed template
 * text, identifiers minted from integers, safe integers, and in the debug listing
 * comments reduced to a safe alphabet. Ids, names, attributes and literal values
 * never reach the source: literals are const equations whose values live in
 * buffers, and maps are tables passed in as parameters.
 */
import type { MemoryAccount } from '../graph/plan-cache.js';
import { perElementOf, type Eqn, type ValueId, type ValueTable } from '../ir/program.js';
import { printEqns } from '../ir/print.js';
import { checkDeadline } from '../ir/deadline.js';
import { evalEqn, type Env } from '../ir/interpret.js';
import { sizeOf } from '../tensor/tensor.js';
import { type Code, comment, expression, isAtom, join, js, lines, name } from './code.js';
import type { IndexMap } from './maps.js';
import { type Keep, type Member, type Read, type Region, planRegions, unrollOf } from './regions.js';
import { instantiate } from './new-function.js';

export { MAX_GROUP_EQNS } from './regions.js';

export interface Segment {
  /** Runs the equations, reading arguments from env and writing the kept values into env. */
  run(env: Env): void;
  /** The generated source, for debugging and snapshot tests. */
  readonly source: string;
}

export interface CompileOptions {
  /** Which values are read after the list (default: every value). */
  keep?: Keep;
  /** Comments naming each equation's op and wire node (`nodeName` gives the node's id). */
  debug?: boolean;
  nodeName?: (node: number) => string | undefined;
}

/**
 * Most equations in one generated function. Every fused loop's locals live in the
 * function's frame, so one function for a 30,000-equation Hessian program would
 * need a frame larger than the stack; longer lists become a run of parts.
 */
export const MAX_PART_EQNS = 1024;

/** Bytes of generated code and closures per equation, charged with the code (measured order of magnitude). */
const CODE_BYTES_PER_EQN = 512;

/** How many segments have been compiled in this process (tests use it to see the compiler ran). */
export const compileStats = { segments: 0 };

/** What the generated function gets as parameters, by the names its source uses. */
class Params {
  readonly fns: ((...xs: number[]) => number)[] = [];
  readonly buffers: Float64Array[] = [];
  readonly steps: ((env: Env) => void)[] = [];
  readonly maps: Int32Array[] = [];
  private readonly fnIndex = new Map<unknown, number>();

  fn(f: (...xs: number[]) => number): Code {
    let i = this.fnIndex.get(f);
    if (i === undefined) {
      i = this.fns.length;
      this.fns.push(f);
      this.fnIndex.set(f, i);
    }
    return js`F[${i}]`;
  }
}

/**
 * Compiles `eqns` for batch size k, charging `account` for the code, for every
 * buffer it keeps (a buffer the account cannot pay for is allocated per run
 * instead) and for index tables (an equation whose table it cannot pay for runs as
 * a step); undefined when the account cannot pay for the code itself.
 */
export function compileSegment(
  eqns: readonly Eqn[],
  values: ValueTable,
  k: number,
  account?: MemoryAccount,
  options: CompileOptions = {},
): Segment | undefined {
  if (account && !account.charge(CODE_BYTES_PER_EQN * eqns.length)) return undefined;
  compileStats.segments++;
  const afford = (bytes: number): boolean => !account || account.charge(bytes);
  const items = planRegions(eqns, values, k, options.keep ?? 'all', afford);
  const p = new Params();
  const ctx: Ctx = { values, k, p, afford, options };
  const parts: Code[][] = [[]];
  let inPart = 0;
  for (const it of items) {
    const size = 'step' in it ? 1 : it.region.members.length;
    if (inPart > 0 && inPart + size > MAX_PART_EQNS) {
      parts.push([]);
      inPart = 0;
    }
    inPart += size;
    parts[parts.length - 1].push('step' in it ? stepCode(it.step, ctx) : regionCode(it.region, ctx));
  }
  const functions = parts.map((body) => js`parts.push(function (env) {\n${lines(body)}\n});`);
  const run =
    parts.length === 1 ? js`return parts[0];` : js`return function run(env) {\n  for (let p = 0; p < parts.length; p++) parts[p](env);\n};`;
  const source = lines([js`const parts = [];`, ...functions, run]);
  const fn = instantiate<(env: Env) => void>([js`F`, js`B`, js`S`, js`M`, js`C`], source, [
    p.fns,
    p.buffers,
    p.steps,
    p.maps,
    checkDeadline,
  ]);
  return { run: fn, source: source.text };
}

interface Ctx {
  values: ValueTable;
  k: number;
  p: Params;
  afford: (bytes: number) => boolean;
  options: CompileOptions;
}

/** The debug comment for an equation: its printed form and its wire node. */
function describe(q: Eqn, ctx: Ctx): Code[] {
  if (!ctx.options.debug) return [];
  const node = q.node >= 0 ? `  graph.nodes[${q.node}]${nodeId(q.node, ctx)}` : '';
  return [comment(`${printEqns([q], ctx.values)}${node}`)];
}

function nodeId(node: number, ctx: Ctx): string {
  const id = ctx.options.nodeName?.(node);
  return id === undefined ? '' : ` (${id})`;
}

/** A kept buffer of len elements, or a fresh one per run when the account refuses it. */
function buffer(len: number, ctx: Ctx): Code {
  if (!ctx.afford(len * 8)) return js`new Float64Array(${len})`;
  ctx.p.buffers.push(new Float64Array(len));
  return js`B[${ctx.p.buffers.length - 1}]`;
}

function stepCode(q: Eqn, ctx: Ctx): Code {
  const info = ctx.values.info(q.out);
  const len = sizeOf(info.shape) * (info.batched ? ctx.k : 1);
  const kept = ctx.afford(len * 8) ? new Float64Array(len) : undefined;
  const values = ctx.values;
  const k = ctx.k;
  ctx.p.steps.push(kept ? (env) => evalEqn(q, values, env, k, kept) : (env) => evalEqn(q, values, env, k));
  return lines([...describe(q, ctx), js`S[${ctx.p.steps.length - 1}](env);`]);
}

/**
 * One region as a loop nest: hoisted arrays, functions, buffers and maps; a loop
 * over directions (when the region has them) with per-direction offsets and
 * scalars; the element loop, unrolled by the period of its periodic maps so that
 * they read as strides; then the values it keeps, stored in env. A region nested in
 * it (regions.ts: a wider region that reads its values element by element, such as
 * the slice_scatters and sum of a reverse sweep) runs inside the same loop, its
 * `unroll` elements per element of the host, reading the host's values as locals.
 */
function regionCode(r: Region, ctx: Ctx): Code {
  const { values, k, p } = ctx;
  const pre: Code[] = [js`C();`]; // a fused loop is the longest stretch without an evalEqn check
  const perDirection: Code[] = [];
  const after: Code[] = [];
  const directions = r.directions ? k : 1;
  const hoisted = new Map<unknown, Code>();
  let temps = 0;
  /** A name for `key`, declared once by `declare(name)` in pre or perDirection. */
  const hoist = (key: unknown, declare: (n: Code) => Code, perDir = false, named?: Code): Code => {
    let n = hoisted.get(key);
    if (n === undefined) {
      n = named ?? name('t', temps++);
      hoisted.set(key, n);
      (perDir ? perDirection : pre).push(declare(n));
    }
    return n;
  };

  /** The offset of direction b in a value's array: 0 unless the loop has directions and the value has them. */
  const offset = (v: ValueId): Code | undefined => {
    if (!r.directions || !values.info(v).batched) return undefined;
    return js`b * ${sizeOf(values.info(v).shape)}`;
  };
  const plus = (base: Code | undefined, index: Code): Code => (base ? js`${base} + ${index}` : index);
  const arrayName = (v: ValueId): Code => hoist(`a${v}`, (n) => js`const ${n} = env[${v}];`, false, name('a', v));
  const tableName = (m: IndexMap & { table: Int32Array }): Code =>
    hoist(m, (n) => {
      p.maps.push(m.table);
      return js`const ${n} = M[${p.maps.length - 1}];`;
    });

  /** Where the code for one element stands: its unrolled position q (null: not unrolled) in a loop unrolled `unroll` times. */
  interface At {
    q: number | null;
    unroll: number;
    /** Values of the host read as locals (a nested region's view of its host). */
    host?: Set<ValueId>;
  }
  /** Where element i reads through m; null for a hole. */
  const index = (m: IndexMap, at: At): Code | null => {
    switch (m.kind) {
      case 'same':
        return js`i`;
      case 'one':
        return js`${m.at}`;
      case 'stride':
        return strided(m.at, m.step, js`i`);
      case 'periodic': {
        if (at.q === null || at.unroll % m.period !== 0) return js`${tableName(m)}[i]`;
        const first = m.base[at.q % m.period];
        if (first < 0) return null;
        return strided(first + m.shift * Math.floor(at.q / m.period), (m.shift * at.unroll) / m.period, js`j`);
      }
      case 'table':
        return js`${tableName(m)}[i]`;
    }
  };
  /** Element i of array v through map m, as an expression. */
  const read = (v: ValueId, m: IndexMap, at: At): Code => {
    if (at.host?.has(v)) return index(m, at) === null ? js`0` : name('v', v); // regions.ts checked it reads element j
    const a = arrayName(v);
    const o = offset(v);
    if (m.kind === 'one') {
      const at = o && m.at === 0 ? o : plus(o, js`${m.at}`);
      return hoist(`${v}@${m.at}`, (n) => js`const ${n} = ${a}[${at}];`, o !== undefined);
    }
    const i = index(m, at);
    if (i === null) return js`0`;
    const element = js`${a}[${plus(o, i)}]`;
    return m.kind === 'table' && m.holes ? js`(${i} < 0 ? 0 : ${element})` : element;
  };
  const operand = (x: Read, at: At): Code => ('local' in x ? name('v', x.local) : read(x.array, x.map, at));

  let bound = 0;
  /**
   * An elementwise member's line(s): its inline template, a Math function, or a call
   * of its scalar function. Operands a template repeats are bound to locals first.
   */
  const apply = (eq: Eqn, v: Code, xs: Code[]): Code[] => {
    const fn = MATH.get(eq.op.perElement as never);
    if (fn) return [js`const ${v} = ${fn}(${join(xs)});`];
    if (!eq.op.inline) return [js`const ${v} = ${name('f', eq.out)}(${join(xs)});`];
    const lines: Code[] = [];
    const atoms = xs.map((x) => {
      if (isAtom(x)) return x;
      const u = name('u', bound++);
      lines.push(js`const ${u} = ${x};`);
      return u;
    });
    lines.push(js`const ${v} = ${expression(eq.op.inline, atoms)};`);
    return lines;
  };

  /** The members of `reg` that are emitted, with their functions, buffers and accumulators declared once. */
  const prepare = (reg: Region): Member[] => {
    // Locals some member reads (nested regions' reads of the host included); the rest is not emitted.
    const readLocally = new Set<ValueId>();
    const note = (x: Read): void => {
      if ('local' in x) readLocally.add(x.local);
      else readLocally.add(x.array);
    };
    for (const g of [reg, ...reg.nested.map((w) => w.region)])
      for (const m of g.members) {
        if (m.role.kind === 'apply') m.role.reads.forEach(note);
        else note(m.role.read);
      }
    const live = reg.members.filter((m) => m.role.kind === 'sum' || reg.buffered.has(m.q.out) || readLocally.has(m.q.out));
    for (const m of live) {
      const q = m.q;
      const out = name('r', q.out);
      const len = sizeOf(values.info(q.out).shape) * (values.info(q.out).batched && r.directions ? k : 1);
      if (m.role.kind === 'apply' && !q.op.inline && !MATH.has(q.op.perElement as never))
        pre.push(js`const ${name('f', q.out)} = ${p.fn(perElementOf(q) as (...xs: number[]) => number)};`);
      if (m.role.kind === 'sum' || reg.buffered.has(q.out)) pre.push(js`const ${out} = ${buffer(len, ctx)};`);
      if (m.role.kind !== 'sum') continue;
      if (m.role.groups === null) {
        perDirection.push(js`let ${name('acc', q.out)} = 0;`);
        after.push(js`${out}[${r.directions ? js`b` : js`0`}] = ${name('acc', q.out)};`);
      } else {
        const o = r.directions ? js`b * ${m.role.count}` : js`0`;
        perDirection.push(js`${out}.fill(0, ${o}, ${o} + ${m.role.count});`);
      }
    }
    return live;
  };

  /** The loop body of `reg` for one element. */
  const element = (reg: Region, live: readonly Member[], at: At): Code[] => {
    const body: Code[] = [];
    for (const m of live) {
      const eq = m.q;
      const v = name('v', eq.out);
      body.push(...describe(eq, ctx));
      if (m.role.kind === 'sum') {
        const x = operand(m.role.read, at);
        if (m.role.groups === null) body.push(js`${name('acc', eq.out)} += ${x};`);
        else {
          const o = r.directions ? js`b * ${m.role.count} + ` : js``;
          body.push(js`${name('r', eq.out)}[${o}${index(m.role.groups, at) as Code}] += ${x};`);
        }
        continue;
      }
      if (m.role.kind === 'view') body.push(js`const ${v} = ${operand(m.role.read, at)};`);
      else
        body.push(
          ...apply(
            eq,
            v,
            m.role.reads.map((x) => operand(x, at)),
          ),
        );
      if (reg.buffered.has(eq.out)) body.push(js`${name('r', eq.out)}[${plus(offset(eq.out), js`i`)}] = ${v};`);
    }
    return body;
  };

  const live = prepare(r);
  const nested = r.nested.map((w) => ({ ...w, live: prepare(w.region) }));
  if (live.length === 0 && nested.every((w) => w.live.length === 0)) return js``;
  const unroll = unrollOf(r);
  const loop: Code[] = [];
  if (nested.length > 0) {
    // The host's element is j (its values stay in scope); each nested element rebinds i in a block.
    const host = new Set(r.members.map((m) => m.q.out));
    loop.push(js`for (let j = 0; j < ${r.n}; j++) {`, js`  const i = j;`, lines(element(r, live, { q: null, unroll: 1 }), 1));
    for (const w of nested) {
      for (let q = 0; q < w.unroll; q++) {
        const at = { q, unroll: w.unroll, host };
        loop.push(js`  {`, js`    const i = ${w.unroll} * j + ${q};`, lines(element(w.region, w.live, at), 2), js`  }`);
      }
    }
    loop.push(js`}`);
  } else if (unroll === 1) loop.push(js`for (let i = 0; i < ${r.n}; i++) {`, lines(element(r, live, { q: null, unroll: 1 }), 1), js`}`);
  else {
    loop.push(js`for (let j = 0; j < ${r.n / unroll}; j++) {`);
    for (let q = 0; q < unroll; q++)
      loop.push(js`  {`, js`    const i = ${unroll} * j + ${q};`, lines(element(r, live, { q, unroll }), 2), js`  }`);
    loop.push(js`}`);
  }
  const stores = [
    ...live.filter((m) => r.buffered.has(m.q.out)),
    ...nested.flatMap((w) => w.live.filter((m) => w.region.buffered.has(m.q.out))),
  ].map((m) => js`env[${m.q.out}] = ${name('r', m.q.out)};`);
  return lines([
    js`{`,
    lines(pre, 1),
    js`  for (let b = 0; b < ${directions}; b++) {`,
    lines(perDirection, 2),
    lines(loop, 2),
    lines(after, 2),
    js`  }`,
    lines(stores, 1),
    js`}`,
  ]);
}

/** Math functions ops use as their scalar functions, written by name (V8 knows them). */
const MATH = new Map<unknown, Code>([
  [Math.exp, js`Math.exp`],
  [Math.log, js`Math.log`],
  [Math.log1p, js`Math.log1p`],
  [Math.expm1, js`Math.expm1`],
  [Math.sqrt, js`Math.sqrt`],
  [Math.abs, js`Math.abs`],
  [Math.sin, js`Math.sin`],
  [Math.cos, js`Math.cos`],
  [Math.tan, js`Math.tan`],
  [Math.tanh, js`Math.tanh`],
  [Math.sinh, js`Math.sinh`],
  [Math.cosh, js`Math.cosh`],
  [Math.asin, js`Math.asin`],
  [Math.acos, js`Math.acos`],
  [Math.atan, js`Math.atan`],
  [Math.pow, js`Math.pow`],
  [Math.atan2, js`Math.atan2`],
  [Math.asinh, js`Math.asinh`],
  [Math.acosh, js`Math.acosh`],
  [Math.atanh, js`Math.atanh`],
  [Math.log2, js`Math.log2`],
  [Math.log10, js`Math.log10`],
  [Math.cbrt, js`Math.cbrt`],
  [Math.sign, js`Math.sign`],
  [Math.floor, js`Math.floor`],
  [Math.ceil, js`Math.ceil`],
]);

/** at + step·x as source (a step may be negative, a hole may not). */
function strided(at: number, step: number, x: Code): Code {
  if (step === 0) return js`${at}`;
  const times = step === 1 || step === -1 ? x : js`${Math.abs(step)} * ${x}`;
  if (step < 0) return js`${at} - ${times}`;
  return at === 0 ? times : js`${at} + ${times}`;
}
