/**
 * Expressions: the handles the builder functions take and return. An expression is
 * a node of a DAG (an op applied to expressions and numbers), a graph's input, a
 * function's parameter, or a name a formula defines. Nodes belong to no graph: a
 * graph collects the ones its outputs reach when it is serialized (graph.ts).
 *
 * A handle carries its static shape where TypeScript knows it (inputs, and
 * elementwise ops of known shapes broadcast as NumPy does), so `add(x, y)` of
 * shapes [3] and [4] is a compile error; anything else is `Shape`, checked by the
 * service.
 */
// A cycle with ops.generated.ts (which imports apply), harmless: each side uses the other only when called.
import { ELEMENTWISE_OPS, type OpName } from './ops.generated.js';

/** A tensor's shape: `[]` a scalar, `[21]` a vector, `[2, 3]` a matrix. */
export type Shape = readonly number[];

/** A tensor written as nested arrays (row-major), with the wire strings for non-finite floats. */
export type TensorLiteral = number | 'NaN' | 'Infinity' | '-Infinity' | readonly TensorLiteral[];

/** Where an input or a formula name lives: a graph or a function (their names are local to it). */
export interface Scope {
  readonly kind: 'graph' | 'function';
  readonly name: string;
}

/** A sub-graph made by `graph.fn`, named by the `call` and `scan` ops. */
export interface FunctionRef<S extends Shape = Shape> {
  readonly kind: 'function';
  readonly name: string;
  /** The function's parameters, in order. */
  readonly inputs: readonly Tensor[];
  readonly output: Tensor<S>;
  /** The graph the function was defined in. */
  readonly graph: Scope;
  /** The `call` op: the function applied to one argument per input. */
  call(...args: Operand[]): Tensor<S>;
  /** The `scan` op: `length` steps from `init` (reading row t of `xs` at step t, when given); every carry, stacked. */
  scan(length: number, init: Operand, xs?: Operand): Tensor;
}

type Attrs = Readonly<Record<string, unknown>>;

/** A handle on a tensor in a graph being built. `S` is its shape as far as TypeScript knows it. */
export class Tensor<S extends Shape = Shape> {
  /** @internal */
  constructor(
    /** `node`: an op applied to arguments; `input`: a graph or function input; `define`: a formula's name. */
    readonly kind: 'node' | 'input' | 'define',
    /** The node's id once named (`named`), or the input's or definition's name. */
    public id: string | undefined,
    /** The shape, when known before the service checks the graph. */
    readonly shape: S | undefined,
    readonly op?: OpName,
    readonly args: readonly Operand[] = [],
    readonly attrs?: Attrs,
    /** For inputs and definitions: the graph or function they belong to. */
    readonly scope?: Scope,
  ) {}

  /** Gives this node a readable id in the serialized graph (by default ids are generated: `exp_3`). */
  named(id: string): this {
    if (this.kind !== 'node') throw new Error(`named(${JSON.stringify(id)}): ${this.kind} ${JSON.stringify(this.id)} already has a name`);
    if (id === '') throw new Error('named(""): an id must be a non-empty string');
    this.id = id;
    return this;
  }
}

/** What an op takes as an argument: a tensor, or a number (a constant scalar, shape []). */
export type Operand = Tensor | number;

/** The static shape of an operand: `[]` for a number. */
export type ShapeOf<X> = X extends number ? readonly [] : X extends Tensor<infer S> ? S : Shape;

type IsTuple<S extends Shape> = number extends S['length'] ? false : true;
type Dim<A extends number, B extends number> = A extends 1
  ? B
  : B extends 1
    ? A
    : number extends A
      ? number
      : number extends B
        ? number
        : A extends B
          ? A
          : never;
type Aligned<A extends Shape, B extends Shape> = A extends readonly [...infer AH extends Shape, infer a extends number]
  ? B extends readonly [...infer BH extends Shape, infer b extends number]
    ? readonly [...Aligned<AH, BH>, Dim<a, b>]
    : A
  : B;

/**
 * NumPy broadcasting of two static shapes: aligned on the right, each pair of
 * dimensions equal or one of them 1. A dimension that cannot broadcast is `never`;
 * an unknown shape (`Shape`) makes the result unknown.
 */
export type Broadcast<A extends Shape, B extends Shape> =
  IsTuple<A> extends true ? (IsTuple<B> extends true ? Aligned<A, B> : Shape) : Shape;

type HasNever<T extends Shape> = T extends readonly [infer H, ...infer R extends Shape]
  ? [H] extends [never]
    ? true
    : HasNever<R>
  : false;

/** A compile error on the argument whose shape does not broadcast with the ones before it. */
export interface ShapesDoNotBroadcast<A extends Shape, B extends Shape> {
  readonly error: 'these shapes do not broadcast';
  readonly shapes: readonly [A, B];
}

/** `unknown` (no constraint) when the shapes broadcast, else an error type that no argument satisfies. */
export type Broadcasts<A extends Shape, B extends Shape, C extends Shape = readonly []> =
  HasNever<Broadcast<A, B>> extends true
    ? ShapesDoNotBroadcast<A, B>
    : HasNever<Broadcast<Broadcast<A, B>, C>> extends true
      ? ShapesDoNotBroadcast<Broadcast<A, B>, C>
      : unknown;

/** The broadcast shape of known shapes, or undefined when one is unknown; throws when they do not broadcast. */
export function broadcastShapes(op: string, shapes: readonly (Shape | undefined)[]): Shape | undefined {
  let out: number[] = [];
  for (const [i, s] of shapes.entries()) {
    if (s === undefined) return undefined;
    const n = Math.max(out.length, s.length);
    const next: number[] = [];
    for (let k = 0; k < n; k++) {
      const a = out[out.length - n + k] ?? 1;
      const b = s[s.length - n + k] ?? 1;
      if (a !== b && a !== 1 && b !== 1) {
        throw new Error(`${op}: argument ${i} of shape [${s.join(', ')}] does not broadcast with [${out.join(', ')}]`);
      }
      next.push(a === 1 ? b : a);
    }
    out = next;
  }
  return out;
}

const REDUCTIONS = new Set(['sum', 'mean', 'prod', 'max', 'min', 'logsumexp', 'norm']);

/** The shape of a nested-array literal (the service checks that it is rectangular). */
export function literalShape(value: TensorLiteral): number[] {
  const shape: number[] = [];
  let v: TensorLiteral = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = (v as readonly TensorLiteral[])[0] as TensorLiteral;
  }
  return shape;
}

/** The output shape where it is easy to know before the service checks the graph; undefined otherwise. */
function staticShape(op: OpName, args: readonly Operand[], attrs: Attrs | undefined): Shape | undefined {
  const shapes = args.map((a) => (typeof a === 'number' ? [] : a.shape));
  if (ELEMENTWISE_OPS.has(op)) return broadcastShapes(op, shapes);
  const a = attrs ?? {};
  if (REDUCTIONS.has(op) && a.axes === undefined && a.keepdims !== true) return [];
  if (op === 'dot' && shapes.every((s) => s?.length === 1)) return [];
  if ((op === 'reshape' || op === 'broadcast_to' || op === 'fill') && Array.isArray(a.shape)) return a.shape as number[];
  if (op === 'const') return literalShape(a.value as TensorLiteral);
  if (op === 'call' && typeof a.function === 'object' && a.function !== null) return (a.function as FunctionRef).output.shape;
  if (op === 'scan' && typeof a.length === 'number' && shapes[0] !== undefined) return [a.length, ...shapes[0]];
  return undefined;
}

/** The node `op(args; attrs)`. Builder functions in ops.generated.ts call this; it is exported for ops added later. */
export function apply(op: OpName, args: readonly Operand[], attrs?: object): Tensor {
  for (const [i, a] of args.entries()) {
    if (typeof a !== 'number' && !(a instanceof Tensor)) {
      throw new Error(`${op}: argument ${i} is ${a === null ? 'null' : typeof a}, expected a tensor handle or a number`);
    }
  }
  const clean = attrs === undefined ? undefined : Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined));
  return new Tensor('node', undefined, staticShape(op, args, clean), op, [...args], clean);
}
