/**
 * Random valid composite graphs for property tests: a fast-check arbitrary built
 * with fc.gen(), node by node. Every candidate node is evaluated as it is drawn
 * (with the library's own op kernels, so the checks see exactly the primal the
 * engines differentiate) and kept only if its value is well conditioned:
 *
 *   - every value is finite with |v| ≤ BOUND and has at most MAX_SIZE elements
 *     (empty values come only now and then: [0]-shaped inputs, empty slices and
 *     index lists, and whatever is computed from them);
 *   - smooth ops stay in safe domains (exp of |x| ≤ 3, log and sqrt of x ≥ 0.3,
 *     div by |b| ≥ 0.5, pow of base ≥ 0.3 with |exponent| ≤ 3, asin of |x| ≤ 0.8, ...);
 *     when a drawn argument is out of domain it is first made safe with extra
 *     nodes (add(square(x), c), tanh(x), ...);
 *   - every kink is at least MARGIN away: comparisons and maximum/minimum need
 *     |a - b| ≥ MARGIN, abs/relu |x| ≥ MARGIN, where's condition is a comparison
 *     or a value with |c| ≥ MARGIN, max/min reductions a gap ≥ MARGIN between the
 *     best two of every group.
 *
 * With inputs in [-2, 2], fd's step (about 6e-6 · max(1, |x|)) moves no value by
 * anything near MARGIN, so central differences see a smooth function.
 *
 * stop_gradient is allowed anywhere. Finite differences cannot see it, so each
 * case also carries `fd`: the same graph with every stop_gradient node replaced by
 * a constant input of the same name holding its value, which is what the exact
 * derivative of the original graph must equal.
 *
 * Cases print as JSON (graph, args, constant, tangents, ...) in fast-check's
 * counterexample reports.
 */
import fc from 'fast-check';
import type { NodeGraph } from '../../src/graph/schema.js';
import { getOp } from '../../src/ops/registry.js';
import type { OpName } from '../../src/ops/vocabulary.js';
import { OpError } from '../../src/ops/types.js';

export type Nested = number | Nested[];
export type WireNode = NodeGraph['nodes'][number];

/** A request without mode or operation: what every API call of a test shares. */
export interface CaseRequest {
  graph: NodeGraph;
  args: Record<string, Nested>;
  constant: string[];
}

export interface GraphCase extends CaseRequest {
  /** For fd: the graph with stop_gradient nodes turned into constant inputs. */
  fd: CaseRequest;
  /** Per active input: a jvp tangent and an hvp vector. */
  tangents: Record<string, Nested>;
  vector: Record<string, Nested>;
  /** Per output: a vjp cotangent. */
  cotangents: Record<string, Nested>;
  /** Shapes of every input and node, by name. */
  shapes: Record<string, number[]>;
  /** After withScalarOutput: the outputs the graph had before. */
  previousOutputs?: string[];
  [fc.toStringMethod](): string;
}

export interface GraphOptions {
  /** Most wire nodes (default 20). */
  maxNodes?: number;
  /** Most inputs (default 4). */
  maxInputs?: number;
  /** Most elements over all active inputs (default 24). */
  maxActiveElements?: number;
}

export const BOUND = 20;
export const MARGIN = 0.05;
export const MAX_SIZE = 36;

const INPUT_SHAPES: number[][] = [[], [2], [3], [1], [4], [2, 2], [2, 3], [3, 2], [1, 3], [3, 1], [2, 1, 2]];
const LEAF_SHAPES: number[][] = [[], [2], [3], [2, 2], [2, 3], [3, 1], [1, 2]];

// --- draws -------------------------------------------------------------------------

/** Random choices through fc.gen, so fast-check can shrink them (all shrink toward 0 / false / the first item). */
class Draw {
  constructor(private readonly g: fc.GeneratorValue) {}
  int(min: number, max: number): number {
    return min >= max ? min : this.g(fc.integer, { min, max });
  }
  /** true with probability p; shrinks to false. */
  bool(p = 0.5): boolean {
    return this.int(0, 99) >= 100 - Math.round(p * 100);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)];
  }
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((s, [w]) => s + w, 0);
    let k = this.int(0, total - 1);
    for (const [w, x] of items) {
      if (k < w) return x;
      k -= w;
    }
    return items[items.length - 1][1];
  }
  /** Multiples of 0.01 in [lo, hi]. */
  real(lo: number, hi: number): number {
    return this.int(Math.round(lo * 100), Math.round(hi * 100)) / 100;
  }
  /** A non-zero real with lo ≤ |x| ≤ hi. */
  away(lo: number, hi: number): number {
    const m = this.real(lo, hi);
    return this.bool() ? -m : m;
  }
  shuffle<T>(xs: readonly T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

// --- tensors -------------------------------------------------------------------------

interface T {
  shape: number[];
  data: Float64Array;
}

const sizeOf = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

export function toNested(shape: readonly number[], data: ArrayLike<number>): Nested {
  if (shape.length === 0) return data[0];
  let k = 0;
  const build = (depth: number): Nested[] =>
    Array.from({ length: shape[depth] }, () => (depth === shape.length - 1 ? data[k++] : build(depth + 1)));
  return build(0);
}

function broadcast(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(Math.max(x, y));
  }
  return out;
}

class Reject extends Error {}

/** Evaluates one op with the library's kernel; null when the arguments do not fit. */
function evalOp(op: string, ins: readonly T[], wire: Record<string, unknown>): (T & { attrs: any }) | null {
  const def = getOp(op as OpName);
  const inShapes = ins.map((t) => t.shape);
  let attrs: any;
  let shape: number[];
  try {
    attrs = def.prepare ? def.prepare(wire, inShapes) : wire;
    shape = [...def.shape(inShapes, attrs)];
  } catch (err) {
    if (err instanceof OpError) return null;
    throw err;
  }
  if (sizeOf(shape) > 10 * MAX_SIZE) return null;
  const data = new Float64Array(sizeOf(shape));
  def.kernel(
    ins.map((t) => t.data),
    inShapes,
    data,
    shape,
    attrs,
  );
  return { shape, data, attrs };
}

const lit = (x: number): T => ({ shape: [], data: Float64Array.of(x) });
const minAbs = (d: Float64Array): number => d.reduce((m, v) => Math.min(m, Math.abs(v)), Infinity);
const all = (d: Float64Array, p: (v: number) => boolean): boolean => d.every(p);

/** min |a - b| over the broadcast (Infinity when empty), or 0 when the shapes do not broadcast. */
function gap(a: T, b: T): number {
  const d = evalOp('sub', [a, b], {});
  return d === null ? 0 : minAbs(d.data);
}

/** x broadcast against y (x + 0·y, for finite values). */
function broadcastTo(x: T, y: T): T {
  return evalOp('add', [x, evalOp('mul', [y, lit(0)], {}) as T], {}) as T;
}

/** Row-major group index of every element when `axes` (normalised) are reduced. */
function groupIndex(s: readonly number[], axes: readonly number[]): Int32Array {
  const idx = new Int32Array(sizeOf(s));
  for (let i = 0; i < idx.length; i++) {
    let rem = i;
    let g = 0;
    let mult = 1;
    for (let d = s.length - 1; d >= 0; d--) {
      const c = rem % s[d];
      rem = (rem - c) / s[d];
      if (!axes.includes(d)) {
        g += c * mult;
        mult *= s[d];
      }
    }
    idx[i] = g;
  }
  return idx;
}

/** Smallest gap between the best and second-best element of any group. */
function winnerGap(x: T, axes: readonly number[], sign: 1 | -1): number {
  const g = groupIndex(x.shape, axes);
  const best = new Map<number, number[]>();
  x.data.forEach((v, i) => {
    const list = best.get(g[i]) ?? [];
    list.push(sign * v);
    best.set(g[i], list);
  });
  let worst = Infinity;
  for (const list of best.values()) {
    if (list.length < 2) continue;
    list.sort((p, q) => q - p);
    worst = Math.min(worst, list[0] - list[1]);
  }
  return worst;
}

/** Domain and kink conditions of one node; true when it is well conditioned. */
function conditioned(op: string, ins: readonly T[], out: T & { attrs: any }, flags: readonly boolean[], allowEmpty: boolean): boolean {
  const n = out.data.length;
  if (n > MAX_SIZE) return false;
  // Empty values are made now and then on purpose (slice, index, empty inputs), then flow on.
  if (n === 0 && !allowEmpty && !ins.some((t) => t.data.length === 0)) return false;
  if (!all(out.data, (v) => Number.isFinite(v) && Math.abs(v) <= BOUND)) return false;
  const x = ins[0]?.data;
  switch (op) {
    case 'exp':
    case 'expm1':
    case 'sinh':
    case 'cosh':
      return all(x, (v) => Math.abs(v) <= 3);
    case 'log':
    case 'sqrt':
      return all(x, (v) => v >= 0.3);
    case 'log1p':
      return all(x, (v) => v >= -0.7);
    case 'tan':
      return all(x, (v) => Math.abs(v) <= 1.2);
    case 'asin':
    case 'acos':
      return all(x, (v) => Math.abs(v) <= 0.8);
    case 'abs':
    case 'relu':
      return minAbs(x) >= MARGIN;
    case 'div':
      return minAbs(ins[1].data) >= 0.5;
    case 'pow':
      return all(x, (v) => v >= 0.3) && all(ins[1].data, (v) => Math.abs(v) <= 3);
    case 'atan2': {
      // Away from the origin, and from the branch cut (a = 0, b < 0) where atan2 jumps by 2π.
      const [a, b] = [broadcastTo(ins[0], ins[1]), broadcastTo(ins[1], ins[0])];
      return a.data.every((av, i) => av * av + b.data[i] * b.data[i] >= 0.25 && (b.data[i] > 0 || Math.abs(av) >= MARGIN));
    }
    case 'maximum':
    case 'minimum':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge':
    case 'eq':
    case 'ne':
      return gap(ins[0], ins[1]) >= MARGIN;
    case 'where':
      // A comparison's 0/1 output is stable (its own margin); any other condition must stay away from 0.
      return flags[0] || minAbs(ins[0].data) >= MARGIN;
    case 'max':
      return winnerGap(ins[0], out.attrs.axes, 1) >= MARGIN;
    case 'min':
      return winnerGap(ins[0], out.attrs.axes, -1) >= MARGIN;
    default:
      return true;
  }
}

// --- the builder ----------------------------------------------------------------------

interface Value extends T {
  id: string;
  /** A comparison output: exactly 0 or 1, and stable under small perturbations. */
  cmp: boolean;
  /** Depends on an active input through differentiable ops. */
  varied: boolean;
}
type Arg = Value | number;

const COMPARISONS = ['gt', 'lt', 'ge', 'le', 'eq', 'ne'];
const SMOOTH_UNARY = [
  'sin',
  'neg',
  'cos',
  'tanh',
  'sigmoid',
  'softplus',
  'square',
  'atan',
  'erf',
  'exp',
  'log',
  'sqrt',
  'log1p',
  'expm1',
  'tan',
  'sinh',
  'cosh',
  'asin',
  'acos',
];
/** Ops that need a positive argument, and ops that need a small one. */
const NEEDS_POSITIVE = new Set(['log', 'sqrt', 'log1p']);
const NEEDS_SMALL = new Set(['exp', 'expm1', 'sinh', 'cosh', 'tan', 'asin', 'acos']);
const NOT_DIFFERENTIABLE = new Set(['stop_gradient', 'const', 'fill', 'range', ...COMPARISONS]);
const LITERAL_CANDIDATES = [0, 0.5, -0.5, 1, -1, 0.25, -0.25, 1.5, -1.5, 2, -2, 0.75, -0.75, 3, -3];

class Builder {
  readonly pool: Value[] = [];
  readonly nodes: WireNode[] = [];
  readonly stopGradients: string[] = [];
  /** Values some node uses (rebuilt on rollback). */
  used = new Set<string>();

  constructor(
    readonly r: Draw,
    readonly maxNodes: number,
  ) {}

  /** Runs `f`; on Reject, undoes every node it emitted. */
  attempt(f: () => void): boolean {
    const n = this.nodes.length;
    const p = this.pool.length;
    try {
      f();
      if (this.nodes.length > this.maxNodes) throw new Reject();
      return true;
    } catch (err) {
      if (!(err instanceof Reject)) throw err;
      this.nodes.length = n;
      this.pool.length = p;
      this.used = new Set(this.nodes.flatMap((q) => (q.args ?? []).filter((a): a is string => typeof a === 'string')));
      return false;
    }
  }

  /** Evaluates, checks and appends one node; throws Reject when it is not well conditioned. */
  emit(op: string, args: readonly Arg[], attrs: Record<string, unknown> = {}, allowEmpty = false): Value {
    if (this.nodes.length >= this.maxNodes) throw new Reject();
    const ins = args.map((a) => (typeof a === 'number' ? lit(a) : a));
    const out = evalOp(op, ins, attrs);
    if (out === null) throw new Reject();
    const flags = args.map((a) => typeof a !== 'number' && a.cmp);
    if (!conditioned(op, ins, out, flags, allowEmpty)) throw new Reject();
    const id = `n${this.nodes.length}`;
    const node: WireNode = { id, op, ...attrs };
    if (args.length > 0) node.args = args.map((a) => (typeof a === 'number' ? a : a.id));
    for (const a of args) if (typeof a !== 'number') this.used.add(a.id);
    this.nodes.push(node);
    const varied = !NOT_DIFFERENTIABLE.has(op) && args.some((a) => typeof a !== 'number' && a.varied);
    const v: Value = { id, shape: out.shape, data: out.data, cmp: COMPARISONS.includes(op), varied };
    this.pool.push(v);
    return v;
  }

  /** A pool value matching `pred`, biased toward unused and recent ones (connected, deep graphs). */
  value(pred: (v: Value) => boolean = () => true): Value | undefined {
    let c = this.pool.filter(pred);
    if (c.length === 0) return undefined;
    // Mostly values derivatives flow through, so that outputs depend on the active inputs.
    if (this.r.bool(0.6) && c.some((v) => v.varied)) c = c.filter((v) => v.varied);
    const unused = c.filter((v) => !this.used.has(v.id));
    if (unused.length > 0 && this.r.bool(0.5)) return unused[this.r.int(0, unused.length - 1)];
    const lo = this.r.bool(0.5) ? Math.max(0, c.length - 4) : 0;
    return c[this.r.int(lo, c.length - 1)];
  }

  /** Node ids no node uses yet. */
  sinks(): string[] {
    return this.nodes.map((n) => n.id).filter((id) => !this.used.has(id));
  }

  any(): Value {
    return this.value() as Value;
  }

  /** A value broadcastable with `shape` (result no larger than MAX_SIZE), or a literal. */
  partner(shape: readonly number[], literal: () => number, pLiteral = 0.2): Arg {
    if (this.r.bool(pLiteral)) return literal();
    const v = this.value((w) => {
      const b = broadcast(shape, w.shape);
      return b !== null && sizeOf(b) <= MAX_SIZE;
    });
    return v ?? literal();
  }

  /** A literal c with |x - c| ≥ MARGIN for every element, or undefined. */
  separatingLiteral(x: T): number | undefined {
    const start = this.r.int(0, LITERAL_CANDIDATES.length - 1);
    for (let k = 0; k < LITERAL_CANDIDATES.length; k++) {
      const c = LITERAL_CANDIDATES[(start + k) % LITERAL_CANDIDATES.length];
      if (gap(x, lit(c)) >= 2 * MARGIN) return c;
    }
    return undefined;
  }

  /** x made positive: add(square(x), c), or through tanh when x is large. */
  positive(x: Value): Value {
    const c = this.r.pick([1, 0.5, 2]);
    if (this.r.bool(0.3)) return this.emit('add', [this.emit('sigmoid', [x]), c]);
    const base = x.data.every((v) => Math.abs(v) <= 4) ? x : this.emit('tanh', [x]);
    return this.emit('add', [this.emit('square', [base]), c]);
  }

  /** x squashed into [-0.7, 0.7] or [-1, 1]. */
  small(x: Value, tight: boolean): Value {
    const s = this.emit(this.r.pick(['tanh', 'sin']), [x]);
    return tight ? this.emit('mul', [s, 0.7]) : s;
  }

  // --- steps: each adds one or a few nodes or throws Reject ---

  unary(): void {
    const op = this.r.pick(SMOOTH_UNARY);
    const x = this.any();
    if (this.attempt(() => this.emit(op, [x]))) return;
    if (x.data.length === 0) throw new Reject();
    if (NEEDS_POSITIVE.has(op)) this.emit(op, [this.positive(x)]);
    else if (NEEDS_SMALL.has(op)) this.emit(op, [this.small(x, op === 'asin' || op === 'acos')]);
    else throw new Reject();
  }

  kinkedUnary(): void {
    this.emit(this.r.pick(['abs', 'relu']), [this.any()]);
  }

  binary(): void {
    const op = this.r.weighted([
      [5, 'add'],
      [4, 'sub'],
      [5, 'mul'],
      [3, 'div'],
      [3, 'pow'],
      [2, 'maximum'],
      [2, 'minimum'],
      [1, 'atan2'],
    ] as const);
    const a = this.any();
    switch (op) {
      case 'div': {
        let b = this.partner(a.shape, () => this.r.away(0.5, 2));
        if (typeof b !== 'number' && minAbs(b.data) < 0.5) b = this.r.bool() ? this.positive(b) : this.r.away(0.5, 2);
        this.emit('div', this.r.bool(0.2) ? [this.r.away(0.5, 2), b] : [a, b]);
        return;
      }
      case 'pow': {
        const base = a.data.every((v) => v >= 0.3) ? a : this.positive(a);
        let e: Arg = this.r.bool(0.6) ? this.r.pick([2, 3, 0.5, 1.5, -1, -0.5, 2.5]) : this.partner(base.shape, () => 2, 0);
        if (typeof e !== 'number' && !e.data.every((v) => Math.abs(v) <= 3)) e = this.small(e, false);
        this.emit('pow', this.r.bool(0.1) ? [this.r.pick([1.5, 2, 0.5]), this.small(a, false)] : [base, e]);
        return;
      }
      default: {
        const b = this.partner(a.shape, () => this.r.real(-2, 2));
        this.emit(op, this.r.bool(0.3) ? [b, a] : [a, b]);
      }
    }
  }

  /** A comparison with margin: against another value, or else a separating literal. */
  comparison(): Value {
    const op = this.r.pick(COMPARISONS);
    const x = this.any();
    const y = this.partner(x.shape, () => this.separatingLiteral(x) ?? 0, 0.4);
    if (this.attempt(() => this.emit(op, this.r.bool(0.3) ? [y, x] : [x, y]))) return this.pool[this.pool.length - 1];
    const c = this.separatingLiteral(x);
    if (c === undefined) throw new Reject();
    return this.emit(op, [x, c]);
  }

  where(): void {
    const existing = this.r.bool(0.3) ? this.value((v) => v.cmp || minAbs(v.data) >= MARGIN) : undefined;
    const cond = existing ?? this.comparison();
    const a = this.partner(cond.shape, () => this.r.real(-2, 2));
    const aShape = typeof a === 'number' ? cond.shape : (broadcast(cond.shape, a.shape) as number[]);
    const b = this.partner(aShape, () => this.r.real(-2, 2));
    this.emit('where', [cond, a, b]);
  }

  /** A comparison used as a 0/1 mask in arithmetic. */
  mask(): void {
    const m = this.comparison();
    const x = this.partner(m.shape, () => this.r.real(-2, 2), 0);
    this.emit(this.r.pick(['mul', 'add', 'sub']), this.r.bool() ? [m, x] : [x, m]);
  }

  reduction(): void {
    const op = this.r.weighted([
      [5, 'sum'],
      [3, 'mean'],
      [2, 'prod'],
      [3, 'max'],
      [2, 'min'],
      [3, 'logsumexp'],
    ] as const);
    const x = this.any();
    const rank = x.shape.length;
    const attrs: Record<string, unknown> = {};
    if (this.r.bool(0.7)) {
      const axes = this.r.shuffle(Array.from({ length: rank }, (_, i) => i)).slice(0, this.r.int(rank === 0 ? 0 : 1, rank));
      attrs.axes = axes.map((a) => (this.r.bool(0.3) ? a - rank : a));
    }
    if (this.r.bool(0.6)) attrs.keepdims = this.r.bool();
    if (op === 'max' || op === 'min') {
      if (this.attempt(() => this.emit(op, [x], attrs))) return;
      this.emit('sum', [x], attrs);
      return;
    }
    this.emit(op, [x], attrs);
  }

  dot(): void {
    let a = this.value((v) => v.shape.length === 1);
    if (a === undefined) {
      const x = this.any();
      a = this.emit('reshape', [x], { shape: [-1] });
    }
    const n = a.shape[0];
    const b = this.value((v) => v.shape.length === 1 && v.shape[0] === n) ?? a;
    this.emit('dot', this.r.bool() ? [a, b] : [b, a]);
  }

  matmul(): void {
    const a = this.value((v) => v.shape.length >= 1) ?? this.leaf([2, 2]);
    const k = a.shape[a.shape.length - 1];
    const aBatch = a.shape.slice(0, -2);
    const fits = (v: Value): boolean => {
      if (v.shape.length === 1) return v.shape[0] === k;
      if (v.shape.length < 2 || v.shape[v.shape.length - 2] !== k) return false;
      const batch = broadcast(aBatch, v.shape.slice(0, -2));
      return batch !== null;
    };
    let b: Value | undefined = this.r.bool(0.8) ? this.value(fits) : undefined;
    if (b === undefined) {
      const choice = this.r.int(0, 2);
      if (choice === 0 && a.shape.length === 2) b = this.emit('transpose', [a]);
      else b = this.leaf(choice === 1 ? [k] : [k, this.r.int(1, 3)]);
    }
    this.emit('matmul', [a, b]);
  }

  transpose(): void {
    const x = this.value((v) => v.shape.length >= 2) ?? this.any();
    const rank = x.shape.length;
    const attrs: Record<string, unknown> = {};
    if (this.r.bool(0.7))
      attrs.perm = this.r.shuffle(Array.from({ length: rank }, (_, i) => i)).map((p) => (this.r.bool(0.2) ? p - rank : p));
    this.emit('transpose', [x], attrs);
  }

  outer(): void {
    const a = this.any();
    const b = this.value((v) => sizeOf(v.shape) * sizeOf(a.shape) <= MAX_SIZE) ?? a;
    this.emit('outer', [a, b]);
  }

  reshape(): void {
    const x = this.any();
    const n = sizeOf(x.shape);
    const shape = this.shapeOfSize(n);
    if (shape.length > 0 && this.r.bool(0.3)) shape[this.r.int(0, shape.length - 1)] = -1;
    this.emit('reshape', [x], { shape });
  }

  /** A random shape with n elements, rank 0..3. */
  shapeOfSize(n: number): number[] {
    const factors: number[] = [];
    let m = n;
    for (let p = 2; m > 1; p++)
      while (m % p === 0) {
        factors.push(p);
        m /= p;
      }
    const rank = Math.max(factors.length === 0 ? 0 : 1, this.r.int(0, 3));
    if (rank === 0) return [];
    const dims = new Array<number>(rank).fill(1);
    for (const f of factors) dims[this.r.int(0, rank - 1)] *= f;
    return dims;
  }

  broadcastTo(): void {
    const x = this.value((v) => sizeOf(v.shape) <= 12) ?? this.any();
    const shape = x.shape.map((d) => (d === 1 && this.r.bool() ? this.r.int(2, 3) : d));
    if (this.r.bool(0.6)) shape.unshift(this.r.int(1, 3));
    if (sizeOf(shape) > MAX_SIZE) throw new Reject();
    this.emit('broadcast_to', [x], { shape });
  }

  slice(): void {
    const x = this.any();
    const start: number[] = [];
    const stop: number[] = [];
    const step: number[] = [];
    for (const n of x.shape) {
      const s = this.r.weighted([
        [5, 1],
        [2, 2],
        [2, -1],
        [1, -2],
        [1, 3],
      ] as const);
      step.push(s);
      start.push(this.r.int(-n - 1, n));
      stop.push(this.r.int(-n - 2, n + 2));
    }
    const attrs: Record<string, unknown> = { start, stop };
    if (step.some((s) => s !== 1) || this.r.bool(0.3)) attrs.step = step;
    if (this.attempt(() => this.emit('slice', [x], attrs, this.r.bool(0.05)))) return;
    // Something non-empty: a suffix (or the whole) along each axis.
    const begin = x.shape.map((n) => this.r.int(0, n - 1));
    this.emit('slice', [x], { start: begin, stop: x.shape.map((n) => n + this.r.int(0, 2)) });
  }

  index(): void {
    const x = this.value((v) => v.shape.length >= 1) ?? this.leaf([3]);
    const rank = x.shape.length;
    const axis = this.r.int(0, rank - 1);
    const n = x.shape[axis];
    const indices = Array.from({ length: this.r.bool(0.05) ? 0 : this.r.int(1, 3) }, () => this.r.int(-n, n - 1));
    const attrs: Record<string, unknown> = { indices };
    if (axis !== 0 || this.r.bool()) attrs.axis = this.r.bool(0.3) ? axis - rank : axis;
    this.emit('index', [x], attrs, indices.length === 0);
  }

  concat(): void {
    const x = this.value((v) => v.shape.length >= 1) ?? this.leaf([2]);
    const rank = x.shape.length;
    const axis = this.r.int(0, rank - 1);
    const fits = (v: Value): boolean => v.shape.length === rank && v.shape.every((d, k) => k === axis || d === x.shape[k]);
    const others = Array.from({ length: this.r.int(1, 2) }, () => this.value(fits) ?? x);
    const args = this.r.shuffle([x, ...others]);
    const attrs: Record<string, unknown> = {};
    if (axis !== 0 || this.r.bool()) attrs.axis = this.r.bool(0.3) ? axis - rank : axis;
    this.emit('concat', args, attrs);
  }

  stack(): void {
    const x = this.value((v) => sizeOf(v.shape) <= 12) ?? this.any();
    const same = (v: Value): boolean => v.shape.length === x.shape.length && v.shape.every((d, k) => d === x.shape[k]);
    const others = Array.from({ length: this.r.int(0, 2) }, () => this.value(same) ?? x);
    const rank = x.shape.length;
    const axis = this.r.int(0, rank);
    const attrs: Record<string, unknown> = {};
    if (axis !== 0 || this.r.bool()) attrs.axis = this.r.bool(0.3) ? axis - rank - 1 : axis;
    this.emit('stack', [x, ...others], attrs);
  }

  /** A const, fill or range leaf (of `shape` when given). */
  leaf(shape?: number[]): Value {
    const kind = shape === undefined ? this.r.pick(['const', 'fill', 'range']) : shape.length === 1 && this.r.bool() ? 'range' : 'const';
    const s = shape ?? this.r.pick(LEAF_SHAPES);
    switch (kind) {
      case 'fill':
        return this.emit('fill', [], { shape: s, value: this.r.real(-2, 2) });
      case 'range': {
        const len = shape ? shape[0] : this.r.int(1, 4);
        const start = this.r.real(-2, 2);
        const step = this.r.pick([1, 0.5, -1, -0.5, 0.75]);
        const attrs: Record<string, unknown> = { stop: start + step * (len - 0.5) };
        if (start !== 0 || this.r.bool()) attrs.start = start;
        if (step !== 1 || this.r.bool()) attrs.step = step;
        return this.emit('range', [], attrs);
      }
      default: {
        const data = Array.from({ length: sizeOf(s) }, () => this.r.real(-2, 2));
        return this.emit('const', [], { value: toNested(s, data) });
      }
    }
  }

  stopGradient(): void {
    const v = this.emit('stop_gradient', [this.any()]);
    this.stopGradients.push(v.id);
  }

  step(): void {
    const kind = this.r.weighted([
      [12, 'unary'],
      [12, 'binary'],
      [2, 'kinked'],
      [4, 'where'],
      [2, 'mask'],
      [10, 'reduction'],
      [2, 'dot'],
      [4, 'matmul'],
      [2, 'transpose'],
      [2, 'outer'],
      [3, 'reshape'],
      [3, 'broadcast_to'],
      [4, 'slice'],
      [3, 'index'],
      [3, 'concat'],
      [2, 'stack'],
      [2, 'leaf'],
      [1, 'stop_gradient'],
    ] as const);
    for (let tries = 0; tries < 3; tries++) {
      const ok = this.attempt(() => {
        switch (kind) {
          case 'unary':
            return this.unary();
          case 'binary':
            return this.binary();
          case 'kinked':
            return this.kinkedUnary();
          case 'where':
            return this.where();
          case 'mask':
            return this.mask();
          case 'reduction':
            return this.reduction();
          case 'dot':
            return this.dot();
          case 'matmul':
            return this.matmul();
          case 'transpose':
            return this.transpose();
          case 'outer':
            return this.outer();
          case 'reshape':
            return this.reshape();
          case 'broadcast_to':
            return this.broadcastTo();
          case 'slice':
            return this.slice();
          case 'index':
            return this.index();
          case 'concat':
            return this.concat();
          case 'stack':
            return this.stack();
          case 'leaf': {
            this.leaf();
            return;
          }
          case 'stop_gradient':
            return this.stopGradient();
        }
      });
      if (ok) return;
    }
    // Always well conditioned: sin of anything.
    this.emit('sin', [this.any()]);
  }
}

// --- cases -------------------------------------------------------------------------

function describeCase(c: CaseRequest & Partial<GraphCase>): string {
  const { graph, args, constant, tangents, cotangents, vector } = c;
  return JSON.stringify({ graph, args, constant, tangents, cotangents, vector });
}

function finishCase(base: Omit<GraphCase, typeof fc.toStringMethod>): GraphCase {
  return { ...base, [fc.toStringMethod]: () => describeCase(base) };
}

function build(g: fc.GeneratorValue, opts: Required<GraphOptions>): GraphCase {
  const r = new Draw(g);
  const b = new Builder(r, opts.maxNodes);
  const inputs: { name: string; shape: number[] }[] = [];
  const args: Record<string, Nested> = {};
  const constant: string[] = [];
  const shapes: Record<string, number[]> = {};
  let activeElements = 0;
  const nInputs = r.int(1, opts.maxInputs);
  for (let i = 0; i < nInputs; i++) {
    const name = `x${i}`;
    const shape = r.bool(0.03) ? r.pick([[0], [2, 0]]) : r.pick(INPUT_SHAPES);
    const data = Float64Array.from({ length: sizeOf(shape) }, () => r.real(-2, 2));
    inputs.push({ name, shape });
    args[name] = toNested(shape, data);
    shapes[name] = shape;
    const isConstant = (i > 0 || r.bool(0.1) ? r.bool(0.3) : false) || activeElements + data.length > opts.maxActiveElements;
    if (isConstant) constant.push(name);
    else activeElements += data.length;
    b.pool.push({ id: name, shape, data, cmp: false, varied: !isConstant });
  }

  const target = r.int(1, opts.maxNodes);
  while (b.nodes.length < target) b.step();
  // The last node is always an output: make it one derivatives flow through, when there is room.
  const last = b.pool[b.pool.length - 1];
  if (!last.varied && b.nodes.length < opts.maxNodes) {
    const other = b.value(
      (v) => v.varied && broadcast(v.shape, last.shape) !== null && sizeOf(broadcast(v.shape, last.shape) as number[]) <= MAX_SIZE,
    );
    if (!(other && b.attempt(() => b.emit(r.pick(['add', 'mul']), [last, other])))) b.emit('sin', [b.any()]);
  }

  // Outputs: the last node, and up to two more values (mostly other sinks, now and then an input).
  const outputs = [b.nodes[b.nodes.length - 1].id];
  for (let k = r.int(0, 2); k > 0; k--) {
    const sinks = b.sinks().filter((id) => !outputs.includes(id));
    const id = r.bool(0.15) ? b.pool[r.int(0, nInputs - 1)].id : sinks.length > 0 && r.bool(0.7) ? r.pick(sinks) : (b.value() as Value).id;
    if (!outputs.includes(id)) outputs.push(id);
  }
  for (const v of b.pool) shapes[v.id] = v.shape;

  const graph: NodeGraph = { inputs, nodes: b.nodes, outputs };
  const activeNames = inputs.map((x) => x.name).filter((n) => !constant.includes(n));
  const randomTensor = (shape: number[]): Nested =>
    toNested(
      shape,
      Array.from({ length: sizeOf(shape) }, () => r.real(-1, 1)),
    );
  const tangents = Object.fromEntries(activeNames.map((n) => [n, randomTensor(shapes[n])]));
  const vector = Object.fromEntries(activeNames.map((n) => [n, randomTensor(shapes[n])]));
  const cotangents = Object.fromEntries(outputs.map((o) => [o, randomTensor(shapes[o])]));

  // fd's reference: stop_gradient nodes become constant inputs of the same name.
  const frozen = new Set(b.stopGradients);
  const value = new Map(b.pool.map((v) => [v.id, v]));
  const fd: CaseRequest = {
    graph: {
      inputs: [...inputs, ...[...frozen].map((id) => ({ name: id, shape: shapes[id] }))],
      nodes: b.nodes.filter((n) => !frozen.has(n.id)),
      outputs,
    },
    args: { ...args, ...Object.fromEntries([...frozen].map((id) => [id, toNested(shapes[id], (value.get(id) as Value).data)])) },
    constant: [...constant, ...frozen],
  };
  return finishCase({ graph, args, constant, fd, tangents, vector, cotangents, shapes });
}

/** The arbitrary: random well-conditioned graphs with arguments, directions and fd's reference. */
export function randomGraphCase(options: GraphOptions = {}): fc.Arbitrary<GraphCase> {
  const opts: Required<GraphOptions> = { maxNodes: 20, maxInputs: 4, maxActiveElements: 24, ...options };
  return fc.gen().map((g) => build(g, opts));
}

/**
 * The case with one scalar output appended after its first output:
 * 'sum' gives sum(o), 'sumsq' sum(square(o)). Cotangents are dropped (the
 * output changed); tangents and vector are kept.
 */
export function withScalarOutput(c: GraphCase, kind: 'sum' | 'sumsq'): GraphCase {
  const o = c.graph.outputs[0];
  const extra: WireNode[] =
    kind === 'sum'
      ? [{ id: 's_out', op: 'sum', args: [o] }]
      : [
          { id: 's_sq', op: 'square', args: [o] },
          { id: 's_out', op: 'sum', args: ['s_sq'] },
        ];
  const extend = (r: CaseRequest): CaseRequest => ({
    ...r,
    graph: { ...r.graph, nodes: [...r.graph.nodes, ...extra], outputs: ['s_out'] },
  });
  const shapes: Record<string, number[]> = { ...c.shapes, s_out: [] };
  if (kind === 'sumsq') shapes.s_sq = c.shapes[o];
  return finishCase({ ...c, ...extend(c), fd: extend(c.fd), cotangents: { s_out: 1 }, shapes, previousOutputs: c.graph.outputs });
}

/** Names of the active inputs, in graph order. */
export function activeInputs(c: CaseRequest): string[] {
  return c.graph.inputs.map((x) => x.name).filter((n) => !c.constant.includes(n));
}

/** The graph without nodes no output depends on (for reading a failing case). */
export function pruned(graph: NodeGraph): NodeGraph {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const keep = new Set<string>();
  const visit = (id: string): void => {
    if (keep.has(id)) return;
    keep.add(id);
    for (const a of byId.get(id)?.args ?? []) if (typeof a === 'string') visit(a);
  };
  graph.outputs.forEach(visit);
  return { ...graph, nodes: graph.nodes.filter((n) => keep.has(n.id)) };
}
