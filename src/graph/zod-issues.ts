/**
 * zod issues, restated with the path of the offending value and what was found:
 * what makes a 400 say where and what, not only that something failed.
 */
import type { z } from 'zod';
import { describe } from '../tensor/nested.js';
import { findOp, WIRE_OPS } from '../ops/registry.js';
import { formatPath, type IssueList, type Issue } from './errors.js';
import { FunctionSchema, GraphSchema, InputSchema, RequestSchemas, type Operation } from './schema.js';

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
function knownKeys(
  path: readonly PropertyKey[],
  raw: unknown,
  operation: Operation,
): { what: string; of?: string; keys: string[] } | undefined {
  const [a, b] = path;
  if (path.length === 0) return { what: 'field', keys: Object.keys(RequestSchemas[operation].shape) };
  if (a === 'graph' && path.length === 1) return { what: 'field', keys: Object.keys(GraphSchema.shape) };
  if (a === 'graph' && b === 'inputs' && path.length === 3) return { what: 'field', keys: Object.keys(InputSchema.shape) };
  const inFunction = a === 'graph' && b === 'functions' && path.length >= 3;
  if (inFunction && path.length === 3) return { what: 'field', keys: Object.keys(FunctionSchema.shape) };
  if (inFunction && path[3] === 'inputs' && path.length === 5) return { what: 'field', keys: Object.keys(InputSchema.shape) };
  if ((a === 'graph' && b === 'nodes' && path.length === 3) || (inFunction && path[3] === 'nodes' && path.length === 5)) {
    const op = findOp(String(valueAt(raw, [...path, 'op'])));
    if (op) return { what: 'attribute', of: op.name, keys: Object.keys(op.attrs) };
  }
  return undefined;
}

/** Restates one zod issue as derivd issues (an unknown-keys issue is one per key) into `out`. */
export function zodIssue(issue: z.core.$ZodIssue, raw: unknown, operation: Operation, out: IssueList): void {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path, raw, operation);
    const expected = !known
      ? ''
      : known.keys.length > 0
        ? `: expected one of ${known.keys.join(', ')}`
        : `: ${known.of} takes no ${known.what}s`;
    const of = known?.of ? ` of ${known.of}` : '';
    for (const key of issue.keys) {
      out.add(() => ({
        path: formatPath([...issue.path, key]),
        message: `unknown ${known?.what ?? 'field'} ${JSON.stringify(key)}${of}${expected}`,
      }));
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
