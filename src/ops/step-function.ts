/**
 * What scan's equation holds in its attributes: the loop's body, a function of
 * fixed input shapes to one output, which the kernel runs once per step and the
 * derivative rules differentiate.
 *
 * Why an interface here and not the IR's program: ops may import only tensor (the
 * layer table in src/README.md), and a body is a program that the interpreter runs
 * and the program transformations differentiate, both in ir/. So the op sees the
 * body only through this interface, and ir/step.ts implements it: the kernel is
 * handed its runner through its attributes, and the rules write new bodies (the
 * JVP's, the VJP's) as ops through an Emit, as every other rule does.
 */
import type { Shape } from '../tensor/tensor.js';
import type { Emit, ValueId } from './types.js';

export interface StepFunction {
  readonly inShapes: readonly Shape[];
  readonly outShape: Shape;
  /** Elements computed by one run (the cost model's unit of work). */
  readonly work: number;
  /** Equations of the body (what keeping it costs, as a program's equations do). */
  readonly equations: number;
  /** Runs the body on one value per input, writing the result into `out` (of outShape's size). */
  run(ins: readonly Float64Array[], out: Float64Array): void;
  /**
   * Runs the body over a batch of k entries at once: `batched[i]` says whether input i
   * holds k values back to back; `out` gets k results back to back (the same result k
   * times when it depends on no batched input). Each entry's bits are run's for it alone.
   */
  runBatch(ins: readonly Float64Array[], batched: readonly boolean[], k: number, out: Float64Array): void;
  /**
   * A new body of the same kind over inputs of `inShapes`, written by `build`
   * through an Emit: what derivative rules make a derived loop's body with. Inside
   * `build`, the *Into methods below write this body's equations into that Emit.
   */
  derive(inShapes: readonly Shape[], build: (e: Emit, ins: readonly ValueId[]) => ValueId): StepFunction;
  /** Writes the body applied to `args` into `e` (an Emit that derive handed out); returns its result. */
  applyInto(e: Emit, args: readonly ValueId[]): ValueId;
  /** The body applied to `args` and its tangent for the argument tangents `dots` (null: zero), written into `e`. */
  jvpInto(e: Emit, args: readonly ValueId[], dots: readonly (ValueId | null)[]): { y: ValueId; dot: ValueId | null };
  /** Cotangents of the `wanted` arguments of the body applied to `args`, for the result's cotangent `yBar`, written into `e`. */
  vjpInto(e: Emit, args: readonly ValueId[], yBar: ValueId, wanted: readonly boolean[]): (ValueId | null)[];
  /** A short name, for printing and for the builder's merge key: two equations with the same body object may merge. */
  toJSON(): string;
}
