/**
 * The limits a request is checked against, and the checks that need only counts
 * and shapes: nodes and inputs before anything else is read, derivative blocks,
 * and the size of the result before any arithmetic.
 */
import type { Shape } from '../tensor/tensor.js';
import { formatShape, sizeOf } from '../tensor/tensor.js';
import { DerivdError, type Issue } from './errors.js';
import type { Encoding, Operation } from './schema.js';

/** A named tensor slot: an input or an output, by its shape. */
export interface NamedShape {
  readonly name: string;
  readonly shape: Shape;
}

export interface Limits {
  /** Most nodes a graph may have (inputs not counted). */
  maxNodes: number;
  /** Most inputs a graph may have. */
  maxInputs: number;
  /** Most elements any one tensor may have, and all the numbers of a result together. */
  maxElements: number;
  /** Most bytes a result may take as JSON, by an upper bound computed before any arithmetic. */
  maxResponseBytes: number;
}

export const DEFAULT_LIMITS: Limits = { maxNodes: 10_000, maxInputs: 10_000, maxElements: 10_000_000, maxResponseBytes: 256 * 1024 * 1024 };

/**
 * The counts a request is refused for before anything else is read (no zod, no copies):
 * nodes and inputs. A function's nodes count once, with the graph's, however often
 * it is called or scanned (the expansion of calls is bounded when the graph is checked).
 */
export function checkCounts(graph: unknown, limits: Limits): void {
  if (withinCounts(graph, limits)) return;
  const { nodes, inputs } = (typeof graph === 'object' && graph !== null ? graph : {}) as { nodes?: unknown; inputs?: unknown };
  const issues: Issue[] = [];
  if (Array.isArray(nodes) && nodes.length > limits.maxNodes) {
    issues.push({ path: 'graph.nodes', message: `expected at most ${limits.maxNodes} nodes (MAX_NODES), found ${nodes.length}` });
  } else {
    const all = nodeCount(graph);
    if (all > limits.maxNodes) {
      issues.push({
        path: 'graph.functions',
        message: `expected at most ${limits.maxNodes} nodes (MAX_NODES) in the graph and its functions together, found ${all}`,
      });
    }
  }
  if (Array.isArray(inputs) && inputs.length > limits.maxInputs) {
    issues.push({ path: 'graph.inputs', message: `expected at most ${limits.maxInputs} inputs (MAX_INPUTS), found ${inputs.length}` });
  }
  throw new DerivdError('limit_exceeded', issues);
}

/** Nodes of a raw graph and of its functions, counted without reading them. */
function nodeCount(graph: unknown): number {
  const { nodes, functions } = (typeof graph === 'object' && graph !== null ? graph : {}) as { nodes?: unknown; functions?: unknown };
  let n = Array.isArray(nodes) ? nodes.length : 0;
  if (typeof functions === 'object' && functions !== null) {
    for (const k in functions) {
      if (!Object.hasOwn(functions, k)) continue;
      const f = (functions as Record<string, unknown>)[k];
      const fn = typeof f === 'object' && f !== null ? (f as { nodes?: unknown }).nodes : undefined;
      if (Array.isArray(fn)) n += fn.length;
    }
  }
  return n;
}

/** Whether a raw graph's nodes (its functions' included) and inputs are within MAX_NODES and MAX_INPUTS (what checkCounts refuses). */
export function withinCounts(graph: unknown, limits: Limits): boolean {
  const { inputs } = (typeof graph === 'object' && graph !== null ? graph : {}) as { inputs?: unknown };
  return nodeCount(graph) <= limits.maxNodes && !(Array.isArray(inputs) && inputs.length > limits.maxInputs);
}

/** Most limit issues listed one by one; the rest are counted in a last issue. */
const MAX_BLOCK_ISSUES = 20;

/**
 * Derivative blocks count against MAX_ELEMENTS like any tensor, and so does the whole
 * Jacobian or Hessian (many small blocks). Linear in inputs and outputs: sizes are
 * compared with the largest partner, never pair by pair.
 */
export function checkBlockLimits(operation: Operation, inputs: NamedShape[], outputs: NamedShape[], limits: Limits, points = 1): void {
  if (operation !== 'jacobian' && operation !== 'hessian') return;
  const rows = operation === 'jacobian' ? outputs : inputs;
  const what = operation === 'jacobian' ? 'Jacobian' : 'Hessian';
  const cols = [...inputs].sort((a, b) => sizeOf(b.shape) - sizeOf(a.shape));
  const issues: Issue[] = [];
  let unlisted = 0;
  for (const r of rows) {
    for (const c of cols) {
      const n = points * sizeOf(r.shape) * sizeOf(c.shape);
      if (n <= limits.maxElements) break;
      if (issues.length >= MAX_BLOCK_ISSUES) {
        unlisted++;
        continue;
      }
      const block =
        operation === 'jacobian'
          ? `the Jacobian block of output ${JSON.stringify(r.name)} with respect to input ${JSON.stringify(c.name)}`
          : `the Hessian block for inputs ${JSON.stringify(r.name)} and ${JSON.stringify(c.name)}`;
      issues.push({
        path: 'graph',
        message: `${block} would have shape ${formatShape([...(points > 1 ? [points] : []), ...r.shape, ...c.shape])} (${n} elements), more than MAX_ELEMENTS (${limits.maxElements})`,
      });
    }
  }
  if (unlisted > 0)
    issues.push({ path: 'graph', message: `and ${unlisted} more ${what} blocks over MAX_ELEMENTS (${limits.maxElements})` });
  if (issues.length === 0) {
    const total = points * rows.reduce((p, r) => p + sizeOf(r.shape), 0) * inputs.reduce((p, c) => p + sizeOf(c.shape), 0);
    if (total > limits.maxElements) {
      issues.push({
        path: 'graph',
        message: `the ${what} would have ${total} elements in all (${points > 1 ? `${points} points of ` : ''}${rows.length} × ${inputs.length} blocks), more than MAX_ELEMENTS (${limits.maxElements})`,
      });
    }
  }
  if (issues.length > 0) throw new DerivdError('limit_exceeded', issues);
}

/** Longest JSON text of one result number and its comma: "-2.2250738585072014e-308," (strings such as "-Infinity" are shorter). */
const BYTES_PER_NUMBER = 25;
/** Room for mode, reason, stats, timings and check around the tensors. */
const ENVELOPE_BYTES = 4096;
/** A base64 tensor's JSON around its shape's digits and its data: `{"dtype":"float64","shape":[],"data":""},` is 41. */
const BASE64_TENSOR_BYTES = 48;
/** Longest JSON of one dimension and its comma: a safe integer has at most 16 digits. */
const BYTES_PER_DIM = 17;

/** Counts over a list of tensors: how many, their elements, their nested arrays, their dimensions, their names' bytes as JSON keys. */
interface Tally {
  count: number;
  elements: number;
  arrays: number;
  dims: number;
  names: number;
}
function tally(values: readonly NamedShape[]): Tally {
  let elements = 0;
  let arrays = 0;
  let dims = 0;
  let names = 0;
  for (const v of values) {
    elements += sizeOf(v.shape);
    dims += v.shape.length;
    let rows = 1;
    for (let d = 0; d < v.shape.length; d++) {
      arrays += rows;
      rows *= v.shape[d];
    }
    names += Buffer.byteLength(JSON.stringify(v.name)) + 2; // the key as JSON, its colon and comma
  }
  return { count: values.length, elements, arrays, dims, names };
}

/**
 * Numbers in a result (values, derivatives) and an upper bound of its size as JSON,
 * with tensors as nested numbers ('json') or as base64 objects ('base64': an envelope
 * per tensor, its shape, and 4 characters per 3 bytes, each element 8 bytes).
 * Linear in inputs and outputs: block structure is summed, never enumerated pair by pair.
 */
export function resultSize(
  operation: Operation,
  inputs: readonly NamedShape[],
  outputs: readonly NamedShape[],
  encoding: Encoding = 'json',
  /** A batch's B: every tensor gets a leading axis of B points. */
  points?: number,
): { values: number; derivatives: number; bytes: number } {
  const i = tally(inputs);
  const single = tally(outputs);
  // A block of shape out ++ in has out.size × in.arrays nested arrays more than out has: summed over all pairs.
  // Each nested array costs at most 3 bytes: its brackets and the comma after it.
  const grid = (rows: Tally, cols: Tally): Tally => ({
    elements: rows.elements * cols.elements,
    arrays: rows.arrays * cols.count + rows.elements * cols.arrays,
    // a block's dimensions are its row's and its column's: summed over all pairs
    dims: rows.dims * cols.count + rows.count * cols.dims,
    count: rows.count * cols.count,
    names: rows.names + rows.count * cols.names,
  });
  const perPoint =
    operation === 'jacobian'
      ? grid(single, i)
      : operation === 'hessian'
        ? grid(i, i)
        : operation === 'jvp'
          ? single
          : operation === 'evaluate'
            ? { elements: 0, arrays: 0, dims: 0, count: 0, names: 0 }
            : i; // gradient, vjp, hvp: one tensor per active input
  const o = batchOf(single, points);
  const derivative = batchOf(perPoint, points);
  if (encoding === 'base64') {
    const tensors = o.count + derivative.count;
    const bytes =
      ENVELOPE_BYTES +
      // each tensor's base64 is ceil(8n / 3) * 4 characters, at most 32n / 3 + 4
      Math.ceil((32 * (o.elements + derivative.elements)) / 3) +
      (BASE64_TENSOR_BYTES + 4) * tensors +
      BYTES_PER_DIM * (o.dims + derivative.dims) +
      o.names +
      derivative.names;
    return { values: o.elements, derivatives: derivative.elements, bytes };
  }
  const bytes =
    ENVELOPE_BYTES +
    BYTES_PER_NUMBER * (o.elements + derivative.elements) +
    3 * (o.arrays + derivative.arrays) +
    o.names +
    derivative.names;
  return { values: o.elements, derivatives: derivative.elements, bytes };
}

/** The tensors of a tally with a leading axis of `points` in front: one more array level and dimension each. */
function batchOf(t: Tally, points: number | undefined): Tally {
  if (points === undefined) return t;
  return { count: t.count, elements: points * t.elements, arrays: points * t.arrays + t.count, dims: t.dims + t.count, names: t.names };
}

/**
 * Everything a result returns counts: the values of every requested output and all
 * derivative blocks together stay within MAX_ELEMENTS, and an upper bound of the
 * JSON they make (resultSize) within MAX_RESPONSE_BYTES, so a small request cannot
 * ask for a huge response. Checked before any arithmetic.
 */
export function checkResultSize(
  operation: Operation,
  inputs: NamedShape[],
  outputs: NamedShape[],
  limits: Limits,
  outputsPath: string,
  encoding: Encoding = 'json',
  points?: number,
): void {
  const size = resultSize(operation, inputs, outputs, encoding, points);
  const numbers = size.values + size.derivatives;
  const bytes = size.bytes;
  const issues: Issue[] = [];
  const parts = operation === 'evaluate' ? '' : ` (values ${size.values}, derivatives ${size.derivatives})`;
  if (numbers > limits.maxElements) {
    issues.push({
      path: outputsPath,
      message: `the result would hold ${numbers} numbers${parts}, more than MAX_ELEMENTS (${limits.maxElements}); request fewer outputs or mark inputs constant`,
    });
  }
  if (bytes > limits.maxResponseBytes) {
    issues.push({
      path: outputsPath,
      message: `the result could take up to ${bytes} bytes as JSON${parts}, more than MAX_RESPONSE_BYTES (${limits.maxResponseBytes})`,
    });
  }
  if (issues.length > 0) throw new DerivdError('limit_exceeded', issues);
}
