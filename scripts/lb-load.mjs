// HTTP helper for scripts/lb-smoke.sh (derivd replicas behind nginx). Loopback only;
// every command is bounded in requests and time and exits non-zero on failure.
//
//   node scripts/lb-load.mjs wait URL...                   each URL answers 200 (60 s at most)
//   node scripts/lb-load.mjs counts BASE...                per replica: POST /v1/jacobian 200s from its /metrics
//   node scripts/lb-load.mjs load BASE N CONCURRENCY [--kill PID --kill-after K]
//        N POSTs of the seed Jacobian to BASE, CONCURRENCY at a time; with --kill, the
//        process PID gets SIGKILL once K requests have completed (the rest still flowing).
//        Prints a summary; exits 1 unless all N got 200 with a well-formed Jacobian.
//   node scripts/lb-load.mjs checks BASE                   request ids and nginx's own 413 through the LB
import { readFileSync } from 'node:fs';

const [command, ...argv] = process.argv.slice(2);
const fail = (msg) => {
  console.error(`lb-load: FAIL: ${msg}`);
  process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TIMEOUT_MS = 30_000; // one request; derivd's seed Jacobian takes about a millisecond

/** The body scripts/smoke.mjs posts: the forum case, dr/dxs with d constant. */
function seedBody() {
  const graph = JSON.parse(readFileSync(new URL('../test/fixtures/seed-rs.graph.json', import.meta.url), 'utf8'));
  const x = Array.from({ length: 21 }, (_, i) => i - 10);
  const d = x.map((xi, i) => Math.exp(-1.5 * (xi - 0.3) ** 2) + 0.01 * Math.sin(i));
  return JSON.stringify({ graph, args: { d, xs: 0.1 }, constant: ['d'] });
}

async function postJacobian(base, body, headers = {}) {
  const res = await fetch(`${base}/v1/jacobian`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  return { res, text };
}

/** derivd_http_requests_total{route="/v1/jacobian",method="POST",status="200"} from one replica. */
async function jacobianCount(base) {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`${base}/metrics answered ${res.status}`);
  let n = 0;
  for (const line of (await res.text()).split('\n')) {
    const m = /^derivd_http_requests_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.route === '/v1/jacobian' && labels.method === 'POST' && labels.status === '200') n += Number(m[2]);
  }
  return n;
}

async function wait(urls) {
  const deadline = Date.now() + 60_000;
  for (const url of urls) {
    for (;;) {
      const status = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      if (Date.now() > deadline) fail(`${url} was not 200 within 60 s (last: ${status || 'no answer'})`);
      await sleep(200);
    }
  }
}

async function counts(bases) {
  // A dead replica prints "down" (its /metrics cannot be read).
  const out = await Promise.all(bases.map((b) => jacobianCount(b).then(String, () => 'down')));
  console.log(out.join(' '));
}

async function load(base, n, concurrency, killPid, killAfter) {
  const body = seedBody();
  const statuses = new Map();
  const problems = [];
  let next = 0;
  let done = 0;
  let killedAt = null;
  const started = Date.now();
  const deadline = started + 120_000;

  const one = async () => {
    let status;
    try {
      const { res, text } = await postJacobian(base, body);
      status = String(res.status);
      if (res.status === 200) {
        const xs = JSON.parse(text)?.jacobian?.r?.xs;
        if (!Array.isArray(xs) || xs.length !== 21) {
          status = '200-bad-body';
          problems.push(`200 with an unexpected body: ${text.slice(0, 200)}`);
        }
      } else problems.push(`${res.status}: ${text.trim().slice(0, 300)}`);
    } catch (err) {
      status = `error:${err.cause?.code ?? err.name}`;
      problems.push(`${status}: ${err.message}`);
    }
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    done++;
    if (killPid && killedAt === null && done >= killAfter) {
      killedAt = { done, inFlight: next - done, ms: Date.now() - started };
      try {
        process.kill(killPid, 'SIGKILL');
      } catch (err) {
        fail(`could not SIGKILL ${killPid}: ${err.message}`);
      }
    }
  };
  const worker = async () => {
    while (next < n) {
      if (Date.now() > deadline) fail(`load did not finish within 120 s (${done}/${n} done)`);
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));

  const ms = Date.now() - started;
  const ok = statuses.get('200') ?? 0;
  const summary = [...statuses]
    .sort()
    .map(([s, c]) => `${s}=${c}`)
    .join(' ');
  const kill = killedAt
    ? `; replica pid ${killPid} SIGKILLed after ${killedAt.done} responses with ${killedAt.inFlight} requests in flight (t=${killedAt.ms} ms)`
    : '';
  console.log(`${n} POST /v1/jacobian at concurrency ${concurrency} in ${ms} ms: ${summary}${kill}`);
  if (killPid && killedAt === null) fail(`the kill never happened (${done} responses, --kill-after ${killAfter})`);
  if (ok !== n) {
    for (const p of problems.slice(0, 5)) console.error(`  ${p}`);
    fail(`${n - ok} of ${n} requests did not get a 200 with a Jacobian (${summary}${kill})`);
  }
}

async function checks(base) {
  const body = seedBody();
  // 1. A client's X-Request-Id reaches derivd, which echoes it.
  const given = `lb-smoke-${process.pid}`;
  let { res } = await postJacobian(base, body, { 'x-request-id': given });
  if (res.status !== 200) fail(`POST with x-request-id answered ${res.status}`);
  if (res.headers.get('x-request-id') !== given) fail(`x-request-id ${given} came back as ${res.headers.get('x-request-id')}`);
  // 2. Without one, nginx makes one ($request_id: 32 hex digits; derivd's own would be a UUID).
  ({ res } = await postJacobian(base, body));
  const made = res.headers.get('x-request-id') ?? '';
  if (res.status !== 200 || !/^[0-9a-f]{32}$/.test(made))
    fail(`without x-request-id: status ${res.status}, x-request-id "${made}" (want nginx's 32 hex digits)`);
  // 3. An id derivd would not accept is replaced by nginx's, so both logs agree.
  ({ res } = await postJacobian(base, body, { 'x-request-id': 'not a token' }));
  const replaced = res.headers.get('x-request-id') ?? '';
  if (!/^[0-9a-f]{32}$/.test(replaced)) fail(`an invalid x-request-id came back as "${replaced}" (want nginx's 32 hex digits)`);
  // 4. Over BODY_LIMIT (16 MiB): nginx's own 413, as problem+json.
  const big = JSON.stringify({ pad: 'x'.repeat(16 * 1024 * 1024) });
  let status = 0;
  let type = '';
  let problem = null;
  try {
    const r = await postJacobian(base, big);
    status = r.res.status;
    type = r.res.headers.get('content-type') ?? '';
    try {
      problem = JSON.parse(r.text);
    } catch {
      problem = null;
    }
  } catch (err) {
    // nginx answers 413 as soon as it sees Content-Length and may close before the
    // upload ends; a reset here still means the body never reached a replica.
    status = `error:${err.cause?.code ?? err.name}`;
  }
  if (status === 413) {
    if (!type.startsWith('application/problem+json')) fail(`413 came as ${type}, want application/problem+json`);
  } else if (!String(status).startsWith('error:')) fail(`a 16 MiB + 11 byte body answered ${status}, want 413`);
  console.log(
    `x-request-id: client's kept (${given}), made by nginx when absent (${made}) or invalid (${replaced}); ` +
      `over 16 MiB: ${status}${problem ? ` ${problem.type}` : ''}`,
  );
}

const num = (s, what) => {
  const v = Number(s);
  if (!Number.isInteger(v) || v < 1) fail(`${what} must be a positive integer, got ${s}`);
  return v;
};

switch (command) {
  case 'wait':
    await wait(argv);
    break;
  case 'counts':
    await counts(argv);
    break;
  case 'load': {
    const [base, n, c, ...rest] = argv;
    let killPid = null;
    let killAfter = null;
    for (let i = 0; i < rest.length; i += 2) {
      if (rest[i] === '--kill') killPid = num(rest[i + 1], '--kill');
      else if (rest[i] === '--kill-after') killAfter = num(rest[i + 1], '--kill-after');
      else fail(`unknown option ${rest[i]}`);
    }
    if (!base) fail('load BASE N CONCURRENCY [--kill PID --kill-after K]');
    await load(base, num(n, 'N'), num(c, 'CONCURRENCY'), killPid, killAfter ?? 1);
    break;
  }
  case 'checks':
    await checks(argv[0]);
    break;
  default:
    fail(`unknown command ${command ?? ''}; see the top of scripts/lb-load.mjs`);
}
