/**
 * A plan is everything derivd knows about a call before any arithmetic: the
 * program, which equations must run (useful), which carry derivatives (varied),
 * and the cost estimates auto chooses by. Engines accept only plans. A plan does
 * not depend on argument values, so one plan serves every call with the same
 * graph, constant set and outputs; `memo` keeps what engines derive from it.
 */
import { MemoryAccount } from '../graph/plan-cache.js';
import type { CheckedGraph, NamedValue } from '../graph/check.js';
import { batchedProgram } from '../ir/batch.js';
import type { Eqn, Program, ValueId } from '../ir/program.js';
import { usefulFor, variedFrom } from './activity.js';

export interface Plan {
  readonly graph: CheckedGraph;
  /** Indices into graph.inputs of the differentiated inputs. */
  readonly activeInputs: readonly number[];
  /** The requested outputs. */
  readonly outputs: readonly NamedValue[];
  /** The graph's program; for a batch of points, the same equations over batched values (ir/batch.ts). */
  readonly program: Program;
  /**
   * Whether the plan runs a batch of points: then the batched inputs (the request's, and
   * every active one) and their dependants carry a leading axis of B points, primal and
   * derivative programs run with k = B, and every engine tensor has that axis.
   */
  readonly batched: boolean;
  /** Useful equations of the primal program, in order. */
  readonly schedule: readonly Eqn[];
  /** Value ids of the active inputs, in activeInputs order. */
  readonly activeValues: readonly ValueId[];
  /** Value ids of the requested outputs. */
  readonly outputValues: readonly ValueId[];
  /** Varied with respect to all active inputs. */
  readonly varied: Uint8Array;
  /** Varied and useful for derivatives: the values that carry tangents and cotangents. */
  readonly isActive: Uint8Array;
  /** The active equations of the schedule, in order: all a forward sweep needs to visit. */
  readonly activeSchedule: readonly Eqn[];
  readonly activeNodes: number;
  readonly inactiveNodes: number;
  /** Derivative programs and compiled code, built on first use and kept with the plan. */
  readonly memo: Map<string, unknown>;
  /** What the plan keeps (in memo, and compiled code with its buffers) is charged here: the graph's account. */
  readonly account: MemoryAccount;
}

/** Bytes a plan keeps beyond the program it shares: per value (flags; a batched plan's own value table) and per scheduled equation (list slots). */
export function planBytes(plan: Plan): number {
  const perValue = plan.batched ? 66 : 2;
  return 512 + perValue * plan.program.values.length + 16 * (plan.schedule.length + plan.activeSchedule.length);
}

export function makePlan({
  graph,
  activeInputs,
  outputs,
  account,
  batch,
}: {
  graph: CheckedGraph;
  activeInputs: readonly number[];
  outputs: readonly NamedValue[];
  account?: MemoryAccount;
  /** A batch of points: the inputs (indices into graph.inputs) whose arguments carry the points. */
  batch?: { readonly inputs: readonly number[] };
}): Plan {
  const activeValues = activeInputs.map((i) => graph.inputs[i].value);
  const batched = batch !== undefined;
  // Active inputs are batched too, shared or not: each point then has its own copy to
  // perturb (fd) and its own directions, so a point's derivatives are those of a call alone.
  const program = batched
    ? batchedProgram(graph.program, [...new Set([...batch.inputs.map((i) => graph.inputs[i].value), ...activeValues])])
    : graph.program;
  const n = program.values.length;
  const outputValues = outputs.map((o) => o.value);
  const useful = usefulFor(program.eqns, n, outputValues);
  const schedule = program.eqns.filter((q) => useful[q.out]);
  const varied = variedFrom(schedule, n, activeValues);
  const active = usefulFor(schedule, n, outputValues, true);
  for (let i = 0; i < n; i++) active[i] &= varied[i];
  const activeSchedule = schedule.filter((q) => active[q.out]);
  // Distinct wire nodes: a call's expansion is many equations tied to one node.
  const nodes = new Set<number>();
  for (const q of activeSchedule) if (q.node >= 0) nodes.add(q.node);
  const activeNodes = nodes.size;
  return {
    graph,
    activeInputs,
    outputs,
    program,
    batched,
    schedule,
    activeValues,
    outputValues,
    varied,
    isActive: active,
    activeSchedule,
    activeNodes,
    inactiveNodes: graph.nodeCount - activeNodes,
    memo: new Map(),
    account: account ?? new MemoryAccount(Infinity),
  };
}
