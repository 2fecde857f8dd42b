/**
 * Stored graphs: a graph registered once and named by its id in later calls
 * (a prepared statement, a model repository).
 *
 * The id is the SHA-256 (lower-case hex) of the graph's canonical form: the graph
 * object with its `nodes` (and each function's) sorted by `id` (UTF-16 code-unit order), written by the
 * JSON Canonicalization Scheme (RFC 8785, JCS): object keys sorted by UTF-16 code
 * units, no whitespace, strings and numbers as ECMAScript's JSON.stringify writes
 * them (so -0 is written 0). `inputs` and `outputs` keep their order (they are
 * positional); so do arrays inside nodes. JSON key order and node order therefore
 * do not change the id. Any language with a JCS library computes it. Formulas
 * (`define`) are kept as written, not as the nodes they expand to, and a graph
 * without `nodes` stays without.
 *
 * The store keeps each graph as its canonical JSON text and the object parsed
 * back from it, so a call naming an id runs the very graph the id describes.
 * It is an LRU bounded by bytes (an estimate: four bytes per character of the
 * canonical text, for the text and the parsed object).
 */
import { createHash } from 'node:crypto';
import { markImmutable } from './plan-cache.js';
import type { WireGraph, WireNode } from './schema.js';

/** What the store estimates a graph costs per character of its canonical text. */
export const BYTES_PER_CHAR = 4;

/** An id: 64 lower-case hex digits. */
export const GRAPH_ID = /^[0-9a-f]{64}$/;

/** The canonical JSON text of a graph (see the file's comment); throws on cycles and non-JSON values. */
export function canonicalGraph(graph: WireGraph): string {
  // A graph without `nodes` (formulas only) stays without: `define` is kept as written, its keys sorted by JCS.
  const byId = (nodes: WireNode[] | undefined): WireNode[] | undefined =>
    nodes === undefined ? undefined : [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const { functions } = graph;
  if (functions === undefined) return jcs({ ...graph, nodes: byId(graph.nodes) });
  // Each function's nodes too: node order means nothing inside a function either.
  const sorted = Object.fromEntries(Object.entries(functions).map(([name, f]) => [name, { ...f, nodes: byId(f.nodes) }]));
  return jcs({ ...graph, nodes: byId(graph.nodes), functions: sorted });
}

/** The id of a graph: SHA-256 of its canonical text, lower-case hex. */
export function graphIdOf(canonicalText: string): string {
  return createHash('sha256').update(canonicalText, 'utf8').digest('hex');
}

/** RFC 8785 for values without non-finite numbers (a graph holds none: NaN and ±Infinity are strings on the wire). */
export function jcs(v: unknown, depth = 0): string {
  if (depth > 200) throw new Error('too deep');
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('JCS has no non-finite numbers');
    return JSON.stringify(v); // ECMAScript Number-to-string; -0 is "0"
  }
  if (Array.isArray(v)) return `[${v.map((x) => jcs(x, depth + 1)).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort(); // default sort: UTF-16 code units, as JCS asks
    return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(o[k], depth + 1)}`).join(',')}}`;
  }
  throw new Error(`JCS has no ${typeof v}`);
}

export interface StoredGraph {
  readonly id: string;
  /** The canonical JSON text (what the id hashes, what Redis keeps). */
  readonly text: string;
  /** The graph parsed back from `text`. */
  readonly graph: WireGraph;
  readonly bytes: number;
}

/** A stored graph from its canonical text; the id is computed here (never trusted). */
export function storedFromText(text: string): StoredGraph {
  // Frozen all the way down, so the plan cache may remember its quick key (see quickGraphKey).
  const graph = markImmutable(deepFreeze(JSON.parse(text)) as WireGraph);
  return { id: graphIdOf(text), text, graph, bytes: BYTES_PER_CHAR * text.length };
}

function deepFreeze(v: unknown): unknown {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

/** Stored graphs by id: an LRU bounded by bytes; one graph may take at most half. */
export class GraphStore {
  private readonly entries = new Map<string, StoredGraph>();
  private used = 0;
  /** The id last inserted: the most recently used, which get() need not move. */
  private newest: string | undefined;

  constructor(private limit: number) {}

  get maxBytes(): number {
    return this.limit;
  }

  /** The largest graph the store keeps, in bytes (its estimate). */
  get maxEntryBytes(): number {
    return Math.floor(this.limit / 2);
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.used;
  }

  resize(maxBytes: number): void {
    this.limit = maxBytes;
    this.evict();
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** The graph stored under `id` (marked most recently used), or undefined. */
  get(id: string): StoredGraph | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (id !== this.newest) {
      this.entries.delete(id);
      this.entries.set(id, entry);
      this.newest = id;
    }
    return entry;
  }

  /** Keeps `entry` (true), or not when it is over maxEntryBytes (false). */
  set(entry: StoredGraph): boolean {
    if (entry.bytes > this.maxEntryBytes) return false;
    const old = this.entries.get(entry.id);
    if (old) {
      this.entries.delete(entry.id);
      this.used -= old.bytes;
    }
    this.entries.set(entry.id, entry);
    this.newest = entry.id;
    this.used += entry.bytes;
    this.evict(entry.id);
    return true;
  }

  delete(id: string): void {
    const old = this.entries.get(id);
    if (!old) return;
    this.entries.delete(id);
    this.used -= old.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.newest = undefined;
    this.used = 0;
  }

  private evict(keep?: string): void {
    for (const [k, e] of this.entries) {
      if (this.used <= this.limit) break;
      if (k === keep) continue;
      this.entries.delete(k);
      this.used -= e.bytes;
    }
  }
}
