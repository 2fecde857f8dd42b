/** `check`: the error of an engine's derivatives against the check reference's. */
import { findEngine } from '../engines/registry.js';
import type { Engine } from '../engines/types.js';
import type { Tensor } from '../tensor/tensor.js';

/** The engine `check` compares against: independent of every AD engine. */
export const CHECK_REFERENCE = 'fd';

export function checkReference(): Engine {
  return findEngine(CHECK_REFERENCE) as Engine;
}

export interface CheckError {
  maxAbsError: number;
  maxRelError: number;
}

/**
 * Max-norm error against the reference, relative to max(1, max|ref|). Entries
 * that agree exactly (the same infinity, or NaN in both) count as no error; a
 * disagreement involving NaN makes the error NaN.
 */
export function compareWithReference(got: readonly Tensor[], ref: readonly Tensor[]): CheckError {
  let maxAbs = 0;
  let refMax = 0;
  got.forEach((g, i) => {
    const r = ref[i].data;
    for (let k = 0; k < r.length; k++) {
      const a = g.data[k];
      const b = r[k];
      if (Object.is(a, b) || a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
      const d = Math.abs(a - b);
      maxAbs = Number.isNaN(d) || Number.isNaN(maxAbs) ? NaN : Math.max(maxAbs, d);
      if (Number.isFinite(b)) refMax = Math.max(refMax, Math.abs(b));
    }
  });
  return { maxAbsError: maxAbs, maxRelError: maxAbs / Math.max(1, refMax) };
}
