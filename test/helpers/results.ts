/** Reading results in tests. */
import type { Result } from '../../src/index.js';

type Packed = { shape: number[]; data: Float64Array };

/** Every number of a packed result (values and derivatives), in a fixed order: what bit-for-bit comparisons compare. */
export function numbers(r: Result): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (v && typeof v === 'object' && 'data' in (v as object)) out.push(...(v as Packed).data);
    else if (v && typeof v === 'object') for (const k of Object.keys(v as object).sort()) walk((v as Record<string, unknown>)[k]);
  };
  walk({ values: r.values, jacobian: r.jacobian, gradient: r.gradient, jvp: r.jvp, vjp: r.vjp, hessian: r.hessian, hvp: r.hvp });
  return out;
}
