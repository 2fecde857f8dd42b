/**
 * Argument values typed in the inputs table: a JSON number or nested array, or a
 * generator sized by the input's shape: `linspace(a, b)` (evenly from a to b),
 * `random(seed)` or `random(seed, lo, hi)` (uniform, reproducible from the seed),
 * `fill(v)` (every element v).
 */
import { nest, sizeOf, type Wire } from './tensor.js';

/** n evenly spaced numbers from a to b inclusive (NumPy's linspace); n = 1 gives a. */
export function linspace(a: number, b: number, n: number): number[] {
  if (n === 1) return [a];
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? b : a + ((b - a) * i) / (n - 1)));
}

/** mulberry32: a small seeded generator, the same numbers in every browser and in node. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform numbers in [lo, hi), rounded to 6 decimals so that a copied request stays short. */
export function randomUniform(seed: number, n: number, lo = -1, hi = 1): number[] {
  const next = seededRandom(seed);
  return Array.from({ length: n }, () => Math.round((lo + (hi - lo) * next()) * 1e6) / 1e6);
}

const GENERATOR = /^\s*(linspace|random|fill)\s*\(([^()]*)\)\s*$/;

export class ArgError extends Error {}

/** The tensor `text` stands for, of the given shape; an ArgError says what is wrong. */
export function parseArg(text: string, shape: readonly number[]): Wire {
  const n = sizeOf(shape);
  const m = GENERATOR.exec(text);
  if (m) {
    const params = m[2].trim() === '' ? [] : m[2].split(',').map((p) => Number(p.trim()));
    if (params.some((p) => !Number.isFinite(p))) throw new ArgError(`${m[1]}(…): every parameter must be a number`);
    let flat: number[];
    if (m[1] === 'linspace') {
      if (params.length !== 2) throw new ArgError('linspace(a, b) takes 2 numbers');
      flat = linspace(params[0], params[1], n);
    } else if (m[1] === 'random') {
      if (params.length !== 1 && params.length !== 3) throw new ArgError('random(seed) or random(seed, lo, hi)');
      flat = randomUniform(params[0], n, params[1] ?? -1, params[2] ?? 1);
    } else {
      if (params.length !== 1) throw new ArgError('fill(v) takes 1 number');
      flat = new Array(n).fill(params[0]);
    }
    return nest(flat, shape);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ArgError('expected a number, a JSON array, linspace(a, b), random(seed) or fill(v)');
  }
  checkShape(value, shape, '');
  return value as Wire;
}

function checkShape(v: unknown, shape: readonly number[], at: string): void {
  if (shape.length === 0) {
    if (typeof v !== 'number') throw new ArgError(`expected a number${at ? ` at ${at}` : ''}, found ${JSON.stringify(v)}`);
    return;
  }
  if (!Array.isArray(v) || v.length !== shape[0])
    throw new ArgError(`expected ${shape[0]} entries${at ? ` at ${at}` : ''} for shape [${shape.join(', ')}]`);
  v.forEach((x, i) => {
    checkShape(x, shape.slice(1), `${at}[${i}]`);
  });
}
