/**
 * Structure-aware mutations of a request body for the fuzzer (fuzz.reliability.ts).
 * Each takes a deep copy of a valid request (plain JSON: graph, args, constant, …)
 * and breaks it the way a careless or hostile client would: graph structure (ids
 * dropped, duplicated, renamed; references, ops and attributes changed), shapes and
 * types, numbers (huge, tiny, NaN strings, non-finite literals in the text), nesting
 * depth, unknown keys, prototype-ish names, the constant set, the output subset, the
 * mode, missing fields, non-object bodies, and the raw text itself (truncated,
 * garbage). Some mutations leave the request valid (a shuffled node order, a
 * consistent rename to "__proto__"): the fuzzer checks those answers as well.
 *
 *   mutate(body, r)      applies one mutation; returns its name and the new body, or raw
 *                        text when the mutation works on the text
 */
import type { Rng } from '../../helpers/numeric.js';
import { WIRE_OPS } from '../../../src/ops/registry.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = { [k: string]: Json };

export interface Mutated {
  name: string;
  /** The mutated body: JSON (sent as JSON.stringify of it) or raw text. */
  body: Json | { raw: string };
  /** Set by the content-type mutation. */
  contentType?: string;
}

const OP_NAMES = WIRE_OPS.map((o) => o.name);
const INTERNAL_OPS = [
  'zmul',
  'prod_others',
  'matmul_nt',
  'slice_scatter',
  'index_add',
  'first_winner',
  'diagonal_scatter',
  'linrec',
  'last_index',
  'adjugate',
  'adjugate_jvp',
];
const ODD_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'prototype',
  'NaN',
  'Infinity',
  '',
  ' ',
  '0',
  'a.b',
  'a[0]',
  '"q"',
  '\u0000',
  'é',
  '💥',
  'x'.repeat(300),
];
const ODD_NUMBERS = [1e308, -1e308, 1.7976931348623157e308, 5e-324, -5e-324, 0, -0, 2 ** 53 + 1, 1e-300, 123456789012345680000, -1, 0.1];
const ODD_STRINGS = ['NaN', 'Infinity', '-Infinity', 'nan', 'inf', '1e5', '', '0x10', 'null'];

const clone = <T extends Json>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every [parent, key] under v (depth-first), so a random one can be replaced. */
function slots(v: Json, out: [Obj | Json[], string | number][] = []): [Obj | Json[], string | number][] {
  if (Array.isArray(v))
    v.forEach((x, i) => {
      out.push([v, i]);
      slots(x, out);
    });
  else if (isObj(v))
    for (const k of Object.keys(v)) {
      out.push([v, k]);
      slots(v[k], out);
    }
  return out;
}

function setSlot([parent, key]: [Obj | Json[], string | number], value: Json): void {
  (parent as Record<string | number, Json>)[key] = value;
}

function getSlot([parent, key]: [Obj | Json[], string | number]): Json {
  return (parent as Record<string | number, Json>)[key];
}

function junk(r: Rng, depth = 0): Json {
  switch (r.int(0, 9)) {
    case 0:
      return null;
    case 1:
      return r.next() < 0.5;
    case 2:
      return r.pick(ODD_NUMBERS);
    case 3:
      return r.pick(ODD_STRINGS);
    case 4:
      return r.pick(ODD_NAMES);
    case 5:
      return depth > 2 ? [] : Array.from({ length: r.int(0, 3) }, () => junk(r, depth + 1));
    case 6:
      return depth > 2 ? {} : Object.fromEntries(Array.from({ length: r.int(0, 3) }, () => [r.pick(ODD_NAMES), junk(r, depth + 1)]));
    case 7:
      return r.uniform(-1e6, 1e6);
    case 8:
      return r.int(-3, 3);
    default:
      return nested(r.int(2, 80), r.next() < 0.5 ? 1 : []);
  }
}

/** A value nested `depth` arrays deep around `leaf`. */
function nested(depth: number, leaf: Json): Json {
  let v: Json = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

interface Req extends Obj {
  graph: { inputs: { name: string; shape: number[] }[]; nodes: Obj[]; outputs: string[] } & Obj;
  args: Obj;
}

const asReq = (b: Json): Req | undefined => {
  if (!isObj(b) || !isObj(b.graph) || !isObj(b.args)) return undefined;
  const g = b.graph;
  return Array.isArray(g.inputs) && Array.isArray(g.nodes) && Array.isArray(g.outputs) ? (b as unknown as Req) : undefined;
};

type Mutation = (b: Req, r: Rng) => Json | { raw: string } | { contentType: string } | undefined;

const MUTATIONS: Record<string, Mutation> = {
  dropNode(b, r) {
    if (b.graph.nodes.length) b.graph.nodes.splice(r.int(0, b.graph.nodes.length - 1), 1);
  },
  duplicateNode(b, r) {
    if (b.graph.nodes.length) b.graph.nodes.push(clone(r.pick(b.graph.nodes)));
  },
  renameNode(b, r) {
    if (b.graph.nodes.length) r.pick(b.graph.nodes).id = r.pick([...ODD_NAMES, 'zz', 'x0', 'n0']);
  },
  renameConsistently(b, r) {
    // Valid: a node or input renamed everywhere (to names like __proto__ that are plain data).
    const names = [...b.graph.inputs.map((x) => x.name), ...b.graph.nodes.map((n) => String(n.id))];
    const from = r.pick(names);
    const to = r.pick(ODD_NAMES.filter((n) => n !== '' && !names.includes(n)));
    for (const x of b.graph.inputs) if (x.name === from) x.name = to;
    for (const n of b.graph.nodes) {
      if (n.id === from) n.id = to;
      if (Array.isArray(n.args)) n.args = n.args.map((a) => (a === from ? to : a));
    }
    b.graph.outputs = b.graph.outputs.map((o) => (o === from ? to : o));
    for (const key of ['args', 'tangents', 'vector', 'cotangents']) {
      const m = b[key];
      if (isObj(m) && Object.hasOwn(m, from)) {
        const v = m[from];
        delete m[from];
        Object.defineProperty(m, to, { value: v, enumerable: true, writable: true, configurable: true });
      }
    }
    for (const key of ['constant', 'outputs']) {
      const list = b[key];
      if (Array.isArray(list)) b[key] = list.map((o) => (o === from ? to : o));
    }
  },
  retargetArg(b, r) {
    const withArgs = b.graph.nodes.filter((n) => Array.isArray(n.args) && n.args.length > 0);
    if (!withArgs.length) return;
    const n = r.pick(withArgs);
    const args = n.args as Json[];
    const names = [...b.graph.inputs.map((x) => x.name), ...b.graph.nodes.map((q) => String(q.id))];
    args[r.int(0, args.length - 1)] = r.next() < 0.6 ? r.pick(names) : r.next() < 0.5 ? r.pick(ODD_NAMES) : junk(r);
  },
  changeArgCount(b, r) {
    const n = b.graph.nodes.length ? r.pick(b.graph.nodes) : undefined;
    if (!n) return;
    const args = Array.isArray(n.args) ? n.args : [];
    if (r.next() < 0.5) args.push(r.next() < 0.5 ? 1 : r.pick(b.graph.inputs.map((x) => x.name).concat(['x0'])));
    else args.pop();
    n.args = args;
  },
  shuffleNodes(b, r) {
    b.graph.nodes = r.shuffle(b.graph.nodes);
  },
  makeCycle(b, r) {
    const withArgs = b.graph.nodes.filter((n) => Array.isArray(n.args) && (n.args as Json[]).some((a) => typeof a === 'string'));
    if (withArgs.length) {
      const n = r.pick(withArgs);
      const args = n.args as Json[];
      args[args.findIndex((a) => typeof a === 'string')] = String(b.graph.nodes[b.graph.nodes.length - 1].id);
    }
  },
  dropInput(b, r) {
    if (b.graph.inputs.length) b.graph.inputs.splice(r.int(0, b.graph.inputs.length - 1), 1);
  },
  duplicateInput(b, r) {
    if (b.graph.inputs.length) b.graph.inputs.push(clone(r.pick(b.graph.inputs)));
  },
  inputShape(b, r) {
    if (!b.graph.inputs.length) return;
    const x = r.pick(b.graph.inputs);
    const choices: Json[] = [
      [...x.shape, 2],
      x.shape.slice(1),
      [r.int(0, 5)],
      [-1],
      [1.5],
      [1e9, 1e9],
      nested(70, 2),
      'big',
      [100000, 100000],
      Array(70).fill(1),
    ];
    (x as unknown as Obj).shape = r.pick(choices);
  },
  argShape(b, r) {
    const names = Object.keys(b.args);
    if (!names.length) return;
    const k = r.pick(names);
    const v = b.args[k];
    const choices: Json[] = [
      [v],
      Array.isArray(v) ? v.slice(1) : [v, v],
      Array.isArray(v) ? v.flat(Infinity as 1) : 7,
      Array.isArray(v) ? [...v, ...v] : [],
      {},
      'x',
    ];
    b.args[k] = r.pick(choices);
  },
  wrongType(b, r) {
    const all = slots(b);
    if (all.length) setSlot(r.pick(all), junk(r));
  },
  hugeNumber(b, r) {
    const nums = slots(b).filter((s) => typeof getSlot(s) === 'number');
    if (nums.length) setSlot(r.pick(nums), r.pick(ODD_NUMBERS));
  },
  nanString(b, r) {
    const nums = slots(b).filter((s) => typeof getSlot(s) === 'number');
    if (nums.length) setSlot(r.pick(nums), r.pick(ODD_STRINGS));
  },
  deepNesting(b, r) {
    const depth = r.pick([65, 66, 200, 1000, 3000]);
    const names = Object.keys(b.args);
    if (names.length && r.next() < 0.5) b.args[r.pick(names)] = nested(depth, 1);
    else b.graph.nodes.push({ id: 'deep', op: 'const', value: nested(depth, 1) });
  },
  deepObject(b, r) {
    let v: Json = 1;
    for (let i = 0, d = r.pick([50, 500, 2000]); i < d; i++) v = { a: v };
    b[r.pick(['extra', 'graph', 'args', 'mode'])] = v;
  },
  unknownKey(b, r) {
    const where: Obj[] = [
      b,
      b.graph,
      b.args,
      ...(b.graph.nodes.length ? [r.pick(b.graph.nodes)] : []),
      ...(b.graph.inputs.length ? [r.pick(b.graph.inputs) as unknown as Obj] : []),
    ];
    const target = r.pick(where);
    Object.defineProperty(target, r.pick([...ODD_NAMES, 'extra', 'axis', 'shape', 'args']), {
      value: junk(r),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  },
  manyUnknownKeys(b, r) {
    const n = r.pick([150, 1000, 5000]);
    for (let i = 0; i < n; i++) b.args[`u${i}`] = 0;
  },
  randomOp(b, r) {
    if (!b.graph.nodes.length) return;
    r.pick(b.graph.nodes).op = r.next() < 0.8 ? r.pick(OP_NAMES) : r.pick([...INTERNAL_OPS, 'nope', '', 'MUL', 7 as unknown as string]);
  },
  randomAttr(b, r) {
    if (!b.graph.nodes.length) return;
    const n = r.pick(b.graph.nodes);
    const attr = r.pick(['axes', 'keepdims', 'perm', 'shape', 'start', 'stop', 'step', 'axis', 'indices', 'value', 'min', 'max']);
    const values: Json[] = [[99], [-99], [0, 0], [], [1.5], true, 'yes', 0, -1, 1e9, [1e9, 1e9], nested(70, 0), [[1, 2], [3]], 'NaN', null];
    n[attr] = r.pick(values);
  },
  constantSet(b, r) {
    const names = b.graph.inputs.map((x) => x.name);
    b.constant = Array.from({ length: r.int(0, 4) }, () => (r.next() < 0.7 && names.length ? r.pick(names) : r.pick(ODD_NAMES)));
  },
  outputsSubset(b, r) {
    const names = [...b.graph.outputs, ...b.graph.nodes.map((n) => String(n.id))];
    b.outputs = r.next() < 0.1 ? [] : Array.from({ length: r.int(1, 3) }, () => (r.next() < 0.8 ? r.pick(names) : r.pick(ODD_NAMES)));
  },
  graphOutputs(b, r) {
    const names = [...b.graph.inputs.map((x) => x.name), ...b.graph.nodes.map((n) => String(n.id))];
    b.graph.outputs =
      r.next() < 0.1 ? [] : Array.from({ length: r.int(1, 3) }, () => (r.next() < 0.8 && names.length ? r.pick(names) : r.pick(ODD_NAMES)));
  },
  mode(b, r) {
    b.mode = r.pick(['auto', 'forward', 'reverse', 'fd', 'backward', '', 'FORWARD', 3 as unknown as string, null as unknown as string]);
  },
  check(b, r) {
    b.check = r.pick([true, false, 'true', 1, null]);
  },
  dropField(b, r) {
    delete b[r.pick(['graph', 'args', 'constant', 'tangents', 'cotangents', 'vector'])];
  },
  bigLeaf(b, r) {
    b.graph.nodes.push(
      r.pick<Obj>([
        { id: 'big', op: 'fill', shape: [100000, 1000], value: 1 },
        { id: 'big', op: 'range', stop: 1e12 },
        { id: 'big', op: 'range', stop: 1, step: 0 },
        { id: 'big', op: 'fill', shape: Array(70).fill(1), value: 1 },
      ]),
    );
    if (r.next() < 0.5) b.graph.outputs.push('big');
  },
  rootJunk(_b, r) {
    return r.pick<Json>([[], null, 0, 'graph', true, [{ graph: {} }], {}]);
  },
  nonFiniteText(b, r) {
    const text = JSON.stringify(b);
    const at = numberTokens(text);
    if (!at.length) return { raw: text };
    const [start, end] = r.pick(at);
    return { raw: text.slice(0, start) + r.pick(['1e999', '-1e999', '1e400', '2e308']) + text.slice(end) };
  },
  truncate(b, r) {
    const text = JSON.stringify(b);
    return { raw: text.slice(0, r.int(0, text.length - 1)) };
  },
  garbage(b, r) {
    const text = JSON.stringify(b);
    const at = r.int(0, text.length);
    return { raw: text.slice(0, at) + r.pick(['}', ']', ',', '"', '\\', '\u0000', 'NaN', '//', '\ufeff', '{"a":']) + text.slice(at) };
  },
  contentType(_b, r) {
    return {
      contentType: r.pick([
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        'application/jsonx',
        'multipart/form-data',
      ]),
    };
  },
};

/** [start, end) of every number token of JSON text (not digits inside strings). */
function numberTokens(text: string): [number, number][] {
  const out: [number, number][] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      const m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 40));
      if (m) {
        out.push([i, i + m[0].length]);
        i += m[0].length - 1;
      }
    }
  }
  return out;
}

export const MUTATION_NAMES = Object.keys(MUTATIONS);

export function mutate(body: Json | { raw: string }, r: Rng, contentType?: string): Mutated {
  const name = r.pick(MUTATION_NAMES);
  if (typeof body === 'object' && body !== null && 'raw' in body && typeof body.raw === 'string')
    return { name: `${name} (on text: none)`, body, contentType };
  const copy = clone(body as Json);
  const req = asReq(copy);
  if (!req) return { name: `${name} (not a request: none)`, body: copy, contentType };
  let out: ReturnType<Mutation>;
  try {
    out = MUTATIONS[name](req, r);
  } catch {
    // An earlier mutation left junk where this one expects structure (a null node, …): nothing to do.
    return { name: `${name} (on junk: none)`, body: copy, contentType };
  }
  if (out === undefined) return { name, body: req, contentType };
  if (typeof out === 'object' && out !== null && 'contentType' in out) return { name, body: req, contentType: String(out.contentType) };
  return { name, body: out as Json | { raw: string }, contentType };
}
