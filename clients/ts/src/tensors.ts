/**
 * Tensors on the wire, both ways: arguments (numbers, nested arrays, Float64Arrays)
 * written as JSON or, when large, as the base64 form `{dtype, shape, data}`
 * (little-endian float64, docs/graph-format.md "Binary tensors"); results read
 * back, base64 decoded to `{shape, data: Float64Array}` and the wire strings
 * "NaN", "Infinity", "-Infinity" to numbers. Uses only what browsers and Node 20
 * both have (btoa, atob, DataView).
 */
import type { Shape } from './expr.js';

/** Nested arrays of numbers, as results come back by default: a bare number for shape []. */
export type Nested = number | Nested[];

/** A tensor as a flat row-major Float64Array and its shape. */
export interface Packed {
  shape: number[];
  data: Float64Array;
}

/** The wire's binary tensor. */
export interface Base64Tensor {
  dtype: 'float64';
  shape: number[];
  data: string;
}

/** What an argument (tangent, cotangent, vector entry) may be. */
export type TensorValue =
  | number
  | 'NaN'
  | 'Infinity'
  | '-Infinity'
  | readonly TensorValue[]
  | Float64Array
  | { readonly shape: Shape; readonly data: Float64Array }
  | Base64Tensor;

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
const CHUNK = 0x8000;

function bytesOf(data: Float64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat64(i * 8, data[i] as number, true);
  return out;
}

/** The base64 form of a packed tensor: every double exact, NaN, ±Infinity and -0 included. */
export function toBase64(shape: Shape, data: Float64Array): Base64Tensor {
  const bytes = bytesOf(data);
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return { dtype: 'float64', shape: [...shape], data: btoa(binary) };
}

/** A base64 tensor read back: its shape and a Float64Array of its elements. */
export function fromBase64(t: Base64Tensor): Packed {
  const binary = atob(t.data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const n = bytes.length / 8;
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(n) || n !== size) throw new Error(`a base64 tensor of shape [${t.shape.join(', ')}] has ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = view.getFloat64(i * 8, true);
  return { shape: [...t.shape], data };
}

function isBase64Tensor(v: unknown): v is Base64Tensor {
  return typeof v === 'object' && v !== null && (v as Base64Tensor).dtype === 'float64' && typeof (v as Base64Tensor).data === 'string';
}

/** A float as JSON writes it: the wire strings for the values JSON has no number for. */
function wireFloat(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

/** Nested arrays of `shape` from flat row-major data. */
export function nest(shape: Shape, data: ArrayLike<number>, map: (x: number) => number | string = (x) => x): unknown {
  let pos = 0;
  const build = (axis: number): unknown => {
    if (axis === shape.length) return map(data[pos++] as number);
    return Array.from({ length: shape[axis] as number }, () => build(axis + 1));
  };
  return build(0);
}

export interface EncodeOptions {
  /** The declared shape, when the caller knows it (a graph input, a builder output). */
  shape: Shape | undefined;
  /** The name's input is batched: a Float64Array then has a leading axis of points. */
  batched: boolean;
  /** Tensors of at least this many elements are sent as base64. */
  base64From: number;
  /** Where the value is in the request, for errors: `args.x`. */
  path: string;
}

const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

/** The shape of a Float64Array argument: the declared shape, with a leading batch axis when batched. */
function shapeForArray(data: Float64Array, o: EncodeOptions): Shape {
  if (o.shape === undefined) {
    throw new Error(`${o.path}: a Float64Array needs a shape the client does not know here: pass { shape, data } instead`);
  }
  if (!o.batched) return o.shape;
  const inner = sizeOf(o.shape);
  const points = inner === 0 ? 0 : data.length / inner;
  if (!Number.isInteger(points)) {
    throw new Error(`${o.path}: ${data.length} elements are not a whole number of points of shape [${o.shape.join(', ')}]`);
  }
  return [points, ...o.shape];
}

function packed(shape: Shape, data: Float64Array, o: EncodeOptions): unknown {
  if (data.length !== sizeOf(shape))
    throw new Error(`${o.path}: shape [${shape.join(', ')}] needs ${sizeOf(shape)} elements, found ${data.length}`);
  return data.length >= o.base64From ? toBase64(shape, data) : nest(shape, data, wireFloat);
}

/** An argument as the wire takes it. */
export function encodeTensor(v: TensorValue, o: EncodeOptions): unknown {
  if (typeof v === 'number') return wireFloat(v);
  if (typeof v === 'string') return v;
  if (v instanceof Float64Array) return packed(shapeForArray(v, o), v, o);
  if (Array.isArray(v)) return (v as readonly TensorValue[]).map((x) => encodeNested(x, o));
  if (isBase64Tensor(v)) return v;
  if (typeof v === 'object' && v !== null && (v as Packed).data instanceof Float64Array) {
    const p = v as { shape: Shape; data: Float64Array };
    return packed(p.shape, p.data, o);
  }
  throw new Error(`${o.path}: expected a number, nested arrays, a Float64Array, { shape, data } or a base64 tensor`);
}

/** An element of nested arrays: a number, a wire string, or nested arrays (a Float64Array there is a row). */
function encodeNested(v: TensorValue, o: EncodeOptions): unknown {
  if (typeof v === 'number') return wireFloat(v);
  if (typeof v === 'string') return v;
  if (v instanceof Float64Array) return Array.from(v, wireFloat);
  if (Array.isArray(v)) return (v as readonly TensorValue[]).map((x) => encodeNested(x, o));
  throw new Error(`${o.path}: nested arrays may hold numbers, the strings "NaN", "Infinity", "-Infinity", and arrays`);
}

/** A result tensor read back: base64 to Packed, wire strings to numbers. */
export function decodeTensor(v: unknown): unknown {
  if (typeof v === 'string') return Number(v);
  if (Array.isArray(v)) return v.map(decodeTensor);
  if (isBase64Tensor(v)) return fromBase64(v);
  if (typeof v === 'object' && v !== null && 'rows' in v && 'values' in v) {
    // A Jacobian or Hessian block with format "coo": its entries are a tensor.
    return { ...v, values: decodeTensor((v as { values: unknown }).values) };
  }
  return v;
}

/** Stacks points of one shape into one tensor with a leading axis: the argument of a `batched` input. */
export function batchOf(points: readonly (Nested | Float64Array | Packed)[]): Packed {
  const flat: number[] = [];
  let inner: number[] | undefined;
  for (const [i, p] of points.entries()) {
    let shape: number[];
    if (p instanceof Float64Array) {
      shape = [p.length];
      for (const x of p) flat.push(x);
    } else if (typeof p === 'object' && !Array.isArray(p)) {
      shape = [...p.shape];
      for (const x of p.data) flat.push(x);
    } else {
      shape = [];
      for (let v: Nested = p; Array.isArray(v); v = v[0] as Nested) shape.push(v.length);
      const before = flat.length;
      const walk = (x: Nested): void => {
        if (Array.isArray(x)) for (const y of x) walk(y);
        else flat.push(x);
      };
      walk(p);
      if (flat.length - before !== sizeOf(shape)) throw new Error(`batchOf: point ${i} is not rectangular`);
    }
    if (inner === undefined) inner = shape;
    else if (inner.join() !== shape.join())
      throw new Error(`batchOf: point ${i} has shape [${shape.join(', ')}], point 0 [${inner.join(', ')}]`);
  }
  return { shape: [points.length, ...(inner ?? [])], data: Float64Array.from(flat) };
}
