/**
 * A request, from unknown JSON to checked values: zod for structure (400), then
 * the graph (422), then everything the call adds: arguments of the declared shapes,
 * the constant set, the output subset, and tangents, cotangents or vector.
 */
import { z } from 'zod';
import { formatShape, sizeOf, type Shape, type Tensor } from '../tensor/tensor.js';
import { describe, isTensorIssue, MAX_RANK, parseTensor } from '../tensor/nested.js';
import { detached, GraphCache, graphKey, type GraphEntry, type MemoryAccount } from './cache.js';
import { checkCounts, checkGraph, DEFAULT_LIMITS, type CheckedGraph, type Limits, type NamedValue } from './check.js';
import { childPath, DerivdError, formatPath, IssueList, type Issue } from './errors.js';
import { GraphSchema, InputSchema, MODES, RequestSchemas, type Mode, type Operation, type Request } from './schema.js';
import { findOp, WIRE_OPS } from '../ops/registry.js';

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
  /** Shared by every request with this graph (see GraphCache); a fresh map when not cached. */
  graphMemo: Map<string, unknown>;
  /** What plans and programs built for this graph keep is charged here (see MemoryAccount). */
  account: MemoryAccount;
  /** Whether the checked graph came from the cache (undefined: no cache in use). */
  cacheHit?: boolean;
}

const SCALAR_OPERATIONS = new Set<Operation>(['gradient', 'hessian', 'hvp']);
/** What one call without a cache may keep while it runs (programs, compiled code, buffers). */
const UNCACHED_LIMIT = 64 * 1024 * 1024;
/** Longest list of names spelled out in one message. */
const MAX_NAMES_SHOWN = 20;

/** A name and the shape a tensor given for it must have. */
interface Slot {
  name: string;
  shape: Shape;
}

/**
 * `modes` lists the names `mode` may take ('auto' and the registered engines); the
 * caller passes them so that this module needs nothing from the engines.
 * `strictFloats`: refuse non-finite JavaScript numbers in tensors (see parseTensor).
 */
export function checkRequest(
  operation: Operation,
  raw: unknown,
  limits: Limits = DEFAULT_LIMITS,
  modes: readonly string[] = MODES,
  cache?: GraphCache,
  strictFloats = false,
): CheckedRequest {
  const key = cache ? graphKey((raw as { graph?: unknown } | null)?.graph, limits) : undefined;
  const entry = key !== undefined ? cache?.get(key) : undefined;
  const checked = checkUncached(operation, raw, limits, modes, entry, strictFloats);
  if (cache && key !== undefined && !entry) {
    const stored = cache.set(key, checked.graph);
    return { ...checked, graphMemo: stored.memo, account: stored.account, cacheHit: false };
  }
  const used = entry ?? detached(checked.graph, cache?.maxEntryBytes ?? UNCACHED_LIMIT);
  return { ...checked, graphMemo: used.memo, account: used.account, cacheHit: cache ? entry !== undefined : undefined };
}

/** The request schemas with the graph taken as already checked (a cache hit). */
const WITHOUT_GRAPH = Object.fromEntries(
  Object.entries(RequestSchemas).map(([op, schema]) => [op, schema.extend({ graph: z.unknown() })]),
) as unknown as Record<Operation, z.ZodType>;

function checkUncached(
  operation: Operation,
  raw: unknown,
  limits: Limits,
  modes: readonly string[],
  cached: GraphEntry | undefined,
  strictFloats: boolean,
): Omit<CheckedRequest, 'graphMemo' | 'account' | 'cacheHit'> {
  // Before zod, which would first copy every node of a huge graph.
  checkCounts((raw as { graph?: unknown } | null)?.graph, limits);
  const parsed = (cached ? WITHOUT_GRAPH : (RequestSchemas as Record<Operation, z.ZodType>))[operation].safeParse(raw);
  const schemaIssues = new IssueList();
  if (!parsed.success) for (const i of parsed.error.issues) zodIssue(i, raw, operation, schemaIssues);
  const mode = (raw as { mode?: unknown } | null)?.mode;
  if (typeof mode === 'string' && mode !== '' && !modes.includes(mode)) {
    const known = modes.map((n) => JSON.stringify(n)).join(', ');
    schemaIssues.add({ path: 'mode', message: `unknown mode ${JSON.stringify(mode)}: expected one of ${known}` });
  }
  if (!parsed.success || schemaIssues.length > 0) throw schemaIssues.error('invalid_request');
  // Name-keyed maps come from the raw request: zod would drop a `__proto__` key.
  const req = { ...(parsed.data as Request) };
  const rawReq = raw as Record<string, unknown>;
  for (const k of ['args', 'tangents', 'cotangents', 'vector'] as const) if (k in req) req[k] = rawReq[k] as never;

  // A broken graph still has declared inputs and outputs: the arguments, constants and
  // output subset are checked against those, so every independent issue is reported at once.
  let graph: CheckedGraph | undefined;
  let graphIssues: Issue[] = [];
  try {
    graph = cached?.graph ?? checkGraph(req.graph, limits);
  } catch (err) {
    if (!(err instanceof DerivdError) || err.kind !== 'invalid_graph') throw err;
    graphIssues = err.issues;
  }
  const declaredInputs: Slot[] = graph?.inputs ?? uniqueByName(req.graph.inputs);
  const inputNames = req.graph.inputs.map((x) => x.name);
  const outputNames = req.graph.outputs;

  const typeIssues = new IssueList();
  const issues = new IssueList();
  // Lists of names in messages are built once per list and cut short: a request may have many names.
  const oneOf = (names: readonly string[]): string => {
    if (names.length === 0) return 'expected none';
    const shown = names.slice(0, MAX_NAMES_SHOWN).map((n) => JSON.stringify(n)).join(', ');
    return `expected one of ${shown}${names.length > MAX_NAMES_SHOWN ? `, … (${names.length} in all)` : ''}`;
  };

  /** Reads one tensor per slot from `map`; `explain` says why a name without a slot is not wanted. */
  const readTensors = (key: string, map: Record<string, unknown>, slots: Slot[], what: string, explain?: (name: string) => string | undefined): Tensor[] => {
    const out: Tensor[] = [];
    const want = new Set(slots.map((x) => x.name));
    let expected: string | undefined;
    for (const name of Object.keys(map)) {
      if (want.has(name)) continue;
      issues.add(() => {
        const why = explain?.(name);
        expected ??= oneOf([...want]);
        return { path: childPath(key, name), message: `unexpected ${what} ${JSON.stringify(name)}: ${why ? `${why}; ` : ''}${expected}` };
      });
    }
    for (const x of slots) {
      if (!Object.hasOwn(map, x.name)) {
        issues.add(() => ({ path: childPath(key, x.name), message: `missing ${what} ${JSON.stringify(x.name)} of shape ${formatShape(x.shape)}` }));
        continue;
      }
      // Only when the graph is broken: an input over MAX_ELEMENTS or MAX_RANK, reported with the graph.
      if (sizeOf(x.shape) > limits.maxElements || x.shape.length > MAX_RANK) continue;
      const t = parseTensor(map[x.name], childPath(key, x.name), x.shape, strictFloats);
      if (isTensorIssue(t)) (t.kind === 'type' ? typeIssues : issues).add({ path: t.path, message: t.message });
      else out.push(t);
    }
    return out;
  };

  const args = readTensors('args', req.args, declaredInputs, 'argument');

  const inputIndex = new Map(inputNames.map((name, i) => [name, i]));
  const constant = new Set<number>();
  let inputList: string | undefined;
  (req.constant ?? []).forEach((name, k) => {
    const i = inputIndex.get(name);
    if (i === undefined) issues.add(() => ({ path: `constant[${k}]`, message: `${JSON.stringify(name)} names no input: ${(inputList ??= oneOf(inputNames))}` }));
    else constant.add(i);
  });
  const active = inputNames.map((_, i) => i).filter((i) => !constant.has(i));

  // The requested outputs: names always, shapes (slots) only when the graph checked.
  let outNames = [...outputNames];
  if (req.outputs) {
    const seen = new Set<string>();
    const known = new Set(outputNames);
    let outputList: string | undefined;
    outNames = [];
    req.outputs.forEach((name, k) => {
      if (!known.has(name)) issues.add(() => ({ path: `outputs[${k}]`, message: `${JSON.stringify(name)} is not an output of the graph: ${(outputList ??= oneOf(outputNames))}` }));
      else if (seen.has(name)) issues.add(() => ({ path: `outputs[${k}]`, message: `duplicate output ${JSON.stringify(name)}` }));
      else outNames.push(name);
      seen.add(name);
    });
  }
  const outputByName = new Map(graph?.outputs.map((o) => [o.name, o]));
  const outputs = graph ? outNames.map((n) => outputByName.get(n) as NamedValue) : undefined;

  if (SCALAR_OPERATIONS.has(operation)) {
    const where = req.outputs ? 'outputs' : 'graph.outputs';
    const listed = req.outputs ?? req.graph.outputs;
    const position = new Map<string, number>();
    listed.forEach((name, k) => { if (!position.has(name)) position.set(name, k); });
    if (outNames.length > 1) {
      issues.add({ path: where, message: `${operation} needs exactly one scalar output, found ${outNames.length}; choose one with "outputs"` });
    }
    outputs?.forEach((o) => {
      if (o.shape.length !== 0) {
        issues.add(() => ({ path: `${where}[${position.get(o.name)}]`, message: `${operation} needs a scalar output (shape []), but ${JSON.stringify(o.name)} has shape ${formatShape(o.shape)}` }));
      }
    });
  }

  const activeSlots = declaredInputs.filter((x) => !constant.has(inputIndex.get(x.name) as number));
  const notActive = (name: string): string | undefined =>
    inputIndex.has(name) && constant.has(inputIndex.get(name) as number) ? `input ${JSON.stringify(name)} is constant` : undefined;
  let directions: Tensor[] | undefined;
  let cotangents: Tensor[] | undefined;
  if (operation === 'jvp') directions = readTensors('tangents', req.tangents ?? {}, activeSlots, 'tangent', notActive);
  if (operation === 'hvp') directions = readTensors('vector', req.vector ?? {}, activeSlots, 'vector entry', notActive);
  if (operation === 'vjp' && outputs) {
    const graphOutputs = new Set(outputNames);
    const notRequested = (name: string): string | undefined =>
      graphOutputs.has(name) ? `output ${JSON.stringify(name)} is not among the requested outputs` : undefined;
    cotangents = readTensors('cotangents', req.cotangents ?? {}, outputs, 'cotangent', notRequested);
  }

  if (typeIssues.length > 0) throw typeIssues.error('invalid_request');
  if (graphIssues.length > 0 || issues.length > 0 || !graph || !outputs) {
    const all = new IssueList();
    all.addAll(graphIssues);
    all.addAll(issues);
    throw all.error('invalid_graph');
  }

  const activeInputs = active.map((i) => graph.inputs[i]);
  checkBlockLimits(operation, activeInputs, outputs, limits);
  checkResultSize(operation, activeInputs, outputs, limits, req.outputs ? 'outputs' : 'graph.outputs');
  return {
    operation, graph, args, active, outputs,
    mode: req.mode ?? 'auto',
    check: req.check ?? false,
    directions, cotangents,
  };
}

function uniqueByName(slots: readonly Slot[]): Slot[] {
  const byName = new Map<string, Slot>();
  for (const x of slots) if (!byName.has(x.name)) byName.set(x.name, x);
  return [...byName.values()];
}

/** Most limit issues listed one by one; the rest are counted in a last issue. */
const MAX_BLOCK_ISSUES = 20;

/**
 * Derivative blocks count against MAX_ELEMENTS like any tensor, and so does the whole
 * Jacobian or Hessian (many small blocks). Linear in inputs and outputs: sizes are
 * compared with the largest partner, never pair by pair.
 */
export function checkBlockLimits(operation: Operation, inputs: NamedValue[], outputs: NamedValue[], limits: Limits): void {
  if (operation !== 'jacobian' && operation !== 'hessian') return;
  const rows = operation === 'jacobian' ? outputs : inputs;
  const what = operation === 'jacobian' ? 'Jacobian' : 'Hessian';
  const cols = [...inputs].sort((a, b) => sizeOf(b.shape) - sizeOf(a.shape));
  const issues: Issue[] = [];
  let unlisted = 0;
  for (const r of rows) {
    for (const c of cols) {
      const n = sizeOf(r.shape) * sizeOf(c.shape);
      if (n <= limits.maxElements) break;
      if (issues.length >= MAX_BLOCK_ISSUES) {
        unlisted++;
        continue;
      }
      const block = operation === 'jacobian'
        ? `the Jacobian block of output ${JSON.stringify(r.name)} with respect to input ${JSON.stringify(c.name)}`
        : `the Hessian block for inputs ${JSON.stringify(r.name)} and ${JSON.stringify(c.name)}`;
      issues.push({ path: 'graph', message: `${block} would have shape ${formatShape([...r.shape, ...c.shape])} (${n} elements), more than MAX_ELEMENTS (${limits.maxElements})` });
    }
  }
  if (unlisted > 0) issues.push({ path: 'graph', message: `and ${unlisted} more ${what} blocks over MAX_ELEMENTS (${limits.maxElements})` });
  if (issues.length === 0) {
    const total = rows.reduce((p, r) => p + sizeOf(r.shape), 0) * inputs.reduce((p, c) => p + sizeOf(c.shape), 0);
    if (total > limits.maxElements) {
      issues.push({ path: 'graph', message: `the ${what} would have ${total} elements in all (${rows.length} × ${inputs.length} blocks), more than MAX_ELEMENTS (${limits.maxElements})` });
    }
  }
  if (issues.length > 0) throw new DerivdError('limit_exceeded', issues);
}

/** Longest JSON text of one result number and its comma: "-2.2250738585072014e-308," (strings such as "-Infinity" are shorter). */
const BYTES_PER_NUMBER = 25;
/** Room for mode, reason, stats, timings and check around the tensors. */
const ENVELOPE_BYTES = 4096;

/** Counts over a list of tensors: how many, their elements, their nested arrays, their names' bytes as JSON keys. */
function tally(values: readonly NamedValue[]): { count: number; elements: number; arrays: number; names: number } {
  let elements = 0;
  let arrays = 0;
  let names = 0;
  for (const v of values) {
    elements += sizeOf(v.shape);
    let rows = 1;
    for (let d = 0; d < v.shape.length; d++) {
      arrays += rows;
      rows *= v.shape[d];
    }
    names += Buffer.byteLength(JSON.stringify(v.name)) + 2; // the key as JSON, its colon and comma
  }
  return { count: values.length, elements, arrays, names };
}

/**
 * Numbers in a result (values, derivatives) and an upper bound of its size as JSON.
 * Linear in inputs and outputs: block structure is summed, never enumerated pair by pair.
 */
export function resultSize(operation: Operation, inputs: readonly NamedValue[], outputs: readonly NamedValue[]): { values: number; derivatives: number; bytes: number } {
  const o = tally(outputs);
  const i = tally(inputs);
  // A block of shape out ++ in has out.size × in.arrays nested arrays more than out has: summed over all pairs.
  // Each nested array costs at most 3 bytes: its brackets and the comma after it.
  const grid = (rows: typeof o, cols: typeof o) => ({
    elements: rows.elements * cols.elements,
    arrays: rows.arrays * cols.count + rows.elements * cols.arrays,
    names: rows.names + rows.count * cols.names,
  });
  const derivative =
    operation === 'jacobian' ? grid(o, i)
      : operation === 'hessian' ? grid(i, i)
        : operation === 'jvp' ? o
          : operation === 'evaluate' ? { elements: 0, arrays: 0, names: 0 }
            : i; // gradient, vjp, hvp: one tensor per active input
  const bytes = ENVELOPE_BYTES + BYTES_PER_NUMBER * (o.elements + derivative.elements) + 3 * (o.arrays + derivative.arrays) + o.names + derivative.names;
  return { values: o.elements, derivatives: derivative.elements, bytes };
}

/**
 * Everything a result returns counts: the values of every requested output and all
 * derivative blocks together stay within MAX_ELEMENTS, and an upper bound of the
 * JSON they make (resultSize) within MAX_RESPONSE_BYTES, so a small request cannot
 * ask for a huge response. Checked before any arithmetic.
 */
export function checkResultSize(operation: Operation, inputs: NamedValue[], outputs: NamedValue[], limits: Limits, outputsPath: string): void {
  const size = resultSize(operation, inputs, outputs);
  const numbers = size.values + size.derivatives;
  const bytes = size.bytes;
  const issues: Issue[] = [];
  const parts = operation === 'evaluate' ? '' : ` (values ${size.values}, derivatives ${size.derivatives})`;
  if (numbers > limits.maxElements) {
    issues.push({ path: outputsPath, message: `the result would hold ${numbers} numbers${parts}, more than MAX_ELEMENTS (${limits.maxElements}); request fewer outputs or mark inputs constant` });
  }
  if (bytes > limits.maxResponseBytes) {
    issues.push({ path: outputsPath, message: `the result could take up to ${bytes} bytes as JSON${parts}, more than MAX_RESPONSE_BYTES (${limits.maxResponseBytes})` });
  }
  if (issues.length > 0) throw new DerivdError('limit_exceeded', issues);
}

// --- zod issues, restated with the path of the offending value and what was found ---

/** The value at a path of the raw request (own properties only), or undefined. */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** Accepted keys of the objects the request schema checks strictly, by where they sit. */
function knownKeys(path: readonly PropertyKey[], raw: unknown, operation: Operation): { what: string; of?: string; keys: string[] } | undefined {
  const [a, b] = path;
  if (path.length === 0) return { what: 'field', keys: Object.keys(RequestSchemas[operation].shape) };
  if (a === 'graph' && path.length === 1) return { what: 'field', keys: Object.keys(GraphSchema.shape) };
  if (a === 'graph' && b === 'inputs' && path.length === 3) return { what: 'field', keys: Object.keys(InputSchema.shape) };
  if (a === 'graph' && b === 'nodes' && path.length === 3) {
    const op = findOp(String(valueAt(raw, [...path, 'op'])));
    if (op) return { what: 'attribute', of: op.name, keys: Object.keys(op.attrs) };
  }
  return undefined;
}

/** Restates one zod issue as derivd issues (an unknown-keys issue is one per key) into `out`. */
function zodIssue(issue: z.core.$ZodIssue, raw: unknown, operation: Operation, out: IssueList): void {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path, raw, operation);
    const expected = !known ? '' : known.keys.length > 0 ? `: expected one of ${known.keys.join(', ')}` : `: ${known.of} takes no ${known.what}s`;
    const of = known?.of ? ` of ${known.of}` : '';
    for (const key of issue.keys) {
      out.add(() => ({ path: formatPath([...issue.path, key]), message: `unknown ${known?.what ?? 'field'} ${JSON.stringify(key)}${of}${expected}` }));
    }
    return;
  }
  out.addAll(restate(issue, raw));
}

function restate(issue: z.core.$ZodIssue, raw: unknown): Issue[] {
  const path = formatPath(issue.path);
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator === 'op') {
    const nodeAt = issue.path.at(-1) === 'op' ? issue.path.slice(0, -1) : issue.path;
    const node = valueAt(raw, nodeAt);
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      return [{ path: formatPath(nodeAt), message: `expected a node {id, op, args?, ...attributes}, found ${describe(node)}` }];
    }
    const op = valueAt(node, ['op']);
    const opPath = formatPath([...nodeAt, 'op']);
    const ops = WIRE_OPS.map((o) => o.name).join(', ');
    if (op === undefined) return [{ path: opPath, message: `missing op: expected one of ${ops}` }];
    if (typeof op !== 'string') return [{ path: opPath, message: `expected an op name, found ${describe(op)}` }];
    return [{ path: opPath, message: `unknown op ${JSON.stringify(op)}: expected one of ${ops}` }];
  }
  if (issue.code === 'invalid_union') return [unionIssue(issue, issue.path, raw)];
  const found = valueAt(raw, issue.path);
  if (issue.code === 'invalid_type') {
    const expected = issue.expected === 'int' ? 'an integer' : withArticle(issue.expected);
    return [{ path, message: `expected ${expected}, found ${found === undefined ? 'nothing' : describe(found)}` }];
  }
  if ((issue.code === 'too_small' || issue.code === 'too_big') && issue.origin === 'array' && Array.isArray(found)) {
    const bound = issue.code === 'too_small' ? 'at least' : 'at most';
    const n = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
    return [{ path, message: `expected ${bound} ${n} item${n === 1 ? '' : 's'}, found ${found.length}` }];
  }
  if (issue.code === 'too_small' && issue.origin === 'string') {
    return [{ path, message: `expected a non-empty string, found ${describe(found)}` }];
  }
  if (issue.code === 'too_big' && issue.origin === 'number') {
    return [{ path, message: `expected at most ${issue.maximum}, found ${describe(found)}` }];
  }
  return [{ path, message: issue.message }];
}

/**
 * A union (number | "NaN" | ... | nested arrays, or id | number) failed: follow the
 * branch that got furthest into the value, then say what the offending element could
 * have been and what it is.
 */
function unionIssue(issue: z.core.$ZodIssueInvalidUnion, at: readonly PropertyKey[], raw: unknown): Issue {
  let deepest: z.core.$ZodIssue | undefined;
  for (const branch of issue.errors) {
    for (const sub of branch) if (sub.path.length > (deepest?.path.length ?? 0)) deepest = sub;
  }
  if (deepest) {
    const p = [...at, ...deepest.path];
    if (deepest.code === 'invalid_union') return unionIssue(deepest, p, raw);
    return { path: formatPath(p), message: deepest.message };
  }
  const v = valueAt(raw, at);
  const expected = new Set<string>();
  collectExpected(issue, expected, typeof v === 'number' && !Number.isFinite(v));
  const list = [...expected];
  const alternatives = list.length <= 1 ? list.join('') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
  return { path: formatPath(at), message: `expected ${alternatives}, found ${describe(v)}` };
}

function collectExpected(issue: z.core.$ZodIssueInvalidUnion, out: Set<string>, finite: boolean): void {
  for (const branch of issue.errors) {
    for (const sub of branch) {
      if (sub.path.length > 0) continue;
      if (sub.code === 'invalid_union') collectExpected(sub, out, finite);
      else if (sub.code === 'invalid_type') out.add(sub.expected === 'number' && finite ? 'a finite number' : withArticle(sub.expected));
      else if (sub.code === 'invalid_value') for (const x of sub.values) out.add(JSON.stringify(x));
      else if (sub.code === 'too_small' && sub.origin === 'string') out.add('a non-empty string');
      else out.add(sub.message);
    }
  }
}

const withArticle = (t: string): string => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
