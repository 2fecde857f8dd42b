/**
 * Every example with shown output in README.md and docs/graph-format.md is run, and
 * its output compared with what the page shows. The examples are read from the
 * markdown itself (code blocks, and the inline examples of docs/graph-format.md's
 * op reference), so changing a shown digit, or the behaviour behind it, fails here.
 *
 *   - Numbers are compared digit for digit (the pages show shortest round-trip
 *     doubles, as the service writes them); arrays shown abridged with … are
 *     compared at the positions the page names.
 *   - What depends on timing or on the cost model's calibration is compared by form:
 *     `timings` (the same fields, non-negative milliseconds rounded to the
 *     microsecond) and the estimates in `reason` ("estimated at 810 ns vs 6.04 µs":
 *     any two figures, the lower first); the words and counts of `reason` are exact.
 *   - An example whose request is given in words, not as code (y = sqrt(x) at
 *     x = [0, 4], the limit messages, ...) is built here from the numbers and
 *     names the page gives, read from the page; the output is still the page's.
 *
 * Every curl example (an sh block running curl) is run for real: bash runs the block
 * with the curl binary against a listening service (buildApp with DEFAULT_CONFIG, on
 * 127.0.0.1 and a free port put in place of 8080), and what it prints is checked as
 * the JSON example next to it. Without a curl binary those tests are skipped, and
 * their names say so (.ci/run installs curl).
 *
 * A last test checks that every json, text and ts block, and every curl block, of both
 * pages was used as an example's input or output, or is listed below as neither (with
 * the reason), so a new example cannot go unchecked.
 *
 * Not checked: measured figures (the README's benchmark table, the timings quoted in
 * prose such as "planMs was 0.019 on a repeat") and the README's memory-sizing
 * arithmetic, which is prose (test/deploy/k8s.test.ts checks the rule itself).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, test } from 'vitest';
import * as library from '../src/index.js';
import {
  canonicalGraph,
  DerivdError,
  explain,
  GraphStore,
  PlanCache,
  operations,
  prepare,
  registerGraph,
  respond,
  SHARED_CACHE,
  type Operation,
  type Result,
} from '../src/index.js';
import { sinExpGraph } from './helpers/requests.js';
import { d as seedD, graph as fixtureGraph } from './helpers/seed.js';
import { buildApp } from '../src/server/app.js';
import { DEFAULT_CONFIG } from '../src/server/config.js';
import { useApps } from './helpers/server.js';

// --- the pages and their blocks ------------------------------------------------------------

interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  text: string;
  /** The prose between the previous block and this one. */
  prose: string;
}

function fenced(file: string): { md: string; blocks: Block[] } {
  const md = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
  const lines = md.split('\n');
  const blocks: Block[] = [];
  let prose: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]);
    if (!open) {
      prose.push(lines[i]);
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(open[1].length));
    blocks.push({ file, line: start + 1, lang: open[2], text: body.join('\n'), prose: prose.join('\n') });
    prose = [];
  }
  return { md, blocks };
}

const README = fenced('README.md');
const GUIDE = fenced('docs/graph-format.md');

/** What each block was used for; the coverage test requires one entry per json, text and ts block. */
const used = new Map<Block, string>();

/** The one block of `page` that `pick` selects, recorded as used for `what`. */
function block(page: { blocks: Block[] }, what: string, pick: (b: Block) => boolean): Block {
  const found = page.blocks.filter(pick);
  if (found.length !== 1) throw new Error(`${what}: expected one block, found ${found.length} (the page changed: update this test)`);
  used.set(found[0], what);
  return found[0];
}

/** The block right after `b` on its page. */
function next(page: { blocks: Block[] }, b: Block, what: string): Block {
  const n = page.blocks[page.blocks.indexOf(b) + 1];
  if (!n) throw new Error(`${what}: no block after line ${b.line}`);
  used.set(n, what);
  return n;
}

/** The groups of `re` in `text`, or an error naming what the page no longer says. */
function find(text: string, re: RegExp, what: string): string[] {
  const m = re.exec(text);
  if (!m) throw new Error(`${what}: ${re} no longer matches the page (update this test)`);
  return m.slice(1);
}

/** Blocks that show no output and feed no example, and why. */
const NOT_EXAMPLES: [page: { blocks: Block[] }, pick: (b: Block) => boolean, why: string][] = [
  [README, (b) => b.lang === 'sh' && b.text.includes('Bearer $KEY'), "how to send an API key, with the body left out ('...')"],
  [
    GUIDE,
    (b) => b.lang === 'json' && b.text.includes('"inputs":  [{ "name": "x", "shape": [2] }, ...]'),
    'the shape of a graph, with "..." for more entries',
  ],
  [
    README,
    (b) => b.lang === 'text' && b.prose.includes('The first prints (timings vary)'),
    "the derivd command's table output: test/cli.test.ts runs the README's command and compares",
  ],
];

// --- wire values ---------------------------------------------------------------------------

const ELIDED = '…';

/** A shown JSON value; an elision mark … becomes the string "…". */
function shown(text: string): any {
  return JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"|…/g, (m) => (m === ELIDED ? `"${ELIDED}"` : m)));
}

/** As the service writes it: NaN and ±Infinity as strings. */
function wire(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (Array.isArray(v)) return v.map(wire);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wire(x)]));
  return v;
}

const showNumber = (n: number): string => (Object.is(n, -0) ? '-0' : String(n));

/**
 * `actual` is what `want` shows: the same keys in the same order, arrays of the same
 * length, numbers the same doubles (-0 is not 0), strings equal. An array with … is
 * matched at `positions`: the indices its shown elements stand for, in order.
 */
function expectShown(actual: unknown, want: unknown, at: string, positions: Record<string, number[]> = {}): void {
  if (Array.isArray(want)) {
    expect(Array.isArray(actual), `${at}: an array`).toBe(true);
    const a = actual as unknown[];
    if (want.includes(ELIDED)) {
      const pos = positions[at];
      if (!pos) throw new Error(`${at}: abridged on the page, but the page does not say which elements it shows`);
      const kept = want.filter((w) => w !== ELIDED);
      expect(kept.length, `${at}: elements shown against positions named`).toBe(pos.length);
      // the … sit exactly where positions are skipped
      const gaps: string[] = [];
      pos.forEach((p, i) => {
        if (p !== (i === 0 ? 0 : pos[i - 1] + 1)) gaps.push(ELIDED);
        gaps.push('x');
      });
      if (pos[pos.length - 1] !== a.length - 1) gaps.push(ELIDED);
      expect(
        want.map((w) => (w === ELIDED ? ELIDED : 'x')),
        `${at}: where the page elides`,
      ).toEqual(gaps);
      kept.forEach((w, i) => expectShown(a[pos[i]], w, `${at}[${pos[i]}]`));
      return;
    }
    expect(a.length, `${at}: length`).toBe(want.length);
    want.forEach((w, i) => expectShown(a[i], w, `${at}[${i}]`, positions));
    return;
  }
  if (want !== null && typeof want === 'object') {
    expect(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${at}: an object`).toBe(true);
    expect(Object.keys(actual as object), `${at}: keys`).toEqual(Object.keys(want));
    for (const [k, w] of Object.entries(want)) expectShown((actual as Record<string, unknown>)[k], w, `${at}.${k}`, positions);
    return;
  }
  if (typeof want === 'number') {
    expect(typeof actual === 'number' ? showNumber(actual) : actual, at).toBe(showNumber(want));
    return;
  }
  expect(actual, at).toEqual(want);
}

/** A `reason` as shown, with its two estimates (calibration) free: counts and words exact, the lower estimate first. */
function expectReasonForm(actual: unknown, want: string, at: string): void {
  const unit = /(\d+(?:\.\d+)?) (ns|µs|ms)/g;
  const escaped = want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const form = new RegExp(`^${escaped.replace(/\d+(?:\\\.\d+)? (?:ns|µs|ms)/g, '(\\d+(?:\\.\\d+)? (?:ns|µs|ms))')}$`);
  expect(actual, `${at}: ${want}`).toMatch(form);
  const ns = [...String(actual).matchAll(unit)].map((m) => Number(m[1]) * { ns: 1, µs: 1e3, ms: 1e6 }[m[2] as 'ns']);
  if (ns.length === 2) expect(ns[0], `${at}: the chosen (lower) estimate first`).toBeLessThanOrEqual(ns[1]);
}

/** `timings` as shown: the same fields in the same order, each a non-negative number of milliseconds to the microsecond. */
function expectTimingsForm(actual: unknown, want: Record<string, unknown>, at: string): void {
  expect(Object.keys(actual as object), `${at}: fields`).toEqual(Object.keys(want));
  for (const [k, v] of Object.entries(actual as Record<string, number>)) {
    expect(typeof v === 'number' && v >= 0 && Math.round(v * 1000) / 1000 === v, `${at}.${k} = ${v}`).toBe(true);
  }
}

/**
 * A result envelope as shown. The page may leave out `reason`, `stats` and `timings`
 * (it says where it does); every field it shows is there, in the same order.
 */
function expectEnvelope(actual: unknown, want: Record<string, unknown>, at: string, positions: Record<string, number[]> = {}): void {
  const a = actual as Record<string, unknown>;
  const left = Object.keys(a).filter((k) => !(k in want));
  expect(
    left.filter((k) => !['reason', 'stats', 'timings'].includes(k)),
    `${at}: fields not shown`,
  ).toEqual([]);
  expect(
    Object.keys(a).filter((k) => k in want),
    `${at}: fields`,
  ).toEqual(Object.keys(want));
  for (const [k, w] of Object.entries(want)) {
    if (k === 'timings') expectTimingsForm(a[k], w as Record<string, unknown>, `${at}.timings`);
    else if (k === 'reason') expectReasonForm(a[k], w as string, `${at}.reason`);
    else expectShown(a[k], w, `${at}.${k}`, positions);
  }
}

/** The indices "0, 1, 7–13 and 20" stand for. */
function indexList(text: string): number[] {
  return text.split(/,\s*|\s+and\s+/).flatMap((part) => {
    const [a, b] = part.split(/[–-]/).map(Number);
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

// --- curl, for real ----------------------------------------------------------------------------

const exec = promisify(execFile);
/** Whether there is a curl binary: without one the curl examples are skipped, and say so. */
const CURL = await exec('curl', ['--version']).then(
  () => true,
  () => false,
);
if (!CURL) console.warn('docs-examples: no curl binary on PATH: every curl example was SKIPPED, not run (.ci/run installs curl)');
/** A test that runs a curl example; where there is no curl it is skipped, and its name says so. */
const curlTest = (name: string, fn: () => Promise<void>): void =>
  CURL ? test(name, fn) : test.skip(`${name} (SKIPPED: no curl binary on PATH)`, fn);

/** The service every curl example is sent to, listening on 127.0.0.1 (no workers: every call inline, on SHARED_CACHE). */
const service = once(async () => {
  const started = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 0 });
  await started.app.listen({ host: '127.0.0.1', port: 0 });
  return started;
});
let serviceStarted = false;
afterAll(async () => {
  if (serviceStarted) await (await service()).app.close();
});

interface CurlAnswer {
  status: number;
  /** Lower-case names; only for a command with -i. */
  headers: Record<string, string>;
  body: string;
  json(): any;
}

/**
 * Runs `script`, a page's shell text, with bash and the real curl, against the service:
 * its port in place of the page's 8080, and curl told to print the status after the
 * body (`-w`), which is all that is added.
 */
async function curl(script: string): Promise<CurlAnswer> {
  serviceStarted = true;
  const port = ((await service()).app.server.address() as AddressInfo).port;
  const local = script.replace(/http:\/\/127\.0\.0\.1:8080\//g, `http://127.0.0.1:${port}/`);
  expect(local, 'the example asks http://127.0.0.1:8080/').not.toBe(script);
  const sh = local.replace(/\bcurl -s(i?) /g, `curl -w '\\n%{http_code}' -s$1 `);
  const { stdout } = await exec('bash', ['-eu', '-o', 'pipefail', '-c', sh], { timeout: 30_000, maxBuffer: 64 << 20 });
  const end = stdout.lastIndexOf('\n');
  let body = stdout.slice(0, end);
  const headers: Record<string, string> = {};
  if (body.startsWith('HTTP/')) {
    const split = body.indexOf('\r\n\r\n');
    for (const line of body.slice(0, split).split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    body = body.slice(split + 4);
  }
  return { status: Number(stdout.slice(end + 1)), headers, body, json: () => JSON.parse(body) };
}

/** A curl example's answer, which must be a 200: its JSON. */
async function curl200(script: string): Promise<Record<string, any>> {
  const res = await curl(script);
  expect(res.status, res.body).toBe(200);
  return res.json();
}

// --- running ---------------------------------------------------------------------------------

const fresh = () => ({ output: 'json' as const, cache: new PlanCache(1 << 24) });
const run = (op: string, request: unknown, options: object = fresh()): Promise<Result> => operations[op as Operation](request, options);
/** The DerivdError a call rejects with (fails if it resolves). */
async function rejection(p: Promise<unknown>): Promise<DerivdError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have been rejected').toBeInstanceOf(DerivdError);
  return err as DerivdError;
}
const issueLines = (e: DerivdError): string[] => e.issues.map((i) => `${i.path}: ${i.message}`);

const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<unknown>;

/**
 * Runs a ts block of a page: its imports become the `bindings` of the same names, the
 * only type annotation the pages use (`: number[]`) is dropped, and each line that is
 * a bare expression followed by a comment (`p.mode  // "reverse"`) records the
 * expression's value with the comment, which is what the page shows for it.
 */
/** Each snippet run, with what it was run with: the last test type-checks it against the library with these. */
const snippets = new Map<string, Record<string, unknown>>();

async function runSnippet(
  code: string,
  bindings: Record<string, unknown>,
  result?: string,
): Promise<{ outputs: [expr: string, value: unknown, comment: string][]; value: unknown }> {
  snippets.set(code, bindings);
  const outputs: [string, unknown, string][] = [];
  const body = code
    .split('\n')
    .filter((l) => !/^import .* from '[^']*'(?: with \{[^}]*\})?;/.test(l))
    .map((l) => {
      const m = /^([A-Za-z_$][\w$.()]*)\s+\/\/ (.*)$/.exec(l);
      return m ? `__out.push([${JSON.stringify(m[1])}, ${m[1]}, ${JSON.stringify(m[2])}]);` : l;
    })
    .join('\n')
    .replace(/: number\[\]/g, '')
    .replace(/\} as const;/g, '};');
  const fn = new AsyncFunction(...Object.keys(bindings), '__out', `${body}\nreturn ${result ?? 'undefined'};`);
  const value = await fn(...Object.values(bindings), outputs);
  return { outputs, value };
}

/** A value written as the pages write JavaScript values in comments: `{ x: [6, 12], w: 5 }`, `Float64Array [50]`. */
function jsText(v: unknown): string {
  if (typeof v === 'number') return showNumber(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Float64Array) return `Float64Array [${Array.from(v, showNumber).join(', ')}]`;
  if (Array.isArray(v)) return `[${v.map(jsText).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${jsText(x)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  return String(v);
}
const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Each promise once, whichever test asks first. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}

// --- README.md ----------------------------------------------------------------------------------

describe('README.md', () => {
  const curl = block(
    README,
    'README: the curl request',
    (b) => b.lang === 'sh' && b.text.includes('curl -s http://127.0.0.1:8080/v1/jacobian') && !b.text.includes('"define"'),
  );
  const printed = next(README, curl, 'README: what the curl request prints');
  const formulas = block(README, 'README: the same request as two formulas', (b) => b.lang === 'sh' && b.text.includes('"define"'));
  // Run, and type-checked against the client, by test/readme-clients.test.ts.
  block(README, 'README: the TypeScript client', (b) => b.lang === 'ts' && b.text.includes("from 'derivd-client'"));
  next(
    README,
    block(README, 'README: the Python client', (b) => b.lang === 'python'),
    'README: what the Python client prints',
  );
  const [body] = find(curl.text, /curl -s http:\/\/[^/\s]+\/v1\/\w+ .*? -d '([\s\S]*)'\s*$/, 'README curl');
  const request = JSON.parse(body);
  const why = block(README, 'README: mode, reason and stats of the forum case', (b) => b.lang === 'text' && /^mode: /.test(b.text));
  const library = block(README, 'README: the library call', (b) => b.lang === 'ts' && b.prose.includes('## As a library'));

  const answer = async (): Promise<Record<string, unknown>> => {
    SHARED_CACHE.clear(); // the page shows a first call: "cache": "miss"
    return curl200(curl.text);
  };

  curlTest('the curl request prints what the page shows (arrays at their middle entries)', async () => {
    expect(printed.prose).toMatch(/arrays abridged to their middle entries; timings vary/);
    const want = shown(printed.text);
    const json = await answer();
    // the middle entries: as many as shown, centred in the array
    const middle = (shownArray: unknown[], n: number): number[] => {
      const count = shownArray.filter((w) => w !== ELIDED).length;
      return Array.from({ length: count }, (_, i) => (n - count) / 2 + i);
    };
    const positions = {
      'README.values.r': middle(want.values.r, (json.values as any).r.length),
      'README.jacobian.r.xs': middle(want.jacobian.r.xs, (json.jacobian as any).r.xs.length),
    };
    expectEnvelope(json, want, 'README', positions);
  });

  curlTest('"tells you which and why": mode, reason and stats of the same request', async () => {
    const lines = Object.fromEntries(why.text.split('\n').map((l) => find(l, /^(\w+):\s+(.*)$/, 'README mode/reason/stats line')));
    expect(Object.keys(lines)).toEqual(['mode', 'reason', 'stats']);
    const json = await answer();
    expect(json.mode).toBe(lines.mode);
    expectReasonForm(json.reason, lines.reason, 'README reason');
    expectShown(json.stats, JSON.parse(lines.stats), 'README stats');
  });

  curlTest('the two formulas answer with the same values, Jacobian and mode, to the last bit', async () => {
    const [text] = find(formulas.text, /-d '([\s\S]*)'\s*$/, 'README formulas curl');
    expect(JSON.parse(text).graph.define).toEqual({ f: 'exp(-1.5*(t - xs)^2)', r: 'd - dot(d, f)/dot(f, f)*f' });
    const [nodes, defined] = [await answer(), await curl200(formulas.text)];
    expect(defined.values).toEqual(nodes.values);
    expect(defined.jacobian).toEqual(nodes.jacobian);
    expect(defined.mode).toBe(nodes.mode);
    expect((defined.stats as { directions: number }).directions).toBe(1);
  });

  const libraryCall = once(async () => {
    SHARED_CACHE.clear();
    return runSnippet(library.text, { jacobian: operations.jacobian }, '{ graph, d }');
  });

  test('as a library: the curl request\'s graph and d, and dr/dxs, "21 numbers"', async () => {
    const { outputs, value } = await libraryCall();
    expect(value).toEqual({ graph: request.graph, d: request.args.d });
    expect(outputs.map((o) => o[0])).toEqual(['res.jacobian.r.xs']);
    const [, xs, comment] = outputs[0];
    const [count] = find(comment, /^dr\/dxs, (\d+) numbers$/, 'README library comment');
    expect(Array.isArray(xs) && (xs as unknown[]).every((v) => typeof v === 'number')).toBe(true);
    expect(xs).toHaveLength(Number(count));
  });

  curlTest('as a library: the same numbers as the service', async () => {
    const [[, xs]] = (await libraryCall()).outputs;
    expect(wire(xs)).toEqual(((await answer()).jacobian as any).r.xs);
  });
});

// --- docs/graph-format.md, section 1: the first example ------------------------------------------

describe('graph-format.md, 1. The first example', () => {
  const graphBlock = block(
    GUIDE,
    '1: the graph',
    (b) => b.lang === 'json' && /As a graph\s*\(\[test\/fixtures\/seed-rs\.graph\.json\]/.test(b.prose),
  );
  const call = next(GUIDE, graphBlock, '1: the call');
  const curlBlock = next(GUIDE, call, '1: the same request with curl');
  const result = next(GUIDE, curlBlock, '1: the result');
  const graph = JSON.parse(graphBlock.text);
  // d as the page defines it, d[i] = exp(-1.5 (x[i] - 0.3)^2) + 0.01 sin(i), evaluated as written
  const [formula] = find(call.prose, /with `d` as in `test\/seed\.test\.ts`: `d\[i\] = ([^`]*)`/, '1: the formula for d');
  const js = formula
    .replace(/\^/g, '**')
    .replace(/\b(exp|sin)\(/g, 'Math.$1(')
    .replace(/([\d)]) (\(|Math)/g, '$1 * $2');
  const x = (graph.nodes.find((n: { id: string }) => n.id === 'x') as { value: number[] }).value;
  // biome-ignore lint/style/noRestrictedGlobals: the page gives d as a formula; it is evaluated as the page writes it
  const d = x.map((_xi, i) => new Function('x', 'i', `return ${js};`)(x, i) as number);
  const scalarNodes = next(GUIDE, result, '1: the scalar variant nodes');
  const gradientBlock = next(GUIDE, scalarNodes, '1: the scalar variant gradient');
  const hessianBlock = next(GUIDE, gradientBlock, '1: the scalar variant hessian');

  const first = once(async () => {
    SHARED_CACHE.clear(); // "each from a first call on its graph"
    const { value } = await runSnippet(call.text, { jacobian: operations.jacobian, graph }, 'res');
    return value as Result;
  });
  /** The elements the result shows, and the bound on the others. */
  const [list, bound] = find(
    result.prose,
    /abridged to elements ([\d, –and]+?); the elided\s+entries of `jacobian\.r\.xs` are all below ([\d.e-]+) in magnitude/,
    '1: the abridgement',
  );
  const pos = indexList(list);

  test('the graph is the test fixture, and the d written out is the formula, digit for digit', async () => {
    expect(graph).toEqual(fixtureGraph);
    expect(call.text).toMatch(/^import graph from '\.\/test\/fixtures\/seed-rs\.graph\.json' with \{ type: 'json' \};/m);
    const { value } = await runSnippet(call.text, { jacobian: operations.jacobian, graph }, 'd');
    expect(value).toHaveLength(21);
    expect((value as number[]).map(showNumber)).toEqual(d.map(showNumber));
  });

  curlTest('with curl: the same request, d written out, prints the result shown', async () => {
    const [body] = find(curlBlock.text, /-d @- <<'EOF'\n([\s\S]*)\nEOF$/, '1: the curl body');
    expect(JSON.parse(body)).toEqual({ graph, args: { d, xs: 0.1 }, constant: ['d'] });
    SHARED_CACHE.clear(); // a first call
    expectEnvelope(await curl200(curlBlock.text), shown(result.text), '1 curl', { '1 curl.values.r': pos, '1 curl.jacobian.r.xs': pos });
  });

  test('the result is the one shown (at the elements the page names)', async () => {
    const res = wire(await first()) as Record<string, any>;
    expectEnvelope(res, shown(result.text), '1', { '1.values.r': pos, '1.jacobian.r.xs': pos });
    const elided = res.jacobian.r.xs.filter((_: number, i: number) => !pos.includes(i));
    expect(elided.length).toBeGreaterThan(0);
    for (const v of elided) expect(Math.abs(v)).toBeLessThan(Number(bound));
  });

  test('"the same call again gives the same result with "cache": "hit", and so does a call with other values"', async () => {
    expect(result.prose + next(GUIDE, result, '1: the scalar variant nodes').prose).toMatch(
      /The\s+same call again gives the same result with `"cache": "hit"`, and so does a call\s+with other values of `d` and `xs`/,
    );
    const before = wire(await first()) as Record<string, any>;
    const { value } = await runSnippet(call.text, { jacobian: operations.jacobian, graph }, 'res');
    const again = wire(value) as Record<string, any>;
    expect({ ...again, timings: 0 }).toEqual({ ...before, stats: { ...before.stats, cache: 'hit' }, timings: 0 });
    const other = await operations.jacobian({ graph, args: { d: d.map((v) => v / 2), xs: 0.2 }, constant: ['d'] });
    expect(other.stats.cache).toBe('hit');
  });

  test('the scalar variant: gradient and hessian as shown', async () => {
    const nodes = JSON.parse(`[${scalarNodes.text}]`);
    const [outputs] = find(gradientBlock.prose, /with `"outputs": (\[[^\]]*\])`/, '1: the scalar outputs');
    const scalar = { ...graph, nodes: [...graph.nodes, ...nodes], outputs: JSON.parse(outputs) };
    const [gOp] = find(gradientBlock.prose, /The same arguments with `(\w+)` give/, '1: the scalar operation');
    const [hOp] = find(hessianBlock.prose, /^and with `(\w+)`/m, '1: the second scalar operation');
    const [xs] = find(call.text, /args: \{ d, xs: ([\d.]+) \}/, '1: xs');
    const [constant] = find(call.text, /constant: (\[[^\]]*\])/, '1: constant');
    const req = { graph: scalar, args: { d, xs: Number(xs) }, constant: JSON.parse(constant.replace(/'/g, '"')) };
    expectEnvelope(await run(gOp, req), shown(gradientBlock.text), `1 scalar ${gOp}`);
    expectEnvelope(await run(hOp, req), shown(hessianBlock.text), `1 scalar ${hOp}`);
  });
});

// --- docs/graph-format.md, section 2: tensor encoding ------------------------------------------------

describe('graph-format.md, 2. Tensor encoding', () => {
  test('each shape comes back in the encoding the table shows', async () => {
    const table = find(GUIDE.md, /\| shape \| encoding \|\n\| --- \| --- \|\n((?:\|.*\|\n)+)/, '2: the encoding table')[0];
    const rows = [...table.matchAll(/^\| (.*?) \| (?:a bare number: )?`([^`]*)`.*\|$/gm)];
    expect(rows).toHaveLength(5);
    for (const [, shapes, encoding] of rows) {
      const value = shown(encoding);
      for (const [s] of shapes.matchAll(/\[[^\]]*\]/g)) {
        const graph = { inputs: [{ name: 'x', shape: shapeOf(s) }], nodes: [], outputs: ['x'] };
        expectShown((await run('evaluate', { graph, args: { x: value } })).values.x, value, `shape ${s}`);
      }
    }
  });
});

describe('graph-format.md, 2. Binary tensors (base64)', () => {
  const curl = block(GUIDE, '2: the base64 curl request', (b) => b.lang === 'sh' && b.text.includes('"encoding": "base64"'));
  const printed = next(GUIDE, curl, '2: what the base64 curl request prints');
  const [body] = find(curl.text, /curl -s http:\/\/[^/\s]+\/v1\/\w+ .*? -d '([\s\S]*)'\s*$/, '2: base64 curl');

  curlTest('the curl request prints what the page shows, and the base64 says what the prose does', async () => {
    expect(printed.prose).toMatch(/\(`reason`, `stats` and `timings` left out\)/);
    const json = await curl200(curl.text);
    expectEnvelope(json, shown(printed.text), '2 base64');
    const decode = (t: { data: string }): number[] => {
      const bytes = Buffer.from(t.data, 'base64');
      return Array.from({ length: bytes.length / 8 }, (_, i) => bytes.readDoubleLE(8 * i));
    };
    const [x, f, g] = find(
      curl.prose + printed.prose,
      /at `x = (\[[^\]]*\])`[\s\S]*`f = (\d+)` and the gradient\s+`(\[[^\]]*\])`/,
      '2: the numbers',
    );
    expect(decode(JSON.parse(body).args.x)).toEqual(JSON.parse(x));
    expect(decode(json.values.f)).toEqual([Number(f)]);
    expect(decode(json.gradient.x)).toEqual(JSON.parse(g));
  });
});

/**
 * A curl example whose printed result shows part of `stats` (the rest, with `reason`
 * and `timings`, left out, as its prose says): run against the service, the
 * envelope as shown and the shown stats among the real ones.
 */
function curlWithStats(section: string, what: string, marker: string): void {
  describe(`graph-format.md, ${section}`, () => {
    const curl = block(GUIDE, `${section}: the ${what} curl request`, (b) => b.lang === 'sh' && b.text.includes(marker));
    const printed = next(GUIDE, curl, `${section}: what the ${what} curl request prints`);

    curlTest('the curl request prints what the page shows', async () => {
      expect(printed.prose).toMatch(/\(`reason`, `timings` and the rest of `stats` left out\)/);
      const json = await curl200(curl.text);
      const { stats, ...want } = shown(printed.text);
      expectEnvelope(json, want, `${section} ${what}`);
      expect(json.stats).toMatchObject(stats);
    });
  });
}

curlWithStats('5. Batches of points', 'batched', '"batched": ["x"]');
curlWithStats('7. The coo format', 'coo', '"format": "coo"');

// --- docs/graph-format.md, sections 3 and 4: broadcasting and the ops -------------------------------

/** A graph of one node over inputs of the given shapes, called a, b, c. */
function oneNode(
  op: string,
  shapes: number[][],
  attrs: object = {},
): { inputs: { name: string; shape: number[] }[]; nodes: object[]; outputs: string[] } {
  const inputs = shapes.map((shape, i) => ({ name: 'abc'[i], shape }));
  return { inputs, nodes: [{ id: 'y', op, args: inputs.map((i) => i.name), ...attrs }], outputs: ['y'] };
}
const filled = (shape: number[], v = 1): unknown =>
  shape.length === 0 ? v : Array.from({ length: shape[0] }, () => filled(shape.slice(1), v));
const shapeOf = (text: string): number[] => JSON.parse(text);

describe('graph-format.md, 3. Broadcasting', () => {
  const tables = GUIDE.blocks.filter((b) => b.lang === 'text' && /^a\s+\[/.test(b.text));
  for (const t of tables) used.set(t, '3: broadcasting tables');

  /** Columns of a table block: { a, b, result } or { a, b, error: [da, db] }. */
  function columns(text: string): { a: number[]; b: number[]; result?: number[]; error?: [number, number] }[] {
    const out: { a: number[]; b: number[]; result?: number[]; error?: [number, number] }[] = [];
    const groups = text.split(/\n\s*\n/);
    for (const g of groups) {
      const [la, lb, , lr] = g.split('\n');
      const as = [...la.matchAll(/\ba\s+(\[[^\]]*\])/g)].map((m) => shapeOf(m[1]));
      const bs = [...lb.matchAll(/\bb\s+(\[[^\]]*\])/g)].map((m) => shapeOf(m[1]));
      const rs = [...lr.matchAll(/result\s+(\[[^\]]*\])|error: (\d+) vs (\d+)/g)];
      expect([as.length, bs.length]).toEqual([rs.length, rs.length]);
      rs.forEach((m, i) =>
        out.push(m[1] ? { a: as[i], b: bs[i], result: shapeOf(m[1]) } : { a: as[i], b: bs[i], error: [Number(m[2]), Number(m[3])] }),
      );
    }
    return out;
  }

  test('every table: the result shape, or the error at the first clashing pair of dimensions', async () => {
    expect(tables).toHaveLength(3);
    const cases = tables.flatMap((t) => columns(t.text));
    expect(cases.filter((c) => c.result)).toHaveLength(10);
    expect(cases.filter((c) => c.error)).toHaveLength(6);
    for (const c of cases) {
      const req = { graph: oneNode('add', [c.a, c.b]), args: { a: filled(c.a), b: filled(c.b) } };
      if (c.result) {
        const r = await run('evaluate', req, { output: 'packed', cache: false });
        expect((r.values.y as unknown as { shape: number[] }).shape, `${JSON.stringify(c.a)} + ${JSON.stringify(c.b)}`).toEqual(c.result);
      } else {
        const e = await rejection(run('evaluate', req));
        expect(issueLines(e)).toEqual([
          `graph.nodes[0].args[1]: add: argument shape ${JSON.stringify(c.b).replace(/,/g, ', ')} does not broadcast with ${JSON.stringify(c.a).replace(/,/g, ', ')}`,
        ]);
        // "error: 3 vs 4": the pair where, aligned on the right, neither dimension is 1 and they differ (the first from the left)
        const n = Math.max(c.a.length, c.b.length);
        const pad = (s: number[]) => [...new Array(n - s.length).fill(1), ...s];
        const [pa, pb] = [pad(c.a), pad(c.b)];
        const k = pa.findIndex((x, i) => x !== pb[i] && x !== 1 && pb[i] !== 1);
        expect([pa[k], pb[k]]).toEqual(c.error);
      }
    }
  });

  test('the two error messages in the text', async () => {
    const messages = [
      ...GUIDE.md.matchAll(/`(graph\.nodes\[0\]\.args\[(\d)\]: (\w+): argument shape (\[[^\]]*\]) does not broadcast with ([^`]*))`/g),
    ];
    expect(messages.map((m) => m[3])).toEqual(['add', 'where']);
    for (const [, message, arg, op, bad, rest] of messages) {
      // "with [2], [3, 1] (broadcast to [3, 2])": the shapes before the offending one
      const before = [...rest.replace(/\(broadcast to .*\)$/, '').matchAll(/\[[^\]]*\]/g)].map((m) => shapeOf(m[0]));
      const shapes = [...before, shapeOf(bad)];
      expect(shapes).toHaveLength(Number(arg) + 1);
      const args = Object.fromEntries(shapes.map((s, i) => ['abc'[i], filled(s)]));
      const e = await rejection(run('evaluate', { graph: oneNode(op, shapes), args }));
      expect(issueLines(e)).toEqual([message]);
    }
  });
});

describe('graph-format.md, 4. Ops', () => {
  const sqrtBlock = block(GUIDE, '4: sqrt at 0', (b) => b.lang === 'json' && /For `y = sqrt\(x\)` at `x = \[/.test(b.prose));
  const whereBlock = block(GUIDE, '4: where leaks nothing', (b) => b.lang === 'json' && b.prose.includes('A guarded square root'));
  const md = GUIDE.md;

  test('zero-annihilating: y = sqrt(x) at x = [0, 4]', async () => {
    const [op, x, mode] = find(
      sqrtBlock.prose,
      /For `y = (\w+)\(x\)` at `x = (\[[^\]]*\])`(?:,\s+with `"mode": "(\w+)"`)?:\s*$/,
      '4: sqrt',
    );
    const want = shown(sqrtBlock.text);
    const operation = Object.keys(want).find((k) => k !== 'values' && k !== 'mode') as string;
    const xs = JSON.parse(x);
    const req = { graph: oneNode(op, [[xs.length]]), args: { a: xs }, ...(mode ? { mode } : {}) };
    // the page names the input x
    const renamed = JSON.parse(JSON.stringify(req).replace(/"a"/g, '"x"'));
    expectEnvelope(await run(operation, renamed), want, '4 sqrt');
  });

  test('domain errors give IEEE results: log at [-1, 0], sqrt(-1)', async () => {
    const [x, values, derivatives] = find(
      md,
      /`log` at `x = (\[[^\]]*\])` gives values `(\[[^\]]*\])`\s+and derivatives `1\/x` = `(\[[^\]]*\])`; `sqrt\(-1\)` is `"NaN"` with derivative `"NaN"`/,
      '4: domain errors',
    );
    const xs = JSON.parse(x);
    const log = wire(await run('jacobian', { graph: oneNode('log', [[xs.length]]), args: { a: xs } })) as any;
    expectShown(log.values.y, shown(values), 'log values');
    expectShown(
      log.jacobian.y.a.map((row: unknown[], i: number) => row[i]),
      shown(derivatives),
      'log derivatives',
    );
    const sqrt = wire(await run('jacobian', { graph: oneNode('sqrt', [[]]), args: { a: -1 } })) as any;
    expect([sqrt.values.y, sqrt.jacobian.y.a]).toEqual(['NaN', 'NaN']);
  });

  test('range', async () => {
    const examples = [...md.matchAll(/`(\{ "op": "range"[^`]*\})` is `(\[[^`]*\])`/g)];
    expect(examples).toHaveLength(2);
    for (const [, node, value] of examples) {
      const r = await run('evaluate', { graph: { inputs: [], nodes: [{ id: 'r', ...JSON.parse(node) }], outputs: ['r'] }, args: {} });
      expectShown(r.values.r, shown(value), node);
    }
  });

  test('softplus, tanh and sigmoid at large |x|', async () => {
    const [x, y, dy] = find(md, /`softplus` at `x = (\[[^\]]*\])` is\s+`(\[[^\]]*\])` with\s+derivatives `(\[[^\]]*\])`/, '4: softplus');
    const xs = JSON.parse(x);
    const s = wire(await run('jacobian', { graph: oneNode('softplus', [[xs.length]]), args: { a: xs } })) as any;
    expectShown(s.values.y, shown(y), 'softplus values');
    expectShown(
      s.jacobian.y.a.map((row: unknown[], i: number) => row[i]),
      shown(dy),
      'softplus derivatives',
    );
    const [op1, op2, x2, d1, d2] = find(
      md,
      /The `(\w+)` and `(\w+)` derivatives[\s\S]*?at `x = (\[[^\]]*\])` they are `(\[[^\]]*\])`\s+and `(\[[^\]]*\])`/,
      '4: tanh and sigmoid',
    );
    for (const [op, want] of [
      [op1, d1],
      [op2, d2],
    ]) {
      const xs2 = JSON.parse(x2);
      const r = wire(await run('jacobian', { graph: oneNode(op, [[xs2.length]]), args: { a: xs2 } })) as any;
      expectShown(
        r.jacobian.y.a.map((row: unknown[], i: number) => row[i]),
        shown(want),
        `${op} derivatives`,
      );
    }
  });

  test('the one-line op examples: y, and dy/dx where shown', async () => {
    // "- `op` at `x = [...]`: y `[...]`, dy/dx `[...]`", the op a name or a node with attributes
    const lines = [...md.matchAll(/^- `([^`]+)` at `x = (\[[^`]*\])`: y `(\[[^`]*\])`(?:, dy\/dx `(\[[^`]*\])`)?$/gm)];
    const ops = lines.map(([, op]) => (op.startsWith('{') ? JSON.parse(op).op : op));
    expect(ops).toEqual(['asinh', 'acosh', 'atanh', 'log2', 'log10', 'cbrt', 'sign', 'floor', 'ceil', 'round', 'clip', 'clip', 'clip']);
    for (const [, op, x, y, dy] of lines) {
      const { op: name, ...attrs } = op.startsWith('{') ? JSON.parse(op) : { op };
      const xs = shown(x);
      const r = wire(await run('jacobian', { graph: oneNode(name, [[xs.length]], attrs), args: { a: xs } })) as any;
      expectShown(r.values.y, shown(y), `${op} values`);
      // no dy/dx shown: never active, so the Jacobian is 0
      const diag = r.jacobian.y.a.map((row: unknown[], i: number) => row[i]);
      expectShown(diag, dy === undefined ? xs.map(() => 0) : shown(dy), `${op} derivatives`);
    }
  });

  test('indexing by tensors: gather, its gradient, the scatters and the index errors', async () => {
    const sec = md.slice(md.indexOf('### Indexing by tensors'), md.indexOf('## 5. The request envelope'));
    const [a, idx, g, idx1, g1, idx2, grad] = find(
      sec,
      /With\s+`a = (\[\[[^`]*\]\])`, `gather` of `(\[[^`]*\])` gives\s+`(\[[^`]*\])`, and with `"axis": 1` and the scalar index\s+`(-?\d+)`, `(\[[^`]*\])`\. The gradient of `sum\(gather\(a, (\[[^`]*\])\)\)` is\s+`(\[[^`]*\])`/,
      '4: gather',
    );
    const A = shown(a);
    const graph = (axis: number, is: number[], sum = false) => ({
      inputs: [
        { name: 'a', shape: [A.length, A[0].length] },
        { name: 'idx', shape: is },
      ],
      nodes: [{ id: 'g', op: 'gather', args: ['a', 'idx'], axis }, ...(sum ? [{ id: 's', op: 'sum', args: ['g'] }] : [])],
      outputs: [sum ? 's' : 'g'],
    });
    const I = shown(idx);
    const r0 = wire(await run('evaluate', { graph: graph(0, [I.length, I[0].length]), args: { a: A, idx: I } })) as any;
    expectShown(r0.values.g, shown(g), 'gather');
    const r1 = wire(await run('evaluate', { graph: graph(1, []), args: { a: A, idx: Number(idx1) } })) as any;
    expectShown(r1.values.g, shown(g1), 'gather along axis 1');
    const I2 = shown(idx2);
    const r2 = wire(await run('gradient', { graph: graph(0, [I2.length], true), args: { a: A, idx: I2 } })) as any;
    expectShown(r2.gradient.a, shown(grad), 'gather gradient');

    const [v, si, su, added, set] = find(
      sec,
      /For `a = (\[[^`]*\])`, indices `(\[[^`]*\])` and\s+updates `(\[[^`]*\])`, `scatter_add` gives `(\[[^`]*\])` and `scatter_set`\s+`(\[[^`]*\])`/,
      '4: scatters',
    );
    for (const [op, want] of [
      ['scatter_add', added],
      ['scatter_set', set],
    ]) {
      const u = shown(su);
      const g2 = {
        inputs: [
          { name: 'a', shape: [shown(v).length] },
          { name: 'u', shape: [u.length] },
        ],
        nodes: [
          { id: 'i', op: 'const', value: shown(si) },
          { id: 'y', op, args: ['a', 'i', 'u'] },
        ],
        outputs: ['y'],
      };
      const r = wire(await run('evaluate', { graph: g2, args: { a: shown(v), u } })) as any;
      expectShown(r.values.y, shown(want), op);
    }

    const [p1, m1, p2, m2] = find(
      sec,
      /a 422 naming the argument \(`(args\.idx): ([^`]*)`\) or, for computed indices, the node's argument \(`(graph\.nodes\[1\]\.args\[1\]):\s+([^`]*)`\)/,
      '4: index errors',
    );
    const fail = async (req: object) =>
      run('evaluate', req).then(
        () => undefined,
        (e: { issues: unknown }) => e.issues,
      );
    const badIdx = m1.match(/, ([^,]+), is/)?.[1] as string;
    expect(await fail({ graph: graph(0, [2]), args: { a: A, idx: [0, Number(badIdx)] } })).toEqual([
      { path: p1, message: m1.replace(/\s+/g, ' ') },
    ]);
    const computed = {
      inputs: [{ name: 'a', shape: [A.length, A[0].length] }],
      nodes: [
        { id: 'i', op: 'const', value: [0, Number(m2.match(/, (\d+), is/)?.[1])] },
        { id: 'g', op: 'gather', args: ['a', 'i'] },
      ],
      outputs: ['g'],
    };
    expect(await fail({ graph: computed, args: { a: A } })).toEqual([{ path: p2, message: m2.replace(/\s+/g, ' ') }]);
  });

  test('einsum: a diagonal, a trace and a subscripts error', async () => {
    const [a, sub1, y1, sub2, y2, path, message, bad] = find(
      md,
      /With `A = (\[\[[^`]*\]\])`,\s+`"([^"]+)"` gives `([^`]+)` and `"([^"]+)"` gives `([^`]+)`\. A malformed `subscripts` is reported\s+there \(`(graph\.nodes\[0\]\.subscripts): (einsum: "([^"]+)" [^`]*)`\)/,
      '4: einsum',
    );
    const A = shown(a);
    const graph = (subscripts: string) => ({
      inputs: [{ name: 'A', shape: [A.length, A[0].length] }],
      nodes: [{ id: 'y', op: 'einsum', args: ['A'], subscripts }],
      outputs: ['y'],
    });
    for (const [sub, want] of [
      [sub1, y1],
      [sub2, y2],
    ]) {
      const r = wire(await run('evaluate', { graph: graph(sub), args: { A } })) as any;
      expectShown(r.values.y, shown(want), `einsum ${sub}`);
    }
    const issues = await run('evaluate', {
      graph: {
        inputs: [
          { name: 'A', shape: [2, 3] },
          { name: 'B', shape: [3, 2] },
        ],
        nodes: [{ id: 'y', op: 'einsum', args: ['A', 'B'], subscripts: bad }],
        outputs: ['y'],
      },
      args: {
        A: [
          [1, 2, 3],
          [4, 5, 6],
        ],
        B: [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
      },
    }).then(
      () => undefined,
      (e: { issues: unknown }) => e.issues,
    );
    expect(issues).toEqual([{ path, message: message.replace(/\s+/g, ' ') }]);
  });

  test('pow in base and exponent', async () => {
    const [a, b, y, da, db] = find(
      md,
      /With `a = (\[[^\]]*\])`, `b = (\[[^\]]*\])` \(diagonals of the\s+Jacobian blocks\): values `(\[[^\]]*\])`, ∂\/∂a `(\[[^\]]*\])`, ∂\/∂b\s+`(\[[^\]]*\])`/,
      '4: pow',
    );
    const [av, bv] = [JSON.parse(a), JSON.parse(b)];
    const r = wire(await run('jacobian', { graph: oneNode('pow', [[av.length], [bv.length]]), args: { a: av, b: bv } })) as any;
    const diag = (m: unknown[][]) => m.map((row, i) => row[i]);
    expectShown(r.values.y, shown(y), 'pow values');
    expectShown(diag(r.jacobian.y.a), shown(da), 'pow d/da');
    expectShown(diag(r.jacobian.y.b), shown(db), 'pow d/db');
  });

  test('maximum: ties go to the first argument', async () => {
    const [a, b, y, p1, p2, pb] = find(
      md,
      /With `a = (\[[^\]]*\])`, `b = (\[[^\]]*\])`: `maximum` is `(\[[^\]]*\])`, its\s+derivative goes to `a` in positions (\d+) \(tie\) and (\d+) and to `b` in position (\d+)/,
      '4: maximum',
    );
    const [av, bv] = [JSON.parse(a), JSON.parse(b)];
    const r = wire(await run('jacobian', { graph: oneNode('maximum', [[av.length], [bv.length]]), args: { a: av, b: bv } })) as any;
    expectShown(r.values.y, shown(y), 'maximum values');
    const toA = av.map((_: number, i: number) => (i === Number(p1) || i === Number(p2) ? 1 : 0));
    const toB = av.map((_: number, i: number) => (i === Number(pb) ? 1 : 0));
    expectShown(
      r.jacobian.y.a.map((row: number[], i: number) => row[i]),
      toA,
      'maximum d/da',
    );
    expectShown(
      r.jacobian.y.b.map((row: number[], i: number) => row[i]),
      toB,
      'maximum d/db',
    );
    // "Where either argument is NaN the comparison fails and the derivative goes to `b`."
    expect(md).toMatch(/Where\s+either argument is NaN the comparison fails and the derivative goes to `b`/);
    const nan = await run('jacobian', { graph: oneNode('maximum', [[2], [2]]), args: { a: ['NaN', 1], b: [1, 'NaN'] } });
    expectShown(
      nan.jacobian!.y,
      {
        a: [
          [0, 0],
          [0, 0],
        ],
        b: [
          [1, 0],
          [0, 1],
        ],
      },
      'maximum with NaN',
    );
  });

  test('where leaks nothing from the branch not taken', async () => {
    const [x] = find(whereBlock.prose, /`s = Σ where\(x > 0, sqrt\(x\), 0\)` at\s+`x = (\[[^\]]*\])`:/, '4: where');
    const xs = JSON.parse(x);
    const graph = {
      inputs: [{ name: 'x', shape: [xs.length] }],
      nodes: [
        { id: 'c', op: 'gt', args: ['x', 0] },
        { id: 'r', op: 'sqrt', args: ['x'] },
        { id: 'w', op: 'where', args: ['c', 'r', 0] },
        { id: 's', op: 'sum', args: ['w'] },
      ],
      outputs: ['s'],
    };
    const want = shown(whereBlock.text);
    const operation = Object.keys(want).find((k) => k !== 'values' && k !== 'mode') as string;
    expectEnvelope(await run(operation, { graph, args: { x: xs } }), want, '4 where');
  });

  test('reductions: sum with and without axes, prod and max gradients, first winners', async () => {
    const [x, total, attrs, kept] = find(md, /`sum` of `(\[\[[^`]*\]\])` is `([^`]*)`; with `("axes"[^`]*)`\s+it is `([^`]*)`/, '4: sum');
    const xv = JSON.parse(x);
    const shape = [xv.length, xv[0].length];
    expectShown((await run('evaluate', { graph: oneNode('sum', [shape]), args: { a: xv } })).values.y, shown(total), 'sum');
    expectShown(
      (await run('evaluate', { graph: oneNode('sum', [shape], JSON.parse(`{${attrs}}`)), args: { a: xv } })).values.y,
      shown(kept),
      'sum with axes',
    );
    const grads = [...md.matchAll(/`(prod|max)` of `(\[[^`]*\])` has gradient\s+`(\[[^`]*\])`/g)];
    expect(grads.map((g) => g[1])).toEqual(['prod', 'max']);
    for (const [, op, v, g] of grads) {
      const vals = JSON.parse(v);
      expectShown(
        (await run('gradient', { graph: oneNode(op, [[vals.length]]), args: { a: vals } })).gradient!.a,
        shown(g),
        `${op} gradient`,
      );
    }
    const [m, maxAt, minAxes, minAt1, minAt2] = find(
      md,
      /Over `(\[\[[^`]*\]\])`, `max` picks\s+`(\[\d+, \d+\])`, and `min` with `("axes": \[\d+\])` picks `(\[\d+, \d+\])` and `(\[\d+, \d+\])`/,
      '4: first winners',
    );
    const mv = JSON.parse(m);
    const at = (positions: number[][]): number[][] =>
      mv.map((row: number[], i: number) => row.map((_, j) => (positions.some(([p, q]) => p === i && q === j) ? 1 : 0)));
    const max = await run('jacobian', { graph: oneNode('max', [[2, 2]]), args: { a: mv } });
    expectShown(max.jacobian!.y.a, at([JSON.parse(maxAt)]), 'max picks');
    const min = await run('jacobian', { graph: oneNode('min', [[2, 2]], JSON.parse(`{${minAxes}}`)), args: { a: mv } });
    // one Jacobian row per output (per row of x), each 1 at that row's winner
    expectShown(min.jacobian!.y.a, [at([JSON.parse(minAt1)]), at([JSON.parse(minAt2)])], 'min picks');
  });

  test("reductions of an empty group give the table's last column", async () => {
    const table = find(md, /\| op \| y \| derivative \| empty group \|\n\| --- .*\n((?:\|.*\|\n)+)/, '4: the reductions table')[0];
    const rows = [...table.matchAll(/^\| `(\w+)` \|.*\| ([^|]+?) \|$/gm)];
    expect(rows.map((r) => r[1])).toEqual(['sum', 'mean', 'prod', 'max', 'min', 'logsumexp']);
    for (const [, op, empty] of rows) {
      const r = await run('evaluate', { graph: oneNode(op, [[0]]), args: { a: [] } });
      expectShown(r.values.y, shown(empty.replace(/`/g, '')), `${op} of nothing`);
    }
  });

  test('matmul: shapes, the inner-dimension error, and zero-annihilating derivatives', async () => {
    const [pairs] = find(md, /(`matmul` of `[\s\S]*?) give\s/, '4: matmul shapes');
    const shapes = [...pairs.replace(/\s+/g, ' ').matchAll(/`(\[[^`]*\])` and `(\[[^`]*\])` is `(\[[^`]*\])`/g)];
    expect(shapes).toHaveLength(3);
    for (const [, a, b, out] of shapes) {
      const r = await run(
        'evaluate',
        { graph: oneNode('matmul', [shapeOf(a), shapeOf(b)]), args: { a: filled(shapeOf(a)), b: filled(shapeOf(b)) } },
        { output: 'packed', cache: false },
      );
      expect((r.values.y as unknown as { shape: number[] }).shape, `${a} @ ${b}`).toEqual(shapeOf(out));
    }
    const [a, b, message] = find(
      md,
      /`(\[[^`]*\])` and `(\[[^`]*\])` give\s+`(graph\.nodes\[0\]\.args\[1\]: matmul: [^`]*)`/,
      '4: matmul error',
    );
    const e = await rejection(
      run('evaluate', { graph: oneNode('matmul', [shapeOf(a), shapeOf(b)]), args: { a: filled(shapeOf(a)), b: filled(shapeOf(b)) } }),
    );
    expect(issueLines(e)).toEqual([message]);
    const [A, dydx] = find(
      md,
      /`A = (\[\[[^`]*\]\])` constant and `y = matmul\(A, x\)`, forward and\s+reverse mode both give `dy\/dx = (\[\[[^`]*\]\])`/,
      '4: matmul with infinity',
    );
    const Av = JSON.parse(A);
    for (const mode of ['forward', 'reverse']) {
      const graph = {
        inputs: [
          { name: 'A', shape: [2, 2] },
          { name: 'x', shape: [2] },
        ],
        nodes: [{ id: 'y', op: 'matmul', args: ['A', 'x'] }],
        outputs: ['y'],
      };
      const r = await run('jacobian', { graph, args: { A: Av, x: [1, 2] }, constant: ['A'], mode });
      expectShown(r.jacobian!.y.x, shown(dydx), `dy/dx (${mode})`);
    }
  });

  test('solves and factorizations: values, shapes, and the gradient of det at a singular matrix', async () => {
    const dims = (v: unknown): number[] => (Array.isArray(v) ? [v.length, ...dims(v[0])] : []);
    const examples = [
      ...md.matchAll(
        /`(solve|triangular_solve|inv|det|logabsdet|cholesky)`(?: with `(\{[^`]*\})`)? of `([^`]*)`(?:\s+and\s+`([^`]*)`)? is\s+`([^`]*)`/g,
      ),
    ];
    expect(examples.map((m) => m[1])).toEqual([
      'solve',
      'solve',
      'triangular_solve',
      'triangular_solve',
      'inv',
      'det',
      'logabsdet',
      'cholesky',
      'cholesky',
    ]);
    for (const [text, op, attrs, a, b, out] of examples) {
      const args = [a, b].filter((x) => x !== undefined).map((x) => JSON.parse(x));
      const graph = oneNode(op, args.map(dims), attrs === undefined ? {} : JSON.parse(attrs));
      const r = await run('evaluate', { graph, args: Object.fromEntries(args.map((v, i) => ['abc'[i], v])) });
      expectShown(wire(r.values.y), shown(out), text);
    }
    const [as, b1, y1, b2, y2] = find(
      md,
      /With `a` `(\[[^`]*\])`, a `b` of `(\[[^`]*\])` gives `(\[[^`]*\])` and a `b` of `(\[[^`]*\])` gives `(\[[^`]*\])`/,
      '4: solve shapes',
    );
    for (const [b, y] of [
      [b1, y1],
      [b2, y2],
    ]) {
      const shapes = [shapeOf(as), shapeOf(b)];
      const r = await run(
        'evaluate',
        { graph: oneNode('solve', shapes), args: { a: filled(shapeOf(as)), b: filled(shapeOf(b)) } },
        { output: 'packed', cache: false },
      );
      expect((r.values.y as unknown as { shape: number[] }).shape, `${as} \\ ${b}`).toEqual(shapeOf(y));
    }
    const [a, g] = find(md, /the gradient of `det` at `(\[\[[^`]*\]\])` is\s+`(\[\[[^`]*\]\])`/, '4: det gradient');
    const av = JSON.parse(a);
    for (const mode of ['forward', 'reverse']) {
      const r = await run('gradient', { graph: oneNode('det', [dims(av)]), args: { a: av }, mode });
      expectShown(wire(r.gradient!.a), shown(g), `det gradient (${mode})`);
    }
  });

  test('shape ops: the broadcast_to error, the slice table, index and its gradient', async () => {
    const [message] = find(
      md,
      /`(graph\.nodes\[0\]\.shape: broadcast_to: cannot broadcast \[[^\]]*\] to \[[^\]]*\])`/,
      '4: broadcast_to error',
    );
    const [from, to] = [...message.matchAll(/\[[^\]]*\]/g)].slice(-2).map((m) => shapeOf(m[0]));
    const e = await rejection(run('evaluate', { graph: oneNode('broadcast_to', [from], { shape: to }), args: { a: filled(from) } }));
    expect(issueLines(e)).toEqual([message]);

    const [x] = find(md, /With\s+`x = (\[\[[^`]*\]\])`:\s+\| `start` \| `stop` \| `step` \| result \|/, '4: the slice table');
    const xv = JSON.parse(x);
    const rows = [
      ...md.matchAll(/^\| `(\[[^`]*\])` \| `(\[[^`]*\])` \| (?:`(\[[^`]*\])`|–) \| (?:`(\[[^`]*\])`|shape `(\[[^`]*\])` \(empty\)) \|$/gm),
    ];
    expect(rows).toHaveLength(3);
    for (const [, start, stop, step, value, emptyShape] of rows) {
      const attrs = { start: JSON.parse(start), stop: JSON.parse(stop), ...(step ? { step: JSON.parse(step) } : {}) };
      const r = await run('evaluate', { graph: oneNode('slice', [[2, 3]], attrs), args: { a: xv } }, { output: 'packed', cache: false });
      const y = r.values.y as { shape: number[]; data: Float64Array };
      if (emptyShape) expect(y.shape).toEqual(shapeOf(emptyShape));
      else
        expectShown(
          wire((await run('evaluate', { graph: oneNode('slice', [[2, 3]], attrs), args: { a: xv } })).values.y),
          shown(value),
          `slice ${JSON.stringify(attrs)}`,
        );
    }

    const [indexAttrs, picked] = find(md, /`("axis": 1, "indices": \[[^\]]*\])`\s+on `x` gives `(\[\[[^`]*\]\])`/, '4: index');
    expectShown(
      (await run('evaluate', { graph: oneNode('index', [[2, 3]], JSON.parse(`{${indexAttrs}}`)), args: { a: xv } })).values.y,
      shown(picked),
      'index',
    );
    const [indices, grad] = find(md, /`sum\(index\(x, (\[[^\]]*\])\)\)` has gradient `(\[[^`]*\])`/, '4: index gradient');
    const n = JSON.parse(grad).length;
    const graph = {
      inputs: [{ name: 'x', shape: [n] }],
      nodes: [
        { id: 'i', op: 'index', args: ['x'], indices: JSON.parse(indices) },
        { id: 's', op: 'sum', args: ['i'] },
      ],
      outputs: ['s'],
    };
    expectShown((await run('gradient', { graph, args: { x: new Array(n).fill(0.5) } })).gradient!.x, shown(grad), 'index gradient');
  });
});

describe('graph-format.md, 4. Functions, call and scan', () => {
  const graphBlock = block(GUIDE, '4: a scan', (b) => b.lang === 'json' && b.prose.includes('This graph integrates'));
  const result = next(GUIDE, graphBlock, '4: what the scan gives');

  const scanCurl = next(GUIDE, result, '4: the scan with curl');

  curlTest('the scan with curl: the same graph and arguments, and what the page shows', async () => {
    const [c0, xs] = find(result.prose, /With `c0 = (\[[^`]*\])` and `xs = (\[[^`]*\])`/, '4: scan arguments');
    const [body] = find(scanCurl.text, /-d @- <<'EOF'\n([\s\S]*)\nEOF$/, '4: the scan curl body');
    expect(JSON.parse(body)).toEqual({ graph: JSON.parse(graphBlock.text), args: { c0: JSON.parse(c0), xs: JSON.parse(xs) } });
    expectEnvelope(await curl200(scanCurl.text), shown(result.text), '4 scan curl');
  });

  test('the scan example gives what the page shows, and the same unrolled by hand', async () => {
    const [c0, xs, op] = find(result.prose, /With `c0 = (\[[^`]*\])` and `xs = (\[[^`]*\])`, `(\w+)` gives:\s*$/, '4: scan arguments');
    const graph = JSON.parse(graphBlock.text);
    const args = { c0: JSON.parse(c0), xs: JSON.parse(xs) };
    expectEnvelope(await run(op, { graph, args }), shown(result.text), '4 scan');
    // the step the prose states, c <- c + 0.1 sin(c) x, in plain arithmetic
    const [rate] = find(graphBlock.prose, /integrates `c ← c \+ ([\d.]+)·sin\(c\)·x`/, '4: the step');
    let c = args.c0 as number[];
    for (const row of args.xs as number[][]) c = c.map((ci, i) => ci + Math.sin(ci) * row[i] * Number(rate));
    expect(c).toEqual(shown(result.text).values.final);
  });
});

// --- docs/graph-format.md, sections 5 and 6: envelopes ---------------------------------------------

const graph6Block = block(
  GUIDE,
  '6: the graph of every operation',
  (b) => b.lang === 'json' && b.prose.includes('All examples use this graph'),
);
const graph6 = JSON.parse(graph6Block.text);
/** "**jacobian** `{ ...fields }`" followed by the result. */
const examples6 = GUIDE.blocks
  .filter((b) => b.lang === 'json' && /\*\*(\w+)\*\* `(\{.*\})`\s*$/.test(b.prose))
  .map((b) => {
    const [op, fields] = find(b.prose, /\*\*(\w+)\*\* `(\{.*\})`\s*$/, '6: an operation');
    used.set(b, `6: ${op}`);
    return { op, fields: JSON.parse(fields) as Record<string, unknown>, block: b };
  });
const example6 = (op: string) =>
  examples6.find((e) => e.op === op) ??
  (() => {
    throw new Error(`6: no ${op} example`);
  })();

describe('graph-format.md, 5 and 6. The request and result envelopes', () => {
  const graph = graph6;
  const examples = examples6;
  const checkBlock = block(GUIDE, '6: check', (b) => b.lang === 'json' && b.prose.includes('With `"check": true`'));
  const prepared = block(GUIDE, '5: prepared calls', (b) => b.lang === 'ts' && b.text.includes('prepare('));

  const curls = block(GUIDE, '6: every operation with curl', (b) => b.lang === 'sh' && b.text.startsWith("G='{"));

  test('every operation on one graph, as shown (a first call each)', async () => {
    expect(examples.map((e) => e.op)).toEqual(['evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp']);
    expect(curls.prose).toContain('`cache: new PlanCache(1 << 24)`, so `"cache": "miss"`');
    for (const e of examples) expectEnvelope(await run(e.op, { graph, ...e.fields }), shown(e.block.text), `6 ${e.op}`);
  });

  curlTest('every operation with curl: the request shown beside each result, which it prints (a first call each)', async () => {
    // G='{...}' and then one curl command per example, in the page's order, the check example last
    const [g, ...commands] = curls.text.split(/\n(?=curl )/);
    expect(JSON.parse(find(g, /^G='([\s\S]*)'$/, '6: G')[0])).toEqual(graph);
    const [checkOp, checkFields] = find(checkBlock.prose, /The `(\w+)`\s+of `s` alone, with `(.*)`:\s*$/, '6: check request');
    const wants = [
      ...examples.map((e) => ({ op: e.op, fields: e.fields, block: e.block })),
      { op: checkOp, fields: { ...example6(checkOp).fields, ...JSON.parse(`{${checkFields}}`) }, block: checkBlock },
    ];
    expect(commands).toHaveLength(wants.length);
    for (const [i, command] of commands.entries()) {
      const [op, fields] = find(command, /\/v1\/(\w+) [\s\S]*-d '\{ "graph": '"\$G"', (.*) \}'$/, `6: curl ${i + 1}`);
      expect([op, JSON.parse(`{${fields}}`)], `6: curl ${i + 1} is the request shown`).toEqual([wants[i].op, wants[i].fields]);
      SHARED_CACHE.clear();
      expectEnvelope(await curl200(`${g}\n${command}`), shown(wants[i].block.text), `6 curl ${op}`);
    }
  });

  test('check: the jacobian of s alone, forward, with check', async () => {
    const [op, fields] = find(checkBlock.prose, /The `(\w+)`\s+of `s` alone, with `(.*)`:\s*$/, '6: check request');
    const base = example6(op).fields;
    expectEnvelope(await run(op, { graph, ...base, ...JSON.parse(`{${fields}}`) }), shown(checkBlock.text), '6 check');
  });

  test('a requested mode gives its reason, and a constant in tangents is refused as shown', async () => {
    const [reason] = find(GUIDE.md, /A\s+requested mode gives `reason: ("(?:[^"\\]|\\.)*")`/, '7: requested reason');
    const requested = JSON.parse(reason) as string;
    const mode = find(requested, /^mode "(\w+)" was requested$/, '7: requested mode')[0];
    expect((await run('jacobian', { graph, ...example6('jacobian').fields, mode })).reason).toBe(requested);
    const [message] = find(GUIDE.md, /\(`(tangents\.k: unexpected tangent "k": input "k" is constant; )…`\)/, '5: constant tangent');
    const k = {
      inputs: [
        { name: 'x', shape: [] },
        { name: 'k', shape: [] },
      ],
      nodes: [{ id: 'y', op: 'mul', args: ['x', 'k'] }],
      outputs: ['y'],
    };
    const e = await rejection(run('jvp', { graph: k, args: { x: 1, k: 2 }, constant: ['k'], tangents: { x: 1, k: 1 } }));
    expect(
      issueLines(e).some((l) => l.startsWith(message)),
      issueLines(e).join('\n'),
    ).toBe(true);
  });

  test('prepared calls: each commented value is what the page shows', async () => {
    expect(prepared.prose).toMatch(/With the graph of \[section 6\]/);
    SHARED_CACHE.clear();
    const { outputs } = await runSnippet(prepared.text, { prepare, respond, graph });
    expect(outputs.map((o) => o[0])).toEqual(['p.mode', 'respond(p).gradient', 'r.values', 'r.derivatives', 'r.directions']);
    for (const [expr, value, comment] of outputs) expect(squash(jsText(value)), expr).toBe(squash(comment));
  });
});

// --- docs/graph-format.md, section 7: modes --------------------------------------------------------

describe('graph-format.md, 7. Modes', () => {
  const reasons = block(GUIDE, '7: auto reasons', (b) => b.lang === 'text' && /the chosen\s+one first/.test(b.prose));

  test("the two auto reasons: the first example's Jacobian, and the hessian on the graph of section 6", async () => {
    const lines = reasons.text.split('\n');
    expect(lines).toHaveLength(2);
    const seed = await run('jacobian', { graph: fixtureGraph, args: { d: new Array(21).fill(0.5), xs: 0.1 }, constant: ['d'] });
    expectReasonForm(seed.reason, lines[0], '7 reason 1');
    const hessian = await run('hessian', { graph: graph6, ...example6('hessian').fields });
    expectReasonForm(hessian.reason, lines[1], '7 reason 2');
  });

  const sparse = block(GUIDE, '7: a sparse Jacobian reason', (b) => b.lang === 'text' && b.text.includes('column colour for forward'));
  test('a sparse Jacobian: the reason the page shows, for the function it names, in one direction', async () => {
    const [n] = find(sparse.prose, /for\s+`y = sin\(x\)·exp\(x\)` with ([\d,]+) elements/, '7: sparse example').map((t) =>
      Number(t.replace(',', '')),
    );
    const graph = sinExpGraph(n);
    const r = await run('jacobian', { graph, args: { x: Array.from({ length: n }, (_, i) => Math.sin(i)) } });
    expectReasonForm(r.reason, sparse.text, '7 sparse reason');
    expect(r.stats.directions).toBe(1);
  });
});

// --- docs/graph-format.md, section 8: errors and limits ---------------------------------------------

describe('graph-format.md, formulas and explain', () => {
  const formulas = block(GUIDE, '2: the first example as formulas', (b) => b.lang === 'json' && b.text.includes('"define"'));
  const loop = block(GUIDE, '2: formula errors (the loop)', (b) => b.lang === 'ts' && b.text.includes('graph.define, ...change'));
  const logs = next(GUIDE, loop, '2: formula errors (what it logs)');
  const call = block(GUIDE, '7: explain (the call)', (b) => b.lang === 'ts' && b.text.includes('explain('));
  const gives = next(GUIDE, call, '7: explain (its answer)');
  const graph = JSON.parse(formulas.text);

  test("the formulas give the first example's result, to the last bit", async () => {
    const args = { d: seedD, xs: 0.1 };
    const a = await operations.jacobian({ graph, args, constant: ['d'] }, { cache: false });
    const b = await operations.jacobian({ graph: fixtureGraph, args, constant: ['d'] }, { cache: false });
    expect(a.values).toEqual(b.values);
    expect(a.jacobian).toEqual(b.jacobian);
  });

  test('formula errors: what the loop logs', async () => {
    const logged: unknown[] = [];
    await runSnippet(loop.text, {
      jacobian: operations.jacobian,
      DerivdError,
      graph,
      d: seedD,
      console: { log: (v: unknown) => logged.push(v) },
    });
    expectShown(JSON.parse(JSON.stringify(logged)), shown(logs.text), '2 formula errors');
  });

  test("explain's answer for the formulas", async () => {
    const { value } = await runSnippet(call.text, { explain: (r: unknown) => explain(r, { cache: false }), graph, d: seedD }, 'e');
    const want = shown(gives.text) as Record<string, unknown>;
    const actual = value as Record<string, unknown>;
    expectReasonForm(actual.reason, want.reason as string, '7 explain.reason');
    expectShown({ ...actual, reason: want.reason }, want, '7 explain');
  });
});

describe('graph-format.md, 8. Errors and limits', () => {
  const several = block(
    GUIDE,
    '8: an error with several issues (the call)',
    (b) => b.lang === 'ts' && b.text.includes('console.log({ name: e.name'),
  );
  const gives = next(GUIDE, several, '8: an error with several issues (what it logs)');
  const schema = block(GUIDE, '8: schema issues', (b) => b.lang === 'json' && b.prose.includes('Schema issues come in one error too'));
  const misfit = block(
    GUIDE,
    '8: a call that does not fit (the call)',
    (b) => b.lang === 'ts' && b.prose.includes('A call that does not fit its graph'),
  );
  const misfitGives = next(GUIDE, misfit, '8: a call that does not fit (the error)');
  const limits = block(GUIDE, '8: limit messages', (b) => b.lang === 'text' && b.text.startsWith('graph.nodes: expected at most'));
  const asLogged = (e: DerivdError) => ({ name: e.name, kind: e.kind, issues: e.issues });

  test('an error with several issues: what the catch block logs', async () => {
    const logged: unknown[] = [];
    await runSnippet(several.text, { jacobian: operations.jacobian, DerivdError, console: { log: (v: unknown) => logged.push(v) } });
    expect(logged).toHaveLength(1);
    expectShown(JSON.parse(JSON.stringify(logged[0])), shown(gives.text), '8 several');
  });

  test('schema issues in one error (the request as the text describes it)', async () => {
    const [shape, attr, mode, extra] = find(
      schema.prose,
      /`jacobian` with input shape `(\[[^\]]*\])`, a `sum`\s+node with `("axis": \d+)`, `"mode": "(\w+)"` and an extra top-level field `("extra": true)`/,
      '8: schema request',
    );
    const graph = {
      inputs: [{ name: 'x', shape: JSON.parse(shape) }],
      nodes: [{ id: 's', op: 'sum', args: ['x'], ...JSON.parse(`{${attr}}`) }],
      outputs: ['s'],
    };
    const e = await rejection(run('jacobian', { graph, args: {}, mode, ...JSON.parse(`{${extra}}`) }));
    expectShown(asLogged(e), shown(schema.text), '8 schema');
  });

  test('a call that does not fit its graph: the error of the call shown', async () => {
    const e = await rejection(runSnippet(misfit.text, { gradient: operations.gradient }));
    expectShown(asLogged(e), shown(misfitGives.text), '8 misfit');
  });

  test('a hundred issues, then one counting the rest', async () => {
    const [cap, , message] = find(
      GUIDE.md,
      /An error lists at most \*\*(\d+) issues\*\*; when there are more, a (\d+)st issue[\s\S]*?\(`(and \d+ more\s+issues \(only the first \d+ are listed\))`\)/,
      '8: the issue cap',
    );
    const [more] = find(message, /^and (\d+) more/, '8: the count');
    const keys = Object.fromEntries(Array.from({ length: Number(cap) + Number(more) }, (_, i) => [`k${i}`, 0]));
    // a million unknown argument keys, say: here as many as the message counts, plus the hundred listed
    const graph = { inputs: [{ name: 'x', shape: [] }], nodes: [], outputs: ['x'] };
    const e = await rejection(run('evaluate', { graph, args: { x: 1, ...keys } }));
    expect(e.issues).toHaveLength(Number(cap) + 1);
    expect(e.issues[Number(cap)].message).toBe(message.replace(/\s+/g, ' '));
  });

  test('every limit message, from the request the text describes', async () => {
    const lines = limits.text.split('\n');
    const after = GUIDE.md.slice(GUIDE.md.indexOf(limits.text));
    // the requests the text below the messages describes, read from it where it gives numbers
    const [count] = find(after, /an `evaluate` of (\w+) outputs, each a `range`\s+of 10⁷ numbers/, '8: the range outputs');
    const ranges = { three: 3 }[count as 'three'];
    const [lowered] = find(after, /with `maxResponseBytes` lowered to (\d+) MiB/, '8: the lowered limit');
    const [n4000] = find(after, /`jacobian` of `y = exp\(x\)` with `x` of shape `\[(\d+)\]`/, '8: the block');
    const [n3000] = find(after, /`y = mul\(x, w\)` and `x` with respect to `x` and `w`, all of shape `\[(\d+)\]`/, '8: the four blocks');
    // one-letter output names: the byte bound counts each key, and the text does not name them
    const range = (n: number) => ({
      graph: {
        inputs: [],
        nodes: Array.from({ length: n }, (_, i) => ({ id: 'rst'[i], op: 'range', stop: 1e7 })),
        outputs: [...'rst'.slice(0, n)],
      },
      args: {},
    });
    const ones = (n: number) => new Array(n).fill(1);
    // The sizes the text gives only inside the messages are the requests' own (issue 8's
    // reproducers): they are fixed here, so a message changed on the page fails.
    const nodes = 10_001;
    const inputs = 20_000;
    const bigInput = [10_001, 1000];
    const bigNode = [4000, 4000];
    const rank = 65;
    const requests: [RegExp, () => [string, unknown, object?]][] = [
      [
        /^graph\.nodes: expected at most \d+ nodes \(MAX_NODES\), found \d+$/,
        () => [
          'evaluate',
          {
            graph: {
              inputs: [{ name: 'x', shape: [] }],
              nodes: Array.from({ length: nodes }, (_, i) => ({ id: `n${i}`, op: 'neg', args: ['x'] })),
              outputs: ['n0'],
            },
            args: { x: 1 },
          },
        ],
      ],
      [
        /^graph\.inputs: expected at most \d+ inputs \(MAX_INPUTS\), found \d+$/,
        () => [
          'evaluate',
          {
            graph: { inputs: Array.from({ length: inputs }, (_, i) => ({ name: `x${i}`, shape: [] })), nodes: [], outputs: ['x0'] },
            args: {},
          },
        ],
      ],
      [/^graph\.outputs: the result would hold \d+ numbers/, () => ['evaluate', range(ranges)]],
      [
        /^graph\.outputs: the result could take up to \d+ bytes as JSON/,
        () => ['evaluate', range(1), { limits: { maxResponseBytes: Number(lowered) * 1024 * 1024 } }],
      ],
      [
        /^graph\.inputs\[0\]\.shape: shape \[[^\]]*\] has/,
        () => ['evaluate', { graph: { inputs: [{ name: 'x', shape: bigInput }], nodes: [], outputs: ['x'] }, args: {} }],
      ],
      [
        /^graph\.nodes\[0\]: result shape \[[^\]]*\] has/,
        () => ['evaluate', { graph: { inputs: [], nodes: [{ id: 'f', op: 'fill', shape: bigNode, value: 0 }], outputs: ['f'] }, args: {} }],
      ],
      [
        /^graph\.inputs\[0\]\.shape: shape has rank \d+/,
        () => ['evaluate', { graph: { inputs: [{ name: 'x', shape: ones(rank) }], nodes: [], outputs: ['x'] }, args: {} }],
      ],
      [
        /^graph\.nodes\[0\]: result has rank \d+/,
        () => [
          'evaluate',
          { graph: { inputs: [], nodes: [{ id: 'f', op: 'fill', shape: ones(rank), value: 0 }], outputs: ['f'] }, args: {} },
        ],
      ],
      [
        /^graph: the Jacobian block of output "y" with respect to input "x"/,
        () => [
          'jacobian',
          {
            graph: { inputs: [{ name: 'x', shape: [Number(n4000)] }], nodes: [{ id: 'y', op: 'exp', args: ['x'] }], outputs: ['y'] },
            args: { x: new Array(Number(n4000)).fill(0) },
          },
        ],
      ],
      [
        /^graph: the Jacobian would have \d+ elements in all/,
        () => {
          const n = Number(n3000);
          return [
            'jacobian',
            {
              graph: {
                inputs: [
                  { name: 'x', shape: [n] },
                  { name: 'w', shape: [n] },
                ],
                nodes: [{ id: 'y', op: 'mul', args: ['x', 'w'] }],
                outputs: ['y', 'x'],
              },
              args: { x: new Array(n).fill(1), w: new Array(n).fill(1) },
            },
          ];
        },
      ],
    ];
    expect(lines).toHaveLength(requests.length);
    lines.forEach((l, i) => find(l, requests[i][0], `8: limit message ${i + 1}`));
    for (const [i, line] of lines.entries()) {
      const [op, request, options] = requests[i][1]();
      const e = await rejection(run(op, request, { cache: false, ...options }));
      expect(e.kind, line).toBe('limit_exceeded');
      // the message is one of the error's issues (three ranges of 10⁷ are over MAX_RESPONSE_BYTES too)
      expect(issueLines(e), line).toContain(line);
    }
  });
});

// --- docs/graph-format.md, section 9: stored graphs ----------------------------------------------

describe('graph-format.md, 9. Stored graphs', () => {
  const register = block(GUIDE, '9: curl POST /v1/graphs', (b) => b.lang === 'sh' && b.text.includes('http://127.0.0.1:8080/v1/graphs -H'));
  const summary = block(GUIDE, '9: the summary', (b) => b.lang === 'json' && b.prose.includes('the output names and the node count'));
  const call = block(
    GUIDE,
    '9: curl POST /v1/graphs/<id>/gradient',
    (b) => b.lang === 'sh' && b.text.includes('/v1/graphs/') && b.text.includes('/gradient'),
  );
  const answerShown = next(GUIDE, call, '9: the gradient answer');
  const unknown = block(GUIDE, '9: unknown-graph', (b) => b.lang === 'json' && b.text.includes('urn:derivd:problem:unknown-graph'));
  const callById = block(GUIDE, '9: curl POST /v1/gradient with graphId', (b) => b.lang === 'sh' && b.text.includes('"graphId"'));
  const canonical = block(
    GUIDE,
    '9: the canonical form',
    (b) => b.lang === 'text' && b.prose.includes('The canonical\nform of the graph above is'),
  );
  const graph = JSON.parse(find(register.text, /-d '([\s\S]*)'\s*$/, '9 curl body')[0]).graph;
  const appWith = useApps();

  curlTest('POST /v1/graphs answers 201, Location and the summary shown; again 200', async () => {
    // the service of the curl examples is shared, but no other example stores a graph
    const res = await curl(register.text);
    expect(res.status, res.body).toBe(201);
    const want = shown(summary.text);
    expectShown(res.json(), want, '9 summary');
    expect(res.headers.location).toBe(`/v1/graphs/${want.id}`);
    expect((await curl(register.text)).status).toBe(200);
    const got = await (await service()).app.inject({ method: 'GET', url: `/v1/graphs/${want.id}` });
    expect(JSON.stringify(got.json().graph)).toBe(canonical.text);
  });

  curlTest('the call on the stored graph gives what the page shows; an unknown id the problem shown', async () => {
    const id = (await curl(register.text)).json().id;
    const [url, body] = find(call.text, /curl -s http:\/\/[^/\s]+(\/v1\/graphs\/\w+\/\w+) [\s\S]*-d '(.*)'\s*$/, '9 call');
    expect(url).toBe(`/v1/graphs/${id}/gradient`);
    SHARED_CACHE.clear();
    expectEnvelope(await curl200(call.text), shown(answerShown.text), '9 gradient');
    // the same call on POST /v1/gradient, the id as graphId
    const [byIdBody] = find(callById.text, /curl -s http:\/\/[^/\s]+\/v1\/\w+ [\s\S]*-d '(.*)'\s*$/, '9 call by graphId');
    expect(JSON.parse(byIdBody).graphId).toBe(id);
    expectEnvelope(await curl200(callById.text), shown(answerShown.text), '9 gradient by graphId');
    const { app } = await appWith({ workers: 0 });
    const missing = await app.inject({
      method: 'POST',
      url: `/v1/graphs/${'0'.repeat(64)}/gradient`,
      payload: body,
      headers: { 'content-type': 'application/json' },
    });
    const want = shown(unknown.text);
    const { detail: _d, instance: _i, ...rest } = missing.json();
    expect(missing.statusCode).toBe(want.status);
    expectShown(rest, want, '9 unknown');
  });

  test('the id is the SHA-256 of the canonical form shown, and the library gives the same', () => {
    const id = shown(summary.text).id;
    expect(canonicalGraph(graph)).toBe(canonical.text);
    expect(createHash('sha256').update(canonical.text, 'utf8').digest('hex')).toBe(id);
    expect(registerGraph(graph, { graphStore: new GraphStore(1 << 20) })).toBe(id);
  });
});

// --- 7: reading generated code -----------------------------------------------------------------

test('7: the generated code listed for y = sin(x)·exp(x) is what generatedCode() gives', () => {
  const listing = block(GUIDE, '7: generated code', (b) => b.lang === 'js' && b.prose.includes('`generatedCode()` gives'));
  const call = prepare('jacobian', { graph: sinExpGraph(4), args: { x: [0.1, 0.2, 0.3, 0.4] }, mode: 'reverse' }, { cache: false });
  call.run(call.request.args);
  const text = call
    .generatedCode()
    .map((l) => `// ${l.program} (k = ${l.k})\n${l.source}`)
    .join('\n');
  expect(text).toBe(listing.text);
});

// --- every block accounted for -----------------------------------------------------------------

test('every json, text and ts block, and every curl command, of both pages is an example checked here, or listed as none', () => {
  for (const [page, pick, why] of NOT_EXAMPLES) block(page, `not an example: ${why}`, pick);
  const missed = [...README.blocks, ...GUIDE.blocks]
    .filter((b) => (['json', 'text', 'ts'].includes(b.lang) || (b.lang === 'sh' && /^\s*curl /m.test(b.text))) && !used.has(b))
    .map((b) => `${b.file}:${b.line} (${b.lang}): ${b.text.split('\n')[0]}`);
  expect(missed).toEqual([]);
});

// --- every ts block compiles ---------------------------------------------------------------------

/**
 * Each ts block, as run above, is also compiled by tsc against the library's own types,
 * under `strict` and `noUncheckedIndexedAccess`: its `./src/index.js` import is mapped
 * to src/index.ts (other `./` imports, a fixture, point into the repository); what the page gives in words (the graph "above", `d`) is declared
 * from the values the block was run with, as literals (`as const`), and library
 * functions it uses without importing them are imported. Only the blocks' own
 * diagnostics count (src itself is not written for noUncheckedIndexedAccess).
 */
test('every ts block of both pages type-checks against the library, strictly', async () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // The client's example is type-checked against the client, in test/readme-clients.test.ts.
  const blocks = [...README.blocks, ...GUIDE.blocks].filter((b) => b.lang === 'ts' && !b.text.includes("from 'derivd-client'"));
  expect(
    blocks.filter((b) => !snippets.has(b.text)).map((b) => `${b.file}:${b.line}: not run by any test`),
    'every ts block is run above first',
  ).toEqual([]);
  const dir = mkdtempSync(join(tmpdir(), 'derivd-docs-ts-'));
  try {
    const files = blocks.map((b, i) => {
      const bindings = snippets.get(b.text) as Record<string, unknown>;
      const declared = (name: string) =>
        new RegExp(`\\b(?:const|let|var|function)\\s+${name}\\b|^import [^;]*\\b${name}\\b`, 'm').test(b.text);
      const imports: string[] = [];
      const consts: string[] = [];
      for (const [name, value] of Object.entries(bindings)) {
        if (name === 'console' || declared(name)) continue;
        if ((library as Record<string, unknown>)[name] === value) imports.push(name);
        else consts.push(`const ${name} = ${JSON.stringify(value)} as const;`);
      }
      const prelude = [imports.length ? `import { ${imports.join(', ')} } from 'derivd';` : '', ...consts, 'export {};'];
      const file = `block-${i}.mts`;
      // the library by its path mapping; any other file of the repository (a fixture) where it is
      const code = b.text.replace(/from '\.\/src\/index\.js'/g, "from 'derivd'").replace(/from '\.\//g, `from '${root}`);
      writeFileSync(join(dir, file), `${prelude.join('\n')}\n${code}\n`);
      return { file, block: b, offset: prelude.length };
    });
    const compilerOptions = {
      strict: true,
      noUncheckedIndexedAccess: true,
      resolveJsonModule: true,
      noEmit: true,
      skipLibCheck: true,
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      paths: { derivd: [join(root, 'src/index.ts')] },
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: files.map((f) => f.file) }));
    const tsc = join(root, 'node_modules/.bin/tsc');
    const out = await promisify(execFile)(tsc, ['-p', 'tsconfig.json', '--pretty', 'false'], { cwd: dir }).then(
      (r) => r.stdout,
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
    // block-3.mts(7,12): error TS...: the page's file and line instead
    const errors = out
      .split('\n')
      .map((l) => /^block-(\d+)\.mts\((\d+),\d+\): (.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map(([, i, line, message]) => {
        const f = files[Number(i)];
        return `${f.block.file}:${f.block.line + Number(line) - f.offset}: ${message}`;
      });
    expect(errors).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
