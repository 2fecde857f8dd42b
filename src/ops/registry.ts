/**
 * The op table: every op derivd knows, by wire name. Adding an op is one entry in
 * one of the family files listed here, plus its test.
 */
import { binaryOps, comparisonOps, signOp, whereOp } from './binary.js';
import { leafOps } from './leaves.js';
import { linalgOps } from './linalg.js';
import { reduceOps } from './reduce.js';
import { shapeOps } from './shape.js';
import type { OpDef } from './types.js';
import { unaryOps } from './unary.js';

const ALL: OpDef[] = [
  ...leafOps,
  ...unaryOps,
  ...binaryOps,
  ...comparisonOps,
  whereOp,
  signOp,
  ...reduceOps,
  ...linalgOps,
  ...shapeOps,
];

const byName = new Map<string, OpDef>();
for (const op of ALL) {
  if (byName.has(op.name)) throw new Error(`op ${op.name} is defined twice`);
  byName.set(op.name, op);
}

export function getOp(name: string): OpDef {
  const op = byName.get(name);
  if (op === undefined) throw new Error(`internal error: no op named ${name}`);
  return op;
}

export function findOp(name: string): OpDef | undefined {
  return byName.get(name);
}

/** Ops accepted on the wire, in definition order. */
export const WIRE_OPS: readonly OpDef[] = ALL.filter((op) => !op.internal);
export const ALL_OPS: readonly OpDef[] = ALL;
