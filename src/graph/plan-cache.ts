/**
 * The plan cache: checked graphs, with the plans, derivative programs and compiled
 * code built for them, cached by the graph's content. The key is the graph in a canonical form
 * (for large graphs, its SHA-256): object keys sorted, nodes sorted by id (array order and JSON key
 * order do not matter), literal values and const data included (so a changed
 * literal is a different graph), plus the limits it was checked under. A hit skips
 * the structural and semantic checks of the graph; arguments are still checked.
 *
 * Each entry also carries a memo that plans, derivative programs and compiled code
 * built for the graph hang on, so they are computed once per distinct graph, and
 * an account they charge with what they keep. The cache is an LRU bounded by the
 * bytes its entries' accounts hold, not by entries; one entry holds at most half.
 */
import { createHash } from 'node:crypto';
import { isEqnOf } from '../ir/program.js';
import type { CheckedGraph } from './check.js';
import { withinCounts, type Limits } from './limits.js';

/**
 * Bytes kept on behalf of one graph: its plans, derivative programs and compiled
 * code (with their buffers) charge it as they are built. A charge that would pass
 * the limit is refused and records nothing: the caller then keeps nothing (builds
 * again next time, or allocates per run), so what a graph keeps stays bounded
 * however large its programs grow.
 */
export class MemoryAccount {
  bytes = 0;

  /** `onCharge` (the cache's) sees every accepted charge, to keep its total and evict. */
  constructor(
    readonly limit: number,
    private readonly onCharge?: (bytes: number) => void,
  ) {}

  charge(bytes: number): boolean {
    if (this.bytes + bytes > this.limit) return false;
    this.bytes += bytes;
    this.onCharge?.(bytes);
    return true;
  }
}

export interface PlanCacheEntry {
  readonly graph: CheckedGraph;
  /** What later stages derive from this graph (plans by constant set and outputs, ...). */
  readonly memo: Map<string, unknown>;
  /** What they keep, counted against the cache. */
  readonly account: MemoryAccount;
}

/** Canonical texts up to this length are used as keys directly. */
const SMALL_KEY_CHARS = 4096;

/** Rough bytes of a checked equation (its object, arguments, attributes, value info); const data is counted apart. */
const BYTES_PER_EQUATION = 256;

export class PlanCache {
  private readonly entries = new Map<string, PlanCacheEntry>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(private limit: number) {}

  get maxBytes(): number {
    return this.limit;
  }

  /** One graph may keep at most this much, so that a cache always holds a few. */
  get maxEntryBytes(): number {
    return Math.floor(this.limit / 2);
  }

  /** A new budget (the service splits CACHE_BYTES across its threads); evicts down to it. */
  resize(maxBytes: number): void {
    this.limit = maxBytes;
    this.evict();
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.used;
  }

  /** Whether `key` is cached, without counting a hit or miss or touching its recency. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): PlanCacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    // Map keeps insertion order: re-inserting marks the entry most recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.hits++;
    return entry;
  }

  set(key: string, graph: CheckedGraph): PlanCacheEntry {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.used -= old.account.bytes;
    }
    const base = estimateBytes(graph) + key.length * 2;
    if (base > this.maxEntryBytes) return detached(graph, this.maxEntryBytes); // too big to keep: used once
    const entry: PlanCacheEntry = {
      graph,
      memo: new Map(),
      // charges arrive while the entry is most recently used (its request is running): evict others
      account: new MemoryAccount(this.maxEntryBytes, (bytes) => {
        if (this.entries.get(key) !== entry) return; // evicted meanwhile: no longer counted
        this.used += bytes;
        this.evict(key);
      }),
    };
    entry.account.charge(base);
    this.entries.set(key, entry);
    this.used += base;
    this.evict(key);
    return entry;
  }

  /** Drops least recently used entries (never `keep`) until the total fits. */
  private evict(keep?: string): void {
    for (const [k, e] of this.entries) {
      if (this.used <= this.limit) break;
      if (k === keep) continue;
      this.entries.delete(k);
      this.used -= e.account.bytes;
    }
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }
}

/** An entry for a graph kept nowhere: its account still bounds what one call may keep while it runs. */
export function detached(graph: CheckedGraph, limit: number): PlanCacheEntry {
  return { graph, memo: new Map(), account: new MemoryAccount(limit) };
}

function estimateBytes(graph: CheckedGraph): number {
  let bytes = 0;
  for (const q of graph.program.eqns) {
    bytes += BYTES_PER_EQUATION + 8 * q.args.length;
    if (isEqnOf(q, 'const')) bytes += q.attrs.value.data.byteLength;
  }
  return bytes;
}

/**
 * The cache key of a raw (unchecked) graph, or undefined when it is not even
 * shaped like a graph (the full checks will say what is wrong).
 */
export function graphKey(raw: unknown, limits: Limits): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { nodes } = raw as { nodes?: unknown };
  if (!Array.isArray(nodes) || !withinCounts(raw, limits)) return undefined;
  const ids: string[] = [];
  for (const n of nodes) {
    if (typeof n !== 'object' || n === null || typeof (n as { id?: unknown }).id !== 'string') return undefined;
    ids.push((n as { id: string }).id);
  }
  const order = ids.map((_, i) => i).sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : a - b));
  const parts = [`limits:${limits.maxNodes},${limits.maxInputs},${limits.maxElements}`];
  try {
    for (const k of Object.keys(raw).sort())
      if (k !== 'nodes') parts.push(`${JSON.stringify(k)}:${canonical((raw as Record<string, unknown>)[k])}`);
    for (const i of order) parts.push(`node:${nodeText(nodes[i] as Record<string, unknown>)}`);
  } catch {
    return undefined;
  }
  const text = parts.join(';');
  // A small graph's canonical text is its own key (no hashing); a large one's is its SHA-256.
  return text.length <= SMALL_KEY_CHARS ? `c:${text}` : `h:${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * A node's canonical text: its keys sorted, each value as JSON.stringify writes it
 * (fast, native), plus a note of every number JSON cannot tell apart (-0, NaN,
 * ±Infinity), so that no two different nodes share a text. A nested object whose
 * keys come in another order only gives another text: a miss, never a wrong hit.
 */
function nodeText(node: Record<string, unknown>): string {
  let text = '';
  for (const k of Object.keys(node).sort()) {
    const v = node[k];
    text += `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'undefined'}${specialNumbers(v)},`;
  }
  return text;
}

/** Positions and kinds of -0, NaN and ±Infinity in a value ('' when there are none, as usual). */
function specialNumbers(v: unknown, path = '', depth = 0): string {
  if (depth > 100) throw new Error('too deep');
  if (typeof v === 'number') {
    if (Number.isFinite(v) && !Object.is(v, -0)) return '';
    return `<${path}=${Object.is(v, -0) ? '-0' : String(v)}>`;
  }
  if (Array.isArray(v)) {
    let out = '';
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'number' && Number.isFinite(x) && !Object.is(x, -0)) continue;
      out += specialNumbers(x, `${path}.${i}`, depth + 1);
    }
    return out;
  }
  if (typeof v === 'object' && v !== null) {
    let out = '';
    for (const k of Object.keys(v)) out += specialNumbers((v as Record<string, unknown>)[k], `${path}.${k}`, depth + 1);
    return out;
  }
  return '';
}

/** JSON with object keys sorted; arrays in order. Throws on cycles (the caller treats that as "no key"). */
function canonical(v: unknown, depth = 0): string {
  if (depth > 100) throw new Error('too deep');
  if (Array.isArray(v)) {
    // arrays of plain numbers (const data, shapes, args) are most of a graph's bytes
    let plain = true;
    for (const x of v)
      if (typeof x !== 'number' || Object.is(x, -0)) {
        plain = false;
        break;
      }
    return plain ? `[${v.join(',')}]` : `[${v.map((x) => canonical(x, depth + 1)).join(',')}]`;
  }
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k], depth + 1)}`).join(',')}}`;
  }
  if (Object.is(v, -0)) return '-0'; // JSON.stringify(-0) is "0", and 1/-0 is not 1/0
  return JSON.stringify(v) ?? 'undefined';
}
