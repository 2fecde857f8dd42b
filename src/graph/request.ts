/**
 * A request, from unknown JSON to checked values: zod for structure (400), then
 * the graph (422), then everything the call adds: arguments of the declared shapes,
 * the constant set, the output subset, and tangents, cotangents or vector.
 */
import { z } from 'zod';
import { formatShape, sizeOf, type Shape, type Tensor } from '../tensor/tensor.js';
import { isTensorIssue, leadingLength, MAX_RANK, parseTensor } from '../tensor/nested.js';
import { fastCheck } from './fast-check.js';
import { detached, type PlanCache, graphKey, type PlanCacheEntry, type MemoryAccount, quickGraphKey } from './plan-cache.js';
import { checkGraph, type CheckedGraph, type NamedValue } from './check.js';
import { childPath, DerivdError, IssueList, type Issue } from './errors.js';
import { checkBlockLimits, checkCounts, checkResultSize, DEFAULT_LIMITS, type Limits } from './limits.js';
import {
  RequestSchemas,
  SCALAR_OPERATIONS,
  type Encoding,
  type JacobianFormat,
  type Mode,
  type Operation,
  type Request,
} from './schema.js';
import { zodIssue } from './zod-issues.js';

export interface CheckedRequest {
  operation: Operation;
  graph: CheckedGraph;
  /** Argument tensors in the order of graph.inputs. */
  args: Tensor[];
  /** Indices into graph.inputs of the inputs that are differentiated. */
  activeInputs: number[];
  /** The requested outputs (the graph's, or the `outputs` subset). */
  outputs: NamedValue[];
  mode: Mode;
  check: boolean;
  /** How result tensors are written (the request's `encoding`, default 'json'). */
  encoding: Encoding;
  /** jvp tangents, or hvp vector (a tangent of the gradient), per active input (same order as `activeInputs`). */
  tangents?: Tensor[];
  /** vjp cotangents, per requested output. */
  cotangents?: Tensor[];
  /** Shared by every request with this graph (see PlanCache); a fresh map when not cached. */
  graphMemo: Map<string, unknown>;
  /** What plans and programs built for this graph keep is charged here (see MemoryAccount). */
  account: MemoryAccount;
  /** Whether the checked graph came from the cache (undefined: no cache in use). */
  cacheHit?: boolean;
  /** A batch of points (the request's `batched`); absent for a call at one point. */
  batch?: Batch;
  /** jacobian: 'coo' for the structurally non-zero entries only (absent: dense blocks). */
  format?: JacobianFormat;
  /**
   * Set by the lean path (fast-check.ts): one string for the operation, encoding, limits,
   * active inputs and outputs, so what is remembered per call shape is found without
   * building the key again.
   */
  shapeKey?: string;
}

/**
 * The request's `batched`: `inputs` (indices into graph.inputs) carry a leading axis of
 * `size` points in their arguments, and in their tangents or vector entries.
 */
export interface Batch {
  readonly inputs: readonly number[];
  readonly size: number;
}

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
 * caller passes them so that this module needs nothing from the engines (omitted:
 * any name passes here, and the caller checks it).
 * `strictFloats`: refuse non-finite JavaScript numbers in tensors (see parseTensor).
 */
export function checkRequest(
  operation: Operation,
  raw: unknown,
  limits: Limits = DEFAULT_LIMITS,
  modes?: readonly string[],
  cache?: PlanCache,
  strictFloats = false,
): CheckedRequest {
  if (cache) {
    const fast = fastCheck(operation, raw, limits, modes, cache, strictFloats);
    if (fast) return fast;
  }
  const rawGraph = (raw as { graph?: unknown } | null)?.graph;
  const key = cache ? graphKey(rawGraph, limits) : undefined;
  const entry = key !== undefined ? cache?.get(key) : undefined;
  const checked = checkUncached(operation, raw, limits, modes, entry, strictFloats);
  if (cache && key !== undefined) {
    // The same graph sent again in the same form is then found by fastCheck.
    const quick = quickGraphKey(rawGraph, limits);
    if (!entry) {
      const stored = cache.set(key, checked.graph);
      if (quick !== undefined) cache.alias(quick, key);
      return { ...checked, graphMemo: stored.memo, account: stored.account, cacheHit: false };
    }
    if (quick !== undefined) cache.alias(quick, key);
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
  modes: readonly string[] | undefined,
  cached: PlanCacheEntry | undefined,
  strictFloats: boolean,
): Omit<CheckedRequest, 'graphMemo' | 'account' | 'cacheHit'> {
  // Before zod, which would first copy every node of a huge graph.
  checkCounts((raw as { graph?: unknown } | null)?.graph, limits);
  const parsed = (cached ? WITHOUT_GRAPH : (RequestSchemas as Record<Operation, z.ZodType>))[operation].safeParse(raw);
  const schemaIssues = new IssueList();
  if (!parsed.success) for (const i of parsed.error.issues) zodIssue(i, raw, operation, schemaIssues);
  const mode = (raw as { mode?: unknown } | null)?.mode;
  if (modes && typeof mode === 'string' && mode !== '' && !modes.includes(mode)) {
    const known = modes.map((n) => JSON.stringify(n)).join(', ');
    schemaIssues.add({ path: 'mode', message: `unknown mode ${JSON.stringify(mode)}: expected one of ${known}` });
  }
  if (!parsed.success || schemaIssues.length > 0) throw schemaIssues.error('invalid_request');
  // Name-keyed maps come from the raw request: zod would drop a `__proto__` key.
  const req = { ...(parsed.data as Request) };
  const rawReq = raw as Record<string, unknown>;
  for (const k of ['args', 'tangents', 'cotangents', 'vector'] as const) if (k in req) req[k] = rawReq[k] as never;
  if (!cached) req.graph = withRawDefinitions(req.graph, rawReq.graph);

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
    const shown = names
      .slice(0, MAX_NAMES_SHOWN)
      .map((n) => JSON.stringify(n))
      .join(', ');
    return `expected one of ${shown}${names.length > MAX_NAMES_SHOWN ? `, … (${names.length} in all)` : ''}`;
  };
  /** A list of names spelled out once per request, however many issues quote it. */
  const lists = new Map<string, string>();
  const listOnce = (key: string, names: readonly string[]): string => {
    let text = lists.get(key);
    if (text === undefined) {
      text = oneOf(names);
      lists.set(key, text);
    }
    return text;
  };

  /** Reads one tensor per slot from `map`; `explain` says why a name without a slot is not wanted. */
  const readTensors = (
    key: string,
    map: Record<string, unknown>,
    slots: Slot[],
    what: string,
    explain?: (name: string) => string | undefined,
  ): Tensor[] => {
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
        issues.add(() => ({
          path: childPath(key, x.name),
          message: `missing ${what} ${JSON.stringify(x.name)} of shape ${formatShape(x.shape)}`,
        }));
        continue;
      }
      // Only when the graph is broken: an input over MAX_ELEMENTS or MAX_RANK, reported with the graph
      // (or a batch over MAX_ELEMENTS, reported by checkBatchLimit). A batched tensor whose points
      // could not be counted is not read: readBatch said why.
      if (sizeOf(x.shape) > limits.maxElements || x.shape.length > MAX_RANK || unreadable.has(x.name)) continue;
      const t = parseTensor(map[x.name], childPath(key, x.name), x.shape, strictFloats);
      if (isTensorIssue(t)) (t.kind === 'type' ? typeIssues : issues).add({ path: t.path, message: t.message });
      else out.push(t);
    }
    return out;
  };

  const inputIndex = new Map(inputNames.map((name, i) => [name, i]));
  const batch = readBatch(req, inputIndex, listOnce, issues);
  const unreadable = new Set<string>(batch === undefined ? (req.batched ?? []) : []);
  // A batched input's tensors carry the points first: [B, ...shape].
  const pointShape = (x: Slot): Slot =>
    batch?.inputs.includes(inputIndex.get(x.name) as number) ? { name: x.name, shape: [batch.size, ...x.shape] } : x;
  const batchedSlots = batch ? declaredInputs.map(pointShape) : declaredInputs;
  const args = readTensors('args', req.args, batchedSlots, 'argument');
  const constant = new Set<number>();
  (req.constant ?? []).forEach((name, k) => {
    const i = inputIndex.get(name);
    if (i === undefined)
      issues.add(() => ({ path: `constant[${k}]`, message: `${JSON.stringify(name)} names no input: ${listOnce('inputs', inputNames)}` }));
    else constant.add(i);
  });
  const active = inputNames.map((_, i) => i).filter((i) => !constant.has(i));

  // The requested outputs: names always, shapes (slots) only when the graph checked.
  let outNames = [...outputNames];
  if (req.outputs) {
    const seen = new Set<string>();
    const known = new Set(outputNames);
    outNames = [];
    req.outputs.forEach((name, k) => {
      if (!known.has(name))
        issues.add(() => ({
          path: `outputs[${k}]`,
          message: `${JSON.stringify(name)} is not an output of the graph: ${listOnce('outputs', outputNames)}`,
        }));
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
    listed.forEach((name, k) => {
      if (!position.has(name)) position.set(name, k);
    });
    if (outNames.length > 1) {
      issues.add({
        path: where,
        message: `${operation} needs exactly one scalar output, found ${outNames.length}; choose one with "outputs"`,
      });
    }
    outputs?.forEach((o) => {
      if (o.shape.length !== 0) {
        issues.add(() => ({
          path: `${where}[${position.get(o.name)}]`,
          message: `${operation} needs a scalar output (shape []), but ${JSON.stringify(o.name)} has shape ${formatShape(o.shape)}`,
        }));
      }
    });
  }

  const activeSlots = batchedSlots.filter((x) => !constant.has(inputIndex.get(x.name) as number));
  const notActive = (name: string): string | undefined =>
    inputIndex.has(name) && constant.has(inputIndex.get(name) as number) ? `input ${JSON.stringify(name)} is constant` : undefined;
  let tangents: Tensor[] | undefined;
  let cotangents: Tensor[] | undefined;
  if (operation === 'jvp') tangents = readTensors('tangents', req.tangents ?? {}, activeSlots, 'tangent', notActive);
  if (operation === 'hvp') tangents = readTensors('vector', req.vector ?? {}, activeSlots, 'vector entry', notActive);
  if (operation === 'vjp' && outputs) {
    const graphOutputs = new Set(outputNames);
    const notRequested = (name: string): string | undefined =>
      graphOutputs.has(name) ? `output ${JSON.stringify(name)} is not among the requested outputs` : undefined;
    // Every output of a batch is batched: so are its cotangents.
    const slots = batch ? outputs.map((o) => ({ name: o.name, shape: [batch.size, ...o.shape] })) : outputs;
    cotangents = readTensors('cotangents', req.cotangents ?? {}, slots, 'cotangent', notRequested);
  }

  if (typeIssues.length > 0) throw typeIssues.error('invalid_request');
  if (graphIssues.length > 0 || issues.length > 0 || !graph || !outputs) {
    const all = new IssueList();
    all.addAll(graphIssues);
    all.addAll(issues);
    throw all.error('invalid_graph');
  }

  const activeInputs = active.map((i) => graph.inputs[i]);
  if (batch) checkBatchLimit(graph, batch, limits);
  // A coo Jacobian is counted by its entries, known once the plan has its pattern (prepare.ts);
  // its values are counted here.
  const coo = req.format === 'coo';
  if (!coo) checkBlockLimits(operation, activeInputs, outputs, limits, batch?.size);
  const encoding = req.encoding ?? 'json';
  const counted = coo ? 'evaluate' : operation;
  checkResultSize(counted, activeInputs, outputs, limits, req.outputs ? 'outputs' : 'graph.outputs', encoding, batch?.size);
  return {
    operation,
    graph,
    args,
    activeInputs: active,
    outputs,
    mode: req.mode ?? 'auto',
    check: req.check ?? false,
    encoding,
    tangents,
    cotangents,
    ...(batch ? { batch } : {}),
    ...(coo ? { format: 'coo' as const } : {}),
  };
}

/**
 * The graph zod parsed, with `define` (the graph's and each function's) as the
 * request has it: keyed by name, and zod would drop a `__proto__` key.
 * formula.ts checks that every formula is a string.
 */
function withRawDefinitions(graph: Request['graph'], raw: unknown): Request['graph'] {
  const r = raw as { define?: unknown; functions?: Record<string, { define?: unknown }> };
  const out = r.define === undefined ? graph : { ...graph, define: r.define as Record<string, string> };
  const fns = graph.functions;
  if (fns === undefined || !Object.values(r.functions ?? {}).some((f) => f?.define !== undefined)) return out;
  const functions = Object.fromEntries(
    Object.entries(fns).map(([name, f]) => {
      const define = Object.hasOwn(r.functions ?? {}, name) ? r.functions?.[name]?.define : undefined;
      return [name, define === undefined ? f : { ...f, define: define as Record<string, string> }];
    }),
  );
  return { ...out, functions };
}

/**
 * The request's `batched` names, and B from the first batched argument's leading
 * axis. Issues: a name that is no input or comes twice, an argument without a
 * leading axis or with another number of points, a batch of no points. Undefined
 * when nothing is batched, or B cannot be told (the arguments' own issues say why).
 */
function readBatch(
  req: Request,
  inputIndex: ReadonlyMap<string, number>,
  listOnce: (key: string, names: readonly string[]) => string,
  issues: IssueList,
): Batch | undefined {
  if (!req.batched || req.batched.length === 0) return undefined;
  const inputs: number[] = [];
  req.batched.forEach((name, k) => {
    const i = inputIndex.get(name);
    if (i === undefined) {
      issues.add(() => ({
        path: `batched[${k}]`,
        message: `${JSON.stringify(name)} names no input: ${listOnce('inputs', [...inputIndex.keys()])}`,
      }));
    } else if (inputs.includes(i)) {
      issues.add({ path: `batched[${k}]`, message: `duplicate batched input ${JSON.stringify(name)}` });
    } else inputs.push(i);
  });
  let size: number | undefined;
  let first = '';
  for (const name of req.batched) {
    if (!inputIndex.has(name) || !Object.hasOwn(req.args, name)) continue;
    const n = leadingLength(req.args[name]);
    if (n === undefined) {
      issues.add({
        path: childPath('args', name),
        message: `input ${JSON.stringify(name)} is batched: expected its points along a leading axis, found a tensor without one`,
      });
      return undefined;
    }
    if (size === undefined) {
      size = n;
      first = name;
    } else if (n !== size) {
      issues.add({
        path: childPath('args', name),
        message: `${JSON.stringify(name)} has ${n} points along its leading axis, but ${JSON.stringify(first)} has ${size}: every batched argument has the same number of points`,
      });
      return undefined;
    }
  }
  if (size === 0) {
    issues.add({ path: childPath('args', first), message: 'a batch needs at least one point: the leading axis has length 0' });
    return undefined;
  }
  return size === undefined ? undefined : { inputs, size };
}

/** Every value of a batch holds B points: B times the graph's largest value stays within MAX_ELEMENTS. */
function checkBatchLimit(graph: CheckedGraph, batch: Batch, limits: Limits): void {
  let largest = 0;
  for (const v of graph.program.values.ids()) largest = Math.max(largest, sizeOf(graph.program.values.info(v).shape));
  if (batch.size * largest <= limits.maxElements) return;
  throw new DerivdError('limit_exceeded', [
    {
      path: 'batched',
      message: `${batch.size} points of the graph's largest value (${largest} elements) would be ${batch.size * largest} elements, more than MAX_ELEMENTS (${limits.maxElements}); at most ${Math.floor(limits.maxElements / Math.max(1, largest))} points fit in one request`,
    },
  ]);
}

function uniqueByName(slots: readonly Slot[]): Slot[] {
  const byName = new Map<string, Slot>();
  for (const x of slots) if (!byName.has(x.name)) byName.set(x.name, x);
  return [...byName.values()];
}
