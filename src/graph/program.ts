/**
 * The internal IR every engine runs: a first-order, single-assignment list of
 * equations over numbered values (Autodidax's jaxpr, without the tracing).
 *
 * Values 0..n are either program inputs or the outputs of equations. A value is
 * `batched` when it carries a leading batch of k tangent or cotangent directions
 * (k chosen at run time); its `shape` is always the logical, unbatched shape, so op
 * rules never see the batch dimension: the evaluator maps ops over it.
 *
 * Derivative programs are built by appending equations to a copy of the primal
 * program, so primal values are shared residuals and never recomputed.
 */
import type { Shape } from '../tensor/tensor.js';
import type { OpDef } from '../ops/types.js';

export type ValueId = number;

export interface ValueInfo {
  readonly shape: Shape;
  readonly batched: boolean;
}

export interface Eqn {
  readonly op: OpDef;
  readonly args: readonly ValueId[];
  readonly attrs: unknown;
  readonly out: ValueId;
  /** Index of the wire node this equation came from, or -1 for equations the core made. */
  readonly node: number;
}

export interface Program {
  readonly values: readonly ValueInfo[];
  readonly eqns: readonly Eqn[];
}
