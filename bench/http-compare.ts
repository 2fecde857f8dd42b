/**
 * Before and after, in one run: the HTTP P1 load of http.ts (autocannon in a worker
 * thread, 10 connections, loopback) against derivd built from this tree and from a
 * baseline tree, each with the graph inline and by stored-graph id, and the bare
 * Fastify route; after a 1 s warm-up each, the five targets alternate for `rounds`
 * rounds of `seconds / rounds`. A ratio to bare is only meaningful within one run
 * (this machine's speed varies by 2x from hour to hour), hence both trees in one.
 * Each server runs in a process of its own (http-serve.ts): two derivd apps in one
 * process would share Fastify's and V8's per-function state (inline caches made
 * polymorphic by the other app's hooks), which evens out what is compared.
 *
 *   base=/tmp/derivd-base; rm -rf $base; mkdir -p $base
 *   git archive <commit> src package.json | tar -x -C $base
 *   ln -s "$PWD/node_modules" $base/node_modules
 *   npx tsx bench/http-compare.ts $base [seconds per target, default 10] [rounds, default 2]
 *
 * Prints a Markdown table: req/s, p50 and p99 (ms), each over bare's, and each
 * server's CPU time per response (Linux: /proc/<pid>/stat), whose ratio to bare's
 * is what req/s would show on a machine where the server has a core to itself
 * (on a busy one, req/s measures the share of the cores the processes got).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { hand } from './hand/index.js';
import { type Cannon, cannon, summarize } from './http.js';
import { PROBLEMS, request, type Problem } from './problems.js';

const [base, seconds = '10', rounds = '2'] = process.argv.slice(2);
if (!base) throw new Error('usage: npx tsx bench/http-compare.ts <baseline tree> [seconds] [rounds]');

const p1 = PROBLEMS.find((p) => p.id === 'P1') as Problem;
const body = request(p1, 'forward');
const expected = hand(p1).derivative(p1.args.map((a) => a.data))[0];
const { graph, ...call } = body;
const post = (url: string, text: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });

/** Starts bench/http-serve.ts for `root` (or "bare") in a process of its own; resolves to its origin. */
function serve(root: string): Promise<{ origin: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('http-serve.ts', import.meta.url).pathname, root], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the server for ${root} exited (${code})`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) =>
      resolve({ origin: (JSON.parse(line) as { origin: string }).origin, child }),
    );
  });
}

/** CPU seconds (user + system) a process has used, from /proc (Linux; NaN elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
  } catch {
    return Number.NaN;
  }
}
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

const children: ChildProcess[] = [];
const targets: Record<string, { url: string; text: string; pid?: number }> = {};
for (const [name, root] of [
  ['baseline', base],
  ['this tree', new URL('..', import.meta.url).pathname],
] as const) {
  const { origin, child } = await serve(root);
  children.push(child);
  const { id } = (await (await post(`${origin}/v1/graphs`, JSON.stringify({ graph }))).json()) as { id: string };
  targets[`${name}, inline`] = { url: `${origin}/v1/jacobian`, text: JSON.stringify(body), pid: child.pid };
  targets[`${name}, by id`] = { url: `${origin}/v1/graphs/${id}/jacobian`, text: JSON.stringify(call), pid: child.pid };
}
const bare = await serve('bare');
children.push(bare.child);
targets.bare = { url: `${bare.origin}/v1/jacobian`, text: JSON.stringify(body), pid: bare.child.pid };

try {
  for (const [name, t] of Object.entries(targets)) {
    if (name === 'bare') continue;
    const res = await post(t.url, t.text);
    const got = ((await res.json()) as { jacobian?: { r?: { xs?: number[] } } }).jacobian?.r?.xs ?? [];
    const err = Math.max(...Array.from(expected, (e, i) => Math.abs((got[i] ?? NaN) - e)));
    if (res.status !== 200 || !(err <= 1e-8)) throw new Error(`${name}: status ${res.status}, max abs error ${err}`);
  }
  const names = Object.keys(targets);
  const runs = Object.fromEntries(names.map((n) => [n, [] as Cannon[]]));
  for (const n of names) await cannon(targets[n].url, targets[n].text, 1); // warm-up
  const cpu = Object.fromEntries(names.map((n) => [n, 0]));
  for (let r = 0; r < Number(rounds); r++)
    for (const n of names) {
      const before = cpuSeconds(targets[n].pid);
      runs[n].push(await cannon(targets[n].url, targets[n].text, Number(seconds) / Number(rounds)));
      cpu[n] += cpuSeconds(targets[n].pid) - before;
    }
  /** The server's CPU time per response, in µs: what it costs, whatever share of the cores it got. */
  const cpuUs = (n: string): number => (cpu[n] / runs[n].reduce((s, c) => s + c.requests, 0)) * 1e6;
  const b = summarize(runs.bare);
  console.log(`${seconds} s per target in ${rounds} rounds; node ${process.version}\n`);
  console.log(
    '| target | req/s | p50 ms | p99 ms | server CPU µs/req | req/s ÷ bare | p50 ÷ bare | p99 ÷ bare | bare ÷ CPU/req | non-2xx, errors |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const n of names) {
    const d = summarize(runs[n]);
    const row = [n, d.reqPerSec.toFixed(0), d.p50Ms.toFixed(3), d.p99Ms.toFixed(3), cpuUs(n).toFixed(1)];
    row.push((d.reqPerSec / b.reqPerSec).toFixed(3), (d.p50Ms / b.p50Ms).toFixed(2), (d.p99Ms / b.p99Ms).toFixed(2));
    row.push((cpuUs('bare') / cpuUs(n)).toFixed(3), `${d.non2xx + d.errors}`);
    console.log(`| ${row.join(' | ')} |`);
  }
} finally {
  for (const child of children) {
    child.removeAllListeners('exit');
    child.kill('SIGTERM');
  }
}
