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
import type { Eqn, ValueId, ValueTable } from '../ir/program.js';
import { printEqns } from '../ir/print.js';
import { checkDeadline } from '../ir/deadline.js';
import { evalEqn, type Env } from '../ir/interpret.js';
import { sizeOf } from '../tensor/tensor.js';
import { type Code, comment, join, js, lines, name } from './code.js';
import type { IndexMap } from './maps.js';
import { type Item, type Keep, type Read, type Region, planRegions } from './regions.js';
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
  const node = q.node >= 0 ? ` (node ${q.node}${nodeId(q.node, ctx)})` : '';
  return [comment(`${printEqns([q], ctx.values)}${node}`)];
}

function nodeId(node: number, ctx: Ctx): string {
  const id = ctx.options.nodeName?.(node);
  return id === undefined ? '' : ` ${id}`;
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
 * scalars; the element loop; then the values it keeps, stored in env.
 */
function regionCode(r: Region, ctx: Ctx): Code {
  const { values, k, p } = ctx;
  const pre: Code[] = [js`C();`]; // a fused loop is the longest stretch without an evalEqn check
  const perDirection: Code[] = [];
  const body: Code[] = [];
  const after: Code[] = [];
  const directions = r.directions ? k : 1;
  const arrays = new Set<ValueId>();
  let temps = 0;

  /** The offset of direction b in a value's array: 0 unless the loop has directions and the value has them. */
  const offset = (v: ValueId): Code | undefined => {
    if (!r.directions || !values.info(v).batched) return undefined;
    return js`b * ${sizeOf(values.info(v).shape)}`;
  };
  const at = (base: Code | undefined, index: Code): Code => (base ? js`${base} + ${index}` : index);
  const arrayName = (v: ValueId): Code => {
    if (!arrays.has(v)) {
      arrays.add(v);
      pre.push(js`const ${name('a', v)} = env[${v}];`);
    }
    return name('a', v);
  };
  /** Element i of array v through map m, as an expression (hoisted per direction when it is one element). */
  const read = (v: ValueId, m: IndexMap): Code => {
    const a = arrayName(v);
    const o = offset(v);
    switch (m.kind) {
      case 'same':
        return js`${a}[${at(o, js`i`)}]`;
      case 'one': {
        const s = name('s', temps++);
        const index = o ? (m.at === 0 ? o : js`${o} + ${m.at}`) : js`${m.at}`;
        (o ? perDirection : pre).push(js`const ${s} = ${a}[${index}];`);
        return s;
      }
      case 'stride': {
        return js`${a}[${at(o, strided(m.at, m.step))}]`;
      }
      case 'table': {
        const t = name('m', temps++);
        p.maps.push(m.table);
        pre.push(js`const ${t} = M[${p.maps.length - 1}];`);
        const element = js`${a}[${at(o, js`${t}[i]`)}]`;
        return m.holes ? js`(${t}[i] < 0 ? 0 : ${element})` : element;
      }
    }
  };
  const operand = (x: Read): Code => ('local' in x ? name('v', x.local) : read(x.array, x.map));

  // Locals some member reads; a member nobody reads and nothing keeps is not emitted.
  const readLocally = new Set<ValueId>();
  for (const m of r.members) {
    const reads = m.role.kind === 'apply' ? m.role.reads : [m.role.read];
    for (const x of reads) if ('local' in x) readLocally.add(x.local);
  }
  for (const m of r.members) {
    const q = m.q;
    if (m.role.kind !== 'sum' && !r.buffered.has(q.out) && !readLocally.has(q.out)) continue;
    const v = name('v', q.out);
    const out = name('r', q.out);
    body.push(...describe(q, ctx));
    const len = sizeOf(values.info(q.out).shape) * (values.info(q.out).batched && r.directions ? k : 1);
    if (m.role.kind === 'sum') {
      const x = operand(m.role.read);
      pre.push(js`const ${out} = ${buffer(len, ctx)};`);
      const o = r.directions ? js`b * ${m.role.count}` : js`0`;
      if (m.role.groups === null) {
        const acc = name('acc', q.out);
        perDirection.push(js`let ${acc} = 0;`);
        body.push(js`${acc} += ${x};`);
        after.push(js`${out}[${r.directions ? js`b` : js`0`}] = ${acc};`);
      } else {
        perDirection.push(js`${out}.fill(0, ${o}, ${o} + ${m.role.count});`);
        body.push(js`${out}[${o} + ${groupIndex(m.role.groups, p, pre, () => name('m', temps++))}] += ${x};`);
      }
      continue;
    }
    if (m.role.kind === 'view') body.push(js`const ${v} = ${operand(m.role.read)};`);
    else {
      const f = name('f', q.out);
      pre.push(js`const ${f} = ${p.fn(q.op.perElement as (...xs: number[]) => number)};`);
      body.push(js`const ${v} = ${f}(${join(m.role.reads.map(operand))});`);
    }
    if (r.buffered.has(q.out)) {
      pre.push(js`const ${out} = ${buffer(len, ctx)};`);
      body.push(js`${out}[${at(offset(q.out), js`i`)}] = ${v};`);
    }
  }
  if (body.length === 0) return js``; // nothing in it is read or kept
  const stores = r.members.filter((m) => r.buffered.has(m.q.out)).map((m) => js`env[${m.q.out}] = ${name('r', m.q.out)};`);
  return lines([
    js`{`,
    lines(pre, 1),
    js`  for (let b = 0; b < ${directions}; b++) {`,
    lines(perDirection, 2),
    js`    for (let i = 0; i < ${r.n}; i++) {`,
    lines(body, 3),
    js`    }`,
    lines(after, 2),
    js`  }`,
    lines(stores, 1),
    js`}`,
  ]);
}

/** at + step·i as source (a step may be negative, a hole may not). */
function strided(at: number, step: number): Code {
  const times = step === 1 ? js`i` : step > 0 ? js`${step} * i` : js`${-step} * i`;
  if (step < 0) return js`${at} - ${times}`;
  return at === 0 ? times : js`${at} + ${times}`;
}

/** The accumulator element i adds to, within one direction. */
function groupIndex(m: IndexMap, p: Params, pre: Code[], fresh: () => Code): Code {
  switch (m.kind) {
    case 'same':
      return js`i`;
    case 'one':
      return js`${m.at}`;
    case 'stride':
      return strided(m.at, m.step);
    case 'table': {
      const t = fresh();
      p.maps.push(m.table);
      pre.push(js`const ${t} = M[${p.maps.length - 1}];`);
      return js`${t}[i]`;
    }
  }
}

export type { Item };
