/**
 * A request, from unknown JSON to checked values: zod for structure (400), then
 * the graph (422), then everything the call adds: arguments of the declared shapes,
 * the constant set, the output subset, and tangents, cotangents or vector.
 */
import type { z } from 'zod';
import { formatShape, sizeOf, type Tensor } from '../tensor/tensor.js';
import { isTensorIssue, parseTensor } from '../tensor/nested.js';
import { checkGraph, DEFAULT_LIMITS, type CheckedGraph, type Limits, type NamedValue } from './check.js';
import { childPath, DerivdError, formatPath, type Issue } from './errors.js';
import { RequestSchemas, type Mode, type Operation, type Request } from './schema.js';
import { WIRE_OPS } from '../ops/registry.js';

export interface CheckedRequest {
  operation: Operation;
  graph: CheckedGraph;
  /** Argument tensors in the order of graph.inputs. */
  args: Tensor[];
  /** Indices into graph.inputs of the inputs that are differentiated. */
  active: number[];
  /** The requested outputs (the graph's, or the `outputs` subset). */
  outputs: NamedValue[];
  mode: Mode;
  check: boolean;
  /** jvp tangents or hvp vector, per active input (same order as `active`). */
  directions?: Tensor[];
  /** vjp cotangents, per requested output. */
  cotangents?: Tensor[];
}

const SCALAR_OPERATIONS = new Set<Operation>(['gradient', 'hessian', 'hvp']);

export function checkRequest(operation: Operation, raw: unknown, limits: Limits = DEFAULT_LIMITS): CheckedRequest {
  const parsed = RequestSchemas[operation].safeParse(raw);
  if (!parsed.success) throw new DerivdError('invalid_request', parsed.error.issues.map(zodIssue));
  // Name-keyed maps come from the raw request: zod would drop a `__proto__` key.
  const req = { ...(parsed.data as Request) };
  const rawReq = raw as Record<string, unknown>;
  for (const k of ['args', 'tangents', 'cotangents', 'vector'] as const) if (k in req) req[k] = rawReq[k] as never;

  const graph = checkGraph(req.graph, limits);
  const typeIssues: Issue[] = [];
  const issues: Issue[] = [];
  const inputIndex = new Map(graph.inputs.map((inp, i) => [inp.name, i]));

  const readTensors = (key: string, map: Record<string, unknown>, expected: NamedValue[], what: string): Tensor[] => {
    const out: Tensor[] = [];
    const want = new Set(expected.map((x) => x.name));
    for (const name of Object.keys(map)) {
      if (!want.has(name)) issues.push({ path: childPath(key, name), message: `unexpected ${what} "${name}": expected one of ${[...want].map((n) => JSON.stringify(n)).join(', ') || 'none'}` });
    }
    for (const x of expected) {
      if (!Object.hasOwn(map, x.name)) {
        issues.push({ path: childPath(key, x.name), message: `missing ${what} "${x.name}" of shape ${formatShape(x.shape)}` });
        continue;
      }
      const t = parseTensor(map[x.name], childPath(key, x.name), x.shape);
      if (isTensorIssue(t)) (t.kind === 'type' ? typeIssues : issues).push({ path: t.path, message: t.message });
      else out.push(t);
    }
    return out;
  };

  const args = readTensors('args', req.args, graph.inputs, 'argument');

  const constant = new Set<number>();
  (req.constant ?? []).forEach((name, k) => {
    const i = inputIndex.get(name);
    if (i === undefined) issues.push({ path: `constant[${k}]`, message: `"${name}" names no input: expected one of ${graph.inputs.map((x) => JSON.stringify(x.name)).join(', ') || 'none'}` });
    else constant.add(i);
  });
  const active = graph.inputs.map((_, i) => i).filter((i) => !constant.has(i));

  let outputs = graph.outputs;
  if (req.outputs) {
    const seen = new Set<string>();
    const byName = new Map(graph.outputs.map((o) => [o.name, o]));
    outputs = [];
    req.outputs.forEach((name, k) => {
      const o = byName.get(name);
      if (!o) issues.push({ path: `outputs[${k}]`, message: `"${name}" is not an output of the graph: expected one of ${graph.outputs.map((x) => JSON.stringify(x.name)).join(', ')}` });
      else if (seen.has(name)) issues.push({ path: `outputs[${k}]`, message: `duplicate output "${name}"` });
      else outputs.push(o);
      seen.add(name);
    });
  }

  if (SCALAR_OPERATIONS.has(operation)) {
    const where = req.outputs ? 'outputs' : 'graph.outputs';
    if (outputs.length > 1) {
      issues.push({ path: where, message: `${operation} needs exactly one scalar output, found ${outputs.length}; choose one with "outputs"` });
    }
    outputs.forEach((o) => {
      if (o.shape.length !== 0) {
        const k = (req.outputs ?? req.graph.outputs).indexOf(o.name);
        issues.push({ path: `${where}[${k}]`, message: `${operation} needs a scalar output (shape []), but "${o.name}" has shape ${formatShape(o.shape)}` });
      }
    });
  }

  const activeInputs = active.map((i) => graph.inputs[i]);
  let directions: Tensor[] | undefined;
  let cotangents: Tensor[] | undefined;
  if (operation === 'jvp') directions = readTensors('tangents', req.tangents ?? {}, activeInputs, 'tangent for active input');
  if (operation === 'hvp') directions = readTensors('vector', req.vector ?? {}, activeInputs, 'vector entry for active input');
  if (operation === 'vjp') cotangents = readTensors('cotangents', req.cotangents ?? {}, outputs, 'cotangent for output');

  if (typeIssues.length > 0) throw new DerivdError('invalid_request', typeIssues);
  if (issues.length > 0) throw new DerivdError('invalid_graph', issues);

  checkBlockLimits(operation, activeInputs, outputs, limits);
  return {
    operation, graph, args, active, outputs,
    mode: req.mode ?? 'auto',
    check: req.check ?? false,
    directions, cotangents,
  };
}

/** Derivative blocks count against MAX_ELEMENTS like any tensor. */
function checkBlockLimits(operation: Operation, inputs: NamedValue[], outputs: NamedValue[], limits: Limits): void {
  const issues: Issue[] = [];
  const block = (a: NamedValue, b: NamedValue, what: string): void => {
    const n = sizeOf(a.shape) * sizeOf(b.shape);
    if (n > limits.maxElements) {
      issues.push({ path: 'graph', message: `the ${what} block d${a.name}/d${b.name} would have ${n} elements, more than MAX_ELEMENTS (${limits.maxElements})` });
    }
  };
  if (operation === 'jacobian') for (const o of outputs) for (const i of inputs) block(o, i, 'Jacobian');
  if (operation === 'hessian') for (const a of inputs) for (const b of inputs) block(a, b, 'Hessian');
  if (issues.length > 0) throw new DerivdError('limit_exceeded', issues);
}

function zodIssue(issue: z.core.$ZodIssue): Issue {
  const path = formatPath(issue.path);
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator === 'op') {
    return { path, message: `unknown op: expected one of ${WIRE_OPS.map((o) => o.name).join(', ')}` };
  }
  return { path, message: issue.message };
}
