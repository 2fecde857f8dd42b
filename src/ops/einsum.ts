/**
 * einsum with explicit output subscripts ("ij,jk->ik"). When the graph is checked,
 * a node is expanded into ops that already have kernels and derivative rules:
 * diagonals of letters repeated within one operand (`index` on the flattened
 * operand), sums of letters nothing else needs, and pairwise contractions as
 * batched `matmul` between transposes and reshapes, in an order chosen then,
 * greedily, smallest intermediate first. So einsum is never a loop over all its
 * letters, and its derivatives of every order are those of the ops it becomes.
 *
 * The kernel below is the plain definition (a sum over every letter), kept as the
 * reference the tests compare the expansion with; checked graphs never run it.
 */
import { z } from 'zod';
import { sizeOf, stridesOf, type Shape } from '../tensor/tensor.js';
import { type Emit, OpError, type OpDef, type ValueId } from './types.js';
import type { EinsumAttrs } from './vocabulary.js';

const LETTER = /^[A-Za-z]$/;

/** Parses and checks `subscripts` against the operands' shapes: each operand's letters, the output's, and every letter's size. */
function parse(subscripts: string, inShapes: readonly Shape[]): EinsumAttrs {
  const fail = (message: string): never => {
    throw new OpError(message, undefined, 'subscripts');
  };
  if (subscripts.includes('.')) fail('an ellipsis (...) is not supported: name every axis with a letter');
  const sides = subscripts.replace(/\s+/g, '').split('->');
  if (sides.length !== 2) fail(`"${subscripts}" needs exactly one "->" followed by the output's letters`);
  const inputs = sides[0].split(',');
  const output = sides[1];
  if (inputs.length !== inShapes.length) fail(`${inputs.length} operand subscript(s) for ${inShapes.length} argument(s)`);
  const sizes = new Map<string, number>();
  inputs.forEach((term, k) => {
    for (const c of term) if (!LETTER.test(c)) fail(`"${c}" is not a letter (a-z, A-Z)`);
    if (term.length !== inShapes[k].length) {
      throw new OpError(`subscripts "${term}" name ${term.length} axes, but the argument has rank ${inShapes[k].length}`, k);
    }
    [...term].forEach((c, d) => {
      const n = inShapes[k][d];
      const seen = sizes.get(c);
      if (seen !== undefined && seen !== n) throw new OpError(`letter "${c}" has length ${n} here and ${seen} before`, k);
      sizes.set(c, n);
    });
  });
  for (const c of output) {
    if (!LETTER.test(c)) fail(`"${c}" is not a letter (a-z, A-Z)`);
    if (!sizes.has(c)) fail(`output letter "${c}" is in no operand`);
  }
  if (new Set(output).size !== output.length) fail(`output letters "${output}" repeat a letter`);
  return { inputs, output, sizes: Object.fromEntries(sizes) };
}

/** An operand during expansion: its value and the letter of each axis. */
interface Term {
  v: ValueId;
  letters: string;
}

function expand(e: Emit, args: readonly ValueId[], a: EinsumAttrs, node: number): ValueId {
  const size = (c: string): number => a.sizes[c];
  const shapeOf = (letters: string): number[] => [...letters].map(size);
  let terms: Term[] = args.map((v, k) => diagonalOf(e, v, a.inputs[k], size));
  /** Letters a term must keep: the output's and those of every other term. */
  const needed = (t: Term): Set<string> => {
    const keep = new Set(a.output);
    for (const o of terms) if (o !== t) for (const c of o.letters) keep.add(c);
    return keep;
  };
  terms = terms.map((t) => sumOut(e, t, needed(t)));
  while (terms.length > 1) {
    // The pair whose result is smallest.
    let best: [number, number, number] = [0, 1, Number.POSITIVE_INFINITY];
    for (let i = 0; i < terms.length; i++) {
      for (let j = i + 1; j < terms.length; j++) {
        const keep = new Set(a.output);
        terms.forEach((o, k) => {
          if (k !== i && k !== j) for (const c of o.letters) keep.add(c);
        });
        const letters = new Set([...terms[i].letters, ...terms[j].letters].filter((c) => keep.has(c)));
        const n = [...letters].reduce((p, c) => p * size(c), 1);
        if (n < best[2]) best = [i, j, n];
      }
    }
    const [i, j] = best;
    const rest = terms.filter((_, k) => k !== i && k !== j);
    const keep = new Set(a.output);
    for (const o of rest) for (const c of o.letters) keep.add(c);
    terms = [...rest, contract(e, terms[i], terms[j], keep, size)];
  }
  const last = sumOut(e, terms[0], new Set(a.output));
  const perm = [...a.output].map((c) => last.letters.indexOf(c));
  const ordered = perm.every((p, d) => p === d) ? last.v : e.apply('transpose', [last.v], { perm });
  // One equation carries the node (what stats count as its activity).
  return e.apply('reshape', [ordered], { shape: shapeOf(a.output) }, node);
}

/** An operand with a letter repeated: its diagonal (`index` on the flattened operand), one axis per distinct letter. */
function diagonalOf(e: Emit, v: ValueId, letters: string, size: (c: string) => number): Term {
  const unique = [...new Set(letters)].join('');
  if (unique.length === letters.length) return { v, letters };
  const inShape = [...letters].map(size);
  const strides = stridesOf(inShape);
  // A letter's stride in the flattened operand: the sum over the axes it names.
  const step = [...unique].map((c) => [...letters].reduce((s, l, d) => (l === c ? s + strides[d] : s), 0));
  const outShape = [...unique].map(size);
  const indices: number[] = [];
  const at = new Array<number>(outShape.length).fill(0);
  for (let n = 0; n < sizeOf(outShape); n++) {
    indices.push(at.reduce((s, x, d) => s + x * step[d], 0));
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++at[d] < outShape[d]) break;
      at[d] = 0;
    }
  }
  const flat = e.apply('index', [e.reshape(v, [sizeOf(inShape)])], { axis: 0, indices });
  return { v: e.reshape(flat, outShape), letters: unique };
}

/** Sums out the letters of t that `keep` does not hold. */
function sumOut(e: Emit, t: Term, keep: ReadonlySet<string>): Term {
  const axes = [...t.letters].flatMap((c, d) => (keep.has(c) ? [] : [d]));
  if (axes.length === 0) return t;
  return { v: e.sum(t.v, axes, false), letters: [...t.letters].filter((c) => keep.has(c)).join('') };
}

/** a ⋅ b over their shared letters not in `keep`, as one batched matmul; shared letters in `keep` are its batch. */
function contract(e: Emit, a0: Term, b0: Term, keep: ReadonlySet<string>, size: (c: string) => number): Term {
  const a = sumOut(e, a0, new Set([...keep, ...b0.letters]));
  const b = sumOut(e, b0, new Set([...keep, ...a.letters]));
  const shared = [...a.letters].filter((c) => b.letters.includes(c));
  const batch = shared.filter((c) => keep.has(c));
  const summed = shared.filter((c) => !keep.has(c));
  const freeA = [...a.letters].filter((c) => !b.letters.includes(c));
  const freeB = [...b.letters].filter((c) => !a.letters.includes(c));
  const n = (cs: readonly string[]): number => cs.reduce((p, c) => p * size(c), 1);
  const arranged = (t: Term, order: readonly string[], shape: number[]): ValueId => {
    const perm = order.map((c) => t.letters.indexOf(c));
    const moved = perm.every((p, d) => p === d) ? t.v : e.apply('transpose', [t.v], { perm });
    return e.reshape(moved, shape);
  };
  const left = arranged(a, [...batch, ...freeA, ...summed], [n(batch), n(freeA), n(summed)]);
  const right = arranged(b, [...batch, ...summed, ...freeB], [n(batch), n(summed), n(freeB)]);
  const letters = [...batch, ...freeA, ...freeB];
  const product = e.apply('matmul', [left, right], {});
  return { v: e.reshape(product, letters.map(size)), letters: letters.join('') };
}

export const einsumOp: OpDef<'einsum'> = {
  name: 'einsum',
  arity: 'variadic',
  attrs: { subscripts: z.string() },
  prepare: (wire: { subscripts: string }, inShapes) => parse(wire.subscripts, inShapes),
  shape: (_s, a) => [...a.output].map((c) => a.sizes[c]),
  expand,
  kernel(ins, inShapes, out, outShape, a) {
    const letters = [...new Set(a.inputs.join(''))];
    const lens = letters.map((c) => a.sizes[c]);
    const strides = ins.map((_, k) => {
      const st = stridesOf(inShapes[k]);
      return letters.map((c) => [...a.inputs[k]].reduce((s, l, d) => (l === c ? s + st[d] : s), 0));
    });
    const outStrides = stridesOf(outShape);
    const outStep = letters.map((c) => (a.output.includes(c) ? outStrides[a.output.indexOf(c)] : 0));
    out.fill(0);
    const at = new Array<number>(letters.length).fill(0);
    for (let n = 0; n < lens.reduce((p, l) => p * l, 1); n++) {
      let term = 1;
      for (let k = 0; k < ins.length; k++) term *= ins[k][at.reduce((s, x, i) => s + x * strides[k][i], 0)];
      out[at.reduce((s, x, i) => s + x * outStep[i], 0)] += term;
      for (let i = letters.length - 1; i >= 0; i--) {
        if (++at[i] < lens[i]) break;
        at[i] = 0;
      }
    }
  },
};
