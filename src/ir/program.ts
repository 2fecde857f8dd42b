/**
 * The internal IR every engine runs: a first-order, single-assignment list of
 * equations over numbered values (Autodidax's jaxpr, without the tracing).
 *
 * Values 0..n are either program inputs or the outputs of equations. A value is
 * `batched` when it carries a leading batch of k tangent or cotangent directions
 * (k chosen at run time); its `shape` is always the logical, unbatched shape, so op
 * rules never see the batch dimension: the evaluator maps ops over it.
 *
 * Derivative programs are built by appending equations after the primal program
 * (sharing its value table, not copying it), so primal values are shared
 * residuals and never recomputed.
 */
import type { Shape } from '../tensor/tensor.js';
import type { OpDef, ValueId } from '../ops/types.js';
import type { OpAttrs, OpName } from '../ops/vocabulary.js';

export type { ValueId };

export interface ValueInfo {
  readonly shape: Shape;
  readonly batched: boolean;
}

/**
 * `out = op(args; attrs)`. Eqn<N> is an equation of op N; Eqn alone is one of any
 * op, its attributes those of some op (the builder pairs each op with attributes of
 * its own type, so an op's kernel and rules always get their own). isEqnOf narrows.
 */
export interface Eqn<N extends OpName = OpName> {
  readonly op: OpDef<N>;
  readonly args: readonly ValueId[];
  readonly attrs: OpAttrs[N];
  readonly out: ValueId;
  /** Index of the wire node this equation came from, or -1 for equations the core made. */
  readonly node: number;
}

/**
 * The scalar function an elementwise equation maps: its op's perElement, or the one
 * its attributes make (perElementWith, a new function on each call); undefined for
 * the other ops.
 */
export function perElementOf(q: Eqn): ((...xs: number[]) => number) | undefined {
  return q.op.perElement ?? q.op.perElementWith?.(q.attrs);
}

/** Whether q applies op `name`: then its attributes are that op's. */
export function isEqnOf<N extends OpName>(q: Eqn, name: N): q is Eqn<N> {
  return q.op.name === name;
}

/**
 * Value infos by id. A derivative program's table extends the primal's without
 * copying it: ids below the base's length are the base's (shared, never written),
 * the rest its own. A plan may have one derivative program per active input, so a
 * copy each would cost inputs × values.
 */
export class ValueTable {
  private readonly own: ValueInfo[] = [];
  private readonly baseLength: number;

  constructor(private readonly base?: ValueTable) {
    this.baseLength = base ? base.length : 0;
  }

  get length(): number {
    return this.baseLength + this.own.length;
  }

  info(v: ValueId): ValueInfo {
    return v < this.baseLength ? (this.base as ValueTable).info(v) : this.own[v - this.baseLength];
  }

  /** Defines the next value: the one place value ids are made. */
  push(info: ValueInfo): ValueId {
    this.own.push(info);
    return (this.length - 1) as ValueId;
  }

  /** Every value id of the table, base's first, in order. */
  *ids(): IterableIterator<ValueId> {
    for (let v = 0; v < this.length; v++) yield v as ValueId;
  }

  /** The values this table adds to its base (ids from the base's length on). */
  ownValues(): readonly ValueInfo[] {
    return this.own;
  }
}

export interface Program {
  readonly values: ValueTable;
  /** A derivative program's own equations, after its base's. */
  readonly eqns: readonly Eqn[];
}
