/**
 * The program builder: appends equations to a program. Graph checking builds the
 * primal program with it, and derivative rules write their results through it (as
 * the Emit they see), which is what makes derivative programs differentiable again.
 *
 * Identical equations are emitted once (common-subexpression elimination), so a
 * rule may ask for cos(x) without caring whether another rule already did.
 */
import { ValueTable, type Eqn, type Program } from './program.js';
import { broadcastAxes } from '../tensor/broadcast.js';
import { sameShape, type Shape, type Tensor } from '../tensor/tensor.js';
import { getOp } from '../ops/registry.js';
import type { Emit, OpDef, ValueId } from '../ops/types.js';
import type { ApplyTail, OpAttrs, OpName } from '../ops/vocabulary.js';

export class ProgramBuilder implements Emit {
  readonly values: ValueTable;
  /** The equations emitted here (a derivative program's own, after its base's). */
  readonly eqns: Eqn[] = [];
  private readonly seen = new Map<string, ValueId>();

  /** With a base program, values are numbered after its values, which are shared (see ValueTable). */
  constructor(base?: Program) {
    this.values = new ValueTable(base?.values);
  }

  program(): Program {
    return { values: this.values, eqns: this.eqns };
  }

  input(shape: Shape, batched = false): ValueId {
    return this.values.push({ shape, batched });
  }

  shapeOf(v: ValueId): Shape {
    return this.values.info(v).shape;
  }

  isBatched(v: ValueId): boolean {
    return this.values.info(v).batched;
  }

  /** Appends `name(args; attrs)`; `node` ties the equation to a wire node. */
  apply<N extends OpName>(name: N, args: readonly ValueId[], ...[attrs, node]: ApplyTail<N>): ValueId {
    return this.applyOp(getOp(name), args, attrs ?? {}, node);
  }

  /**
   * apply for an op known only at run time (a wire node's): `attrs` must be that
   * op's, as its prepare made them. Graph checking is the caller.
   */
  applyOp(op: OpDef, args: readonly ValueId[], attrs: OpAttrs[OpName], node = -1): ValueId {
    const name = op.name;
    const key = node < 0 && name !== 'const' ? `${name}(${args.join(',')})${JSON.stringify(attrs)}` : undefined;
    if (key !== undefined) {
      const hit = this.seen.get(key);
      if (hit !== undefined) return hit;
    }
    const inShapes = args.map((a) => this.values.info(a).shape);
    const shape = op.shape(inShapes, attrs);
    const batched = args.some((a) => this.values.info(a).batched);
    const out = this.values.push({ shape, batched });
    this.eqns.push({ op, args: [...args], attrs, out, node });
    if (key !== undefined) this.seen.set(key, out);
    return out;
  }

  constant(value: Tensor, node = -1): ValueId {
    return this.apply('const', [], { value }, node);
  }

  literal(x: number): ValueId {
    const key = `literal:${Object.is(x, -0) ? '-0' : String(x)}`;
    const hit = this.seen.get(key);
    if (hit !== undefined) return hit;
    const v = this.constant({ shape: [], data: Float64Array.of(x) });
    this.seen.set(key, v);
    return v;
  }

  // Sugar for the ops that rules use most. Each is one equation.
  add(a: ValueId, b: ValueId): ValueId {
    return this.apply('add', [a, b]);
  }
  sub(a: ValueId, b: ValueId): ValueId {
    return this.apply('sub', [a, b]);
  }
  mul(a: ValueId, b: ValueId): ValueId {
    return this.apply('mul', [a, b]);
  }
  div(a: ValueId, b: ValueId): ValueId {
    return this.apply('div', [a, b]);
  }
  neg(a: ValueId): ValueId {
    return this.apply('neg', [a]);
  }
  /** Multiplication in which 0 annihilates ±Infinity and NaN: every chain-rule product uses it. */
  zmul(a: ValueId, b: ValueId): ValueId {
    return this.apply('zmul', [a, b]);
  }
  where(cond: ValueId, a: ValueId, b: ValueId): ValueId {
    return this.apply('where', [cond, a, b]);
  }
  reshape(a: ValueId, shape: Shape): ValueId {
    return sameShape(this.shapeOf(a), shape) ? a : this.apply('reshape', [a], { shape: [...shape] });
  }
  broadcastTo(a: ValueId, shape: Shape): ValueId {
    return sameShape(this.shapeOf(a), shape) ? a : this.apply('broadcast_to', [a], { shape: [...shape] });
  }
  sum(a: ValueId, axes: readonly number[], keepdims: boolean): ValueId {
    return this.apply('sum', [a], { axes: [...axes], keepdims });
  }
  /** Sums a cotangent over the axes along which `shape` was broadcast: undoes broadcasting. */
  sumTo(a: ValueId, shape: Shape): ValueId {
    const from = this.shapeOf(a);
    if (sameShape(from, shape)) return a;
    const axes = broadcastAxes(shape, from);
    return this.reshape(this.sum(a, axes, false), shape);
  }
  zeros(shape: Shape): ValueId {
    return this.apply('fill', [], { shape: [...shape], value: 0 });
  }
  /** Sum of the non-null terms, each broadcast to `shape`; null when all are null. */
  sumTerms(terms: readonly (ValueId | null)[], shape: Shape): ValueId | null {
    let acc: ValueId | null = null;
    for (const t of terms) {
      if (t === null) continue;
      acc = acc === null ? t : this.add(acc, t);
    }
    return acc === null ? null : this.broadcastTo(acc, shape);
  }
}
