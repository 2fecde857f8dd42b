/**
 * Conversion between wire tensors (JSON numbers for shape [], nested arrays of the
 * exact shape otherwise) and Float64Array. JSON cannot say NaN or Infinity, so the
 * strings "NaN", "Infinity" and "-Infinity" stand for them wherever a float goes.
 */
import { z } from 'zod';
import { isBase64Like, parseBase64Tensor } from './base64.js';
import { formatShape, sizeOf, stridesOf, type Shape, type Tensor } from './tensor.js';

export const SPECIAL_FLOATS = ['NaN', 'Infinity', '-Infinity'] as const;
export const WireFloatSchema = z.union([z.number(), z.enum(SPECIAL_FLOATS)]);

export type NestedValue = number | string | NestedValue[];
export type NestedNumbers = number | NestedNumbers[];

/** Most dimensions a tensor may have (NumPy 2's limit); deeper nesting is refused, never recursed into. */
export const MAX_RANK = 64;

const isWireFloat = (v: unknown): boolean => (typeof v === 'number' && Number.isFinite(v)) || SPECIAL_FLOATS.includes(v as never);

/**
 * Structure only (numbers, the special strings, nested arrays at most MAX_RANK deep);
 * shapes are checked by parseTensor. Walked with an explicit stack, so a deeply nested
 * or cyclic value is an issue at the offending element, not a stack overflow.
 */
export const NestedValueSchema: z.ZodType<NestedValue> = z
  .custom<NestedValue>()
  .meta({
    // What JSON Schema (and so OpenAPI) says of it; the check itself is the walk below.
    id: 'Tensor',
    description:
      'A tensor: a JSON number for shape [], otherwise nested arrays of exactly its shape (row-major). ' +
      'The strings "NaN", "Infinity" and "-Infinity" stand for the floats JSON cannot write.',
    // Not recursive (items: Tensor) on purpose: openapi-typescript writes a self-reference
    // as components["schemas"]["Tensor"][], which TypeScript refuses as circular (TS2502),
    // and every type that holds a tensor (args, tangents, ...) then collapses to undefined
    // in openapi-fetch clients. Two levels are spelt out (scalars, vectors, matrices of
    // numbers); deeper levels are arrays of anything, which the description pins down.
    anyOf: [
      { type: 'number' },
      { type: 'string', enum: [...SPECIAL_FLOATS] },
      {
        type: 'array',
        description: 'rank 1 and up: one entry per index of the first axis, each a tensor of one rank less',
        items: {
          anyOf: [
            { type: 'number' },
            { type: 'string', enum: [...SPECIAL_FLOATS] },
            {
              type: 'array',
              description: 'rank 2 and up: nested arrays as deep as the rank, numbers or the three strings at the leaves',
              items: {},
            },
          ],
        },
      },
    ],
  } as Record<string, unknown>)
  .superRefine((v, ctx) => {
    const expected = 'expected a number, "NaN", "Infinity", "-Infinity" or an array';
    if (!Array.isArray(v)) {
      if (!isWireFloat(v)) ctx.addIssue({ code: 'custom', message: `${expected}, found ${describe(v)}` });
      return;
    }
    const stack: { arr: unknown[]; i: number }[] = [{ arr: v, i: 0 }];
    const path = (): number[] => stack.map((s) => s.i - 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.i >= top.arr.length) {
        stack.pop();
        continue;
      }
      const x = top.arr[top.i++];
      if (Array.isArray(x)) {
        if (stack.length >= MAX_RANK) {
          ctx.addIssue({
            code: 'custom',
            path: path(),
            message: `expected at most ${MAX_RANK} levels of nested arrays (MAX_RANK), found more`,
          });
          return;
        }
        stack.push({ arr: x, i: 0 });
      } else if (!isWireFloat(x)) {
        ctx.addIssue({ code: 'custom', path: path(), message: `${expected}, found ${describe(x)}` });
        return;
      }
    }
  });

/** The library's fast form: shape plus data, no nesting. */
export interface PackedTensor {
  shape: readonly number[];
  data: Float64Array;
}

export function isPacked(v: unknown): v is PackedTensor {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as PackedTensor).data instanceof Float64Array;
}

export interface TensorIssue {
  path: string;
  message: string;
  /** 'type': not a tensor at all (a schema error); 'shape': a tensor of the wrong shape. */
  kind: 'type' | 'shape';
}

/** A wire float as a number (the special strings included), or undefined. */
export function readWireFloat(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return undefined;
}

/** The shape a nested value claims, read along its first elements. */
export function inferShape(v: unknown): number[] {
  const shape: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

/**
 * The length of a tensor's leading axis as written (nested arrays, the base64 form or
 * a packed tensor), before it is read: how many points a batched argument carries.
 * Undefined for a number or anything without a leading axis.
 */
export function leadingLength(raw: unknown): number | undefined {
  if (Array.isArray(raw)) return raw.length;
  if (typeof raw !== 'object' || raw === null) return undefined;
  const shape = (raw as { shape?: unknown }).shape;
  if (!Array.isArray(shape) || shape.length === 0) return undefined;
  const n = shape[0];
  return Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : undefined;
}

/**
 * Reads a wire tensor. With `expected`, the value must have exactly that shape;
 * without, its shape is inferred and must be rectangular. Issues name the exact
 * element (`args.d[3]`) and say what was expected and found. With `strictFloats`,
 * a number that is not finite is refused: in a value parsed from JSON text it can
 * only be a literal too large for a double (JSON.parse reads 1e999 as Infinity),
 * which must not silently become an infinity. (Library callers may pass JavaScript
 * infinities on purpose.) The binary form {dtype, shape, data: base64} is read by
 * base64.ts's parseBase64Tensor.
 */
export function parseTensor(raw: unknown, path: string, expected?: Shape, strictFloats = false): Tensor | TensorIssue {
  if (isPacked(raw)) {
    const shape = raw.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      return { path: `${path}.shape`, message: 'expected an array of non-negative integers', kind: 'type' };
    }
    if (raw.data.length !== sizeOf(shape)) {
      return {
        path: `${path}.data`,
        message: `expected ${sizeOf(shape)} elements for shape ${formatShape(shape)}, found ${raw.data.length}`,
        kind: 'shape',
      };
    }
    if (expected && !sameDims(shape, expected)) {
      return { path, message: `expected shape ${formatShape(expected)}, found ${formatShape(shape)}`, kind: 'shape' };
    }
    return { shape: [...shape], data: raw.data };
  }
  if (isBase64Like(raw)) return parseBase64Tensor(raw, path, expected);
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'data' in raw && ArrayBuffer.isView(raw.data)) {
    return { path: `${path}.data`, message: `expected a Float64Array, found ${describe(raw.data)}`, kind: 'type' };
  }
  const shape = expected ? [...expected] : inferShape(raw);
  const data = new Float64Array(sizeOf(shape));
  // Most tensors are fine: read them without building a path per element, and walk
  // again with paths only to say what is wrong.
  if (readNested(raw, shape, 0, data, 0, strictFloats) === data.length) return { shape, data };
  let k = 0;
  const walk = (v: unknown, depth: number, p: string): TensorIssue | undefined => {
    if (depth === shape.length) {
      const x = readWireFloat(v);
      if (x === undefined || (strictFloats && !Number.isFinite(x) && typeof v === 'number')) {
        if (typeof v === 'number') return { path: p, message: OVERFLOW, kind: 'type' };
        return Array.isArray(v)
          ? { path: p, message: `expected a number (shape ${formatShape(shape)} has rank ${shape.length}), found an array`, kind: 'shape' }
          : { path: p, message: `expected a number or "NaN", "Infinity", "-Infinity", found ${describe(v)}`, kind: 'type' };
      }
      data[k++] = x;
      return undefined;
    }
    if (!Array.isArray(v)) {
      const kind = typeof v === 'number' || SPECIAL_FLOATS.includes(v as never) ? 'shape' : 'type';
      return { path: p, message: `expected an array of length ${shape[depth]} (shape ${formatShape(shape)}), found ${describe(v)}`, kind };
    }
    if (v.length !== shape[depth]) {
      return {
        path: p,
        message: `expected an array of length ${shape[depth]} (shape ${formatShape(shape)}), found length ${v.length}`,
        kind: 'shape',
      };
    }
    for (let i = 0; i < v.length; i++) {
      const issue = walk(v[i], depth + 1, `${p}[${i}]`);
      if (issue) return issue;
    }
    return undefined;
  };
  const issue = walk(raw, 0, path);
  return issue ?? { shape, data };
}

/**
 * Writes a nested value of `shape` into `data` from index `at`; returns the index
 * after it, or -1 at the first element that is not a wire float of the right
 * nesting (parseTensor's walk then reports it with its path).
 */
function readNested(v: unknown, shape: Shape, depth: number, data: Float64Array, at: number, strictFloats: boolean): number {
  if (depth === shape.length) {
    if (typeof v === 'number') {
      if (strictFloats && !Number.isFinite(v)) return -1;
      data[at] = v;
      return at + 1;
    }
    const x = readWireFloat(v);
    if (x === undefined) return -1;
    data[at] = x;
    return at + 1;
  }
  if (!Array.isArray(v) || v.length !== shape[depth]) return -1;
  if (depth === shape.length - 1) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'number' && (!strictFloats || Number.isFinite(x))) data[at++] = x;
      else if (typeof x !== 'number' && readWireFloat(x) !== undefined) data[at++] = readWireFloat(x) as number;
      else return -1;
    }
    return at;
  }
  for (let i = 0; i < v.length; i++) {
    at = readNested(v[i], shape, depth + 1, data, at, strictFloats);
    if (at < 0) return -1;
  }
  return at;
}

const OVERFLOW =
  'expected a finite number, found a literal too large for a double (such as 1e999); write "Infinity" or "-Infinity" for an infinity';

export function isTensorIssue(v: Tensor | TensorIssue): v is TensorIssue {
  return (v as TensorIssue).message !== undefined;
}

function sameDims(a: readonly number[], b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** What a value is, for "found ..." in messages: `the string "abc"`, `an object`, `nothing` (missing). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (typeof v === 'number') return `the number ${v}`;
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === 'object') {
    if (isPacked(v)) return 'a packed tensor {shape, data}';
    const name = Object.getPrototypeOf(v)?.constructor?.name;
    return typeof name === 'string' && name !== 'Object' && name !== '' ? `a ${name}` : 'an object';
  }
  return `a ${typeof v}`;
}

/** A number as a wire float: JSON's stand-ins for the floats it cannot write. */
export function writeWireFloat(x: number): number | string {
  return Number.isFinite(x) ? x : Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

/**
 * Tensor to nested form: a bare number for shape [], nested arrays otherwise.
 * With `json`, NaN and ±Infinity become "NaN", "Infinity" and "-Infinity", so that
 * JSON.stringify writes every value (it would write null); otherwise they stay numbers.
 */
export function toNested(t: Tensor, json = false): NestedNumbers | NestedValue {
  const { shape, data } = t;
  if (shape.length === 0) return json ? writeWireFloat(data[0]) : data[0];
  // Module-level functions, not closures made per call: this runs for every result tensor.
  return shape.length === 1 ? row(data, json, 0, shape[0]) : nestedFrom(shape, stridesOf(shape), data, json, 0, 0);
}

/**
 * One innermost row. Arrays grown by push stay packed; `new Array(n)` makes holey
 * ones, which JSON.stringify writes about 1.6 times slower (21 doubles: 3.9 µs
 * against 2.4 µs).
 */
function row(data: Float64Array, json: boolean, from: number, n: number): NestedValue[] {
  const arr: NestedValue[] = [];
  if (json) for (let i = 0; i < n; i++) arr.push(writeWireFloat(data[from + i]));
  else for (let i = 0; i < n; i++) arr.push(data[from + i]);
  return arr;
}

function nestedFrom(shape: Shape, strides: readonly number[], data: Float64Array, json: boolean, depth: number, at: number): NestedValue[] {
  const n = shape[depth];
  if (depth === shape.length - 1) return row(data, json, at, n);
  const arr: NestedValue[] = [];
  for (let i = 0; i < n; i++) arr.push(nestedFrom(shape, strides, data, json, depth + 1, at + i * strides[depth]));
  return arr;
}
