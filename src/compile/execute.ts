/**
 * Runs equation lists, compiled or interpreted. Compiled code is kept per list
 * (the lists belong to cached plans and derivative programs, so their identity is
 * stable) and per batch size. Small lists are interpreted on their first run and
 * compiled on their second, so a graph seen once does not pay for compilation.
 * Compiled code and the buffers it keeps are charged to the graph's account; a
 * list whose code the account cannot pay for, or whose compilation fails, is
 * interpreted. The interpreter remains the reference: setExecutionMode('interpreted')
 * forces it.
 */
import type { Eqn, ValueId, ValueTable } from '../ir/program.js';
import { runEqns, type Env } from '../ir/interpret.js';
import { setBodyRunner } from '../ir/step.js';
import { MemoryAccount } from '../graph/plan-cache.js';
import { printEqns } from '../ir/print.js';
import { sizeOf } from '../tensor/tensor.js';
import { type CompileOptions, compileSegment, type Segment } from './codegen.js';

export type ExecutionMode = 'compiled' | 'interpreted';
let executionMode: ExecutionMode = 'compiled';

export function setExecutionMode(mode: ExecutionMode): void {
  executionMode = mode;
}

export function getExecutionMode(): ExecutionMode {
  return executionMode;
}

/** Lists with at least this many elements of work are compiled on their first run. */
const COMPILE_AT_ONCE_ELEMENTS = 4096;

interface Tier {
  runs: number;
  /** The version of the kept set the code was compiled for. */
  version: number;
  /** null: interpreted for good (the account could not pay for code, or compiling failed). */
  segment?: Segment | null;
}

const tiers = new WeakMap<readonly Eqn[], Map<number, Tier>>();

/**
 * Called once, the first time compiling a list fails (the list is then
 * interpreted), with the list's first equations printed: the service logs it.
 */
export type CompileErrorHandler = (err: unknown, listing: string) => void;
let onCompileError: CompileErrorHandler = (err, listing) => {
  process.emitWarning(`derivd: compiling an equation list failed; it runs interpreted: ${String(err)}\n${listing}`);
};
/** Equations of a failed list shown in the report (a list may have thousands). */
const LISTED_EQNS = 8;
let compileErrorSeen = false;

/** A new handler hears of the next failure (once), whatever earlier handlers heard. */
export function setCompileErrorHandler(handler: CompileErrorHandler): void {
  onCompileError = handler;
  compileErrorSeen = false;
}

/**
 * What a list's caller reads after it: compiled code writes only these values
 * (and what its own steps read) into env. `version` changes when the set grows
 * (a new derivative program reads more of the primal), and the list is compiled
 * again. 'all' keeps every value.
 */
export interface Kept {
  readonly values: ReadonlySet<ValueId> | 'all';
  readonly version: number;
}

export const KEEP_ALL: Kept = { values: 'all', version: 0 };

export function execute(
  eqns: readonly Eqn[],
  values: ValueTable,
  env: Env,
  k: number,
  account: MemoryAccount,
  kept: Kept = KEEP_ALL,
): void {
  if (executionMode === 'interpreted' || eqns.length === 0) {
    runEqns(eqns, values, env, k);
    return;
  }
  let byK = tiers.get(eqns);
  if (byK === undefined) {
    byK = new Map();
    tiers.set(eqns, byK);
  }
  let tier = byK.get(k);
  if (tier === undefined) {
    tier = { runs: 0, version: kept.version };
    byK.set(k, tier);
  }
  if (tier.version !== kept.version) {
    tier.version = kept.version;
    if (tier.segment) tier.segment = undefined; // compiled for fewer kept values: compile again
  }
  if (tier.segment === undefined) {
    tier.runs++;
    let work = 0;
    for (const q of eqns) work += sizeOf(values.info(q.out).shape);
    if (tier.runs < 2 && work * k < COMPILE_AT_ONCE_ELEMENTS) {
      runEqns(eqns, values, env, k);
      return;
    }
    tier.segment = compileOrNull(eqns, values, k, account, kept);
  }
  if (tier.segment === null) runEqns(eqns, values, env, k);
  else tier.segment.run(env);
}

function compileOrNull(eqns: readonly Eqn[], values: ValueTable, k: number, account: MemoryAccount, kept: Kept): Segment | null {
  try {
    return compileSegment(eqns, values, k, account, { keep: kept.values }) ?? null;
  } catch (err) {
    if (!compileErrorSeen) {
      compileErrorSeen = true;
      const more = eqns.length > LISTED_EQNS ? `\n… (${eqns.length} equations in all)` : '';
      onCompileError(err, `${printEqns(eqns.slice(0, LISTED_EQNS), values)}${more}`);
    }
    return null;
  }
}

/** The compiled source for a list at batch size k: the debug view (with comments when options.debug). */
export function compiledSource(eqns: readonly Eqn[], values: ValueTable, k: number, options: CompileOptions = {}): string {
  return (compileSegment(eqns, values, k, undefined, options) as Segment).source;
}

/** Most bytes the compiled code of one loop body (a scan's step) may keep. */
const BODY_CODE_BYTES = 8 * 1024 * 1024;

/** Per body equation list: the account its code charges and what it keeps (its output). */
const bodies = new WeakMap<readonly Eqn[], { account: MemoryAccount; kept: Kept }>();

// Loop bodies (ir/step.ts) run compiled, as every other equation list does, tiered the same way:
// a scan runs its body once per step, so the body is compiled on its second step.
setBodyRunner((eqns, values, env, k, output) => {
  let b = bodies.get(eqns);
  if (b === undefined) {
    b = { account: new MemoryAccount(BODY_CODE_BYTES), kept: { values: new Set([output]), version: 0 } };
    bodies.set(eqns, b);
  }
  execute(eqns, values, env, k, b.account, b.kept);
});
