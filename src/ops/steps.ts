/**
 * Piecewise constant elementwise ops: sign, floor, ceil and round. Their derivative
 * is 0 wherever it exists, so they have no rules and are never active (as the
 * comparisons): a value used only through them carries no derivative.
 * ±0, ±Infinity and NaN come back as they are (sign(±0) = ±0, as Math.sign).
 */
import { constantUnaryOp } from './elementwise.js';

/**
 * Rounds half to even (IEEE roundTiesToEven, NumPy's round): 0.5 → 0, 1.5 → 2,
 * 2.5 → 2, -0.5 → -0. Math.round rounds halves up; where it did so to an odd number
 * from exactly halfway, step back to the even one. r - x is exact here: below 2^52
 * both are multiples of 0.5 within 1 of each other; above, x is already an integer.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const stepOps = [
  // -1, ±0 or 1 (NaN for NaN). Also the derivative of abs.
  constantUnaryOp('sign', Math.sign),
  constantUnaryOp('floor', Math.floor),
  constantUnaryOp('ceil', Math.ceil),
  constantUnaryOp('round', roundHalfEven),
] as const;
