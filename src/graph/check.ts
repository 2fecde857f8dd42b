/**
 * Semantic checks that zod cannot express, turning a wire graph into a Program:
 * unique ids, known references, arity, no cycles, attributes and shapes under
 * broadcasting, and size limits. Every independent error is collected; a node whose
 * arguments are already broken is skipped rather than reported twice.
 */
import { ProgramBuilder } from '../ir/builder.js';
import { type Body, ProgramStep, replay } from '../ir/step.js';
import { findOp, getOp } from '../ops/registry.js';
import { OpError, type OpDef } from '../ops/types.js';
import { MAX_RANK } from '../tensor/nested.js';
import { formatShape, sameShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { childPath, DerivdError, type Issue } from './errors.js';
import type { Program, ValueId } from '../ir/program.js';
import { type BodySources, expandDefinitions, type ExpandedBody, type ExpandedGraph, restateIssue } from './formula.js';
import { checkCounts, DEFAULT_LIMITS, type Limits } from './limits.js';
import type { WireGraph, WireNode } from './schema.js';

export interface NamedValue {
  name: string;
  value: ValueId;
  shape: Shape;
}

export interface CheckedGraph {
  program: Program;
  inputs: NamedValue[];
  outputs: NamedValue[];
  /** Number of wire nodes (not inputs, not literals), those its definitions expand to included. */
  nodeCount: number;
  /** Where the nodes the graph's definitions expand to come from, by body path (absent: no definitions). */
  sources?: ReadonlyMap<string, BodySources>;
}

const WIRE_KEYS = new Set(['id', 'op', 'args']);
/** Longest cycle spelled out in full in a message. */
const MAX_CYCLE_SHOWN = 12;

export function checkGraph(wire: WireGraph, limits: Limits = DEFAULT_LIMITS): CheckedGraph {
  return checkNamed(wire, limits).checked;
}

/**
 * checkGraph, and what explain (api/explain.ts) shows beside it: the nodes the
 * graph expands to and the value of every node id and input name of the main graph.
 */
export function checkNamed(
  wire: WireGraph,
  limits: Limits = DEFAULT_LIMITS,
): { checked: CheckedGraph; nodes: readonly WireNode[]; valueOf: ReadonlyMap<string, ValueId> } {
  checkCounts(wire, limits);
  // Formulas become nodes first (graph/formula.ts): everything below sees nodes only.
  const { graph, sources } = expandDefinitions(wire, limits);
  const issues: Issue[] = [];
  const limitIssues: Issue[] = [];
  const functions = checkFunctions(graph, limits, issues, limitIssues);
  const main = checkBody(graph, 'graph', limits, functions, graph.functions, issues, limitIssues);

  // An issue on a generated node is reported at its definition, where the client wrote it.
  const restate = (list: Issue[]): Issue[] => (sources.size === 0 ? list : list.map((i) => restateIssue(i, sources)));
  if (issues.length > 0) throw new DerivdError('invalid_graph', restate([...issues, ...limitIssues]));
  if (limitIssues.length > 0) throw new DerivdError('limit_exceeded', restate(limitIssues));

  const e = main.builder;
  const outputs = graph.outputs.map((name) => {
    const value = main.valueOfId.get(name) as ValueId;
    return { name, value, shape: e.shapeOf(value) };
  });
  const checked: CheckedGraph = {
    program: e.program(),
    inputs: main.inputs,
    outputs,
    nodeCount: graph.nodes.length,
    ...(sources.size > 0 ? { sources } : {}),
  };
  return { checked, nodes: graph.nodes, valueOf: main.valueOfId };
}

/** A graph or a function: named inputs, nodes, outputs. */
type WireBody = ExpandedBody;

/** A checked function: its body, and how many equations its nodes make with its calls expanded. */
interface CheckedFunction {
  readonly body: Body;
  readonly expanded: number;
  /** Made the first time a scan names the function, then shared by every scan of it. */
  step?: ProgramStep;
}

/** Functions by name; null for one that is broken (its issues are reported, its callers skipped silently). */
type Functions = Map<string, CheckedFunction | null>;

/** The ops that name a function: they are checked here, against it, and not through their op's prepare. */
const FUNCTION_OPS = new Set(['call', 'scan']);

/** The function a call or scan node names, if it is a string (zod checked it is). */
const calleeOf = (node: WireNode): string | undefined =>
  FUNCTION_OPS.has(node.op) && typeof node.function === 'string' ? node.function : undefined;

/**
 * Checks every function of the graph, callees before their callers, so that each
 * is checked once with its declared input shapes and a call only has to match
 * them. A cycle of calls is reported at the calling nodes inside the functions on
 * it; those functions, and any that call them, are not checked further.
 */
function checkFunctions(graph: ExpandedGraph, limits: Limits, issues: Issue[], limitIssues: Issue[]): Functions {
  const out: Functions = new Map();
  const wire = graph.functions;
  if (wire === undefined) return out;
  const names = Object.keys(wire);
  const has = (n: string): boolean => Object.hasOwn(wire, n);
  const fnPath = (n: string): string => childPath('graph.functions', n);
  // Depth-first, callees first; `state`: 1 on the current path, 2 done.
  const state = new Map<string, 1 | 2>();
  const inCycle = new Set<string>();
  /** Calling nodes already reported on a cycle (another cycle through them is not repeated there). */
  const reported = new Set<string>();
  const order: string[] = [];
  const visit = (root: string): void => {
    // An explicit stack: a chain of thousands of functions must not overflow the call stack.
    const stack: { name: string; next: number }[] = [{ name: root, next: 0 }];
    state.set(root, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const nodes = wire[top.name].nodes;
      let pushed = false;
      while (top.next < nodes.length) {
        const j = top.next++;
        const callee = calleeOf(nodes[j]);
        if (callee === undefined || !has(callee)) continue;
        const st = state.get(callee);
        if (st === 1) {
          // A cycle: the functions on the stack from the callee to here, each reported at its call of the next.
          const from = stack.findIndex((f) => f.name === callee);
          const ring = stack.slice(from);
          const shown = [...ring.map((f) => f.name), callee].map((n) => JSON.stringify(n)).join(' -> ');
          for (const f of ring) {
            inCycle.add(f.name);
            const path = `${fnPath(f.name)}.nodes[${f.next - 1}]`;
            if (reported.has(path)) continue;
            reported.add(path);
            issues.push({ path, message: `a cycle of calls: ${shown}; a function may not call itself, directly or through others` });
          }
          continue;
        }
        if (st === undefined) {
          state.set(callee, 1);
          stack.push({ name: callee, next: 0 });
          pushed = true;
          break;
        }
      }
      if (pushed) continue;
      state.set(top.name, 2);
      order.push(top.name);
      stack.pop();
    }
  };
  for (const n of names) if (!state.has(n)) visit(n);
  for (const name of order) {
    const calls = wire[name].nodes.map(calleeOf).filter((c): c is string => c !== undefined && has(c));
    if (inCycle.has(name) || calls.some((c) => out.get(c) === null || !out.has(c))) {
      out.set(name, null);
      continue;
    }
    const before = issues.length + limitIssues.length;
    const checked = checkBody(wire[name], fnPath(name), limits, out, wire, issues, limitIssues);
    const output = checked.valueOfId.get(wire[name].outputs[0]);
    if (issues.length + limitIssues.length > before || output === undefined) {
      out.set(name, null);
      continue;
    }
    const body: Body = { program: checked.builder.program(), inputs: checked.inputs.map((x) => x.value), output };
    out.set(name, { body, expanded: checked.expanded });
  }
  return out;
}

interface CheckedBody {
  builder: ProgramBuilder;
  inputs: NamedValue[];
  valueOfId: Map<string, ValueId>;
  /** Equations of wire nodes with every call expanded. */
  expanded: number;
}

/**
 * Checks the main graph or one function (`prefix` is its path), turning its nodes
 * into equations; calls expand into the called function's equations.
 */
function checkBody(
  graph: WireBody,
  prefix: string,
  limits: Limits,
  functions: Functions,
  wireFunctions: ExpandedGraph['functions'],
  issues: Issue[],
  limitIssues: Issue[],
): CheckedBody {
  const nodePath = (i: number): string => `${prefix}.nodes[${i}]`;
  const known = (name: string): boolean => wireFunctions !== undefined && Object.hasOwn(wireFunctions, name);

  // Names: inputs and node ids share one namespace. A Map keeps `__proto__` an ordinary key.
  const where = new Map<string, { kind: 'input' | 'node'; index: number }>();
  /** Inputs over a limit: nodes using them are skipped, not reported again. */
  const oversized = new Set<string>();
  graph.inputs.forEach((inp, i) => {
    if (where.has(inp.name))
      issues.push({ path: `${prefix}.inputs[${i}].name`, message: `duplicate input name ${JSON.stringify(inp.name)}` });
    else where.set(inp.name, { kind: 'input', index: i });
    if (inp.shape.length > MAX_RANK || sizeOf(inp.shape) > limits.maxElements) oversized.add(inp.name);
    if (inp.shape.length > MAX_RANK) {
      limitIssues.push({
        path: `${prefix}.inputs[${i}].shape`,
        message: `shape has rank ${inp.shape.length}, more than MAX_RANK (${MAX_RANK})`,
      });
    } else if (sizeOf(inp.shape) > limits.maxElements) {
      limitIssues.push({
        path: `${prefix}.inputs[${i}].shape`,
        message: `shape ${formatShape(inp.shape)} has ${sizeOf(inp.shape)} elements, more than MAX_ELEMENTS (${limits.maxElements})`,
      });
    }
  });
  graph.nodes.forEach((node, i) => {
    const prev = where.get(node.id);
    if (prev) {
      const other = prev.kind === 'input' ? `input ${prefix}.inputs[${prev.index}]` : `node ${prefix}.nodes[${prev.index}]`;
      issues.push({ path: `${nodePath(i)}.id`, message: `duplicate id ${JSON.stringify(node.id)}, already used by ${other}` });
    } else {
      where.set(node.id, { kind: 'node', index: i });
    }
  });

  // References and arity. broken[i]: node i cannot be shape-checked.
  const broken = new Uint8Array(graph.nodes.length);
  graph.nodes.forEach((node, i) => {
    if (where.get(node.id)?.index !== i || where.get(node.id)?.kind !== 'node') broken[i] = 1;
  });
  const deps: number[][] = graph.nodes.map(() => []);
  graph.nodes.forEach((node, i) => {
    const op = opOf(node.op);
    const args = node.args ?? [];
    const callee = calleeOf(node);
    if (callee !== undefined) {
      if (!known(callee)) {
        const names = Object.keys(wireFunctions ?? {});
        const list =
          names.length === 0 ? 'the graph has no functions' : `expected one of ${names.map((n) => JSON.stringify(n)).join(', ')}`;
        issues.push({ path: `${nodePath(i)}.function`, message: `unknown function ${JSON.stringify(callee)}: ${list}` });
        broken[i] = 1;
      } else {
        const arity = functionArity(node, callee, wireFunctions?.[callee].inputs.length ?? 0);
        if (arity) {
          issues.push({ path: `${nodePath(i)}${arity.at}`, message: arity.message });
          broken[i] = 1;
        }
      }
    } else {
      const arityIssue = checkArity(op, args.length);
      if (arityIssue) {
        issues.push({ path: `${nodePath(i)}.args`, message: arityIssue });
        broken[i] = 1;
      }
    }
    args.forEach((a, j) => {
      if (typeof a === 'number') return;
      const w = where.get(a);
      if (!w) {
        issues.push({ path: `${nodePath(i)}.args[${j}]`, message: `unknown reference ${JSON.stringify(a)}: no input or node has this id` });
        broken[i] = 1;
      } else if (w.kind === 'node') {
        deps[i].push(w.index);
      } else if (oversized.has(a)) {
        broken[i] = 1;
      }
    });
  });

  const seenOutputs = new Set<string>();
  graph.outputs.forEach((o, k) => {
    if (!where.has(o))
      issues.push({ path: `${prefix}.outputs[${k}]`, message: `unknown output ${JSON.stringify(o)}: no input or node has this id` });
    else if (seenOutputs.has(o)) issues.push({ path: `${prefix}.outputs[${k}]`, message: `duplicate output ${JSON.stringify(o)}` });
    seenOutputs.add(o);
  });

  const order = topologicalOrder(deps, issues, graph.nodes, prefix);

  // Shapes, in dependency order. A node depending on a broken node is skipped silently.
  const e = new ProgramBuilder();
  const valueOfId = new Map<string, ValueId>();
  const inputs: NamedValue[] = graph.inputs.map((inp) => {
    const value = e.input(inp.shape);
    if (!valueOfId.has(inp.name)) valueOfId.set(inp.name, value);
    return { name: inp.name, value, shape: inp.shape };
  });
  let expanded = 0;
  for (const i of order) {
    const node = graph.nodes[i];
    if (broken[i] || deps[i].some((d) => broken[d])) {
      broken[i] = 1;
      continue;
    }
    const op = opOf(node.op);
    const args = (node.args ?? []).map((a) => (typeof a === 'number' ? e.literal(a) : (valueOfId.get(a) as ValueId)));
    const inShapes = args.map((a) => e.shapeOf(a));
    const callee = calleeOf(node);
    if (callee !== undefined) {
      const fn = functions.get(callee);
      if (!fn) {
        broken[i] = 1; // the function's own issues say why
        continue;
      }
      // Checked before the call is expanded: a graph of many calls never builds more than the limit.
      const adds = node.op === 'call' ? fn.expanded : 1;
      if (expanded + adds > limits.maxNodes) {
        limitIssues.push({
          path: nodePath(i),
          message: `${node.op}: with its calls expanded (function ${JSON.stringify(callee)} is ${fn.expanded} nodes so expanded), ${prefix === 'graph' ? 'the graph' : 'the function'} would have ${expanded + adds} nodes so far, more than MAX_NODES (${limits.maxNodes})`,
        });
        broken[i] = 1;
        continue;
      }
      const made = functionNode(node, nodePath(i), callee, fn, args, inShapes, e, i, limits, limitIssues);
      if (typeof made !== 'number') {
        if (made !== undefined) issues.push({ path: made.path ?? nodePath(i), message: made.message });
        broken[i] = 1;
        continue;
      }
      expanded += adds;
      valueOfId.set(node.id, made);
      continue;
    }
    try {
      const wire = Object.fromEntries(Object.entries(node).filter(([k]) => !WIRE_KEYS.has(k)));
      // An op without prepare has no wire attributes (the node schema is strict and its
      // attrs shape empty; vocabulary.test.ts checks this), so its kernel gets {}.
      const attrs = op.prepare ? op.prepare(wire, inShapes) : {};
      const shape = op.shape(inShapes, attrs);
      if (resultTooBig(shape, nodePath(i), limits, limitIssues)) {
        broken[i] = 1;
        continue;
      }
      if (op.expand) {
        // A composite op (einsum): its intermediate values count against the limits too.
        const first = e.values.length;
        const v = op.expand(e, args, attrs as never, i);
        let largest = 0;
        for (let w = first; w < e.values.length; w++) largest = Math.max(largest, sizeOf(e.values.info(w as ValueId).shape));
        if (largest > limits.maxElements) {
          limitIssues.push({
            path: nodePath(i),
            message: `einsum: an intermediate result of ${largest} elements is more than MAX_ELEMENTS (${limits.maxElements})`,
          });
          broken[i] = 1;
          continue;
        }
        valueOfId.set(node.id, v);
      } else valueOfId.set(node.id, e.applyOp(op, args, attrs, i));
      expanded++;
    } catch (err) {
      if (!(err instanceof OpError)) throw err;
      const path =
        err.attr !== undefined
          ? attrPath(nodePath(i), err.attr)
          : err.arg !== undefined
            ? `${nodePath(i)}.args[${Math.min(err.arg, Math.max(0, args.length - 1))}]`
            : nodePath(i);
      issues.push({ path, message: `${node.op}: ${err.message}` });
      broken[i] = 1;
    }
  }
  return { builder: e, inputs, valueOfId, expanded };
}

/** A call's or scan's arguments against the number of the function's inputs: the issue, or undefined. */
function functionArity(node: WireNode, callee: string, inputs: number): { at: string; message: string } | undefined {
  const n = (node.args ?? []).length;
  const name = JSON.stringify(callee);
  const count = (k: number, what: string): string => `${k} ${what}${k === 1 ? '' : 's'}`;
  if (node.op === 'call') {
    if (n === inputs) return undefined;
    return { at: '.args', message: `call: function ${name} takes ${count(inputs, 'argument')} (its inputs), found ${n}` };
  }
  if (inputs !== 1 && inputs !== 2) {
    return {
      at: '.function',
      message: `scan: the function takes (carry) or (carry, x), but ${name} has ${count(inputs, 'input')}`,
    };
  }
  if (n === inputs) return undefined;
  const want = inputs === 1 ? `1 argument (init), as ${name} takes only the carry` : `2 arguments (init, xs), as ${name} takes (carry, x)`;
  return { at: '.args', message: `scan takes ${want}, found ${n}` };
}

type Made = ValueId | { path?: string; message: string; limit?: boolean };

/**
 * A call or scan node whose function is checked: its arguments against the
 * function's inputs, then the call expanded into the function's equations (tied
 * to this node), or the scan's equation.
 */
function functionNode(
  node: WireNode,
  path: string,
  callee: string,
  fn: CheckedFunction,
  args: readonly ValueId[],
  inShapes: readonly Shape[],
  e: ProgramBuilder,
  index: number,
  limits: Limits,
  limitIssues: Issue[],
): Made | undefined {
  const name = JSON.stringify(callee);
  const want = fn.body.inputs.map((v) => fn.body.program.values.info(v).shape);
  const outShape = fn.body.program.values.info(fn.body.output).shape;
  if (node.op === 'call') {
    for (let j = 0; j < args.length; j++) {
      if (!sameShape(inShapes[j], want[j])) {
        return {
          path: `${path}.args[${j}]`,
          message: `call: argument ${j} has shape ${formatShape(inShapes[j])}, but input ${j} of function ${name} has shape ${formatShape(want[j])}`,
        };
      }
    }
    return replay(fn.body, e, args, index).out;
  }
  const length = node.length as number;
  if (!sameShape(inShapes[0], want[0])) {
    return {
      path: `${path}.args[0]`,
      message: `scan: init has shape ${formatShape(inShapes[0])}, but the carry (input 0) of function ${name} has shape ${formatShape(want[0])}`,
    };
  }
  if (!sameShape(outShape, want[0])) {
    return {
      path: `${path}.function`,
      message: `scan: function ${name} returns shape ${formatShape(outShape)}, not its carry's shape ${formatShape(want[0])}`,
    };
  }
  if (args.length === 2 && !sameShape(inShapes[1], [length, ...want[1]])) {
    return {
      path: `${path}.args[1]`,
      message: `scan: xs has shape ${formatShape(inShapes[1])}, expected ${formatShape([length, ...want[1]])}: length ${length} rows of the shape of input 1 of function ${name}`,
    };
  }
  const shape = [length, ...want[0]];
  if (resultTooBig(shape, path, limits, limitIssues)) return undefined;
  // An empty carry stores nothing, but its steps still run: they count as its rows do.
  if (length > limits.maxElements) {
    limitIssues.push({ path: `${path}.length`, message: `scan: length ${length} is more than MAX_ELEMENTS (${limits.maxElements}) steps` });
    return undefined;
  }
  fn.step ??= new ProgramStep(fn.body, callee);
  return e.applyOp(getOp('scan'), args, { function: callee, length, reverse: false, body: fn.step }, index);
}

/** Whether a result shape is over MAX_RANK or MAX_ELEMENTS (then reported). */
function resultTooBig(shape: Shape, path: string, limits: Limits, limitIssues: Issue[]): boolean {
  if (shape.length > MAX_RANK) {
    limitIssues.push({ path, message: `result has rank ${shape.length}, more than MAX_RANK (${MAX_RANK})` });
    return true;
  }
  if (sizeOf(shape) > limits.maxElements) {
    limitIssues.push({
      path,
      message: `result shape ${formatShape(shape)} has ${sizeOf(shape)} elements, more than MAX_ELEMENTS (${limits.maxElements})`,
    });
    return true;
  }
  return false;
}

/** The op a node names: zod admitted known names only, so none is missing. */
function opOf(name: string): OpDef {
  const op = findOp(name);
  if (op === undefined) throw new Error(`internal error: no op named ${name}`);
  return op;
}

function checkArity(op: OpDef, n: number): string | undefined {
  if (op.arity === 'variadic') return n >= 1 ? undefined : `${op.name} takes one or more arguments, found 0`;
  if (n === op.arity) return undefined;
  const want = op.arity === 0 ? 'no arguments' : op.arity === 1 ? '1 argument' : `${op.arity} arguments`;
  return `${op.name} takes ${want}, found ${n}`;
}

/** `value[3]`-style sub-paths from attribute checks, appended to the node's path. */
function attrPath(base: string, attr: string): string {
  const m = /^([^[]+)(.*)$/.exec(attr);
  return m ? `${childPath(base, m[1])}${m[2]}` : base;
}

/**
 * Kahn's algorithm with the ready nodes in a min-heap keyed by id, so the order is
 * a function of the graph alone, never of the order of `nodes` in the JSON: the
 * program, and so every floating-point sum (reverse mode adds fan-out
 * contributions in program order), is the same for any node order, on any thread
 * or replica. Nodes left over lie on or behind a cycle; each cycle is reported
 * once, at its first node, with its members.
 */
function topologicalOrder(deps: number[][], issues: Issue[], nodes: readonly WireNode[], prefix: string): number[] {
  const n = deps.length;
  const name = (i: number): string => JSON.stringify(nodes[i].id);
  const users: number[][] = deps.map(() => []);
  const pending = new Int32Array(n);
  deps.forEach((ds, i) => {
    pending[i] = ds.length;
    for (const d of ds) users[d].push(i);
  });
  const order: number[] = [];
  const ready = new NodeHeap(nodes.map((node) => node.id));
  for (let i = 0; i < n; i++) if (pending[i] === 0) ready.push(i);
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(i);
    for (const u of users[i]) if (--pending[u] === 0) ready.push(u);
  }
  if (order.length < n) {
    // searched[i]: node i was walked by an earlier search, so what lies behind it is reported.
    const searched = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (pending[i] === 0 || searched[i]) continue;
      const cycle = findCycle(i, deps, pending, searched);
      if (cycle === undefined) continue;
      const first = cycle.reduce((a, b) => Math.min(a, b));
      const at = cycle.indexOf(first);
      const ring = [...cycle.slice(at), ...cycle.slice(0, at)];
      const shown = ring.length > MAX_CYCLE_SHOWN ? [...ring.slice(0, MAX_CYCLE_SHOWN - 1).map(name), '…'] : ring.map(name);
      const size = ring.length > MAX_CYCLE_SHOWN ? ` (${ring.length} nodes)` : '';
      issues.push({
        path: `${prefix}.nodes[${first}]`,
        message: `cycle: ${[...shown, name(first)].join(' -> ')}${size}; each node uses the next`,
      });
    }
  }
  return order;
}

/**
 * Follows unresolved dependencies from `start` (each has one) and returns the cycle it
 * runs into, or undefined when it reaches a node an earlier search walked (that cycle
 * is reported already). Marks what it walks, so all searches together are linear.
 */
function findCycle(start: number, deps: number[][], pending: Int32Array, searched: Uint8Array): number[] | undefined {
  const path: number[] = [];
  const pos = new Map<number, number>();
  let cur = start;
  while (!pos.has(cur)) {
    if (searched[cur]) break;
    pos.set(cur, path.length);
    path.push(cur);
    cur = deps[cur].find((d) => pending[d] > 0) as number;
  }
  for (const p of path) searched[p] = 1;
  const at = pos.get(cur);
  return at === undefined ? undefined : path.slice(at);
}

/**
 * A binary min-heap of node indices ordered by id (UTF-16 code units, as `<`
 * compares strings), then by index: duplicate ids are reported as errors, but
 * the order stays defined for them too.
 */
class NodeHeap {
  private readonly items: number[] = [];

  constructor(private readonly ids: readonly string[]) {}

  get size(): number {
    return this.items.length;
  }

  private less(a: number, b: number): boolean {
    const x = this.ids[a];
    const y = this.ids[b];
    return x < y || (x === y && a < b);
  }

  push(i: number): void {
    const h = this.items;
    let at = h.length;
    h.push(i);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.less(i, h[parent])) break;
      h[at] = h[parent];
      at = parent;
    }
    h[at] = i;
  }

  pop(): number {
    const h = this.items;
    const top = h[0];
    const last = h.pop() as number;
    if (h.length > 0) {
      let at = 0;
      for (;;) {
        const l = 2 * at + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && this.less(h[l + 1], h[l]) ? l + 1 : l;
        if (!this.less(h[c], last)) break;
        h[at] = h[c];
        at = c;
      }
      h[at] = last;
    }
    return top;
  }
}
