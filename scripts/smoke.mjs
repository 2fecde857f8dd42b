// Waits for a running derivd to be ready, posts the seed Jacobian (the forum case)
// and checks dr/dxs against the analytic derivative, then that the playground page
// is served. Exits non-zero on any failure.
// Usage: node scripts/smoke.mjs http://127.0.0.1:8080
import { readFileSync } from 'node:fs';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const fail = (msg) => {
  console.error(`smoke: FAIL: ${msg}`);
  process.exit(1);
};

const deadline = Date.now() + 60_000;
for (;;) {
  const status = await fetch(`${base}/readyz`).then(
    (r) => r.status,
    () => 0,
  );
  if (status === 200) break;
  if (Date.now() > deadline) fail(`${base}/readyz was not 200 within 60 s`);
  await new Promise((r) => setTimeout(r, 250));
}

const graph = JSON.parse(readFileSync(new URL('../test/fixtures/seed-rs.graph.json', import.meta.url), 'utf8'));
const x = Array.from({ length: 21 }, (_, i) => i - 10);
const xs = 0.1;
const d = x.map((xi, i) => Math.exp(-1.5 * (xi - 0.3) ** 2) + 0.01 * Math.sin(i));
const res = await fetch(`${base}/v1/jacobian`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ graph, args: { d, xs }, constant: ['d'] }),
});
if (res.status !== 200) fail(`POST /v1/jacobian answered ${res.status}: ${await res.text()}`);
const body = await res.json();

// dr/dxs = -(c' f + c f'), f = exp(-1.5 (x - xs)^2), f' = 3 (x - xs) f, c = d·f / f·f
const dot = (a, b) => a.reduce((s, ai, i) => s + ai * b[i], 0);
const f = x.map((xi) => Math.exp(-1.5 * (xi - xs) ** 2));
const fp = f.map((fi, i) => 3 * (x[i] - xs) * fi);
const A = dot(d, f);
const B = dot(f, f);
const c = A / B;
const cp = (dot(d, fp) * B - A * 2 * dot(f, fp)) / (B * B);
const expected = f.map((fi, i) => -(cp * fi + c * fp[i]));
const got = body?.jacobian?.r?.xs;
if (!Array.isArray(got) || got.length !== 21) fail(`unexpected body: ${JSON.stringify(body).slice(0, 300)}`);
const err = Math.max(...got.map((g, i) => Math.abs(g - expected[i]))) / Math.max(1, ...expected.map(Math.abs));
if (!(err < 1e-12)) fail(`dr/dxs differs from the analytic derivative by ${err} (relative)`);
if (body.mode !== 'forward' || body.stats?.directions !== 1)
  fail(`expected forward mode with 1 direction, got ${body.mode} with ${body.stats?.directions}`);
console.log(
  `smoke: ok: dr/dxs matches the analytic derivative (max rel. error ${err.toExponential(2)}), mode ${body.mode}: ${body.reason}`,
);

// npm start built the playground page: /playground/ serves it and its script.
const page = await fetch(`${base}/playground/`);
const html = await page.text();
if (page.status !== 200) fail(`GET /playground/ answered ${page.status}: ${html.slice(0, 300)}`);
const script = /<script type="module"[^>]*src="([^"]+)"/.exec(html)?.[1];
if (!script) fail('GET /playground/ has no module script');
const js = await fetch(new URL(script, base));
// Read to the end: an unread body keeps its connection, and so this process, alive.
const bundle = await js.arrayBuffer();
if (js.status !== 200 || !/javascript/.test(js.headers.get('content-type') ?? '')) fail(`GET ${script} answered ${js.status}`);
if (bundle.byteLength === 0) fail(`GET ${script} answered an empty body`);
console.log(`smoke: ok: /playground/ serves the page and ${script}`);
