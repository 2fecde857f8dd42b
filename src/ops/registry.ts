/**
 * The op table: every op derivd knows, by name. Adding an op is a line in
 * vocabulary.ts (its name and kernel attributes), its entry in one of the family
 * files listed here, and its test. The compiler holds the two together: a name
 * without a definition, a definition twice, or a definition whose name or
 * attributes are not the vocabulary's fails to compile.
 */
import { binaryOps, comparisonOps, whereOp } from './binary.js';
import { clipOp } from './clip.js';
import { cumulativeOps } from './cumulative.js';
import { einsumOp } from './einsum.js';
import { gatherOps } from './gather.js';
import { functionOps } from './functions.js';
import { leafOps } from './leaves.js';
import { linalgOps } from './linalg.js';
import { reduceOps } from './reduce.js';
import { shapeOps } from './shape.js';
import { stepOps } from './steps.js';
import { structureOps } from './structure.js';
import { solveOps } from './solve.js';
import type { OpDef } from './types.js';
import { unaryOps } from './unary.js';
import type { OpName } from './vocabulary.js';

const ALL = [
  ...leafOps,
  ...unaryOps,
  ...binaryOps,
  ...comparisonOps,
  whereOp,
  ...stepOps,
  clipOp,
  ...functionOps,
  ...reduceOps,
  ...linalgOps,
  ...shapeOps,
  ...gatherOps,
  einsumOp,
  ...structureOps,
  ...cumulativeOps,
  ...solveOps,
] as const;

// Compile-time proof that ALL is the vocabulary, each op once. An error on one of
// these lines names the op: `Type '"x"' does not satisfy the constraint 'never'`.
type None<T extends never> = T;
/** Names of the definitions in T that an earlier definition in T has already (tail-recursive: one step per op). */
type Repeated<T extends readonly OpDef[], Seen extends OpName = never, Found extends OpName = never> = T extends readonly [
  infer D extends OpDef,
  ...infer Rest extends readonly OpDef[],
]
  ? Repeated<Rest, Seen | D['name'], Found | (D['name'] extends Seen ? D['name'] : never)>
  : Found;
/** Each definition's type is that of its own name (OpDef<N> with N's attributes). */
type Misfits<T extends readonly OpDef[]> = { [K in keyof T]: T[K] extends OpDef<T[K]['name']> ? never : T[K]['name'] }[number];
export type OpsWithoutDefinition = None<Exclude<OpName, (typeof ALL)[number]['name']>>;
export type OpsDefinedTwice = None<Repeated<typeof ALL>>;
export type OpsOfAnotherType = None<Misfits<typeof ALL>>;

const byName = new Map<string, OpDef>();
for (const op of ALL) {
  if (byName.has(op.name)) throw new Error(`op ${op.name} is defined twice`);
  byName.set(op.name, op);
}

/** The op named `name`, typed by its name. */
export function getOp<N extends OpName>(name: N): OpDef<N> {
  const op = byName.get(name);
  if (op === undefined) throw new Error(`internal error: no op named ${name}`);
  // byName holds each op under its own name (the loop above), so op is OpDef<N>.
  return op as OpDef<N>;
}

/** The op named by a string from outside (a wire node), if there is one. */
export function findOp(name: string): OpDef | undefined {
  return byName.get(name);
}

/** Ops accepted on the wire, in definition order. */
export const WIRE_OPS: readonly OpDef[] = ALL.filter((op) => !op.internal);
export const ALL_OPS: readonly OpDef[] = ALL;
