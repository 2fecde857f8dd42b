/** The results: a table on stdout, bench/results.json and bench/results.md. */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import type { HandCheck } from './hand/check.js';
import type { HttpRecord } from './http.js';

export interface EngineRecord {
  problem: string;
  engine: 'forward' | 'reverse' | 'fd' | 'auto' | 'hand' | 'tfjs';
  medianUs: number | null;
  apiMedianUs: number | null;
  ratioToPrimal: number | null;
  ratioToHand: number | null;
  maxRelError: number | null;
  /** auto: the engine it chose. */
  picked?: string;
  /** auto, where forward and reverse both ran: the picked engine's median / the faster one's. */
  pickedVsBest?: number;
  /** The median of the primal this record's ratioToPrimal divides by. */
  primalUs?: number | null;
  samples?: number;
  /** hand: its check against finite differences. */
  fdCheck?: HandCheck;
  /** hand: the rate its median reaches, "3.52 GFLOP/s" (compute-bound) or "11.8 GB/s" (memory-bound). */
  rate?: string;
  /** The derivative is wrong (error above the engine's tolerance): its time does not count. */
  wrong?: boolean;
  /** Why it did not run. */
  skipped?: string;
}

export interface RunInfo {
  command: string;
  quick: boolean;
  tfjs: string;
  httpSeconds: number;
  wallSeconds: number;
}

const us = (x: number | null | undefined): string => (x == null ? '-' : x >= 100 ? x.toFixed(0) : x.toPrecision(3));
const ratio = (x: number | null | undefined): string => (x == null ? '-' : x.toPrecision(3));
const err = (x: number | null | undefined): string => (x == null ? '-' : x === 0 ? '0' : x.toExponential(1));

function note(r: EngineRecord): string {
  if (r.skipped) return `skipped: ${r.skipped}`;
  const parts: string[] = [];
  if (r.wrong) parts.push('!!! WRONG DERIVATIVE: does not count !!!');
  if (r.picked) parts.push(`picked ${r.picked}${r.pickedVsBest === undefined ? '' : ` (${r.pickedVsBest.toFixed(2)}x the faster)`}`);
  if (r.rate) parts.push(r.rate);
  if (r.fdCheck) parts.push(`fd check ${err(r.fdCheck.maxRelError)} (${r.fdCheck.method})`);
  return parts.join('; ');
}

const HEAD = ['problem', 'engine', 'median µs', 'API µs', 'API added µs', '×primal', '×hand', 'max rel err', 'note'];

/** Markdown, or aligned text: the first `labels` columns left, the rest right, a last `note` column as is. */
function table(head: string[], rows: string[][], md: boolean, labels: number, note: boolean): string {
  if (md) return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const cell = (s: string, c: number): string => (note && c === head.length - 1 ? s : c < labels ? s.padEnd(w[c]) : s.padStart(w[c]));
  return [head, ...rows].map((r) => r.map(cell).join('  ').trimEnd()).join('\n');
}

function engineTable(records: EngineRecord[], md: boolean): string {
  const rows = records.map((r) => [
    r.problem,
    r.engine,
    us(r.medianUs),
    us(r.apiMedianUs),
    // what the public call adds to the prepared one: checking the envelope, finding the plan, encoding
    us(r.apiMedianUs != null && r.medianUs != null ? r.apiMedianUs - r.medianUs : null),
    ratio(r.ratioToPrimal),
    ratio(r.ratioToHand),
    err(r.maxRelError),
    note(r),
  ]);
  return table(HEAD, rows, md, 2, true);
}

function primalTable(records: EngineRecord[], md: boolean): string {
  const problems = [...new Set(records.map((r) => r.problem))];
  const primal = (p: string, engines: string[]) =>
    us(records.find((r) => r.problem === p && engines.includes(r.engine) && r.primalUs != null)?.primalUs);
  const rows = problems.map((p) => [p, primal(p, ['forward', 'reverse', 'fd', 'auto']), primal(p, ['hand']), primal(p, ['tfjs'])]);
  return table(['problem', 'derivd evaluate µs', 'hand µs', 'tfjs µs'], rows, md, 1, false);
}

function httpTable(records: HttpRecord[], md: boolean): string {
  const rows = records.map((r) => [
    r.target,
    r.reqPerSec.toFixed(0),
    r.p50Ms.toFixed(3),
    r.p99Ms.toFixed(3),
    r.meanMs.toFixed(3),
    String(r.non2xx),
    String(r.errors),
    r.target !== 'bare'
      ? `req/s ${ratio(r.ratio.reqPerSec)}, p50 ${ratio(r.ratio.p50Ms)}, p99 ${ratio(r.ratio.p99Ms)}, mean ${ratio(r.ratio.meanMs)}`
      : '',
  ]);
  return table(['target', 'req/s', 'p50 ms', 'p99 ms', 'mean ms', 'non-2xx', 'errors', 'derivd / bare'], rows, md, 1, true);
}

/** P5: is auto's pick within 1.5x of the faster of forward and reverse? */
export function autoPickLines(records: EngineRecord[]): string[] {
  return records
    .filter((r) => r.engine === 'auto' && r.problem.startsWith('P5') && r.pickedVsBest !== undefined)
    .map(
      (r) =>
        `${r.problem}: auto picked ${r.picked}, ${(r.pickedVsBest as number).toFixed(2)}x the faster of forward/reverse: ${(r.pickedVsBest as number) <= 1.5 ? 'within 1.5x' : 'NOT within 1.5x'}`,
    );
}

/** Everything that went wrong, loudly. */
export function problems(records: EngineRecord[], http: HttpRecord[]): string[] {
  return [
    ...records.filter((r) => r.wrong).map((r) => `WRONG DERIVATIVE: ${r.problem} ${r.engine}, max rel error ${err(r.maxRelError)}`),
    ...records
      .filter((r) => r.fdCheck && !(r.fdCheck.maxRelError <= 1e-6))
      .map((r) => `HAND DERIVATIVE FAILS ITS FD CHECK: ${r.problem}, ${err(r.fdCheck?.maxRelError)}`),
    ...http.filter((r) => r.non2xx > 0 || r.errors > 0).map((r) => `HTTP ${r.target}: ${r.non2xx} non-2xx responses, ${r.errors} errors`),
    ...http.filter((r) => r.wrong).map((r) => `HTTP ${r.target}: WRONG RESPONSE (${r.wrong})`),
  ];
}

export function printReport(records: EngineRecord[], http: HttpRecord[], info: RunInfo): void {
  const skipped = records.filter((r) => r.skipped).map((r) => `${r.problem} ${r.engine}: ${r.skipped}`);
  const out = [
    engineTable(records, false),
    '',
    primalTable(records, false),
    '',
    `HTTP-P1 (${info.httpSeconds} s per target${info.quick ? ', shortened by --quick' : ''}):`,
    httpTable(http, false),
    '',
    ...autoPickLines(records),
    ...skipped,
    ...problems(records, http),
  ];
  console.log(out.join('\n'));
}

export function writeResults(records: EngineRecord[], http: HttpRecord[], info: RunInfo): void {
  const dir = new URL('./', import.meta.url);
  writeFileSync(new URL('results.json', dir), `${JSON.stringify([...records, ...http], null, 2)}\n`);
  const issues = problems(records, http);
  const md = [
    `# derivd benchmark results${info.quick ? ' (quick)' : ''}`,
    '',
    `- command: \`${info.command}\`${info.quick ? ' (quick: P1, P2, P3-1e5 and P4 only, HTTP shortened)' : ''}`,
    `- problems: ${[...new Set(records.map((r) => r.problem))].join(', ')}, HTTP-P1`,
    `- date: ${new Date().toISOString()}`,
    `- node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${process.platform} ${process.arch}`,
    `- tfjs ${info.tfjs}; wall time ${info.wallSeconds.toFixed(0)} s`,
    '',
    'Times are medians per call of the prepared plan (`prepare(...).run(args)`, packed Float64Array arguments); ',
    '"API µs" is the public `jacobian`/`gradient` call with nested arrays (on a plan-cache hit), "API added µs" what it adds to ',
    "the prepared call (checking the envelope, finding the plan, encoding). ×primal divides by the same family's primal ",
    "(derivd: `prepare('evaluate')`; hand: hand primal; tfjs: tfjs primal), ×hand by the hand-written derivative, ",
    'which is also the reference of max rel err. See bench/README.md.',
    '',
    ...(issues.length ? ['## Problems', '', ...issues.map((i) => `- **${i}**`), ''] : []),
    '## Derivatives',
    '',
    engineTable(records, true),
    '',
    '## Primals',
    '',
    primalTable(records, true),
    '',
    `## HTTP-P1 (${info.httpSeconds} s per target${info.quick ? ', shortened by --quick' : ''}; 10 connections, loopback)`,
    '',
    httpTable(http, true),
    '',
    ...(autoPickLines(records).length ? ['## auto on P5', '', ...autoPickLines(records).map((l) => `- ${l}`), ''] : []),
    ...(records.some((r) => r.skipped)
      ? ['## Skipped', '', ...records.filter((r) => r.skipped).map((r) => `- ${r.problem} ${r.engine}: ${r.skipped}`), '']
      : []),
  ];
  writeFileSync(new URL('results.md', dir), md.join('\n'));
}
