/** Leaf ops: no arguments, never active. */
import { z } from 'zod';
import { isTensorIssue, NestedValueSchema, parseTensor, readWireFloat, WireFloatSchema } from '../tensor/nested.js';
import { formatShape } from '../tensor/tensor.js';
import { OpError, type OpDef } from './types.js';

const IntSchema = z.number().int();

/** const: a literal tensor, a bare number for shape []. */
const constOp: OpDef<'const'> = {
  name: 'const',
  arity: 0,
  attrs: { value: NestedValueSchema },
  prepare(wire: { value: unknown }) {
    const t = parseTensor(wire.value, 'value');
    if (isTensorIssue(t)) throw new OpError(t.message, undefined, t.path);
    return { value: t };
  },
  shape: (_s, a) => a.value.shape,
  kernel: (_i, _s, out, _o, a) => out.set(a.value.data),
  work: (_s, out) => out.reduce((p, d) => p * d, 1),
};

/** range: NumPy arange(start, stop, step): start + i·step for i < ceil((stop - start) / step). */
const rangeOp: OpDef<'range'> = {
  name: 'range',
  arity: 0,
  attrs: { start: z.number().optional(), stop: z.number(), step: z.number().optional() },
  prepare(wire: { start?: number; stop: number; step?: number }) {
    const start = wire.start ?? 0;
    const step = wire.step ?? 1;
    for (const [k, v] of [
      ['start', start],
      ['stop', wire.stop],
      ['step', step],
    ] as const) {
      if (!Number.isFinite(v)) throw new OpError(`expected a finite number, found ${v}`, undefined, k);
    }
    if (step === 0) throw new OpError('expected a non-zero step, found 0', undefined, 'step');
    // A huge length is left to the MAX_ELEMENTS check, which reports it as a limit.
    const length = Math.max(0, Math.ceil((wire.stop - start) / step));
    return { start, stop: wire.stop, step, length };
  },
  shape: (_s, a) => [a.length],
  kernel: (_i, _s, out, _o, a) => {
    for (let i = 0; i < out.length; i++) out[i] = a.start + i * a.step;
  },
  work: (_s, out) => out[0],
};

/** fill: a tensor of `shape` with every element `value`. */
const fillOp: OpDef<'fill'> = {
  name: 'fill',
  arity: 0,
  attrs: { shape: z.array(IntSchema), value: WireFloatSchema },
  prepare(wire: { shape: number[]; value: number | string }) {
    const bad = wire.shape.findIndex((d) => d < 0);
    if (bad >= 0)
      throw new OpError(
        `expected a non-negative dimension, found ${wire.shape[bad]} in ${formatShape(wire.shape)}`,
        undefined,
        `shape[${bad}]`,
      );
    return { shape: wire.shape, value: readWireFloat(wire.value) as number };
  },
  shape: (_s, a) => a.shape,
  kernel: (_i, _s, out, _o, a) => out.fill(a.value),
  work: (_s, out) => out.reduce((p, d) => p * d, 1),
};

export const leafOps = [constOp, rangeOp, fillOp] as const;
