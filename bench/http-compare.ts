/**
 * Before and after, in one run: the HTTP P1 load of http.ts (autocannon in a worker
 * thread, 10 connections, loopback) against derivd built from this tree and from a
 * baseline tree, each with the graph inline and by stored-graph id, and the bare
 * Fastify route; after a 1 s warm-up each, the five targets alternate for `rounds`
 * rounds of `seconds / rounds`. A ratio to bare is only meaningful within one run
 * (this machine's speed varies by 2x from hour to hour), hence both trees in one.
 *
 *   base=/tmp/derivd-base; rm -rf $base; mkdir -p $base
 *   git archive <commit> src package.json | tar -x -C $base
 *   ln -s "$PWD/node_modules" $base/node_modules
 *   npx tsx bench/http-compare.ts $base [seconds per target, default 10] [rounds, default 2]
 *
 * Prints a Markdown table: req/s, p50 and p99 (ms), each over bare's.
 */
import Fastify, { type FastifyInstance } from 'fastify';
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

const apps: FastifyInstance[] = [];
const targets: Record<string, { url: string; text: string }> = {};
for (const [name, root] of [
  ['baseline', base],
  ['this tree', new URL('..', import.meta.url).pathname],
] as const) {
  const { DEFAULT_CONFIG } = await import(`${root}/src/server/config.ts`);
  const { buildApp } = await import(`${root}/src/server/app.ts`);
  const { app } = (await buildApp({ ...DEFAULT_CONFIG, logLevel: 'warn' })) as { app: FastifyInstance };
  apps.push(app);
  const origin = await app.listen({ port: 0, host: '127.0.0.1' });
  const { id } = (await (await post(`${origin}/v1/graphs`, JSON.stringify({ graph }))).json()) as { id: string };
  targets[`${name}, inline`] = { url: `${origin}/v1/jacobian`, text: JSON.stringify(body) };
  targets[`${name}, by id`] = { url: `${origin}/v1/graphs/${id}/jacobian`, text: JSON.stringify(call) };
}
const bare = Fastify({ logger: false });
bare.post('/v1/jacobian', async (req) => (req.body as { args: { d: number[] } }).args.d);
apps.push(bare);
targets.bare = { url: `${await bare.listen({ port: 0, host: '127.0.0.1' })}/v1/jacobian`, text: JSON.stringify(body) };

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
  for (let r = 0; r < Number(rounds); r++)
    for (const n of names) runs[n].push(await cannon(targets[n].url, targets[n].text, Number(seconds) / Number(rounds)));
  const b = summarize(runs.bare);
  console.log(`${seconds} s per target in ${rounds} rounds; node ${process.version}\n`);
  console.log('| target | req/s | p50 ms | p99 ms | req/s ÷ bare | p50 ÷ bare | p99 ÷ bare | non-2xx, errors |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const n of names) {
    const d = summarize(runs[n]);
    const row = [n, d.reqPerSec.toFixed(0), d.p50Ms.toFixed(3), d.p99Ms.toFixed(3)];
    row.push(
      (d.reqPerSec / b.reqPerSec).toFixed(3),
      (d.p50Ms / b.p50Ms).toFixed(2),
      (d.p99Ms / b.p99Ms).toFixed(2),
      `${d.non2xx + d.errors}`,
    );
    console.log(`| ${row.join(' | ')} |`);
  }
} finally {
  await Promise.all(apps.map((a) => a.close()));
}
