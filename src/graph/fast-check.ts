/**
 * The lean cache-hit path. When the plan cache already holds a request's graph,
 * what is left to check is the envelope around it: names, flags and tensors of
 * the declared shapes, in time proportional to the arguments and without zod.
 * The checks that depend only on the graph, the constant set and the outputs
 * (scalar outputs, block and result limits) passed once and are remembered.
 *
 * It only ever accepts: anything it does not recognise or that is wrong returns
 * undefined, and the full validation (request.ts) runs instead, so every error
 * message and every issue list is exactly the slow path's.
 */
import { isTensorIssue, parseTensor } from '../tensor/nested.js';
import type { Tensor } from '../tensor/tensor.js';
import type { NamedValue } from './check.js';
import { checkBlockLimits, checkResultSize, type Limits } from './limits.js';
import { quickGraphKey, type PlanCache, type PlanCacheEntry } from './plan-cache.js';
import type { CheckedRequest } from './request.js';
import { ENCODINGS, type Encoding, type Operation, SCALAR_OPERATIONS } from './schema.js';

/** The envelope fields this path understands; a request with any other goes the full way. */
const ENVELOPE = ['graph', 'args', 'constant', 'mode', 'check', 'outputs', 'encoding'];
const KNOWN: Record<Operation, ReadonlySet<string>> = {
  evaluate: new Set(ENVELOPE),
  jacobian: new Set(ENVELOPE),
  gradient: new Set(ENVELOPE),
  hessian: new Set(ENVELOPE),
  jvp: new Set([...ENVELOPE, 'tangents']),
  vjp: new Set([...ENVELOPE, 'cotangents']),
  hvp: new Set([...ENVELOPE, 'vector']),
};

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Tensors for `slots` from `map`, which must have exactly those names as keys;
 * undefined at the first thing the full path would report.
 */
function readExactly(map: unknown, slots: readonly NamedValue[], key: string, strictFloats: boolean): Tensor[] | undefined {
  if (!isMap(map) || ArrayBuffer.isView(map.data)) return undefined;
  if (Object.keys(map).length !== slots.length) return undefined;
  const out: Tensor[] = [];
  for (const s of slots) {
    if (!Object.hasOwn(map, s.name)) return undefined;
    const t = parseTensor(map[s.name], key, s.shape, strictFloats);
    if (isTensorIssue(t)) return undefined;
    out.push(t);
  }
  return out;
}

/** A checked request when `raw`'s graph is in `cache` and nothing else needs saying; otherwise undefined. */
export function fastCheck(
  operation: Operation,
  raw: unknown,
  limits: Limits,
  modes: readonly string[] | undefined,
  cache: PlanCache,
  strictFloats: boolean,
): CheckedRequest | undefined {
  if (!isMap(raw)) return undefined;
  const known = KNOWN[operation];
  for (const k in raw) if (!known.has(k) || !Object.hasOwn(raw, k)) return undefined;
  const quick = quickGraphKey(raw.graph, limits);
  const entry = quick === undefined ? undefined : cache.getQuick(quick);
  if (entry === undefined) return undefined;
  const { graph } = entry;

  const { mode, check, constant, outputs: outputNames } = raw;
  if (mode !== undefined && (typeof mode !== 'string' || mode === '' || (modes !== undefined && !modes.includes(mode)))) return undefined;
  if (check !== undefined && typeof check !== 'boolean') return undefined;
  const encoding = raw.encoding ?? 'json';
  if (!ENCODINGS.includes(encoding as Encoding)) return undefined;

  let activeInputs: number[];
  if (constant === undefined) {
    activeInputs = allInputs(entry);
  } else {
    if (!Array.isArray(constant)) return undefined;
    const fixed = new Set<number>();
    for (const name of constant) {
      const i = typeof name === 'string' && name !== '' ? inputIndex(entry).get(name) : undefined;
      if (i === undefined) return undefined;
      fixed.add(i);
    }
    activeInputs = [];
    for (let i = 0; i < graph.inputs.length; i++) if (!fixed.has(i)) activeInputs.push(i);
  }

  let outputs: NamedValue[];
  if (outputNames === undefined) {
    outputs = graph.outputs;
  } else {
    if (!Array.isArray(outputNames) || outputNames.length === 0) return undefined;
    outputs = [];
    for (const name of outputNames) {
      const o = typeof name === 'string' ? outputByName(entry).get(name) : undefined;
      if (o === undefined || outputs.includes(o)) return undefined;
      outputs.push(o);
    }
  }

  const args = readExactly(raw.args, graph.inputs, 'args', strictFloats);
  if (args === undefined) return undefined;
  let tangents: Tensor[] | undefined;
  let cotangents: Tensor[] | undefined;
  if (operation === 'jvp' || operation === 'hvp') {
    const active = activeInputs.map((i) => graph.inputs[i]);
    tangents = readExactly(
      operation === 'jvp' ? raw.tangents : raw.vector,
      active,
      operation === 'jvp' ? 'tangents' : 'vector',
      strictFloats,
    );
    if (tangents === undefined) return undefined;
  } else if (operation === 'vjp') {
    cotangents = readExactly(raw.cotangents, outputs, 'cotangents', strictFloats);
    if (cotangents === undefined) return undefined;
  }

  const shapeKey = `${operation}:${encoding}:${limits.maxElements},${limits.maxResponseBytes}:${activeInputs.join(',')}|${outputNames === undefined ? '*' : outputs.map((o) => o.value).join(',')}`;
  if (!withinLimits(entry, shapeKey, operation, activeInputs, outputs, limits, outputNames === undefined, encoding as Encoding))
    return undefined;
  return {
    operation,
    graph,
    args,
    activeInputs,
    outputs,
    mode: mode ?? 'auto',
    check: check ?? false,
    encoding: encoding as Encoding,
    tangents,
    cotangents,
    graphMemo: entry.memo,
    account: entry.account,
    cacheHit: true,
    shapeKey,
  };
}

// What the checks need of a graph, derived once per cache entry and kept in its memo.

function allInputs(entry: PlanCacheEntry): number[] {
  let all = entry.memo.get('fast:all-inputs') as number[] | undefined;
  if (all === undefined) {
    all = entry.graph.inputs.map((_, i) => i);
    entry.memo.set('fast:all-inputs', all);
  }
  return [...all];
}

function inputIndex(entry: PlanCacheEntry): Map<string, number> {
  let index = entry.memo.get('fast:input-index') as Map<string, number> | undefined;
  if (index === undefined) {
    index = new Map(entry.graph.inputs.map((x, i) => [x.name, i]));
    entry.memo.set('fast:input-index', index);
  }
  return index;
}

function outputByName(entry: PlanCacheEntry): Map<string, NamedValue> {
  let byName = entry.memo.get('fast:outputs') as Map<string, NamedValue> | undefined;
  if (byName === undefined) {
    byName = new Map(entry.graph.outputs.map((o) => [o.name, o]));
    entry.memo.set('fast:outputs', byName);
  }
  return byName;
}

/**
 * The checks that depend on the operation, the active inputs and the outputs only:
 * passed once, remembered; a failure is left to the full path to report.
 */
function withinLimits(
  entry: PlanCacheEntry,
  shapeKey: string,
  operation: Operation,
  activeInputs: readonly number[],
  outputs: readonly NamedValue[],
  limits: Limits,
  allOutputs: boolean,
  encoding: Encoding,
): boolean {
  const key = `fast:ok:${shapeKey}`;
  if (entry.memo.get(key) === true) return true;
  if (SCALAR_OPERATIONS.has(operation) && (outputs.length !== 1 || outputs[0].shape.length !== 0)) return false;
  const inputs = activeInputs.map((i) => entry.graph.inputs[i]);
  try {
    checkBlockLimits(operation, inputs, [...outputs], limits);
    checkResultSize(operation, inputs, [...outputs], limits, allOutputs ? 'graph.outputs' : 'outputs', encoding);
  } catch {
    return false;
  }
  entry.memo.set(key, true);
  return true;
}
