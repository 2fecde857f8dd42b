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
  /** Quick keys (quickGraphKey) that lead here too, so eviction can drop them. */
  readonly aliases?: string[];
  /** What later stages derive from this graph (plans by constant set and outputs, ...). */
  readonly memo: Map<string, unknown>;
  /** What they keep, counted against the cache. */
  readonly account: MemoryAccount;
}

/**
 * The memo entry under which a cached graph's memo keeps the key it is cached
 * under (cacheKeyOf): what a thread handing a checked request to another sends
 * instead of the graph (api/handoff.ts). Absent from a detached entry's memo.
 */
export const CACHE_KEY = 'cache:key';

/** The key the graph whose memo this is was cached under, or undefined when it is not cached. */
export function cacheKeyOf(memo: ReadonlyMap<string, unknown>): string | undefined {
  return memo.get(CACHE_KEY) as string | undefined;
}

/** Canonical texts up to this length are used as keys directly. */
const SMALL_KEY_CHARS = 4096;

/** Quick keys one entry may have. */
const MAX_ALIASES = 4;
/** Graphs whose JSON text is longer than this get no quick key: their canonical key is hashed anyway. */
const MAX_QUICK_KEY_CHARS = 64 * 1024;

/** Rough bytes of a checked equation (its object, arguments, attributes, value info); const data is counted apart. */
const BYTES_PER_EQUATION = 256;

export class PlanCache {
  private readonly entries = new Map<string, PlanCacheEntry>();
  /** Quick key -> key: the same graph as its sender wrote it, found without computing its canonical form. */
  private readonly quick = new Map<string, string>();
  private used = 0;
  /** The key last inserted, so the most recently used (or undefined after a clear). */
  private newest: string | undefined;
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
    // Map keeps insertion order: re-inserting marks the entry most recently used
    // (unless it already is: one hot graph then costs no reinsertion per call).
    if (key !== this.newest) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.newest = key;
    }
    this.hits++;
    return entry;
  }

  /** The entry a quick key (quickGraphKey) was recorded for, as get() finds it; undefined when there is none. */
  getQuick(quick: string): PlanCacheEntry | undefined {
    const key = this.quick.get(quick);
    return key === undefined ? undefined : this.get(key);
  }

  /**
   * Records that `quick` names the graph cached under `key`. Charged to the entry
   * like anything else it keeps, and at most MAX_ALIASES per entry (one graph sent
   * in many key orders gets a few).
   */
  alias(quick: string, key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined || this.quick.has(quick) || (entry.aliases?.length ?? 0) >= MAX_ALIASES) return;
    if (!entry.account.charge(2 * quick.length + 64)) return;
    (entry.aliases as string[]).push(quick);
    this.quick.set(quick, key);
  }

  set(key: string, graph: CheckedGraph): PlanCacheEntry {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.used -= old.account.bytes;
      this.dropAliases(old);
    }
    const base = estimateBytes(graph) + key.length * 2;
    if (base > this.maxEntryBytes) return detached(graph, this.maxEntryBytes); // too big to keep: used once
    const entry: PlanCacheEntry = {
      graph,
      aliases: [],
      memo: new Map([[CACHE_KEY, key]]),
      // charges arrive while the entry is most recently used (its request is running): evict others
      account: new MemoryAccount(this.maxEntryBytes, (bytes) => {
        if (this.entries.get(key) !== entry) return; // evicted meanwhile: no longer counted
        this.used += bytes;
        this.evict(key);
      }),
    };
    entry.account.charge(base);
    this.entries.set(key, entry);
    this.newest = key;
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
      this.dropAliases(e);
    }
  }

  private dropAliases(entry: PlanCacheEntry): void {
    for (const q of entry.aliases ?? []) this.quick.delete(q);
  }

  clear(): void {
    this.entries.clear();
    this.newest = undefined;
    this.quick.clear();
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
    // a loop's body is a program of its own, kept with the graph
    if (isEqnOf(q, 'scan')) bytes += BYTES_PER_EQUATION * q.attrs.body.equations;
  }
  return bytes;
}

/**
 * The cache key of a raw (unchecked) graph, or undefined when it is not even
 * shaped like a graph (the full checks will say what is wrong).
 */
export function graphKey(raw: unknown, limits: Limits): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  // A graph of formulas only has no `nodes`: its `define` is keyed like any other field.
  const nodes = Object.hasOwn(raw, 'nodes') ? (raw as { nodes?: unknown }).nodes : [];
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
 * The graph exactly as its sender wrote it (JSON.stringify: key order and node
 * order as given), with the limits: the same graph sent again in the same form
 * finds its entry through PlanCache.alias without the canonical form being
 * computed. Undefined when the text would not say everything: a number JSON
 * cannot write (-0, NaN, ±Infinity), a value it drops or rewrites (undefined, a
 * function, toJSON), or a text too long to be worth keeping.
 */
export function quickGraphKey(raw: unknown, limits: Limits): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const prefix = `q:${limits.maxNodes},${limits.maxInputs},${limits.maxElements}:`;
  const known = immutableKeys.get(raw);
  if (known?.startsWith(prefix)) return known;
  // An object sent before: if it still holds what it held then, the key it had, found by
  // comparing (no text written, and the same string, whose hash V8 keeps).
  const last = lastSeen.get(raw);
  if (last?.copy !== undefined && last.prefix === prefix && sameJson(raw, last.copy, 0)) return last.key;
  const key = computeQuickKey(raw, prefix);
  // The same string each time for an object that cannot change: its hash is computed once.
  if (key !== undefined && immutableKeys.has(raw)) immutableKeys.set(raw, key);
  // The copy is made the second time an object comes: most (a service's parsed bodies) come once.
  else if (key !== undefined) lastSeen.set(raw, { prefix, key, copy: last ? JSON.parse(key.slice(prefix.length)) : undefined });
  return key;
}

/**
 * Graph objects a caller sent, with the key they had and (from their second time on)
 * a copy of what they held then, from the key's own text: a caller may change its
 * object between calls, so the copy is compared before the key is reused. Kept only
 * while the caller keeps the object.
 */
const lastSeen = new WeakMap<object, { prefix: string; key: string; copy?: unknown }>();

/**
 * Whether `v` would be written as exactly the JSON text `copy` was parsed from: the
 * same keys in the same order, the same strings, booleans and nulls, and numbers
 * JSON writes (finite, not -0) that are equal. What plainJson accepts, compared
 * instead of written.
 */
function sameJson(v: unknown, copy: unknown, depth: number): boolean {
  if (depth > 100) return false;
  if (typeof v === 'number') return v === copy && (v !== 0 || !Object.is(v, -0));
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v === copy;
  if (Array.isArray(v)) {
    if (!Array.isArray(copy) || v.length !== copy.length) return false;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'number' ? x !== copy[i] || (x === 0 && Object.is(x, -0)) : !sameJson(x, copy[i], depth + 1)) return false;
    }
    return true;
  }
  if (typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return false;
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) return false;
  const keys = Object.keys(copy);
  let i = 0;
  for (const k in v) {
    if (
      !Object.hasOwn(v, k) ||
      keys[i] !== k ||
      !sameJson((v as Record<string, unknown>)[k], (copy as Record<string, unknown>)[k], depth + 1)
    )
      return false;
    i++;
  }
  return i === keys.length;
}

/**
 * Graphs deeply frozen by their owner (the graph store): their quick key is
 * remembered, since they cannot change. Anything else is read afresh every time.
 */
const immutableKeys = new WeakMap<object, string | undefined>();

/** Marks a deeply frozen graph whose quick key may be remembered; returns it. */
export function markImmutable<T extends object>(graph: T): T {
  if (Object.isFrozen(graph)) immutableKeys.set(graph, undefined);
  return graph;
}

function computeQuickKey(raw: object, prefix: string): string | undefined {
  if (!plainJson(raw, 0)) return undefined;
  let text: string;
  try {
    text = JSON.stringify(raw);
  } catch {
    return undefined;
  }
  if (text.length > MAX_QUICK_KEY_CHARS) return undefined;
  return `${prefix}${text}`;
}

/** Whether JSON.stringify writes `v` exactly: plain objects, arrays, strings, booleans, null and finite numbers other than -0. */
function plainJson(v: unknown, depth: number): boolean {
  if (depth > 100) return false;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'number' ? !Number.isFinite(x) || Object.is(x, -0) : !plainJson(x, depth + 1)) return false;
    }
    return true;
  }
  if (typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const k in v) if (!Object.hasOwn(v, k) || !plainJson((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
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
