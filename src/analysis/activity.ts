/**
 * Activity analysis (Autodidax's known/unknown split). A value is
 *   varied  when it depends on an active input through differentiable ops
 *           (ops without a JVP rule, such as comparisons and stop_gradient, cut it,
 *           and so does an op's constant argument, such as where's condition);
 *   useful  when a requested output depends on it.
 * Only useful equations are evaluated at all; only those that are varied and
 * useful for derivatives (see usefulFor) are active and get tangents or cotangents. Constants therefore cost one primal evaluation and
 * nothing else.
 */
import type { Eqn, ValueId } from '../ir/program.js';

export function variedFrom(eqns: readonly Eqn[], valueCount: number, seeds: Iterable<ValueId>): Uint8Array {
  const varied = new Uint8Array(valueCount);
  for (const v of seeds) varied[v] = 1;
  for (const q of eqns) {
    const cut = q.op.constantArgs;
    if (q.op.jvp && q.args.some((a, i) => varied[a] && !cut?.includes(i))) varied[q.out] = 1;
  }
  return varied;
}

/**
 * Values the outputs depend on. With `forDerivatives`, only dependence a derivative
 * can flow along counts: not through ops without a JVP, nor through constant
 * arguments (where's condition is needed for the value, not for the derivative).
 */
export function usefulFor(eqns: readonly Eqn[], valueCount: number, outputs: Iterable<ValueId>, forDerivatives = false): Uint8Array {
  const useful = new Uint8Array(valueCount);
  for (const v of outputs) useful[v] = 1;
  for (let i = eqns.length - 1; i >= 0; i--) {
    const q = eqns[i];
    if (!useful[q.out] || (forDerivatives && !q.op.jvp)) continue;
    q.args.forEach((a, j) => {
      if (!(forDerivatives && q.op.constantArgs?.includes(j))) useful[a] = 1;
    });
  }
  return useful;
}
