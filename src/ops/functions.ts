/**
 * The ops that name a function of the graph's `functions`: call and scan.
 *
 * `call` never becomes an equation: graph checking (graph/check.ts) expands each
 * call into the function's equations, so every engine, Hessians included, sees
 * ordinary equations and call needs no kernel or rules of its own.
 *
 * `scan` stays one equation, a loop: its attributes hold the body as a
 * StepFunction (ops/step-function.ts, implemented in ir/step.ts), which the kernel
 * runs `length` times. Internally a scan takes the initial carry and any number of
 * sequences (arguments with a leading axis of `length`), and may run backwards;
 * on the wire it takes `init` and at most one `xs`. Its derivative rules are
 * written as ops, as every rule is: both are scans again, over bodies derived from
 * this one, so derivative sweeps loop too, and can themselves be differentiated.
 *
 *   - JVP: a scan carrying the tangent, whose steps read the carry before each
 *     step (the primal output shifted by one, with init in front: no extra storage)
 *     and the sequences with their tangents, and apply the body's JVP.
 *   - VJP: a scan in the other direction carrying the cotangent that flows into the
 *     carry before each step (the body's VJP with respect to the carry, at the
 *     stored carries); init's cotangent is its last row. Each sequence's cotangent
 *     is one more scan, a map over the steps, of the body's VJP with respect to it.
 */
import { z } from 'zod';
import { formatShape, sameShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { OpError, type Emit, type OpDef, type RuleCtx, type ValueId } from './types.js';
import type { ScanAttrs } from './vocabulary.js';

const expandedAtCheck = (name: string): never => {
  throw new Error(`internal error: ${name} is expanded when the graph is checked (graph/check.ts)`);
};

export const callOp: OpDef<'call'> = {
  name: 'call',
  // Checked against the function's inputs by graph checking, which handles call itself.
  arity: 'variadic',
  attrs: { function: z.string().min(1) },
  prepare: () => expandedAtCheck('call'),
  shape: () => expandedAtCheck('call'),
  kernel: () => expandedAtCheck('call'),
};

/** The rows a sequence of shape [length, ...row] gives each step. */
const rowShape = (s: Shape): Shape => s.slice(1);

/** Rows [from, from + count) of a value of shape [n, ...rest]. */
function rows(e: Emit, v: ValueId, from: number, count: number): ValueId {
  const s = e.shapeOf(v);
  return e.apply('slice', [v], { begin: s.map((_, i) => (i === 0 ? from : 0)), step: s.map(() => 1), count: [count, ...s.slice(1)] });
}

/** `v` with a leading axis of 1. */
const asRow = (e: Emit, v: ValueId): ValueId => e.reshape(v, [1, ...e.shapeOf(v)]);

/**
 * The carry before each step, as a value of the output's shape: row t is what step
 * t read. Forward, init then rows 0..n-2 of the output; backwards, rows 1..n-1 then init.
 */
function carriesBefore(e: Emit, init: ValueId, y: ValueId, n: number, reverse: boolean): ValueId {
  if (n === 1) return asRow(e, init);
  return reverse
    ? e.apply('concat', [rows(e, y, 1, n - 1), asRow(e, init)], { axis: 0 })
    : e.apply('concat', [asRow(e, init), rows(e, y, 0, n - 1)], { axis: 0 });
}

/**
 * What the step after step t passes back into the carry step t made: row t + 1 of
 * `a` forward (row t - 1 backwards), 0 after the last step.
 */
function fromNextStep(e: Emit, a: ValueId, n: number, reverse: boolean): ValueId {
  const s = e.shapeOf(a);
  const zero = e.zeros([1, ...s.slice(1)]);
  if (n === 1) return zero;
  return reverse
    ? e.apply('concat', [zero, rows(e, a, 0, n - 1)], { axis: 0 })
    : e.apply('concat', [rows(e, a, 1, n - 1), zero], { axis: 0 });
}

function scanJvp(ctx: RuleCtx<ScanAttrs>, xDots: readonly (ValueId | null)[]): ValueId | null {
  const { e, xs, y, attrs, inShapes, outShape } = ctx;
  const n = attrs.length;
  if (n === 0) return e.zeros(outShape);
  const carry = inShapes[0];
  const seqs = xs.slice(1);
  const seqDots = xDots.slice(1);
  const dotted = seqs.flatMap((_, i) => (seqDots[i] === null ? [] : [i]));
  const { body } = attrs;
  // (carry tangent, carry before the step, sequence rows, rows of the sequence tangents) -> next carry tangent
  const jvpBody = body.derive(
    [carry, carry, ...seqs.map((s) => rowShape(e.shapeOf(s))), ...dotted.map((i) => rowShape(e.shapeOf(seqs[i])))],
    (se, [cDot, c, ...rest]) => {
      const rowsOf = rest.slice(0, seqs.length);
      const dots: (ValueId | null)[] = [cDot, ...rowsOf.map(() => null)];
      dotted.forEach((i, j) => {
        dots[i + 1] = rest[seqs.length + j];
      });
      return body.jvpInto(se, [c, ...rowsOf], dots).dot ?? se.zeros(carry);
    },
  );
  const before = carriesBefore(e, xs[0], y, n, attrs.reverse);
  return e.apply('scan', [xDots[0] ?? e.zeros(carry), before, ...seqs, ...dotted.map((i) => seqDots[i] as ValueId)], {
    function: attrs.function,
    length: n,
    reverse: attrs.reverse,
    body: jvpBody,
  });
}

function scanVjp(ctx: RuleCtx<ScanAttrs>, yBar: ValueId, wanted: readonly boolean[]): (ValueId | null)[] {
  const { e, xs, y, attrs, inShapes } = ctx;
  const n = attrs.length;
  const carry = inShapes[0];
  const seqs = xs.slice(1);
  if (n === 0) return wanted.map((w, i) => (w ? e.zeros(inShapes[i]) : null));
  const { body } = attrs;
  const seqRows = seqs.map((s) => rowShape(e.shapeOf(s)));
  const before = carriesBefore(e, xs[0], y, n, attrs.reverse);
  // a_t, the cotangent flowing into the carry step t read: (a after the next step,
  // carry before step t, sequence rows, output cotangent row t) -> a_t. It runs the other way.
  const carryBody = body.derive([carry, carry, ...seqRows, carry], (se, [next, c, ...rest]) => {
    const g = se.add(rest[seqs.length], next);
    return body.vjpInto(se, [c, ...rest.slice(0, seqs.length)], g, [true, ...seqs.map(() => false)])[0] ?? se.zeros(carry);
  });
  const a = e.apply('scan', [e.zeros(carry), before, ...seqs, yBar], {
    function: attrs.function,
    length: n,
    reverse: !attrs.reverse,
    body: carryBody,
  });
  const bars: (ValueId | null)[] = [wanted[0] ? e.reshape(rows(e, a, attrs.reverse ? n - 1 : 0, 1), carry) : null];
  // g_t, the whole cotangent of the carry step t made: the output's and what later steps pass back.
  const g = seqs.some((_, i) => wanted[i + 1]) ? e.add(yBar, fromNextStep(e, a, n, attrs.reverse)) : null;
  for (let i = 0; i < seqs.length; i++) {
    if (!wanted[i + 1] || g === null) {
      bars.push(null);
      continue;
    }
    // A map over the steps (the carry is unused): row t is the cotangent of row t of sequence i.
    const mask = [false, ...seqs.map((_, j) => j === i)];
    const seqBody = body.derive([seqRows[i], carry, ...seqRows, carry], (se, [, c, ...rest]) => {
      return body.vjpInto(se, [c, ...rest.slice(0, seqs.length)], rest[seqs.length], mask)[i + 1] ?? se.zeros(seqRows[i]);
    });
    bars.push(
      e.apply('scan', [e.zeros(seqRows[i]), before, ...seqs, g], {
        function: attrs.function,
        length: n,
        reverse: attrs.reverse,
        body: seqBody,
      }),
    );
  }
  return bars;
}

export const scanOp: OpDef<'scan'> = {
  name: 'scan',
  arity: 'variadic',
  attrs: { function: z.string().min(1), length: z.number().int().nonnegative() },
  // Graph checking makes scan's attributes itself (it compiles the named function's body).
  prepare: () => expandedAtCheck('scan'),
  shape(inShapes, a) {
    const { body, length } = a;
    if (inShapes.length !== body.inShapes.length) {
      throw new OpError(
        `the body takes ${body.inShapes.length} arguments (the carry, then one row of each sequence), found ${inShapes.length}`,
      );
    }
    if (!sameShape(inShapes[0], body.inShapes[0])) {
      throw new OpError(`init has shape ${formatShape(inShapes[0])}, the body's carry ${formatShape(body.inShapes[0])}`, 0);
    }
    if (!sameShape(body.outShape, inShapes[0])) {
      throw new OpError(`the body returns ${formatShape(body.outShape)}, not the carry's shape ${formatShape(inShapes[0])}`, 0);
    }
    for (let i = 1; i < inShapes.length; i++) {
      const want = [length, ...body.inShapes[i]];
      if (!sameShape(inShapes[i], want)) throw new OpError(`expected shape ${formatShape(want)}, found ${formatShape(inShapes[i])}`, i);
    }
    return [length, ...inShapes[0]];
  },
  kernel(ins, inShapes, out, _outShape, { body, length, reverse }) {
    const size = sizeOf(inShapes[0]);
    const rowSizes = inShapes.map((s) => sizeOf(s.slice(1)));
    let carry = ins[0];
    const stepIns: Float64Array[] = new Array(ins.length);
    for (let step = 0; step < length; step++) {
      const t = reverse ? length - 1 - step : step;
      stepIns[0] = carry;
      for (let i = 1; i < ins.length; i++) stepIns[i] = ins[i].subarray(t * rowSizes[i], (t + 1) * rowSizes[i]);
      const row = out.subarray(t * size, (t + 1) * size);
      body.run(stepIns, row); // checks the deadline between its equations
      carry = row;
    }
  },
  /**
   * k entries at once: the body runs once per step over the batch (its primal part
   * shared by every direction of a derivative sweep), not once per step and entry.
   * The carry is held batched throughout ([k, ...carry]); rows of batched sequences
   * are gathered per step, and each carry is written into its entry's rows of `out`.
   */
  batchKernel(ins, inShapes, batched, k, out, outShape, attrs) {
    // One entry is laid out as the unbatched kernel's, which runs the body without batch bookkeeping.
    if (k === 1) return scanOp.kernel(ins, inShapes, out, outShape, attrs);
    const { body, length, reverse } = attrs;
    const size = sizeOf(inShapes[0]);
    const rowSizes = inShapes.map((s) => sizeOf(s.slice(1)));
    let carry = ins[0];
    if (!batched[0]) {
      carry = new Float64Array(k * size);
      for (let b = 0; b < k; b++) carry.set(ins[0], b * size);
    }
    const bodyBatched = [true, ...batched.slice(1)];
    const stepIns: Float64Array[] = new Array(ins.length);
    const gathered = ins.map((_, i) => (i > 0 && batched[i] ? new Float64Array(k * rowSizes[i]) : undefined));
    for (let step = 0; step < length; step++) {
      const t = reverse ? length - 1 - step : step;
      stepIns[0] = carry;
      for (let i = 1; i < ins.length; i++) {
        const r = rowSizes[i];
        const g = gathered[i];
        if (g === undefined) {
          stepIns[i] = ins[i].subarray(t * r, (t + 1) * r);
          continue;
        }
        const x = ins[i];
        for (let b = 0; b < k; b++) for (let j = 0, from = (b * length + t) * r; j < r; j++) g[b * r + j] = x[from + j];
        stepIns[i] = g;
      }
      const next = new Float64Array(k * size);
      body.runBatch(stepIns, bodyBatched, k, next);
      for (let b = 0; b < k; b++) for (let j = 0, to = (b * length + t) * size; j < size; j++) out[to + j] = next[b * size + j];
      carry = next;
    }
  },
  work: (_s, _o, a) => Math.max(1, a.length * a.body.work),
  jvp: scanJvp,
  vjp: scanVjp,
};

export const functionOps = [callOp, scanOp] as const;
