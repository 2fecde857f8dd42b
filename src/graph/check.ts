/**
 * Semantic checks that zod cannot express, turning a wire graph into a Program:
 * unique ids, known references, arity, no cycles, attributes and shapes under
 * broadcasting, and size limits. Every independent error is collected; a node whose
 * arguments are already broken is skipped rather than reported twice.
 */
import { ProgramBuilder } from '../ir/builder.js';
import { findOp } from '../ops/registry.js';
import { OpError, type OpDef } from '../ops/types.js';
import { MAX_RANK } from '../tensor/nested.js';
import { formatShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { childPath, DerivdError, type Issue } from './errors.js';
import type { Program, ValueId } from '../ir/program.js';
import { checkCounts, DEFAULT_LIMITS, type Limits } from './limits.js';
import type { WireGraph } from './schema.js';

export interface NamedValue {
  name: string;
  value: ValueId;
  shape: Shape;
}

export interface CheckedGraph {
  program: Program;
  inputs: NamedValue[];
  outputs: NamedValue[];
  /** Number of wire nodes (not inputs, not literals). */
  nodeCount: number;
}

const WIRE_KEYS = new Set(['id', 'op', 'args']);
/** Longest cycle spelled out in full in a message. */
const MAX_CYCLE_SHOWN = 12;

export function checkGraph(graph: WireGraph, limits: Limits = DEFAULT_LIMITS): CheckedGraph {
  const issues: Issue[] = [];
  const limitIssues: Issue[] = [];
  const nodePath = (i: number): string => `graph.nodes[${i}]`;

  checkCounts(graph, limits);

  // Names: inputs and node ids share one namespace. A Map keeps `__proto__` an ordinary key.
  const where = new Map<string, { kind: 'input' | 'node'; index: number }>();
  /** Inputs over a limit: nodes using them are skipped, not reported again. */
  const oversized = new Set<string>();
  graph.inputs.forEach((inp, i) => {
    if (where.has(inp.name)) issues.push({ path: `graph.inputs[${i}].name`, message: `duplicate input name ${JSON.stringify(inp.name)}` });
    else where.set(inp.name, { kind: 'input', index: i });
    if (inp.shape.length > MAX_RANK || sizeOf(inp.shape) > limits.maxElements) oversized.add(inp.name);
    if (inp.shape.length > MAX_RANK) {
      limitIssues.push({
        path: `graph.inputs[${i}].shape`,
        message: `shape has rank ${inp.shape.length}, more than MAX_RANK (${MAX_RANK})`,
      });
    } else if (sizeOf(inp.shape) > limits.maxElements) {
      limitIssues.push({
        path: `graph.inputs[${i}].shape`,
        message: `shape ${formatShape(inp.shape)} has ${sizeOf(inp.shape)} elements, more than MAX_ELEMENTS (${limits.maxElements})`,
      });
    }
  });
  graph.nodes.forEach((node, i) => {
    const prev = where.get(node.id);
    if (prev) {
      const other = prev.kind === 'input' ? `input graph.inputs[${prev.index}]` : `node graph.nodes[${prev.index}]`;
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
    const arityIssue = checkArity(op, args.length);
    if (arityIssue) {
      issues.push({ path: `${nodePath(i)}.args`, message: arityIssue });
      broken[i] = 1;
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
      issues.push({ path: `graph.outputs[${k}]`, message: `unknown output ${JSON.stringify(o)}: no input or node has this id` });
    else if (seenOutputs.has(o)) issues.push({ path: `graph.outputs[${k}]`, message: `duplicate output ${JSON.stringify(o)}` });
    seenOutputs.add(o);
  });

  const order = topologicalOrder(deps, issues, graph);

  // Shapes, in dependency order. A node depending on a broken node is skipped silently.
  const e = new ProgramBuilder();
  const valueOfId = new Map<string, ValueId>();
  const inputs: NamedValue[] = graph.inputs.map((inp) => {
    const value = e.input(inp.shape);
    if (!valueOfId.has(inp.name)) valueOfId.set(inp.name, value);
    return { name: inp.name, value, shape: inp.shape };
  });
  for (const i of order) {
    const node = graph.nodes[i];
    if (broken[i] || deps[i].some((d) => broken[d])) {
      broken[i] = 1;
      continue;
    }
    const op = opOf(node.op);
    const args = (node.args ?? []).map((a) => (typeof a === 'number' ? e.literal(a) : (valueOfId.get(a) as ValueId)));
    const inShapes = args.map((a) => e.shapeOf(a));
    try {
      const wire = Object.fromEntries(Object.entries(node).filter(([k]) => !WIRE_KEYS.has(k)));
      // An op without prepare has no wire attributes (the node schema is strict and its
      // attrs shape empty; vocabulary.test.ts checks this), so its kernel gets {}.
      const attrs = op.prepare ? op.prepare(wire, inShapes) : {};
      const shape = op.shape(inShapes, attrs);
      if (shape.length > MAX_RANK) {
        limitIssues.push({ path: nodePath(i), message: `result has rank ${shape.length}, more than MAX_RANK (${MAX_RANK})` });
        broken[i] = 1;
        continue;
      }
      if (sizeOf(shape) > limits.maxElements) {
        limitIssues.push({
          path: nodePath(i),
          message: `result shape ${formatShape(shape)} has ${sizeOf(shape)} elements, more than MAX_ELEMENTS (${limits.maxElements})`,
        });
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

  if (issues.length > 0) throw new DerivdError('invalid_graph', [...issues, ...limitIssues]);
  if (limitIssues.length > 0) throw new DerivdError('limit_exceeded', limitIssues);

  const outputs = graph.outputs.map((name) => {
    const value = valueOfId.get(name) as ValueId;
    return { name, value, shape: e.shapeOf(value) };
  });
  return { program: e.program(), inputs, outputs, nodeCount: graph.nodes.length };
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
function topologicalOrder(deps: number[][], issues: Issue[], graph: WireGraph): number[] {
  const n = deps.length;
  const name = (i: number): string => JSON.stringify(graph.nodes[i].id);
  const users: number[][] = deps.map(() => []);
  const pending = new Int32Array(n);
  deps.forEach((ds, i) => {
    pending[i] = ds.length;
    for (const d of ds) users[d].push(i);
  });
  const order: number[] = [];
  const ready = new NodeHeap(graph.nodes.map((node) => node.id));
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
        path: `graph.nodes[${first}]`,
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
