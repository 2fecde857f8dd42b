/**
 * Fusion regions: which equations of a list share one loop, in what order the
 * loops and the remaining equations (steps) run, and which values need a buffer.
 *
 * A region walks one iteration space: n elements, and, when k > 1, either every
 * direction of a batch or none (at k = 1 a batched value has the unbatched layout,
 * so both kinds share loops). Its members are
 *   - elementwise ops, computing element i from element i of values made in the
 *     loop and from arrays read through index maps (broadcasting);
 *   - ops that only move elements (slice, transpose, index, slice_scatter), as reads
 *     through their index map from an array made before the loop;
 *   - sums of a value of the loop, as accumulators: their result exists only after
 *     the loop, so nothing in the loop may read it.
 * Anything else is a step, run by the interpreter's evalEqn.
 *
 * Regions stay open while equations after them join, so a constant or a step in
 * between does not split a loop; a region is closed (emitted) when an equation
 * outside it needs one of its values. Open regions never read each other's values
 * (the reader would have closed the writer first), so the emitted order is a valid
 * order of the list.
 *
 * Liveness: a value made in a loop gets a buffer only when something outside its
 * region reads it, or the caller keeps it (the outputs of the list, the residuals
 * derivative programs read); every other value lives in a local for one element.
 */
import { isEqnOf, type Eqn, type ValueId, type ValueTable } from '../ir/program.js';
import { reductionGroups } from '../tensor/broadcast.js';
import { sizeOf } from '../tensor/tensor.js';
import { broadcastMap, classify, compose, MAX_PERIOD, mapBytes, movedMap, SAME, type IndexMap } from './maps.js';

/** Most equations in one loop: past a few hundred V8 optimises a loop body poorly. */
export const MAX_GROUP_EQNS = 256;

/** How a member computes its element. */
export type Role =
  | { readonly kind: 'apply'; readonly reads: readonly Read[] }
  | { readonly kind: 'view'; readonly read: Read }
  | { readonly kind: 'sum'; readonly read: Read; readonly groups: IndexMap | null; readonly count: number };

/** An operand: a value made in the loop (local) or an array read through a map. */
export type Read = { readonly local: ValueId } | { readonly array: ValueId; readonly map: IndexMap };

export interface Member {
  readonly q: Eqn;
  readonly role: Role;
}

export interface Region {
  readonly n: number;
  /** Loops over the k directions of a batch (only when k > 1 and its values are batched). */
  readonly directions: boolean;
  readonly members: Member[];
  /** Members whose value something outside the region reads, or the caller keeps. */
  readonly buffered: Set<ValueId>;
  /** Wider regions run inside this one's loop, `unroll` of their elements per element of it (see nest). */
  readonly nested: { region: Region; unroll: number }[];
}

export type Item = { readonly step: Eqn } | { readonly region: Region };

/** Which values the caller reads after the list: a set, or every value (the reference behaviour). */
export type Keep = ReadonlySet<ValueId> | 'all';

type Fusible = { kind: 'apply' | 'view' | 'sum'; n: number; batched: boolean; viewMap?: IndexMap };

/**
 * Splits `eqns` into steps and regions for batch size k. `afford(bytes)` pays for an
 * index table kept with the code; an equation whose table it refuses runs as a step.
 */
export function planRegions(eqns: readonly Eqn[], values: ValueTable, k: number, keep: Keep, afford: (bytes: number) => boolean): Item[] {
  const items: Item[] = [];
  const open = new Map<string, Region>();
  const regionOf = new Map<ValueId, Region>(); // values made by open regions
  const memberOf = new Map<ValueId, Member>();
  const openRegions = new Set<Region>();
  const deps = new Map<Region, Set<Region>>(); // open regions a region reads values of

  /** Emits r after the open regions it reads from. */
  const close = (r: Region): void => {
    if (!openRegions.has(r)) return;
    openRegions.delete(r);
    for (const d of deps.get(r) ?? []) close(d);
    for (const [key, o] of open) if (o === r) open.delete(key);
    for (const m of r.members) regionOf.delete(m.q.out);
    items.push({ region: r });
  };
  /** Whether open region `from` must be emitted after `r` (it reads r's values, perhaps through others). */
  const after = (from: Region, r: Region): boolean => {
    if (from === r) return true;
    for (const d of deps.get(from) ?? []) if (openRegions.has(d) && after(d, r)) return true;
    return false;
  };

  for (const q of eqns) {
    const f = fusibleAs(q, values, afford);
    const key = f ? `${f.n}|${k > 1 && f.batched}` : '';
    let target = f ? open.get(key) : undefined;
    // The target cannot serve when it holds a sum q reads, holds an element q would move
    // (only arrays made before the loop can be read at another index), reads (through
    // other regions) a value of a region q reads, or is full.
    if (target) {
      const t = target;
      const blocked = q.args.some((a) => {
        const r = regionOf.get(a);
        if (r === undefined) return false;
        if (r !== t) return after(r, t);
        const m = memberOf.get(a) as Member;
        return m.role.kind === 'sum' || (f?.kind === 'view' && m.role.kind !== 'view');
      });
      if (blocked || t.members.length >= MAX_GROUP_EQNS) {
        close(t);
        target = undefined;
      }
    }
    if (!f) {
      for (const a of q.args) {
        const r = regionOf.get(a);
        if (r !== undefined) close(r);
      }
      items.push({ step: q });
      continue;
    }
    if (!target) {
      target = { n: f.n, directions: k > 1 && f.batched, members: [], buffered: new Set(), nested: [] };
      open.set(key, target);
      openRegions.add(target);
      deps.set(target, new Set());
    }
    // Other open regions q reads from stay open: the target is emitted after them.
    for (const a of q.args) {
      const r = regionOf.get(a);
      if (r !== undefined && r !== target) (deps.get(target) as Set<Region>).add(r);
    }
    const member: Member = { q, role: roleOf(q, f, values, target, memberOf, regionOf) };
    target.members.push(member);
    regionOf.set(q.out, target);
    memberOf.set(q.out, member);
  }
  for (const r of [...open.values()]) close(r);
  const nestedItems = nest(items);
  markBuffers(nestedItems, keep);
  return nestedItems;
}

/**
 * Moves a region into the loop of the region emitted just before it when it walks
 * `unroll` times as many elements and reads that region's values only at element
 * j of its elements unroll·j + q (or not at all there): a reverse sweep's
 * slice_scatters and the sum of their results then become stores of the
 * cotangents where they are made, with no buffer between the two loops.
 */
function nest(items: readonly Item[]): Item[] {
  const out: Item[] = [];
  for (const it of items) {
    const prev = out[out.length - 1];
    if ('region' in it && prev !== undefined && 'region' in prev && nests(it.region, prev.region)) {
      prev.region.nested.push({ region: it.region, unroll: it.region.n / prev.region.n });
      continue;
    }
    out.push(it);
  }
  return out;
}

function nests(w: Region, host: Region): boolean {
  if (w.directions !== host.directions || host.nested.length > 0 || w.nested.length > 0 || unrollOf(host) !== 1) return false;
  const unroll = w.n / host.n;
  if (!Number.isInteger(unroll) || unroll < 2 || unrollOf(w) !== unroll) return false;
  const made = new Set(host.members.map((m) => m.q.out));
  if (host.members.some((m) => m.role.kind === 'sum')) return false; // its results exist only after the loop
  for (const m of w.members) {
    const reads = m.role.kind === 'apply' ? m.role.reads : [m.role.read];
    for (const x of reads) if ('array' in x && made.has(x.array) && !readsElementJ(x.map, unroll)) return false;
  }
  return true;
}

/** Whether a map of a loop unrolled `unroll` times reads element j (or a hole) at every position. */
function readsElementJ(m: IndexMap, unroll: number): boolean {
  if (m.kind !== 'periodic' || unroll % m.period !== 0 || (m.shift * unroll) / m.period !== 1) return false;
  for (let q = 0; q < unroll; q++) {
    const first = m.base[q % m.period];
    if (first >= 0 && first + m.shift * Math.floor(q / m.period) !== 0) return false;
  }
  return true;
}

/** The loop's unroll: the least common multiple of its periodic maps' periods, when that is small and divides n. */
export function unrollOf(r: Region): number {
  let u = 1;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  for (const m of r.members) {
    const maps = m.role.kind === 'apply' ? m.role.reads : [m.role.read];
    const all: IndexMap[] = maps.flatMap((x) => ('map' in x ? [x.map] : []));
    if (m.role.kind === 'sum' && m.role.groups) all.push(m.role.groups);
    for (const map of all) {
      if (map.kind !== 'periodic') continue;
      const next = (u * map.period) / gcd(u, map.period);
      if (next <= MAX_PERIOD && r.n % next === 0) u = next;
    }
  }
  return u;
}

function fusibleAs(q: Eqn, values: ValueTable, afford: (bytes: number) => boolean): Fusible | undefined {
  const out = values.info(q.out);
  const n = sizeOf(out.shape);
  if (q.op.sameData && values.info(q.args[0]).batched === out.batched) return undefined; // free as a step: it passes its array on
  if (q.op.elementwise && (q.op.perElement || q.op.perElementWith) && q.args.length > 0) return { kind: 'apply', n, batched: out.batched };
  if (isEqnOf(q, 'sum')) {
    const arg = values.info(q.args[0]);
    return { kind: 'sum', n: sizeOf(arg.shape), batched: arg.batched };
  }
  if (q.op.movesElements && q.op.arity === 1 && values.info(q.args[0]).batched === out.batched) {
    const map = movedMap(q, values.info(q.args[0]).shape, out.shape);
    if (map && afford(mapBytes(map))) return { kind: 'view', n, batched: out.batched, viewMap: map };
  }
  return undefined;
}

function roleOf(
  q: Eqn,
  f: Fusible,
  values: ValueTable,
  target: Region,
  memberOf: Map<ValueId, Member>,
  regionOf: Map<ValueId, Region>,
): Role {
  const local = (a: ValueId): boolean => regionOf.get(a) === target;
  const outShape = values.info(q.out).shape;
  if (f.kind === 'apply') {
    return {
      kind: 'apply',
      reads: q.args.map((a) => (local(a) ? { local: a } : { array: a, map: broadcastMap(values.info(a).shape, outShape) })),
    };
  }
  const a = q.args[0];
  if (f.kind === 'sum' && isEqnOf(q, 'sum')) {
    const argShape = values.info(a).shape;
    const out = sizeOf(outShape);
    const read: Read = local(a) ? { local: a } : { array: a, map: SAME };
    if (out === 1) return { kind: 'sum', read, groups: null, count: 1 };
    return { kind: 'sum', read, groups: classify(reductionGroups(argShape, q.attrs.axes as number[]).index), count: out };
  }
  const map = f.viewMap as IndexMap;
  // A move of a move reads the first one's array through both maps.
  const inner = local(a) ? (memberOf.get(a) as Member).role : undefined;
  if (inner?.kind === 'view' && 'array' in inner.read) {
    const base = inner.read.array;
    return { kind: 'view', read: { array: base, map: compose(inner.read.map, sizeOf(values.info(a).shape), map, f.n) } };
  }
  return { kind: 'view', read: { array: a, map } };
}

/** Buffers for what is read outside its region, and what the caller keeps; sums always write theirs. */
function markBuffers(items: readonly Item[], keep: Keep): void {
  const home = new Map<ValueId, Region>();
  const hostOf = new Map<Region, Region>();
  for (const it of items) {
    if (!('region' in it)) continue;
    for (const m of it.region.members) home.set(m.q.out, it.region);
    for (const w of it.region.nested) {
      hostOf.set(w.region, it.region);
      for (const m of w.region.members) home.set(m.q.out, w.region);
    }
  }
  // A nested region reads its host's values as locals (nest checked it reads them in step).
  const need = (v: ValueId, from: Region | undefined): void => {
    const r = home.get(v);
    if (r !== undefined && r !== from && (from === undefined || hostOf.get(from) !== r)) r.buffered.add(v);
  };
  const regions = items.flatMap((it) => ('region' in it ? [it.region, ...it.region.nested.map((w) => w.region)] : []));
  for (const it of items) {
    if (!('step' in it)) continue;
    for (const a of it.step.args) need(a, undefined);
  }
  for (const region of regions) {
    const it = { region };
    for (const m of it.region.members) {
      if (m.role.kind === 'sum') it.region.buffered.add(m.q.out);
      for (const a of m.q.args) need(a, it.region);
      // a view of a view reads the first view's array, made outside
      if (m.role.kind === 'view' && 'array' in m.role.read) need(m.role.read.array, it.region);
    }
  }
  for (const [v, r] of home) if (keep === 'all' || keep.has(v)) r.buffered.add(v);
}
