/**
 * Binary tensors in tests, written independently of derivd's own base64 code (a
 * DataView, explicit little-endian):
 *   EVERY_KIND             zeros of both signs, the extremes, subnormals, infinities and NaN
 *   b64(values, shape?)    the {dtype, shape, data} form of some doubles
 *   decode(t)              the doubles of that form
 *   sameBits(a, b, at?)    element by element with Object.is (NaN and -0 included)
 *   identityGraph(n)       y = x·k, s = Σy, z = e + 1 with e of shape [0]: every value passes through
 */
import { expect } from 'vitest';
import type { Base64Tensor } from '../../src/index.js';

export const EVERY_KIND = [
  0,
  -0,
  1,
  -1.5,
  Math.PI,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  2.2250738585072014e-308, // the smallest normal
  2.225073858507201e-308, // the largest subnormal
  Number.EPSILON,
  Number.MAX_SAFE_INTEGER,
  Infinity,
  -Infinity,
  NaN,
];

export function b64(values: readonly number[], shape: number[] = [values.length]): Base64Tensor {
  const view = new DataView(new ArrayBuffer(values.length * 8));
  values.forEach((v, i) => view.setFloat64(i * 8, v, true));
  return { dtype: 'float64', shape, data: Buffer.from(view.buffer).toString('base64') };
}

export function decode(t: unknown): number[] {
  const { data } = t as Base64Tensor;
  const bytes = Buffer.from(data, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
}

export function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, at = 'element'): void {
  expect(a.length, at).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Object.is(a[i], b[i]), `${at}[${i}]: ${a[i]} vs ${b[i]}`).toBe(true);
}

export const identityGraph = (n: number) => ({
  inputs: [
    { name: 'x', shape: [n] },
    { name: 'k', shape: [] },
    { name: 'e', shape: [0] },
  ],
  nodes: [
    { id: 'y', op: 'mul', args: ['x', 'k'] },
    { id: 's', op: 'sum', args: ['y'] },
    { id: 'z', op: 'add', args: ['e', 1] },
  ],
  outputs: ['y', 's', 'z'],
});
