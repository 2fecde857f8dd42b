/**
 * The program printer: one equation per line, like a jaxpr,
 *
 *   v3 = mul v1 v2                  [21]
 *   v5 = sum v4 axes=[0] keepdims=false   []
 *
 * with each value's shape (`k×` in front when it carries a batch of directions),
 * inputs first. What debug output, error messages that need context, and tests
 * read: a program is easier to check printed than as objects.
 */
import { formatShape } from '../tensor/tensor.js';
import type { Eqn, Program, ValueId, ValueTable } from './program.js';

/** Most numbers of a constant shown before an ellipsis. */
const MAX_NUMBERS_SHOWN = 4;
/** Column the shapes are aligned to (longer equations push them further). */
const SHAPE_COLUMN = 32;

const name = (v: ValueId): string => `v${v}`;

function typeOf(values: ValueTable, v: ValueId): string {
  const info = values.info(v);
  return `${info.batched ? 'k×' : ''}${formatShape(info.shape)}`;
}

function number(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

function attrValue(v: unknown): string {
  if (v instanceof Float64Array) {
    const shown = [...v.subarray(0, MAX_NUMBERS_SHOWN)].map(number);
    return `[${shown.join(', ')}${v.length > MAX_NUMBERS_SHOWN ? ', …' : ''}]`;
  }
  if (typeof v === 'number') return number(v);
  if (Array.isArray(v)) return `[${v.map(attrValue).join(', ')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    // a scan's body: its name (the function's, numbered)
    if (typeof o.toJSON === 'function') return String((o as { toJSON(): unknown }).toJSON());
    // a tensor attribute (const's value): its numbers (its shape is the equation's)
    if (o.data instanceof Float64Array && Array.isArray(o.shape)) return o.shape.length === 0 ? number(o.data[0]) : attrValue(o.data);
    return `{${Object.entries(o)
      .map(([k, x]) => `${k}: ${attrValue(x)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(v) ?? String(v);
}

/** One equation: `v3 = mul v1 v2  [21]`. */
export function printEqn(q: Eqn, values: ValueTable): string {
  const attrs = Object.entries((q.attrs ?? {}) as Record<string, unknown>)
    .map(([k, v]) => ` ${k}=${attrValue(v)}`)
    .join('');
  const text = `${name(q.out)} = ${q.op.name}${q.args.map((a) => ` ${name(a)}`).join('')}${attrs}`;
  return `${text.padEnd(SHAPE_COLUMN)} ${typeOf(values, q.out)}`;
}

/** Equations, one per line, in order. */
export function printEqns(eqns: readonly Eqn[], values: ValueTable): string {
  return eqns.map((q) => printEqn(q, values)).join('\n');
}

/**
 * A program: its inputs, then its equations. Inputs are the values no equation
 * defines: all of its own, and those of a base program (see ValueTable) that its
 * equations read.
 */
export function printProgram(program: Program): string {
  const { values, eqns } = program;
  const defined = new Set(eqns.map((q) => q.out));
  const read = new Set(eqns.flatMap((q) => q.args));
  const baseLength = values.length - values.ownValues().length;
  const inputs: string[] = [];
  for (const v of values.ids()) {
    if (!defined.has(v) && (v >= baseLength || read.has(v))) inputs.push(`${name(v)} ${typeOf(values, v)}`);
  }
  return [`in ${inputs.join(', ')}`, printEqns(eqns, values)].filter((l) => l !== '').join('\n');
}
