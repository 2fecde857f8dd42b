/**
 * Emit appends equations to a program: derivative rules use it to write their
 * results as ops, which is what makes derivative programs differentiable again.
 *
 * Attributes passed here are kernel attributes (already normalised: explicit
 * axes, keepdims and so on); only wire attributes go through OpDef.prepare.
 * Identical equations are emitted once (common-subexpression elimination), so a
 * rule may ask for cos(x) without caring whether another rule already did.
 */
import { ValueTable, type Eqn, type Program, type ValueId } from '../graph/program.js';
import { broadcastAxes } from '../tensor/broadcast.js';
import { sameShape, type Shape, type Tensor } from '../tensor/tensor.js';
import { getOp } from './registry.js';
import type { Val } from './types.js';

export class Emit {
  readonly values: ValueTable;
  /** The equations emitted here (a derivative program's own, after its base's). */
  readonly eqns: Eqn[] = [];
  private readonly seen = new Map<string, Val>();

  /** With a base program, values are numbered after its values, which are shared (see ValueTable). */
  constructor(base?: Program) {
    this.values = new ValueTable(base?.values);
  }

  program(): Program {
    return { values: this.values, eqns: this.eqns };
  }

  input(shape: Shape, batched = false): Val {
    return this.values.push({ shape, batched });
  }

  shapeOf(v: Val): Shape {
    return this.values.info(v).shape;
  }

  isBatched(v: Val): boolean {
    return this.values.info(v).batched;
  }

  /** Appends `name(args; attrs)`; `node` ties the equation to a wire node. */
  apply(name: string, args: readonly Val[], attrs: object = {}, node = -1): Val {
    const op = getOp(name);
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

  constant(value: Tensor, node = -1): Val {
    return this.apply('const', [], { value }, node);
  }

  scalar(x: number): Val {
    const key = `scalar:${Object.is(x, -0) ? '-0' : String(x)}`;
    const hit = this.seen.get(key);
    if (hit !== undefined) return hit;
    const v = this.constant({ shape: [], data: Float64Array.of(x) });
    this.seen.set(key, v);
    return v;
  }

  // Sugar for the ops that rules use most. Each is one equation.
  add(a: Val, b: Val): Val { return this.apply('add', [a, b]); }
  sub(a: Val, b: Val): Val { return this.apply('sub', [a, b]); }
  mul(a: Val, b: Val): Val { return this.apply('mul', [a, b]); }
  div(a: Val, b: Val): Val { return this.apply('div', [a, b]); }
  neg(a: Val): Val { return this.apply('neg', [a]); }
  /** Multiplication in which 0 annihilates ±Infinity and NaN: every chain-rule product uses it. */
  zmul(a: Val, b: Val): Val { return this.apply('zmul', [a, b]); }
  where(cond: Val, a: Val, b: Val): Val { return this.apply('where', [cond, a, b]); }
  reshape(a: Val, shape: Shape): Val {
    return sameShape(this.shapeOf(a), shape) ? a : this.apply('reshape', [a], { shape: [...shape] });
  }
  broadcastTo(a: Val, shape: Shape): Val {
    return sameShape(this.shapeOf(a), shape) ? a : this.apply('broadcast_to', [a], { shape: [...shape] });
  }
  sum(a: Val, axes: readonly number[], keepdims: boolean): Val {
    return this.apply('sum', [a], { axes: [...axes], keepdims });
  }
  /** Sums a cotangent over the axes along which `shape` was broadcast: undoes broadcasting. */
  sumTo(a: Val, shape: Shape): Val {
    const from = this.shapeOf(a);
    if (sameShape(from, shape)) return a;
    const axes = broadcastAxes(shape, from);
    return this.reshape(this.sum(a, axes, false), shape);
  }
  zeros(shape: Shape): Val {
    return this.apply('fill', [], { shape: [...shape], value: 0 });
  }
  /** Sum of the non-null terms, each broadcast to `shape`; null when all are null. */
  sumTerms(terms: readonly (Val | null)[], shape: Shape): Val | null {
    let acc: Val | null = null;
    for (const t of terms) {
      if (t === null) continue;
      acc = acc === null ? t : this.add(acc, t);
    }
    return acc === null ? null : this.broadcastTo(acc, shape);
  }
}

export type { ValueId };
