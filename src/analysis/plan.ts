/**
 * A plan is everything derivd knows about a call before any arithmetic: the
 * program, which equations must run (useful), which carry derivatives (varied),
 * and the cost estimates auto chooses by. Engines accept only plans.
 */
import type { CheckedRequest } from '../graph/request.js';
import type { Eqn, Program, ValueId } from '../graph/program.js';
import { usefulFor, variedFrom } from './activity.js';

export interface Plan {
  readonly request: CheckedRequest;
  readonly program: Program;
  /** Useful equations of the primal program, in order. */
  readonly schedule: readonly Eqn[];
  /** Value ids of the active inputs, in request.active order. */
  readonly activeValues: readonly ValueId[];
  /** Value ids of the requested outputs. */
  readonly outputValues: readonly ValueId[];
  /** Varied with respect to all active inputs. */
  readonly varied: Uint8Array;
  /** Varied and useful for derivatives: the values that carry tangents and cotangents. */
  readonly active: Uint8Array;
  /** The active equations of the schedule, in order: all a forward sweep needs to visit. */
  readonly activeSchedule: readonly Eqn[];
  readonly activeNodes: number;
  readonly inactiveNodes: number;
}

export function makePlan(request: CheckedRequest): Plan {
  const { program } = request.graph;
  const n = program.values.length;
  const activeValues = request.active.map((i) => request.graph.inputs[i].value);
  const outputValues = request.outputs.map((o) => o.value);
  const useful = usefulFor(program.eqns, n, outputValues);
  const schedule = program.eqns.filter((q) => useful[q.out]);
  const varied = variedFrom(schedule, n, activeValues);
  const active = usefulFor(schedule, n, outputValues, true);
  for (let i = 0; i < n; i++) active[i] &= varied[i];
  const activeSchedule = schedule.filter((q) => active[q.out]);
  let activeNodes = 0;
  for (const q of activeSchedule) if (q.node >= 0) activeNodes++;
  return {
    request,
    program,
    schedule,
    activeValues,
    outputValues,
    varied,
    active,
    activeSchedule,
    activeNodes,
    inactiveNodes: request.graph.nodeCount - activeNodes,
  };
}
