/**
 * The binary wire form of a tensor: `{"dtype": "float64", "shape": [...], "data": "<base64>"}`,
 * where data is the row-major elements as little-endian IEEE-754 doubles, in
 * standard base64 (RFC 4648 §4: A–Z a–z 0–9 + /, padded with =, no line breaks).
 * Every double survives exactly (NaN, ±Infinity, -0, subnormals), and it is about a
 * third the size of JSON numbers and much cheaper to read and write.
 *
 * Decoding is strict: Node's base64 decoder skips characters outside the alphabet
 * and accepts base64url, so the alphabet, the padding and the unused bits of the
 * last character are checked here before anything is decoded.
 */
import { endianness } from 'node:os';
import { z } from 'zod';
import { formatShape, sizeOf, type Shape, type Tensor } from './tensor.js';

export const BASE64_DTYPE = 'float64';

/** A tensor in the binary wire form. */
export interface Base64Tensor {
  dtype: 'float64';
  shape: number[];
  data: string;
}

/** What `parseBase64Tensor` refuses (the same fields as nested.ts's TensorIssue). */
interface Issue {
  path: string;
  message: string;
  kind: 'type' | 'shape';
}

const KEYS = ['dtype', 'shape', 'data'] as const;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** Documents the form (OpenAPI); checking is parseBase64Tensor's. */
export const Base64TensorSchema = z
  .object({
    dtype: z.literal(BASE64_DTYPE).describe('the element type; only "float64"'),
    shape: z.array(z.number().int().nonnegative()).describe('the dimensions ([] is a scalar)'),
    data: z
      .string()
      .meta({ contentEncoding: 'base64' })
      .describe('the elements in row-major order as little-endian IEEE-754 doubles, in standard padded base64 (8 bytes per element)'),
  })
  .strict()
  .meta({
    id: 'Base64Tensor',
    description:
      'A tensor as binary: little-endian float64 elements, row-major, base64-encoded. Exact for every double (NaN, ±Infinity, -0 included).',
  });

/**
 * Whether a value is meant as the binary form: a plain object with a `dtype` key or
 * a string `data`. (Other objects keep the nested form's "found an object" message.)
 */
export function isBase64Like(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  return Object.hasOwn(v, 'dtype') || typeof (v as { data?: unknown }).data === 'string';
}

const ALPHABET = /^[A-Za-z0-9+/]*$/;
const BAD_CHAR = /[^A-Za-z0-9+/]/;
const CODES = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 text length for `bytes` bytes, padded. */
export const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4;

/**
 * Reads the binary form into a fresh, aligned Float64Array. `expected`: the declared
 * shape, which `shape` must equal. Issues: keys, dtype and base64 text are 'type'
 * (a malformed value, 400); a shape other than the declared one is 'shape', as for
 * nested arrays and packed tensors.
 */
export function parseBase64Tensor(raw: Record<string, unknown>, path: string, expected?: Shape): Tensor | Issue {
  for (const k of KEYS) {
    if (!Object.hasOwn(raw, k)) {
      return { path: `${path}.${k}`, message: `missing: a base64 tensor has the keys "dtype", "shape" and "data"`, kind: 'type' };
    }
  }
  for (const k of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(k)) {
      return {
        path: /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`,
        message: `unexpected key ${JSON.stringify(k)}: a base64 tensor has only "dtype", "shape" and "data"`,
        kind: 'type',
      };
    }
  }
  if (raw.dtype !== BASE64_DTYPE) {
    return { path: `${path}.dtype`, message: `expected "float64", found ${show(raw.dtype)}`, kind: 'type' };
  }
  const shape = raw.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return { path: `${path}.shape`, message: 'expected an array of non-negative integers', kind: 'type' };
  }
  const text = raw.data;
  if (typeof text !== 'string') {
    return { path: `${path}.data`, message: `expected a base64 string, found ${show(text)}`, kind: 'type' };
  }
  const n = sizeOf(shape);
  const invalid = (): Issue => ({
    path: `${path}.data`,
    message: `invalid base64: ${base64Problem(text) ?? 'not in canonical form'}`,
    kind: 'type',
  });
  if (text.length !== base64Length(n * 8)) {
    if (base64Problem(text) !== undefined) return invalid();
    const found = (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
    return {
      path: `${path}.data`,
      message: `expected ${n * 8} bytes (${n} float64 for shape ${formatShape(shape)}, 8 bytes each), found ${found} bytes`,
      kind: 'type',
    };
  }
  const data = new Float64Array(n);
  // Decoded straight into the aligned array's memory: no intermediate Buffer. Node's
  // decoder is lenient (it skips stray characters, reads base64url, ignores non-zero
  // padding bits): the text is strict base64 exactly when encoding the bytes gives it back,
  // which is much faster than a regular expression over the text.
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.write(text, 'base64') !== n * 8 || bytes.toString('base64') !== text) return invalid();
  // Only a well-formed tensor is compared with the declaration: a malformed one is a 400 first.
  if (expected && !(shape.length === expected.length && shape.every((d, i) => d === expected[i]))) {
    return { path, message: `expected shape ${formatShape(expected)}, found ${formatShape(shape)}`, kind: 'shape' };
  }
  if (!LITTLE_ENDIAN_HOST) bytes.swap64();
  return { shape: [...shape], data };
}

/** Why `text` is not strict padded standard base64, or undefined when it is. */
export function base64Problem(text: string): string | undefined {
  const body = text.endsWith('==') ? text.slice(0, -2) : text.endsWith('=') ? text.slice(0, -1) : text;
  if (!ALPHABET.test(body)) {
    const at = BAD_CHAR.exec(body)?.index ?? 0;
    const c = body[at];
    const what = c === '=' ? 'padding "=" before the end' : `character ${JSON.stringify(c)}`;
    return `${what} at offset ${at}; expected only A–Z, a–z, 0–9, "+" and "/" (standard base64, no line breaks or base64url), with "=" padding at the end`;
  }
  if (text.length % 4 !== 0) return `length ${text.length} is not a multiple of 4 (standard base64 is padded with "=")`;
  const pad = text.length - body.length;
  if (pad > 0) {
    // the unused low bits of the last character before the padding must be zero (canonical form)
    const last = CODES.indexOf(body[body.length - 1]);
    if ((last & (pad === 2 ? 0xf : 0x3)) !== 0) return `the last character before "=" padding has non-zero unused bits (not canonical)`;
  }
  return undefined;
}

/** A tensor in the binary form. */
export function toBase64(t: Tensor): Base64Tensor {
  const { data } = t;
  let bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!LITTLE_ENDIAN_HOST) bytes = Buffer.from(bytes).swap64();
  return { dtype: BASE64_DTYPE, shape: [...t.shape], data: bytes.toString('base64') };
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
