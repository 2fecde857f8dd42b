/** Laying the computed tensors out as the result envelope: named by output and input, in the asked format. */
import type { Encoding, Operation } from '../graph/schema.js';
import { toBase64 } from '../tensor/base64.js';
import { toNested } from '../tensor/nested.js';
import type { Tensor } from '../tensor/tensor.js';
import type { OutputFormat, OutTensor, ResultOf } from './types.js';

/**
 * The encoder of one tensor for an output format and the request's encoding:
 * 'packed' stays packed (Float64Arrays are already binary); otherwise the request's
 * `encoding: "base64"` wins over 'nested' and 'json'.
 */
export function encoder(format: OutputFormat | undefined, encoding: Encoding = 'json'): (t: Tensor) => OutTensor {
  if (format === 'packed') return (t) => t;
  if (encoding === 'base64') return toBase64;
  const json = format === 'json';
  return (t) => toNested(t, json);
}

type DerivativeFields = Partial<
  Omit<
    ResultOf['jacobian'] & ResultOf['gradient'] & ResultOf['jvp'] & ResultOf['vjp'] & ResultOf['hessian'] & ResultOf['hvp'],
    keyof ResultOf['evaluate']
  >
>;

/** Lays derivative tensors out under the operation's name, keyed by output and input names. */
export function encodeDerivatives(operation: Operation, inNames: string[], outNames: string[], t: OutTensor[]): DerivativeFields {
  const grid = (rows: string[], cols: string[]) =>
    named(
      rows,
      rows.map((_, r) => named(cols, t.slice(r * cols.length, (r + 1) * cols.length))),
    );
  switch (operation) {
    case 'evaluate':
      return {};
    case 'jacobian':
      return { jacobian: grid(outNames, inNames) };
    case 'gradient':
      return { gradient: named(inNames, t) };
    case 'hessian':
      return { hessian: grid(inNames, inNames) };
    case 'jvp':
      return { jvp: named(outNames, t) };
    case 'vjp':
      return { vjp: named(inNames, t) };
    case 'hvp':
      return { hvp: named(inNames, t) };
  }
}

/** An object from names, `__proto__` an ordinary own key like any other. */
export function named<T>(names: readonly string[], items: readonly T[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    // Assigning `__proto__` would set the prototype instead (Object.fromEntries did this, and cost more).
    if (n === '__proto__') Object.defineProperty(out, n, { value: items[i], enumerable: true, writable: true, configurable: true });
    else out[n] = items[i];
  }
  return out;
}
