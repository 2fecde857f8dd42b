/**
 * Handing a prepared call to another thread (the service's worker pool) without
 * checking it again there.
 *
 * The sending thread has validated the request and planned it (prepare). It sends
 * the checked request without its graph: the arguments, tangents and cotangents as
 * packed Float64Arrays whose buffers go in the transfer list (moved, not copied),
 * the active inputs and outputs as indices, the flags as they are; and, instead of
 * the graph, the key its plan cache keeps the checked graph under (cacheKeyOf).
 * The receiving thread finds the checked graph in its own plan cache by that key;
 * when it has not seen the graph, it asks for it once (needsGraph), checks it and
 * caches it under the same key. Either way nothing is parsed and no schema runs:
 * the result is the one prepare + respond give on the sending thread.
 *
 * The key, not the stored-graph id, names the graph: both threads' caches are
 * keyed by it, and it tells apart graphs the id does not (a literal -0 and 0 hash
 * to the same canonical text, but are different graphs to compute with).
 */
import { checkGraph } from '../graph/check.js';
import { DEFAULT_LIMITS } from '../graph/limits.js';
import { cacheKeyOf, detached, type PlanCacheEntry } from '../graph/plan-cache.js';
import type { CheckedRequest } from '../graph/request.js';
import type { WireGraph } from '../graph/schema.js';
import type { Tensor } from '../tensor/tensor.js';
import { prepareChecked, type PreparedCall } from './prepare.js';
import { cacheOf } from './shared-cache.js';
import type { Options } from './types.js';

/** The fields of a checked request that hold tensors: packed and transferred. */
const TENSOR_FIELDS = ['args', 'tangents', 'cotangents'] as const;

/** The checked request without what hangs on its graph; outputs by their index in the graph's outputs. */
export type HandedRequest = Omit<CheckedRequest, 'graph' | 'graphMemo' | 'account' | 'outputs' | 'cacheHit'> & { outputs: number[] };

/** A prepared call as it travels to another thread (structured-cloneable). */
export interface Handoff {
  request: HandedRequest;
  /** The sending thread's plan-cache key of the graph; absent when it did not cache it (the graph must then be sent). */
  key?: string;
  /** Whether the sending thread found the graph and the plan cached (undefined: it used no cache). */
  cacheHit?: boolean;
  /** What validating and planning took on the sending thread (the receiver adds its own). */
  validateMs: number;
  planMs: number;
}

/**
 * The handoff of `call`, and the buffers to transfer with it. The call's tensors
 * are moved: after the transfer they are empty on this thread, so `call` must not
 * run here afterwards. A tensor that does not own its whole buffer (a view into a
 * larger one, or one buffer shared by two tensors) is copied first.
 */
export function handOff(call: PreparedCall): { handoff: Handoff; transfer: ArrayBuffer[] } {
  const { graph, graphMemo, account: _account, outputs, cacheHit, ...rest } = call.request;
  const transfer = new Set<ArrayBuffer>();
  const own = (t: Tensor): Tensor => {
    const { data } = t;
    const whole = data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    const mine = whole && !transfer.has(data.buffer as ArrayBuffer) ? data : new Float64Array(data);
    transfer.add(mine.buffer as ArrayBuffer);
    return { shape: t.shape, data: mine };
  };
  const request: HandedRequest = { ...rest, outputs: outputs.map((o) => indexOf(graph.outputs, o)) };
  for (const field of TENSOR_FIELDS) {
    const tensors = request[field];
    if (tensors) request[field] = tensors.map(own);
  }
  return {
    handoff: {
      request,
      key: cacheKeyOf(graphMemo),
      cacheHit: cacheHit === undefined ? undefined : cacheHit && call.cached,
      validateMs: call.validateMs,
      planMs: call.planMs,
    },
    transfer: [...transfer],
  };
}

function indexOf<T>(items: readonly T[], item: T): number {
  const i = items.indexOf(item);
  if (i < 0) throw new Error('handOff: an output that is not among its graph’s outputs');
  return i;
}

/** Whether the receiving thread must be sent the graph: it has no checked graph under the key. */
export function needsGraph(h: Handoff, options: Options = {}): boolean {
  const cache = cacheOf(options);
  return h.key === undefined || cache === undefined || !cache.has(h.key);
}

/**
 * The prepared call on the receiving thread. `graph`: the wire graph, needed only
 * when needsGraph says so (it was validated by the sender: it is checked here for
 * its program, and cached under the sender's key). Timings add the sender's.
 */
export function takeOver(h: Handoff, graph: unknown, options: Options = {}): PreparedCall {
  const t0 = performance.now();
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const cache = cacheOf(options);
  let entry: PlanCacheEntry | undefined = h.key === undefined ? undefined : cache?.get(h.key);
  const found = entry !== undefined;
  if (entry === undefined) {
    if (graph === undefined) throw new Error('takeOver: the graph is not cached here and was not sent');
    const checked = checkGraph(graph as WireGraph, limits);
    entry = cache && h.key !== undefined ? cache.set(h.key, checked) : detached(checked, cache?.maxEntryBytes ?? 64 * 1024 * 1024);
  }
  const { outputs, ...rest } = h.request;
  const req: CheckedRequest = {
    ...rest,
    graph: entry.graph,
    outputs: outputs.map((i) => entry.graph.outputs[i]),
    graphMemo: entry.memo,
    account: entry.account,
    cacheHit: h.cacheHit === undefined ? undefined : h.cacheHit && found,
  };
  // The sender's planning counts too (a PreparedCall is a class: not spread, its methods would be lost).
  return prepareChecked(req, limits, h.validateMs + (performance.now() - t0), h.planMs);
}
