/**
 * The playground page in a real browser (Debian's Chromium through
 * playwright-core), against a service this test starts: the seed is computed and
 * drawn on load and every example loads, with the numbers the page shows (its
 * "all numbers" panel, and a heatmap's tooltip) equal to what the API answers for
 * the same request; ticking an input constant drops the directions; a shared
 * link restores the page; the page works at phone width; and the browser reports
 * no Content-Security-Policy violation. Screenshots of each example go to
 * test/artifacts/playground/; with UPDATE_README_SCREENSHOT=1 the seed's, at
 * 1280×800, also replaces docs/playground-seed.png, which the README shows (not
 * on every run: the timings it shows would change a tracked file each time). The page is built first
 * when dist/playground/ is missing or stale (scripts/bootstrap.mjs). Without
 * /usr/bin/chromium the test is skipped and says so.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXAMPLES, SEED } from '../../playground/src/lib/examples.js';
import { type PlaygroundState, toRequest } from '../../playground/src/lib/state.js';
import { fmt } from '../../playground/src/lib/tensor.js';
import { decodeState } from '../../playground/src/lib/url.js';
import { type App, buildApp } from '../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { newKey } from '../helpers/access.js';
import { CHROMIUM, CHROMIUM_FLAGS, noteMissingChromium } from '../helpers/chromium.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = join(ROOT, 'test/artifacts/playground');
noteMissingChromium('the playground tests in a real browser');

let server: App;
let base: string;
let browser: Browser;

beforeAll(async () => {
  if (!CHROMIUM) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts/bootstrap.mjs'), 'playground'], { cwd: ROOT, stdio: 'inherit', timeout: 120_000 });
  mkdirSync(SHOTS, { recursive: true });
  // no shedding on event-loop delay: a busy machine must not turn a request into a 503
  server = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 0, maxEventLoopDelayMs: 0 });
  base = await server.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await server?.app.close();
});

/** A page that records CSP violations and page errors (read them with problemsOf). */
async function openPage(width = 1280, height = 800): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  // Code run in the page is passed as text: the test's own types know no DOM.
  await page.addInitScript({
    content: `window.problems = [];
      document.addEventListener('securitypolicyviolation', (e) => window.problems.push('CSP ' + e.violatedDirective + ': ' + e.blockedURI));
      window.addEventListener('error', (e) => window.problems.push('error: ' + e.message));
      window.addEventListener('unhandledrejection', (e) => window.problems.push('rejection: ' + String(e.reason)));
      window.layoutShift = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (!e.hadRecentInput) window.layoutShift += e.value;
      }).observe({ type: 'layout-shift', buffered: true });`,
  });
  const fromConsole: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) fromConsole.push(m.text());
  });
  consoleProblems.set(page, fromConsole);
  return page;
}

const consoleProblems = new WeakMap<Page, string[]>();
/** The page's own globals, read by functions (the page's CSP refuses code passed as a string: no 'unsafe-eval'). */
const pageGlobal = (page: Page, name: string): Promise<unknown> =>
  page.evaluate((n) => (globalThis as unknown as Record<string, unknown>)[n], name);
const problemsOf = async (page: Page): Promise<string[]> => [
  ...((await pageGlobal(page, 'problems')) as string[]),
  ...(consoleProblems.get(page) ?? []),
];
const resetStatus = (page: Page): Promise<unknown> =>
  page.locator('body').evaluate((body: { dataset: Record<string, string> }) => {
    body.dataset.status = '';
  });

/** Waits for the page's latest Compute (and its engines, diagram and sweep) to finish. */
async function settled(page: Page, expected = 'done'): Promise<void> {
  await page.waitForSelector('body[data-status="done"], body[data-status="error"]', { state: 'attached', timeout: 30_000 });
  expect(await page.locator('body').getAttribute('data-status'), (await page.locator('#editor').textContent()) ?? '').toBe(expected);
}

async function api(state: PlaygroundState): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/v1/${state.operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(toRequest(state)),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** The numbers the page shows in its "all numbers" panel: values and the derivative. */
async function shown(page: Page, operation: string): Promise<{ values: unknown; derivative: unknown }> {
  const json = JSON.parse((await page.locator('#result-json').textContent()) ?? 'null');
  return { values: json.values, derivative: json[operation] ?? null };
}

const directionsOf = async (page: Page, engine: string): Promise<number> =>
  Number(await page.locator(`#engines tr[data-engine="${engine}"] td.directions`).textContent());

describe.skipIf(!CHROMIUM)('the playground in a real browser', () => {
  test('opens on the seed, computed and drawn; hovering a cell shows its (row, column, value)', async () => {
    const page = await openPage();
    await page.goto(`${base}/playground`);
    await settled(page);
    await page.screenshot({ path: join(SHOTS, 'seed-1280x800.png') });
    if (process.env.UPDATE_README_SCREENSHOT === '1') await page.screenshot({ path: join(ROOT, 'docs/playground-seed.png') });
    const expected = await api(SEED.state);
    expect(await shown(page, 'jacobian')).toEqual({ values: expected.values, derivative: expected.jacobian });
    // 1 direction forward (d is constant), 21 reverse; auto picks forward and says why
    expect(await directionsOf(page, 'forward')).toBe(1);
    expect(await directionsOf(page, 'reverse')).toBe(21);
    expect(await page.locator('#auto-reason').textContent()).toMatch(
      /^auto chose forward: 1 active input element vs 21 output elements.* Largest disagreement: \S+, between \w+ and \w+\.$/,
    );
    // the diagram greys the constant part (d, and the range x) and colours the rest
    expect(await page.locator('#graph .node.inactive').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#graph .node.active').count()).toBeGreaterThanOrEqual(9);
    expect(await page.locator('#sweep canvas').count()).toBeGreaterThan(0);
    // hover row 10 of the 21 × 1 block dr/dxs
    const canvas = page.locator('#derivative canvas').first();
    const box = await canvas.boundingBox();
    if (!box) throw new Error('the heatmap has no box');
    await canvas.hover({ position: { x: box.width / 2, y: (box.height * 10.5) / 21 } });
    const tip = page.locator('#derivative .tooltip').first();
    const value = (expected.jacobian as { r: { xs: number[] } }).r.xs[10];
    expect(await tip.textContent()).toBe(`(r 10, xs 0) = ${fmt(value)}`);
    expect(Number(await tip.getAttribute('data-value'))).toBe(value);
    // the arrow keys move the same cursor
    await canvas.focus();
    await page.keyboard.press('ArrowDown');
    expect(await tip.getAttribute('data-row')).toBe('11');
    // results arrive into reserved space: the layout barely moves (0.1 is the web's "good" cumulative shift)
    expect(await pageGlobal(page, 'layoutShift')).toBeLessThan(0.1);
    await page.screenshot({ path: join(SHOTS, 'seed-hover.png') });
    expect(await problemsOf(page)).toEqual([]);
    await page.close();
  }, 60_000);

  test('every example loads with one click and shows the API’s numbers', async () => {
    const page = await openPage();
    await page.goto(`${base}/playground/`);
    await settled(page);
    for (const example of EXAMPLES) {
      await resetStatus(page);
      await page.locator(`#examples button[data-example="${example.id}"]`).click();
      await settled(page);
      const expected = await api(example.state);
      const op = example.state.operation;
      expect(await shown(page, op), example.id).toEqual({ values: expected.values, derivative: expected[op] });
      expect(await page.locator('#derivative canvas').count(), example.id).toBeGreaterThan(0);
      expect(await page.locator('#engines tbody tr').count(), example.id).toBe(4);
      await page.screenshot({ path: join(SHOTS, `${example.id}.png`), fullPage: true });
    }
    expect(await problemsOf(page)).toEqual([]);
    await page.close();
  }, 90_000);

  test('ticking an input constant drops the directions; a shared link restores the page', async () => {
    const page = await openPage();
    await page.goto(`${base}/playground/`);
    await settled(page);
    const d = page.getByLabel('d is constant');
    await resetStatus(page);
    await d.uncheck();
    await settled(page);
    const active = await directionsOf(page, 'forward');
    expect(active).toBe(22); // d's 21 elements and xs
    await resetStatus(page);
    await d.check();
    await settled(page);
    expect(await directionsOf(page, 'forward')).toBe(1);

    // an edited formula, shared: the link carries it
    await resetStatus(page);
    await page.locator('#examples button[data-example="softmax"]').click();
    await settled(page);
    await page.getByLabel('formula 1: name = formula').fill('e = exp(2*(x - max(x)))');
    await resetStatus(page);
    await page.locator('#compute').click();
    await settled(page);
    const link = page.url();
    expect(link).toMatch(/#s=[A-Za-z0-9_-]+$/);
    const before = await shown(page, 'jacobian');
    const other = await openPage();
    await other.goto(link);
    await settled(other);
    expect(await other.getByLabel('formula 1: name = formula').inputValue()).toBe('e = exp(2*(x - max(x)))');
    expect(await shown(other, 'jacobian')).toEqual(before);
    expect(await problemsOf(page)).toEqual([]);
    expect(await problemsOf(other)).toEqual([]);
    await other.close();
    await page.close();
  }, 60_000);

  test('"copy as" shows the request as curl, TypeScript and Python, for this server', async () => {
    const page = await openPage();
    await page.goto(`${base}/playground/`);
    await settled(page);
    const code = page.locator('#copy-output');
    await page.getByRole('button', { name: 'Copy as curl' }).click();
    expect(await code.textContent()).toMatch(
      new RegExp(`^curl -s '${base}/v1/jacobian' -H 'content-type: application/json' -d '\\{"graph"`),
    );
    await page.getByRole('button', { name: 'Copy as TypeScript' }).click();
    expect(await code.textContent()).toContain(`new Derivd({ url: "${base}" })`);
    await page.getByRole('button', { name: 'Copy as Python' }).click();
    expect(await code.textContent()).toContain(`client.jacobian(graph, args=args, constant=[`);
    expect(await problemsOf(page)).toEqual([]);
    await page.close();
  }, 30_000);

  test('an error appears under the formula line it belongs to, with its path and column', async () => {
    const page = await openPage();
    await page.goto(`${base}/playground/`);
    await settled(page);
    await page.getByLabel('formula 2: name = formula').fill('f = exp(-1.5*(x - xs)^2))');
    await resetStatus(page);
    await page.locator('#compute').click();
    await settled(page, 'error');
    const under = page.locator('#formulas li').nth(1).locator('.error');
    expect(await under.textContent()).toMatch(/^graph\.define\.f: .*column \d+/);
    expect(await page.locator('#formulas li').nth(0).locator('.error').textContent()).toBe('');
    await page.close();
  }, 30_000);

  test('a service with API keys: a 401 says to enter the key, and with it the page computes', async () => {
    const { key, digest } = newKey();
    const guarded = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 0, maxEventLoopDelayMs: 0, apiKeyDigests: [digest] });
    try {
      const url = await guarded.app.listen({ port: 0, host: '127.0.0.1' });
      const page = await openPage();
      await page.goto(`${url}/playground/`);
      await settled(page, 'error');
      expect(await page.locator('#form-error').textContent()).toContain('This service needs an API key');
      await page.getByLabel('API key').fill(key);
      await resetStatus(page);
      await page.locator('#compute').click();
      await settled(page);
      // the link holds the state, not the key
      const shared = await decodeState(new URL(page.url()).hash);
      expect(shared?.inputs.map((i) => i.name)).toEqual(['d', 'xs']);
      expect(JSON.stringify(shared)).not.toContain(key);
      expect(await directionsOf(page, 'forward')).toBe(1);
      await page.close();
    } finally {
      await guarded.app.close();
    }
  }, 30_000);

  test('readable at phone width: nothing wider than the screen', async () => {
    const page = await openPage(390, 844);
    await page.goto(`${base}/playground/`);
    await settled(page);
    expect(await page.locator('html').evaluate((html: { scrollWidth: number }) => html.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, 'seed-phone.png'), fullPage: true });
    expect(await problemsOf(page)).toEqual([]);
    await page.close();
  }, 30_000);
});
