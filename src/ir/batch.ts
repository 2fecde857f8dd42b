/**
 * A program over a batch of points (JAX's vmap over some arguments): the same
 * equations, with the chosen inputs, and every value that depends on them, marked
 * batched. The interpreter and the compiler already run batched values over a
 * leading axis of k; here k is the number of points, and values that depend on no
 * batched input (constants above all) stay single and shared by every point.
 */
import { ValueTable, type Program, type ValueId } from './program.js';

export function batchedProgram(program: Program, inputs: readonly ValueId[]): Program {
  const n = program.values.length;
  const batched = new Uint8Array(n);
  for (const v of inputs) batched[v] = 1;
  // Equations are in dependency order and each defines its out: one pass marks every dependant.
  for (const q of program.eqns) {
    for (const a of q.args) {
      if (batched[a]) {
        batched[q.out] = 1;
        break;
      }
    }
  }
  const values = new ValueTable();
  for (let v = 0; v < n; v++) values.push({ shape: program.values.info(v as ValueId).shape, batched: batched[v] === 1 });
  return { values, eqns: program.eqns };
}
