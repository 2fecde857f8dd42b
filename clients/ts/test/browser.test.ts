/**
 * The client in a real browser (headless Chromium, when installed; skipped with a
 * note otherwise): the built package, loaded as ES modules from one origin, calls
 * derivd on another (CORS) with a Float64Array large enough to go as base64 and a
 * base64 result, through the stored-graph path: fetch, btoa, atob and DataView as
 * browsers have them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { buildApp } from '../../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../../src/server/config.js';
import { CHROMIUM, dumpDom, noteMissingChromium } from '../../../test/helpers/chromium.js';

noteMissingChromium('the client test in a real browser');

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const TSC = fileURLToPath(new URL('../../../node_modules/.bin/tsc', import.meta.url));

const page = (derivd: string): string => `<!doctype html>
<html><body><pre id="out">pending</pre>
<script type="module">
import { Derivd, graph, square, sum } from '/dist/index.js';
const out = document.getElementById('out');
try {
  const client = new Derivd({ url: ${JSON.stringify(derivd)} });
  const g = graph();
  const x = g.input('x', [2000]);
  const model = g.output('s', sum(square(x)));
  const xs = Float64Array.from({ length: 2000 }, (_, i) => Math.sin(i));
  const first = await client.gradient({ graph: model, args: { x: xs }, encoding: 'base64' });
  const again = await client.gradient({ graph: model, args: { x: xs.map((v) => -v) }, encoding: 'base64' });
  const exact = first.gradient.x.data.every((v, i) => v === 2 * xs[i]) && again.gradient.x.data.every((v, i) => v === -2 * xs[i]);
  out.textContent = 'result ' + JSON.stringify({ exact, n: first.gradient.x.data.length, s: first.values.s.data[0] });
} catch (e) {
  out.textContent = 'error ' + e;
}
</script></body></html>`;

test.skipIf(!CHROMIUM)(
  'the built client computes a base64 gradient in headless Chromium, across origins',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'derivd-client-browser-'));
    const derivd = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 0, corsOrigins: true });
    const requests: string[] = [];
    derivd.app.addHook('onRequest', async (req) => {
      requests.push(`${req.method} ${req.url.replace(/[0-9a-f]{64}/, '{id}')}`);
    });
    const static_ = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(page(derivdBase));
        return;
      }
      const file = normalize(join(dir, path));
      if (!file.startsWith(join(dir, 'dist')) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
    });
    let derivdBase = '';
    try {
      execFileSync(TSC, ['-p', PACKAGE, '--outDir', join(dir, 'dist')], { stdio: 'pipe' });
      derivdBase = await derivd.app.listen({ host: '127.0.0.1', port: 0 });
      await new Promise<void>((resolve) => static_.listen(0, '127.0.0.1', resolve));
      const pageUrl = `http://127.0.0.1:${(static_.address() as AddressInfo).port}/`;
      const { dom, log } = await dumpDom(pageUrl, join(dir, 'profile'));
      const line = /result (\{.*\})/.exec(dom);
      expect(line, `${dom.slice(0, 2000)}\n${log.slice(-2000)}`).not.toBeNull();
      const result = JSON.parse(line?.[1] as string);
      const s = Array.from({ length: 2000 }, (_, i) => Math.sin(i) ** 2).reduce((a, b) => a + b, 0);
      expect(result).toMatchObject({ exact: true, n: 2000 });
      expect(result.s).toBeCloseTo(s, 8);
      // Registered once, then called by id twice (CORS preflights aside).
      expect(requests.filter((r) => r.startsWith('POST'))).toEqual([
        'POST /v1/graphs',
        'POST /v1/graphs/{id}/gradient',
        'POST /v1/graphs/{id}/gradient',
      ]);
    } finally {
      static_.closeAllConnections();
      await new Promise((resolve) => static_.close(resolve));
      await derivd.app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  60_000,
);
