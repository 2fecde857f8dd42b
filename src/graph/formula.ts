/**
 * Formulas: a graph's `define` ({name: "exp(-1.5*(x - xs)^2)", ...}) parsed with
 * jsep and lowered to ordinary wire nodes, so everything after this file sees a
 * graph of nodes only. The grammar (docs/graph-format.md, "Formulas"): names,
 * number literals, + - * / (left-associative), ^ and ** (power, right-associative,
 * tighter than * and / and than unary minus: -x^2 is -(x^2)), unary minus,
 * parentheses, and calls of any op by name with attributes as trailing named
 * arguments: sum(x, axes=[0]).
 *
 * jsep keeps its configuration in static fields shared by every user in the
 * process; this module is the only one that imports jsep, and configures it once
 * here at load. Its parse state (the token start positions) lives on the parser
 * instance, never in module state.
 */
import jsep from 'jsep';
import { findOp, WIRE_OPS } from '../ops/registry.js';
import { describe } from '../tensor/nested.js';
import { childPath, DerivdError, type Issue, IssueList } from './errors.js';
import type { Limits } from './limits.js';
import { NodeSchema, type WireFunction, type WireGraph, type WireNode } from './schema.js';
import { zodIssue } from './zod-issues.js';

/** Longest formula, in characters. */
export const MAX_FORMULA_CHARS = 10_000;
/** Deepest nesting of brackets and signs a formula may have (jsep parses recursively). */
export const MAX_FORMULA_NESTING = 100;
/** Deepest expression tree (a long sum is a deep left spine); lowering recurses along it. */
export const MAX_FORMULA_DEPTH = 2_000;
/** Unknown names whose close matches are looked for (the rest get a plain message). */
const MAX_SUGGESTED = 20;
/** Longest sub-expression quoted in a message. */
const MAX_QUOTED = 60;

/** Operators and the op each becomes. */
const BINARY: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '^': 'pow', '**': 'pow' };
const COMPARISONS: Record<string, string> = { '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', '==': 'eq', '!=': 'ne' };
const POWER = 11; // above * and / (10), as jsep ranks them

// jsep's ^ is XOR with low precedence: here it is power, like **, and both are right-associative.
jsep.addBinaryOp('^', POWER, true);
jsep.addBinaryOp('**', POWER, true);
// `name=value` inside a call: the lowest binary operator, accepted only as a call's argument.
jsep.addBinaryOp('=', 0.5);

type Expr = jsep.Expression & { start?: number; end?: number };

/** The parser as the hooks see it (`this`): jsep's internals they use. */
interface Parser {
  expr: string;
  index: number;
  readonly code: number;
  starts?: number[];
  gobbleSpaces(): void;
  gobbleToken(): Expr | false;
  gobbleNumericLiteral(): Expr;
  throwError(message: string): never;
}

const MINUS = 45;
const PERIOD = 46;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Every token starts here: its start is recorded (after-token pops it), number
 * literals are read here so that they pass after-token too (jsep returns them
 * without it), and a unary minus takes the power chain after its operand, since
 * jsep would bind it tighter than any binary operator (-x^2 as (-x)^2).
 */
jsep.hooks.add('gobble-token', function (this: Parser, env: { node?: Expr }) {
  this.starts ??= [];
  this.starts.push(this.index);
  const c = this.code;
  if (isDigit(c) || c === PERIOD) {
    env.node = this.gobbleNumericLiteral();
    return;
  }
  if (c !== MINUS) return;
  this.index++;
  const operand = this.gobbleToken();
  if (!operand) this.throwError('expected an operand after "-"');
  env.node = { type: 'UnaryExpression', operator: '-', argument: powerChain(this, operand), prefix: true };
} as never);

jsep.hooks.add('after-token', function (this: Parser, env: { node?: Expr | false }) {
  const start = this.starts?.pop() ?? this.index;
  if (env.node) {
    env.node.start = start;
    env.node.end = this.index;
  }
} as never);

/** `base` and any `^ operand ^ operand ...` after it, right-associative. */
function powerChain(p: Parser, base: Expr): Expr {
  p.gobbleSpaces();
  const op = p.expr.startsWith('**', p.index) ? '**' : p.expr[p.index] === '^' ? '^' : undefined;
  if (op === undefined) return base;
  p.index += op.length;
  const exponent = p.gobbleToken();
  if (!exponent) p.throwError(`expected an operand after "${op}"`);
  return { type: 'BinaryExpression', operator: op, left: base, right: powerChain(p, exponent) };
}

/** A formula that could not be parsed: the message and the 0-based index it points at. */
export class FormulaSyntaxError extends Error {
  /** `index`: where in the formula (0-based), or undefined when the message is about all of it. */
  constructor(
    message: string,
    readonly index?: number,
  ) {
    super(index === undefined ? message : `${message} at column ${index + 1}`);
  }
}

/** Parses one formula to jsep's tree, every token marked with its start and end; throws FormulaSyntaxError. */
export function parseFormula(text: string): Expr {
  if (text.length > MAX_FORMULA_CHARS) {
    throw new FormulaSyntaxError(`the formula has ${text.length} characters, more than ${MAX_FORMULA_CHARS}`);
  }
  checkNesting(text);
  if (text.trim() === '') throw new FormulaSyntaxError('empty formula');
  let tree: Expr;
  try {
    tree = jsep(text) as Expr;
  } catch (err) {
    if (err instanceof RangeError) throw new FormulaSyntaxError('the formula nests too deeply');
    const e = err as { description?: string; index?: number };
    if (typeof e.index !== 'number' || typeof e.description !== 'string') throw err;
    throw new FormulaSyntaxError(lowerFirst(e.description), e.index);
  }
  if (!spanned(tree, MAX_FORMULA_DEPTH)) {
    throw new FormulaSyntaxError(`the formula's expression is more than ${MAX_FORMULA_DEPTH} levels deep: split it into definitions`);
  }
  return tree;
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/**
 * Brackets and runs of signs nest jsep's recursion: refused past
 * MAX_FORMULA_NESTING before jsep sees the text (a 100 000-deep "((((" must not
 * reach the stack's end). Quoted strings are skipped.
 */
function checkNesting(text: string): void {
  let depth = 0;
  let signs = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote !== '') {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth = Math.max(0, depth - 1);
    if (ch === '-' || ch === '+' || ch === '!' || ch === '~') signs++;
    else if (ch !== ' ' && ch !== '\t' && ch !== '\n' && ch !== '\r') signs = 0;
    if (depth + signs > MAX_FORMULA_NESTING) {
      throw new FormulaSyntaxError(`the formula nests more than ${MAX_FORMULA_NESTING} levels deep (brackets and signs)`, i);
    }
  }
}

/**
 * Gives every sub-expression its start and end, once, after the parse: the hooks
 * mark tokens; what jsep builds around them (binary operators, a call's callee,
 * a ? b : c) spans its first child's start to its last child's end. False when
 * the tree is deeper than `max` (then nothing more is walked). An explicit stack:
 * a long sum is a deep left spine.
 */
function spanned(tree: Expr, max: number): boolean {
  const stack: [Expr, number, boolean][] = [[tree, 1, false]];
  while (stack.length > 0) {
    const [e, depth, visited] = stack.pop() as [Expr, number, boolean];
    const kids = children(e);
    if (visited) {
      if (kids.length > 0) {
        e.start ??= kids[0].start;
        e.end ??= kids[kids.length - 1].end;
      }
      continue;
    }
    if (depth > max) return false;
    stack.push([e, depth, true]);
    for (const c of kids) stack.push([c, depth + 1, false]);
  }
  return true;
}

function children(e: Expr): Expr[] {
  const out: Expr[] = [];
  for (const k of ['left', 'right', 'argument', 'callee', 'object', 'property', 'test', 'consequent', 'alternate']) {
    const v = e[k];
    if (typeof v === 'object' && v !== null && 'type' in v) out.push(v as Expr);
  }
  for (const k of ['arguments', 'elements', 'body', 'expressions']) {
    const v = e[k];
    if (Array.isArray(v)) for (const x of v) if (typeof x === 'object' && x !== null) out.push(x as Expr);
  }
  return out;
}

/** Where a generated node came from: its definition and the sub-expression it computes. */
export interface NodeSource {
  /** The definition's path: graph.define.f, or graph.functions.g.define.f. */
  readonly path: string;
  /** 1-based column of the sub-expression in the formula. */
  readonly column: number;
  /** The sub-expression, cut to MAX_QUOTED characters. */
  readonly text: string;
}

/** A graph or function body once its definitions are nodes. */
export interface ExpandedBody {
  inputs: WireGraph['inputs'];
  nodes: WireNode[];
  outputs: string[];
}

export interface ExpandedGraph extends ExpandedBody {
  functions?: Record<string, ExpandedBody>;
}

/** The nodes of one body (its path) beyond its own: sources[k - own] for node k. */
export interface BodySources {
  readonly own: number;
  readonly sources: readonly NodeSource[];
}

/**
 * The graph with every definition (the graph's and each function's) turned into
 * nodes appended to the body's own, and where each generated node came from, by
 * body path. A graph without `define` anywhere is returned as it is (with
 * `nodes` defaulted). Syntax errors throw invalid_request (400); unknown names
 * and ops, bad attributes, name clashes and cycles between definitions throw
 * invalid_graph; more nodes than MAX_NODES throws limit_exceeded.
 */
export function expandDefinitions(graph: WireGraph, limits: Limits): { graph: ExpandedGraph; sources: ReadonlyMap<string, BodySources> } {
  const sources = new Map<string, BodySources>();
  const hasDefine = graph.define !== undefined || Object.values(graph.functions ?? {}).some((f) => f.define !== undefined);
  if (!hasDefine) {
    const plain = graph.nodes === undefined ? { ...graph, nodes: [] } : graph;
    return { graph: plain as ExpandedGraph, sources };
  }
  // [path, function name (undefined: the graph itself), body]
  const bodies: [string, string | undefined, WireGraph | WireFunction][] = [['graph', undefined, graph]];
  for (const [name, f] of Object.entries(graph.functions ?? {})) bodies.push([childPath('graph.functions', name), name, f]);

  // Every formula parsed first: syntax errors are the request's (400), reported together.
  const syntax = new IssueList();
  const trees = new Map<string, Map<string, Expr>>();
  for (const [prefix, , body] of bodies) {
    const parsed = new Map<string, Expr>();
    for (const [name, text] of Object.entries(body.define ?? {})) {
      const path = childPath(`${prefix}.define`, name);
      if (typeof text !== 'string') {
        syntax.add({ path, message: `expected a formula (a string), found ${describe(text)}` });
        continue;
      }
      try {
        parsed.set(name, parseFormula(text));
      } catch (err) {
        if (!(err instanceof FormulaSyntaxError)) throw err;
        syntax.add({ path, message: err.message });
      }
    }
    trees.set(prefix, parsed);
  }
  if (syntax.length > 0) throw syntax.error('invalid_request');

  const issues = new IssueList();
  // Nodes the definitions may make: MAX_NODES less the graph's own (its functions' included),
  // counted as they are made, so a body full of long formulas stops at the limit.
  const own = bodies.reduce((n, [, , body]) => n + (body.nodes?.length ?? 0), 0);
  const budget = { left: limits.maxNodes - own };
  const out: ExpandedGraph = { ...graph, nodes: [] } as ExpandedGraph;
  delete (out as { define?: unknown }).define;
  const functions: [string, ExpandedBody][] = [];
  for (const [prefix, fn, body] of bodies) {
    const nodes = body.nodes ?? [];
    const lowered = lowerBody(prefix, body, nodes, trees.get(prefix) as Map<string, Expr>, issues, budget);
    if (budget.left < 0) {
      throw new DerivdError('limit_exceeded', [
        {
          path: 'graph.define',
          message: `the definitions make more nodes than MAX_NODES (${limits.maxNodes}) leaves room for beside the graph's own ${own} (its functions' included)`,
        },
      ]);
    }
    const expanded: ExpandedBody = { inputs: body.inputs, nodes: [...nodes, ...lowered.nodes], outputs: body.outputs };
    if (lowered.sources.length > 0) sources.set(prefix, { own: nodes.length, sources: lowered.sources });
    if (fn === undefined) out.nodes = expanded.nodes;
    else functions.push([fn, expanded]);
  }
  // fromEntries: a function named __proto__ stays an own key
  if (graph.functions !== undefined) out.functions = Object.fromEntries(functions);
  if (issues.length > 0) throw issues.error('invalid_graph');
  return { graph: out, sources };
}

/** One definition being lowered: where it is and its formula. */
interface Definition {
  readonly name: string;
  readonly path: string;
  readonly text: string;
}

/**
 * The nodes of one body's definitions, each definition's root named after it and
 * its intermediate nodes `name/1`, `name/2`, ... (skipping any id in use).
 */
function lowerBody(
  prefix: string,
  body: { inputs: WireGraph['inputs']; define?: Record<string, string> },
  own: readonly WireNode[],
  trees: Map<string, Expr>,
  issues: IssueList,
  /** Nodes that may still be made; below 0, lowering stops. */
  budget: { left: number },
): { nodes: WireNode[]; sources: NodeSource[] } {
  const define = body.define ?? {};
  const names = new Set<string>();
  const kinds = new Map<string, string>();
  for (const x of body.inputs) if (!kinds.has(x.name)) kinds.set(x.name, 'an input');
  for (const n of own) if (!kinds.has(n.id)) kinds.set(n.id, 'a node id');
  for (const name of Object.keys(define)) {
    const path = childPath(`${prefix}.define`, name);
    const kind = kinds.get(name);
    if (kind !== undefined) {
      issues.add({ path, message: `${JSON.stringify(name)} is already ${kind}: a definition's name is a node id and must be new` });
    }
  }
  for (const k of kinds.keys()) names.add(k);
  for (const name of Object.keys(define)) names.add(name);
  const taken = new Set(names);
  const nodes: WireNode[] = [];
  const sources: NodeSource[] = [];
  const uses = new Map<string, string[]>();
  let suggested = 0;

  for (const [name, tree] of trees) {
    if (budget.left < 0) break;
    const def: Definition = { name, path: childPath(`${prefix}.define`, name), text: define[name] };
    const refs: string[] = [];
    uses.set(name, refs);
    let counter = 0;
    const freshId = (): string => {
      let id: string;
      do id = `${name}/${++counter}`;
      while (taken.has(id));
      taken.add(id);
      return id;
    };
    const fail = (e: Expr, message: string): never => {
      throw new LowerError(message, e);
    };
    const emit = (e: Expr, node: Omit<WireNode, 'id'>, id: string): string => {
      if (--budget.left < 0) throw new OverBudget();
      const made = { id, ...node } as WireNode;
      const parsed = NodeSchema.safeParse(made);
      if (!parsed.success) {
        const list = new IssueList();
        const raw = { graph: { nodes: [made] } };
        for (const i of parsed.error.issues) zodIssue({ ...i, path: ['graph', 'nodes', 0, ...i.path] }, raw, 'evaluate', list);
        const first = list.items[0] ?? { path: '', message: 'not a valid node' };
        // an unknown attribute's message names it already
        const where = first.message.startsWith('unknown attribute') ? '' : first.path.replace(/^graph\.nodes\[0\]\.?/, '');
        fail(e, `${node.op}: ${where === '' ? '' : `${where}: `}${first.message}`);
      }
      nodes.push(made);
      sources.push(sourceOf(def, e));
      return id;
    };
    const operand = (e: Expr, id?: string): string | number => {
      switch (e.type) {
        case 'Literal': {
          const v = (e as jsep.Literal).value;
          if (typeof v !== 'number') return fail(e, `${(e as jsep.Literal).raw} can only be an attribute's value (name=value in a call)`);
          if (!Number.isFinite(v)) return fail(e, `the number ${(e as jsep.Literal).raw} is out of range`);
          return v;
        }
        case 'Identifier': {
          const n = (e as jsep.Identifier).name;
          if (names.has(n)) {
            if (Object.hasOwn(define, n)) refs.push(n);
            return n;
          }
          const op = findOp(n) !== undefined && WIRE_OPS.includes(findOp(n) as never);
          const close = !op && suggested++ < MAX_SUGGESTED ? closeMatches(n, names) : [];
          const hint = op
            ? `; ${n} is an op: call it, ${n}(...)`
            : close.length > 0
              ? `; did you mean ${close.map((c) => JSON.stringify(c)).join(', ')}?`
              : '';
          return fail(e, `unknown name ${JSON.stringify(n)}: no input, node or definition has this name${hint}`);
        }
        case 'UnaryExpression': {
          const u = e as jsep.UnaryExpression;
          if (u.operator !== '-') return fail(e, `unary "${u.operator}" is not supported: formulas have unary minus only`);
          const a = u.argument as Expr;
          if (a.type === 'Literal' && typeof (a as jsep.Literal).value === 'number') return -(operand(a) as number);
          return emit(e, { op: 'neg', args: [operand(a)] }, id ?? freshId());
        }
        case 'BinaryExpression': {
          const b = e as jsep.BinaryExpression;
          const op = BINARY[b.operator];
          if (op === undefined) {
            if (b.operator === '=') return fail(e, 'a named attribute (name=value) can only be an argument of a call');
            const cmp = COMPARISONS[b.operator];
            const hint = cmp ? `: call ${cmp}(a, b)` : '';
            return fail(e, `operator "${b.operator}" is not supported${hint}; formulas have + - * / ^ **`);
          }
          const left = operand(b.left as Expr);
          const right = b.right as Expr;
          // x^2 with a literal 2 is square(x): the same numbers as the hand-written graphs use
          if (op === 'pow' && right.type === 'Literal' && (right as jsep.Literal).value === 2)
            return emit(e, { op: 'square', args: [left] }, id ?? freshId());
          return emit(e, { op, args: [left, operand(right)] }, id ?? freshId());
        }
        case 'CallExpression':
          return call(e as jsep.CallExpression & Expr, id ?? freshId());
        case 'MemberExpression':
          return fail(
            e,
            'member access (a.b, a[i]) is not supported: use slice(x, start=[...], stop=[...]) or index(x, axis=0, indices=[...])',
          );
        case 'ConditionalExpression':
          return fail(e, 'a ? b : c is not supported: use where(condition, a, b)');
        case 'ThisExpression':
          return fail(e, '"this" is not a name here');
        case 'ArrayExpression':
          return fail(e, "an array can only be an attribute's value (name=[...] in a call)");
        case 'Compound':
        case 'SequenceExpression':
          return fail(e, "expected one expression; separate a call's arguments with commas inside its parentheses");
        default:
          return fail(e, `unexpected ${e.type}`);
      }
    };
    const call = (e: jsep.CallExpression & Expr, id: string): string => {
      const callee = e.callee as Expr;
      if (callee.type !== 'Identifier') return fail(e, 'only ops can be called, by name: exp(x), sum(x, axes=[0])');
      const name = (callee as jsep.Identifier).name;
      const op = WIRE_OPS.find((o) => o.name === name);
      if (op === undefined) {
        const close =
          suggested++ < MAX_SUGGESTED
            ? closeMatches(
                name,
                WIRE_OPS.map((o) => o.name),
              )
            : [];
        const hint = close.length > 0 ? `; did you mean ${close.join(', ')}?` : '';
        return fail(e, `unknown op ${JSON.stringify(name)}${hint}`);
      }
      const args: (string | number)[] = [];
      // a Map: an attribute named __proto__ stays a key (and is then refused as unknown)
      const attrs = new Map<string, unknown>();
      for (const a of e.arguments as Expr[]) {
        if (a.type === 'BinaryExpression' && a.operator === '=') {
          const key = a.left as Expr;
          if (key.type !== 'Identifier') return fail(a, 'expected an attribute name before "="');
          const k = (key as jsep.Identifier).name;
          if (k === 'id' || k === 'op' || k === 'args') return fail(a, `${k} is not an attribute`);
          if (attrs.has(k)) return fail(a, `attribute ${k} is given twice`);
          attrs.set(k, staticValue(a.right as Expr, k));
        } else {
          if (attrs.size > 0) return fail(a, 'positional arguments come before named attributes');
          args.push(operand(a));
        }
      }
      return emit(e, { op: name, ...(args.length > 0 ? { args } : {}), ...Object.fromEntries(attrs) }, id);
    };
    const staticValue = (e: Expr, key: string): unknown => {
      if (e.type === 'Literal') {
        const v = (e as jsep.Literal).value;
        if (typeof v === 'number' && !Number.isFinite(v)) return fail(e, `the number ${(e as jsep.Literal).raw} is out of range`);
        if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
      }
      if (e.type === 'UnaryExpression' && (e as jsep.UnaryExpression).operator === '-') {
        const a = (e as jsep.UnaryExpression).argument as Expr;
        if (a.type === 'Literal' && typeof (a as jsep.Literal).value === 'number') return -(staticValue(a, key) as number);
      }
      if (e.type === 'ArrayExpression') {
        return (e as jsep.ArrayExpression).elements.map((x) =>
          x === null ? fail(e, `attribute ${key}: an array has an empty slot`) : staticValue(x as Expr, key),
        );
      }
      return fail(e, `attribute ${key}: expected a number, a string, true, false or an array of them`);
    };

    try {
      const root = operand(tree, name);
      if (typeof root === 'number') emit(tree, { op: 'const', value: root }, name);
      // A definition that only names another value is that value times 1: exact for every number.
      else if (root !== name) emit(tree, { op: 'mul', args: [root, 1] }, name);
    } catch (err) {
      if (err instanceof OverBudget) break;
      if (!(err instanceof LowerError)) throw err;
      issues.add({ path: def.path, message: `${err.message} ${at(def, err.expr)}` });
    }
  }
  reportCycles(prefix, uses, issues);
  return { nodes, sources };
}

/** More nodes than the budget: lowering stops (expandDefinitions reports it). */
class OverBudget extends Error {}

class LowerError extends Error {
  constructor(
    message: string,
    readonly expr: Expr,
  ) {
    super(message);
  }
}

/** The start and end of a sub-expression (set by spanned). */
const spanOf = (e: Expr): [number, number] => [e.start ?? 0, e.end ?? e.start ?? 0];

function sourceOf(def: Definition, e: Expr): NodeSource {
  const [start, end] = spanOf(e);
  const text = def.text.slice(start, end).trim();
  return { path: def.path, column: start + 1, text: text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED - 1)}…` : text };
}

/** `(at column 5: "dot(d, f)/dot(f, f)")`: where in the formula a message is about. */
export function at(def: { text: string } | NodeSource, e?: Expr): string {
  const s = 'column' in def ? def : sourceOf({ name: '', path: '', text: def.text }, e as Expr);
  return `(at column ${s.column}: ${JSON.stringify(s.text)})`;
}

/** Cycles between definitions, each once, at its first name in sorted order. */
function reportCycles(prefix: string, uses: Map<string, string[]>, issues: IssueList): void {
  const state = new Map<string, 1 | 2>();
  const seen = new Set<string>();
  for (const start of [...uses.keys()].sort()) {
    if (state.has(start)) continue;
    const stack: { name: string; next: number }[] = [{ name: start, next: 0 }];
    state.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const refs = uses.get(top.name) ?? [];
      if (top.next >= refs.length) {
        state.set(top.name, 2);
        stack.pop();
        continue;
      }
      const r = refs[top.next++];
      if (!uses.has(r)) continue;
      const st = state.get(r);
      if (st === undefined) {
        state.set(r, 1);
        stack.push({ name: r, next: 0 });
      } else if (st === 1) {
        const ring = stack.slice(stack.findIndex((f) => f.name === r)).map((f) => f.name);
        const first = [...ring].sort()[0];
        const key = [...ring].sort().join('\u0000');
        if (seen.has(key)) continue;
        seen.add(key);
        const from = ring.indexOf(first);
        const ordered = [...ring.slice(from), ...ring.slice(0, from), first];
        issues.add({
          path: childPath(`${prefix}.define`, first),
          message: `definitions form a cycle: ${ordered.map((n) => JSON.stringify(n)).join(' -> ')}; each uses the next`,
        });
      }
    }
  }
}

/** Names within edit distance 2 of `name` (at most 3, closest first). */
function closeMatches(name: string, names: Iterable<string>): string[] {
  const found: [number, string][] = [];
  for (const n of names) {
    if (Math.abs(n.length - name.length) > 2) continue;
    const d = distance(name, n, 2);
    // not a name that shares nothing with it ("y" for "a")
    if (d <= 2 && d < Math.max(name.length, n.length)) found.push([d, n]);
  }
  return found
    .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1))
    .slice(0, 3)
    .map((x) => x[1]);
}

/** Levenshtein distance, or max + 1 once it is over `max`. */
function distance(a: string, b: string, max: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]);
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * An issue of the checked (expanded) body at `prefix`, restated where the client
 * wrote it: one on a generated node goes to its definition, with the column and
 * text of the sub-expression that node computes.
 */
export function restateIssue(issue: Issue, sources: ReadonlyMap<string, BodySources>): Issue {
  for (const [prefix, body] of sources) {
    const head = `${prefix}.nodes[`;
    if (!issue.path.startsWith(head)) continue;
    const k = Number.parseInt(issue.path.slice(head.length), 10);
    const s = body.sources[k - body.own];
    if (s === undefined) return issue;
    return { path: s.path, message: `${issue.message} ${at(s)}` };
  }
  return issue;
}

/** The path of a node of the main graph: its own, or its definition's for a generated one. */
export function nodePath(index: number, sources: ReadonlyMap<string, BodySources> | undefined): string | undefined {
  const body = sources?.get('graph');
  return body === undefined ? undefined : body.sources[index - body.own]?.path;
}
