/**
 * Stored graphs (graph/graph-store.ts): registerGraph validates a graph as an
 * inline request would, stores it under its id and puts its checked form in the
 * plan cache; a request with `graphId` in place of `graph` runs the stored graph.
 *
 * The store keeps the graph object parsed from its canonical text, and a request
 * naming it carries that object as its graph: the plan cache finds the entry by the
 * same key as for the graph inline (graphKey), so a stored graph is a cache hit.
 */
import { z } from 'zod';
import { checkGraph } from '../graph/check.js';
import { DerivdError, IssueList } from '../graph/errors.js';
import { canonicalGraph, GRAPH_ID, GraphStore, storedFromText, type StoredGraph } from '../graph/graph-store.js';
import { checkCounts, DEFAULT_LIMITS } from '../graph/limits.js';
import { graphKey } from '../graph/plan-cache.js';
import { GraphSchema, type WireGraph } from '../graph/schema.js';
import { zodIssue } from '../graph/zod-issues.js';
import { cacheOf } from './shared-cache.js';
import type { Options } from './types.js';

/** The store the library uses unless a call brings its own (GRAPH_STORE_BYTES in the service). */
export const SHARED_GRAPH_STORE = new GraphStore(64 * 1024 * 1024);

export const graphStoreOf = (options: Options): GraphStore => options.graphStore ?? SHARED_GRAPH_STORE;

const GraphOnly = z.object({ graph: GraphSchema }).strict();

/** What the service says of a stored graph: its id, declared inputs, output names and node count. */
export interface GraphSummary {
  id: string;
  inputs: { name: string; shape: number[] }[];
  outputs: string[];
  nodes: number;
}

export function summaryOf(stored: StoredGraph): GraphSummary {
  const g = stored.graph;
  return { id: stored.id, inputs: g.inputs, outputs: g.outputs, nodes: g.nodes?.length ?? 0 };
}

/**
 * Validates `graph` fully (the same DerivdError, with the same paths, as a request
 * carrying it inline), stores it and returns the stored entry, and whether it was
 * new to the store.
 */
export function storeGraph(graph: unknown, options: Options = {}): { stored: StoredGraph; created: boolean } {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  checkCounts(graph, limits);
  const wrapped = { graph };
  const parsed = GraphOnly.safeParse(wrapped);
  if (!parsed.success) {
    const issues = new IssueList();
    for (const i of parsed.error.issues) zodIssue(i, wrapped, 'evaluate', issues);
    throw issues.error('invalid_request');
  }
  const wire = graph as WireGraph;
  const checked = checkGraph(wire, limits);
  const stored = storedFromText(canonicalGraph(wire));
  const store = graphStoreOf(options);
  const created = !store.has(stored.id);
  if (!store.set(stored)) {
    throw new DerivdError('limit_exceeded', [
      {
        path: 'graph',
        message: `the graph takes about ${stored.bytes} bytes stored, over half the graph store (${store.maxBytes} bytes: GRAPH_STORE_BYTES)`,
      },
    ]);
  }
  // The first call naming it is a plan-cache hit. The checked graph is the one given; the
  // stored one differs only where canonical JSON does (-0 written 0): then it is checked on use.
  const cache = cacheOf(options);
  const key = cache ? graphKey(stored.graph, limits) : undefined;
  if (cache && key !== undefined && !cache.has(key) && key === graphKey(wire, limits)) cache.set(key, checked);
  return { stored, created };
}

/** Validates and stores `graph`; returns its id (SHA-256 of its canonical form, hex). */
export function registerGraph(graph: unknown, options: Options = {}): string {
  return storeGraph(graph, options).stored.id;
}

/** The graph stored under `id` in the store `options` name, or undefined. */
export function storedGraph(id: string, options: Options = {}): StoredGraph | undefined {
  return graphStoreOf(options).get(id);
}

/** The unknown_graph error for `id`. */
export function unknownGraph(id: string, why = 'register it first (POST /v1/graphs, or registerGraph)'): DerivdError {
  return new DerivdError('unknown_graph', [{ path: 'graphId', message: `no graph is stored under ${JSON.stringify(id)}: ${why}` }]);
}

/** Checks a `graphId` value: a string of 64 lower-case hex digits (invalid_request otherwise). */
export function checkGraphId(id: unknown): string {
  if (typeof id === 'string' && GRAPH_ID.test(id)) return id;
  const found = typeof id === 'string' ? JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id) : typeof id;
  throw new DerivdError('invalid_request', [
    { path: 'graphId', message: `expected a graph id (64 lower-case hex digits), found ${found}` },
  ]);
}

/**
 * A request with `graphId` turned into the same request with the stored graph
 * inline; any other request as it is. Exactly one of graph and graphId.
 */
export function withStoredGraph(request: unknown, options: Options = {}, find = (id: string) => storedGraph(id, options)): unknown {
  if (typeof request !== 'object' || request === null || Array.isArray(request) || !Object.hasOwn(request, 'graphId')) return request;
  const { graphId, ...rest } = request as Record<string, unknown>;
  if (Object.hasOwn(request, 'graph'))
    throw new DerivdError('invalid_request', [{ path: 'graphId', message: 'expected either graph or graphId, found both' }]);
  const id = checkGraphId(graphId);
  const stored = find(id);
  if (!stored) throw unknownGraph(id);
  return { ...rest, graph: stored.graph };
}
