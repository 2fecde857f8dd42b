/**
 * The result envelope as JSON text, written by a function generated once per
 * result layout, from the result in the 'packed' output format (tensors as
 * Float64Arrays, never turned into nested arrays).
 *
 * The text is byte for byte what JSON.stringify writes for the same call with
 * output 'json' (what the HTTP service sent before): keys in the order
 * JSON.stringify takes them (Object.keys: integer-like names first), tensors
 * nested with NaN and ±Infinity as the strings "NaN", "Infinity" and
 * "-Infinity" (writeWireFloat) or, for `encoding: "base64"`, in the binary
 * form; `check`'s errors as wire floats too; every other value as
 * JSON.stringify writes it. Finite doubles are written by the engine's own
 * Number-to-String (Float64Array.prototype.join on a row), which is what
 * JSON.stringify uses: shortest round trip, -0 as 0.
 *
 * A layout is the envelope's keys, object by object, and what kind each leaf is
 * (a tensor, a number, anything else); shapes are read from the tensors. The
 * generated function holds the envelope's fixed text (keys, braces, commas) in
 * as few pieces as there are leaves and concatenates it with the leaves: no
 * objects are built and nothing is walked but the leaves. It goes through the
 * one `new Function` site (compile/new-function.ts) with source made only of
 * template text, integers and identifiers minted from them: keys and text
 * pieces are parameters, never source. Layouts with more than MAX_GENERATED_LEAVES
 * leaves (a Jacobian grid of many inputs and outputs) are written by the same
 * walk, interpreted.
 */
import { type Code, js, lines, name } from '../compile/code.js';
import { instantiate } from '../compile/new-function.js';

/** The generated source's name for each kind of leaf writer. */
const LEAF_WRITER = { T: js`T`, N: js`N`, W: js`W`, X: js`X` } as const;
import type { Encoding } from '../graph/schema.js';
import { toBase64 } from '../tensor/base64.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import type { AnyResult } from './types.js';

/** Layouts with more leaves than this are written interpreted (their code would be large and used rarely). */
export const MAX_GENERATED_LEAVES = 256;
/** Generated writers kept; the oldest goes first. */
const MAX_LAYOUTS = 512;

type Leaf = 'T' | 'N' | 'W' | 'X';
/** A layout: an object's keys, each with a leaf kind or a nested layout. */
interface Layout {
  keys: string[];
  parts: (Leaf | Layout)[];
}
type Writer = (result: object) => string;

const isTensor = (v: unknown): v is Tensor => typeof v === 'object' && v !== null && (v as { data?: unknown }).data instanceof Float64Array;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A number as a wire float: JSON text of writeWireFloat(x). */
function wireText(x: number): string {
  return x - x === 0 ? `${x}` : Number.isNaN(x) ? '"NaN"' : x > 0 ? '"Infinity"' : '"-Infinity"';
}

/** A number as JSON.stringify writes it (non-finite: null). */
const numberText = (x: number): string => (x - x === 0 ? `${x}` : 'null');

/** A packed tensor as nested JSON arrays of wire floats (toNested(t, true), stringified). */
export function nestedText(t: Tensor): string {
  const { shape, data } = t;
  if (shape.length === 0) return wireText(data[0]);
  const size = sizeOf(shape);
  let finite = true;
  for (let i = 0; i < size; i++) {
    const x = data[i];
    if (x - x !== 0) {
      finite = false;
      break;
    }
  }
  const n = shape[shape.length - 1];
  const row = (k: number): string => {
    if (finite) return (n === data.length ? data : data.subarray(k, k + n)).join(',');
    let s = '';
    for (let i = 0; i < n; i++) s += i === 0 ? wireText(data[k + i]) : `,${wireText(data[k + i])}`;
    return s;
  };
  if (shape.length === 1) return `[${row(0)}]`;
  let k = 0;
  const build = (depth: number): string => {
    const m = shape[depth];
    let s = '[';
    if (depth === shape.length - 1) {
      s += row(k);
      k += m;
    } else {
      for (let i = 0; i < m; i++) s += i === 0 ? build(depth + 1) : `,${build(depth + 1)}`;
    }
    return `${s}]`;
  };
  return build(0);
}

/** A packed tensor in the binary wire form, as JSON text. */
/**
 * A packed tensor in the binary form, as JSON.stringify(toBase64(t)) writes it: base64
 * and the dimensions need no escaping, so the text is put together, not stringified
 * (which scans every character of what can be megabytes of base64).
 */
const base64Text = (t: Tensor): string => {
  const b = toBase64(t);
  return `{"dtype":"${b.dtype}","shape":[${b.shape.join(',')}],"data":"${b.data}"}`;
};

/** The leaf kind of a value, or undefined for one JSON.stringify leaves out of an object. */
function leafOf(v: unknown, wire: boolean): Leaf | undefined {
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return undefined;
  if (isTensor(v)) return 'T';
  if (typeof v === 'number') return wire ? 'W' : 'N';
  return 'X';
}

/** An object the layout goes into (JSON.stringify would write its keys); anything else is a leaf. */
const isBranch = (v: unknown): v is Record<string, unknown> =>
  isObject(v) && !isTensor(v) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';

/** Whether the numbers under `key` are wire floats: `check`'s, at the top (as the 'json' output format writes them). */
const wireUnder = (key: string, wire: boolean, top: boolean): boolean => wire || (top && key === 'check');

/**
 * A string that names the layout of `o` exactly (each key prefixed by its length),
 * and its leaf count in `count`: what the hot path computes, with no objects built.
 */
function signatureOf(o: Record<string, unknown>, wire: boolean, top: boolean, count: { leaves: number }): string {
  let s = '{';
  for (const key of Object.keys(o)) {
    const v = o[key];
    const w = wireUnder(key, wire, top);
    if (isBranch(v)) {
      s += `${key.length}:${key}${signatureOf(v, w, false, count)}`;
      continue;
    }
    const leaf = leafOf(v, w);
    if (leaf === undefined) continue;
    s += `${key.length}:${key}${leaf}`;
    count.leaves++;
  }
  return `${s}}`;
}

/** The layout of `o` (what signatureOf names). */
function layoutOf(o: Record<string, unknown>, wire: boolean, top: boolean): Layout {
  const layout: Layout = { keys: [], parts: [] };
  for (const key of Object.keys(o)) {
    const v = o[key];
    const w = wireUnder(key, wire, top);
    const part = isBranch(v) ? layoutOf(v, w, false) : leafOf(v, w);
    if (part === undefined) continue;
    layout.keys.push(key);
    layout.parts.push(part);
  }
  return layout;
}

interface LeafWriters {
  T: (t: Tensor) => string;
  N: (x: number) => string;
  W: (x: number) => string;
  X: (v: unknown) => string;
}

const WRITERS: Record<Encoding, LeafWriters> = {
  json: { T: nestedText, N: numberText, W: wireText, X: (v) => JSON.stringify(v) },
  base64: { T: base64Text, N: numberText, W: wireText, X: (v) => JSON.stringify(v) },
};

/** Writes `o` by `layout`, interpreted: the reference the generated writers follow. */
function writeInterpreted(o: Record<string, unknown>, layout: Layout, w: LeafWriters): string {
  let s = '{';
  for (let i = 0; i < layout.keys.length; i++) {
    const key = layout.keys[i];
    const part = layout.parts[i];
    const v = o[key];
    s += `${i === 0 ? '' : ','}${JSON.stringify(key)}:`;
    s += typeof part === 'string' ? w[part](v as never) : writeInterpreted(v as Record<string, unknown>, part, w);
  }
  return `${s}}`;
}

/**
 * The generated writer of a layout. Its source: `v<i>` variables (the objects on
 * the way), `K[i]` (keys), `P[i]` (fixed text) and the leaf writers T, N, W, X.
 */
function generate(layout: Layout, w: LeafWriters): Writer {
  const keys: string[] = [];
  const pieces: string[] = [];
  const body: Code[] = [];
  let text = ''; // fixed text not yet emitted
  let vars = 0;
  const emit = (leaf: Code): void => {
    pieces.push(text);
    body.push(js`s += P[${pieces.length - 1}] + ${leaf};`);
    text = '';
  };
  const walk = (l: Layout, v: Code): void => {
    text += '{';
    for (let i = 0; i < l.keys.length; i++) {
      const key = l.keys[i];
      const part = l.parts[i];
      keys.push(key);
      const access = js`${v}[K[${keys.length - 1}]]`;
      text += `${i === 0 ? '' : ','}${JSON.stringify(key)}:`;
      if (typeof part === 'string') emit(js`${LEAF_WRITER[part]}(${access})`);
      else {
        const child = name('v', ++vars);
        body.push(js`const ${child} = ${access};`);
        walk(part, child);
      }
    }
    text += '}';
  };
  walk(layout, name('v', 0));
  pieces.push(text);
  const source = lines([js`return function (v0) {`, js`let s = '';`, ...body, js`return s + P[${pieces.length - 1}];`, js`};`]);
  return instantiate<Writer>([js`K`, js`P`, js`T`, js`N`, js`W`, js`X`], source, [keys, pieces, w.T, w.N, w.W, w.X]);
}

const generated = new Map<string, Writer>();

/**
 * The JSON text of a result envelope computed with output 'packed', as
 * JSON.stringify would write the same call's envelope with output 'json';
 * `encoding` is the request's (base64 writes tensors in the binary form).
 */
export function resultJson(result: AnyResult<'packed'>, encoding: Encoding = 'json'): string {
  const envelope = result as unknown as Record<string, unknown>;
  const w = WRITERS[encoding];
  const count = { leaves: 0 };
  const key = `${encoding}|${signatureOf(envelope, false, true, count)}`;
  if (count.leaves > MAX_GENERATED_LEAVES) return writeInterpreted(envelope, layoutOf(envelope, false, true), w);
  let write = generated.get(key);
  if (write === undefined) {
    write = generate(layoutOf(envelope, false, true), w);
    if (generated.size >= MAX_LAYOUTS) generated.delete(generated.keys().next().value as string);
    generated.set(key, write);
  }
  return write(envelope);
}
