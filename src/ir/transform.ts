/**
 * The two program transformations. Both append equations through an Emit, so their
 * output is again a program that can be run, or transformed once more (a Hessian is
 * jvpEqns applied to the equations vjpEqns produced).
 *
 * null stands for a symbolic zero: a rule is never called when all its inputs are
 * zero, and constants never get a tangent or cotangent.
 */
import type { Eqn, ValueId } from './program.js';
import type { Emit, RuleCtx } from '../ops/types.js';
import type { OpAttrs, OpName } from '../ops/vocabulary.js';
import type { ProgramBuilder } from './builder.js';
import { printEqn } from './print.js';

function ctxOf<N extends OpName>(e: Emit, q: Eqn<N>): RuleCtx<OpAttrs[N]> {
  return {
    e,
    xs: q.args,
    y: q.out,
    attrs: q.attrs,
    inShapes: q.args.map((a) => e.shapeOf(a)),
    outShape: e.shapeOf(q.out),
  };
}

/** Forward mode: extends `tangents` (value -> tangent value) through `eqns`, in order. */
export function jvpEqns(e: Emit, eqns: readonly Eqn[], tangents: Map<ValueId, ValueId>): void {
  for (const q of eqns) {
    if (!q.op.jvp) continue;
    const xDots = q.args.map((a) => tangents.get(a) ?? null);
    if (xDots.every((t) => t === null)) continue;
    const t = q.op.jvp(ctxOf(e, q), xDots);
    if (t !== null) tangents.set(q.out, t);
  }
}

/**
 * Reverse mode: walks `eqns` backwards from the seeded `cotangents`, accumulating
 * by addition where a value fans out. Only `varied` arguments receive cotangents.
 */
export function vjpEqns(e: ProgramBuilder, eqns: readonly Eqn[], varied: Uint8Array, cotangents: Map<ValueId, ValueId>): void {
  for (let i = eqns.length - 1; i >= 0; i--) {
    const q = eqns[i];
    const yBar = cotangents.get(q.out);
    // No JVP: not differentiable, nothing flows back. A JVP but no VJP: an internal op
    // that only appears in programs differentiated forward; reversing it is a bug.
    if (yBar === undefined || !varied[q.out] || !q.op.jvp) continue;
    if (!q.op.vjp) throw new Error(`internal error: ${q.op.name} has no VJP and cannot be reversed: ${printEqn(q, e.values)}`);
    const wanted = q.args.map((a) => varied[a] === 1);
    const bars = q.op.vjp(ctxOf(e, q), yBar, wanted);
    q.args.forEach((a, j) => {
      const b = bars[j];
      if (b === null || b === undefined || !wanted[j]) return;
      const prev = cotangents.get(a);
      cotangents.set(a, prev === undefined ? b : e.add(prev, b));
    });
  }
}
