/**
 * The graph builder: `graph()` declares inputs, functions, formula definitions and
 * named outputs; `toJSON()` writes the wire graph derivd takes
 * (docs/graph-format.md), collecting the nodes the outputs reach and giving each
 * a readable id (`exp_3`, or the name given with `named` or `output`).
 */
import { apply, type FunctionRef, type Operand, type Scope, type Shape, Tensor, type TensorLiteral } from './expr.js';

export interface WireInput {
  name: string;
  shape: number[];
}
export type WireNode = { id: string; op: string; args?: (string | number)[] } & Record<string, unknown>;
export interface WireFunction {
  inputs: WireInput[];
  nodes: WireNode[];
  outputs: string[];
}
/** The graph as the service takes it. */
export interface WireGraph {
  inputs: WireInput[];
  nodes: WireNode[];
  outputs: string[];
  functions?: Record<string, WireFunction>;
  /** Formula definitions by id (passed through as given). */
  define?: Record<string, string>;
}

/** A constant tensor from nested arrays: the `const` op, with its shape known to the builder. */
export function tensor(value: TensorLiteral): Tensor {
  return apply('const', [], { value });
}

/** A node, function or output name that a graph already uses. */
class NameError extends Error {}

/**
 * Serializes one scope (the graph or a function): the nodes its outputs reach, each
 * once, in dependency order, ids generated where none was given.
 */
function serializeScope(
  scope: Scope,
  inputs: readonly Tensor[],
  defines: ReadonlyMap<string, string>,
  outputs: readonly (readonly [string, Tensor])[],
  functions: Map<string, FunctionRef>,
): { inputs: WireInput[]; nodes: WireNode[]; outputs: string[] } {
  const where = scope.kind === 'graph' ? 'the graph' : `function ${JSON.stringify(scope.name)}`;
  const taken = new Set<string>([...inputs.map((t) => t.id as string), ...defines.keys()]);
  const ids = new Map<Tensor, string>();
  const nodes: WireNode[] = [];

  // Nodes the outputs reach, dependencies first (iterative: a long chain must not overflow the stack).
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  for (const [, root] of outputs) {
    const stack: [Tensor, boolean][] = [[root, false]];
    while (stack.length > 0) {
      const [t, expanded] = stack.pop() as [Tensor, boolean];
      if (expanded) {
        order.push(t);
        continue;
      }
      if (seen.has(t)) continue;
      seen.add(t);
      if (t.kind !== 'node') {
        if (t.scope !== scope) {
          const what = t.kind === 'input' ? 'input' : 'definition';
          throw new Error(
            `${where} uses ${what} ${JSON.stringify(t.id)} of ${t.scope?.kind ?? 'another'} ${JSON.stringify(t.scope?.name)}`,
          );
        }
        continue;
      }
      stack.push([t, true]);
      for (let i = t.args.length - 1; i >= 0; i--) {
        const a = t.args[i];
        if (a instanceof Tensor && !seen.has(a)) stack.push([a, false]);
      }
    }
  }

  // Names given by the user, then the output names (a node output once takes its name).
  for (const t of order) {
    if (t.id === undefined) continue;
    if (taken.has(t.id)) throw new NameError(`${where}: the name ${JSON.stringify(t.id)} is used twice`);
    taken.add(t.id);
    ids.set(t, t.id);
  }
  const aliases: [string, Tensor][] = [];
  for (const [name, t] of outputs) {
    const current = t.kind === 'node' ? ids.get(t) : t.id;
    if (current === name) continue;
    if (taken.has(name))
      throw new NameError(`${where}: the output name ${JSON.stringify(name)} is already the name of another input or node`);
    taken.add(name);
    if (t.kind === 'node' && current === undefined) ids.set(t, name);
    else aliases.push([name, t]); // the same tensor under a second name: mul(t, 1) keeps every bit, -0 and NaN included
  }
  const counters = new Map<string, number>();
  const idOf = (t: Tensor): string => {
    if (t.kind !== 'node') return t.id as string;
    let id = ids.get(t);
    if (id === undefined) {
      id = fresh(t.op as string);
      ids.set(t, id);
    }
    return id;
  };
  const fresh = (base: string): string => {
    let n = counters.get(base) ?? 0;
    let id: string;
    do id = `${base}_${++n}`;
    while (taken.has(id));
    counters.set(base, n);
    taken.add(id);
    return id;
  };
  // JSON has no NaN or infinities: a non-finite number argument becomes a fill node (one per value).
  const fills = new Map<string, string>();
  const literal = (x: number): string | number => {
    if (Number.isFinite(x)) return x;
    const value = String(x);
    let id = fills.get(value);
    if (id === undefined) {
      id = fresh('fill');
      fills.set(value, id);
      nodes.push({ id, op: 'fill', shape: [], value });
    }
    return id;
  };

  for (const t of order) {
    const node: WireNode = { id: idOf(t), op: t.op as string };
    if (t.args.length > 0) node.args = t.args.map((a: Operand) => (typeof a === 'number' ? literal(a) : idOf(a)));
    for (const [k, v] of Object.entries(t.attrs ?? {})) {
      if (k === 'function' && typeof v === 'object' && v !== null) {
        const f = v as FunctionRef;
        const other = functions.get(f.name);
        if (other !== undefined && other !== f) throw new NameError(`two different functions are named ${JSON.stringify(f.name)}`);
        functions.set(f.name, f);
        node[k] = f.name;
      } else node[k] = v;
    }
    nodes.push(node);
  }
  for (const [name, t] of aliases) nodes.push({ id: name, op: 'mul', args: [idOf(t), 1] });

  return {
    inputs: inputs.map((t) => ({ name: t.id as string, shape: [...(t.shape ?? [])] })),
    nodes,
    outputs: outputs.map(([name]) => name),
  };
}

/** Inputs of a function, by name and shape, in order. */
export type FunctionInputs = Readonly<Record<string, Shape>>;

/**
 * A graph being built. `Out` collects the output names given with `output`, so the
 * results of a call on `graph.output('r', …)` are typed by them.
 */
export class Graph<Out extends string = never> {
  readonly #scope: Scope = { kind: 'graph', name: 'graph' };
  readonly #inputs: Tensor[] = [];
  readonly #outputs: [string, Tensor][] = [];
  readonly #defines = new Map<string, string>();
  readonly #functions = new Map<string, FunctionRef>();

  /** Declares an input; its shape is typed on the handle (`[] as const` or a literal `[21]`). */
  input<const S extends Shape>(name: string, shape: S): Tensor<S> {
    if (name === '') throw new Error('input(""): a name must be a non-empty string');
    if (this.#inputs.some((t) => t.id === name)) throw new Error(`input ${JSON.stringify(name)} is declared twice`);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new Error(`input ${JSON.stringify(name)}: a shape is non-negative integers`);
    const t = new Tensor<S>('input', name, shape, undefined, [], undefined, this.#scope);
    this.#inputs.push(t);
    return t;
  }

  /** The declared inputs' shapes, by name: what the client uses to send a Float64Array argument. */
  inputShapes(): Map<string, Shape> {
    return new Map(this.#inputs.map((t) => [t.id as string, t.shape ?? []]));
  }

  /** Names `t` as an output of the graph; outputs are returned in the order they are named. */
  output<N extends string>(name: N, t: Tensor): Graph<Out | N> {
    if (name === '') throw new Error('output(""): a name must be a non-empty string');
    if (!(t instanceof Tensor)) throw new Error(`output ${JSON.stringify(name)}: expected a tensor handle`);
    if (this.#outputs.some(([n]) => n === name)) throw new Error(`output ${JSON.stringify(name)} is named twice`);
    this.#outputs.push([name, t]);
    return this as unknown as Graph<Out | N>;
  }

  /** The shapes of the outputs where the builder knows them (for Float64Array cotangents). */
  outputShapes(): Map<string, Shape> {
    const out = new Map<string, Shape>();
    for (const [name, t] of this.#outputs) if (t.shape !== undefined) out.set(name, t.shape);
    return out;
  }

  /**
   * A formula definition, passed through as the graph's `define` entry: its id is a
   * name other nodes and outputs may use. The service parses the formula.
   */
  define<const S extends Shape = Shape>(id: string, formula: string, shape?: S): Tensor<S> {
    if (id === '') throw new Error('define(""): an id must be a non-empty string');
    if (this.#defines.has(id)) throw new Error(`define ${JSON.stringify(id)} is given twice`);
    this.#defines.set(id, formula);
    return new Tensor<S>('define', id, shape, undefined, [], undefined, this.#scope);
  }

  /**
   * A function (a sub-graph with one output) for the `call` and `scan` ops:
   * `const step = g.fn('step', { c: [2], x: [2] }, ({ c, x }) => add(c, mul(0.1, mul(sin(c), x))))`.
   * Its body sees only its own inputs.
   */
  fn<const I extends FunctionInputs, S extends Shape>(
    name: string,
    inputs: I,
    body: (args: { [K in keyof I]: Tensor<I[K]> }) => Tensor<S>,
  ): FunctionRef<S> {
    if (name === '') throw new Error('fn(""): a name must be a non-empty string');
    if (this.#functions.has(name)) throw new Error(`function ${JSON.stringify(name)} is defined twice`);
    const scope: Scope = { kind: 'function', name };
    const handles: Record<string, Tensor> = {};
    for (const [n, shape] of Object.entries(inputs)) handles[n] = new Tensor('input', n, shape, undefined, [], undefined, scope);
    const output = body(handles as { [K in keyof I]: Tensor<I[K]> });
    if (!(output instanceof Tensor)) throw new Error(`function ${JSON.stringify(name)}: its body must return a tensor handle`);
    const ref: FunctionRef<S> & { readonly scope: Scope } = {
      kind: 'function',
      name,
      inputs: Object.values(handles),
      output,
      graph: this.#scope,
      scope,
      call: (...args) => apply('call', args, { function: ref }) as Tensor<S>,
      scan: (length, init, xs) => apply('scan', xs === undefined ? [init] : [init, xs], { function: ref, length }),
    };
    this.#functions.set(name, ref);
    return ref;
  }

  /** The wire graph: `{ inputs, nodes, outputs, functions?, define? }`. JSON.stringify(graph) writes it too. */
  toJSON(): WireGraph {
    if (this.#outputs.length === 0) throw new Error('the graph has no outputs: name one with graph.output(name, tensor)');
    const functions = new Map(this.#functions);
    const main = serializeScope(this.#scope, this.#inputs, this.#defines, this.#outputs, functions);
    const wire: WireGraph = { inputs: main.inputs, nodes: main.nodes, outputs: main.outputs };
    // Functions named by call and scan nodes, and those they name in turn.
    const written = new Map<string, WireFunction>();
    for (let more = true; more; ) {
      more = false;
      for (const [name, f] of [...functions]) {
        if (written.has(name)) continue;
        const scope = (f as FunctionRef & { scope?: Scope }).scope ?? { kind: 'function', name };
        const params = new Set(f.inputs.map((t) => t.id));
        let out = f.output.id ?? 'out';
        for (let n = 1; f.output.id === undefined && params.has(out); n++) out = `out_${n}`;
        written.set(name, serializeScope(scope, f.inputs, new Map(), [[out, f.output]], functions));
        more = true;
      }
    }
    if (written.size > 0) wire.functions = Object.fromEntries([...written].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (this.#defines.size > 0) wire.define = Object.fromEntries(this.#defines);
    return wire;
  }
}

/** A new, empty graph builder. */
export function graph(): Graph {
  return new Graph();
}
