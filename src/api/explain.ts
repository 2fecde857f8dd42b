/**
 * explain: what a call would do, without computing anything. The request is any
 * operation's, plus `operation` (default jacobian); it is checked and planned
 * exactly as that operation would be (same errors), and the answer lists the
 * nodes the graph expands to (formulas included), every node's shape, which
 * nodes carry derivatives for the request's constant set, and the mode auto
 * would pick (or the requested one) with its reason.
 */
import { estimate, type Estimate } from '../analysis/cost.js';
import { makePlan } from '../analysis/plan.js';
import { checkNamed } from '../graph/check.js';
import { DerivdError } from '../graph/errors.js';
import { DEFAULT_LIMITS } from '../graph/limits.js';
import { OPERATIONS, type Operation, type Request, type WireGraph } from '../graph/schema.js';
import type { ValueId } from '../ir/program.js';
import { prepare } from './prepare.js';
import { withStoredGraph } from './stored.js';
import type { Options } from './types.js';

export interface ExplainedInput {
  name: string;
  shape: number[];
  /** Differentiated (not in `constant`). */
  active: boolean;
}

/** A node as given (or as a formula made it), with its shape and whether it carries derivatives. */
export type ExplainedNode = { id: string; op: string; args?: (string | number)[] } & Record<string, unknown> & {
    shape: number[];
    active: boolean;
    /** The definition a generated node comes from: graph.define.NAME (absent for the graph's own nodes). */
    from?: string;
  };

export interface Explanation {
  operation: Operation;
  /** The engine the call would run: auto's choice, or the requested mode. */
  mode: string;
  reason: string;
  /** Directions the mode would propagate, by the cost model's counts (colours for a sparse Jacobian or Hessian). */
  directions: number;
  inputs: ExplainedInput[];
  nodes: ExplainedNode[];
  /** The requested outputs. */
  outputs: { name: string; shape: number[] }[];
}

/** The request of `operation` with `operation` beside it; `graphId` may stand for `graph`. */
export type ExplainRequest = (Request | Omit<Request, 'graph'>) & { operation?: Operation; graphId?: string };

export function explain(request: ExplainRequest | unknown, options: Options = {}): Explanation {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new DerivdError('invalid_request', [
      { path: '', message: 'expected an object: an operation\'s request, with "operation" beside it' },
    ]);
  }
  const { operation = 'jacobian', ...rest } = request as { operation?: unknown };
  if (typeof operation !== 'string' || !(OPERATIONS as readonly string[]).includes(operation)) {
    throw new DerivdError('invalid_request', [
      {
        path: 'operation',
        message: `expected one of ${OPERATIONS.map((o) => JSON.stringify(o)).join(', ')}, found ${JSON.stringify(operation)}`,
      },
    ]);
  }
  const op = operation as Operation;
  const limits = options.limits ? { ...DEFAULT_LIMITS, ...options.limits } : DEFAULT_LIMITS;
  const inline = withStoredGraph(rest, options) as { graph: WireGraph };
  // Checked and planned as the operation would be: the same problems, the same choice of mode.
  const call = prepare(op, inline, options);
  const req = call.request;

  // The graph again, with its names: the nodes it expands to and the value of each.
  const named = checkNamed(inline.graph, limits);
  const graph = named.checked;
  const byName = new Map(graph.outputs.map((o) => [o.name, o]));
  const outputs = req.outputs.map((o) => byName.get(o.name) as (typeof graph.outputs)[number]);
  const plan = makePlan({ graph, activeInputs: req.activeInputs, outputs });
  const shapeOf = (v: ValueId): number[] => [...graph.program.values.info(v).shape];
  const activeInputs = new Set(req.activeInputs);
  const main = graph.sources?.get('graph');

  const nodes = named.nodes.map((node, i): ExplainedNode => {
    const v = named.valueOf.get(node.id) as ValueId;
    const from = main?.sources[i - main.own]?.path;
    return { ...node, shape: shapeOf(v), active: plan.isActive[v] === 1, ...(from === undefined ? {} : { from }) };
  });
  return {
    operation: op,
    mode: call.mode,
    reason: call.reason,
    directions: directionsOf(call.mode, op, estimate(call.plan, op)),
    inputs: graph.inputs.map((x, i) => ({ name: x.name, shape: [...x.shape], active: activeInputs.has(i) })),
    nodes,
    outputs: outputs.map((o) => ({ name: o.name, shape: [...o.shape] })),
  };
}

/**
 * Directions a mode propagates for an operation, as the cost model counts them:
 * forward one per active input element (or column colour), reverse one per output
 * element (or row colour); a product needs one; any other engine (fd) one per
 * active input element.
 */
function directionsOf(mode: string, op: Operation, est: Estimate): number {
  const n = est.inputElements;
  const m = est.outputElements;
  if (op === 'evaluate') return 0;
  if (mode === 'forward') {
    if (op === 'jvp') return 1;
    return op === 'jacobian' ? (est.forwardColours ?? n) : n;
  }
  if (mode === 'reverse') {
    if (op === 'vjp' || op === 'gradient' || op === 'hvp') return 1;
    if (op === 'jacobian') return est.reverseColours ?? m;
    if (op === 'hessian') return est.reverseColours ?? n;
    return m; // jvp from the full Jacobian
  }
  return op === 'jvp' || op === 'vjp' || op === 'hvp' ? 1 : n;
}
