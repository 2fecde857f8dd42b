/**
 * "Try it out" in /docs (Swagger UI) works for every operation: in headless
 * Chromium, each operation is opened, Try it out → Execute sends its documented
 * example (body, and the stored graph's id in the path) to the listening
 * service, and the page shows 200 (201 for storing the example graph, which
 * goes first: the calls on a stored graph name it). Needs Debian's chromium at
 * /usr/bin/chromium (scripts/ensure-chromium.sh); without it the test is skipped
 * and says so.
 */
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { useApps } from '../helpers/server.js';
import { CHROMIUM, CHROMIUM_FLAGS, noteMissingChromium } from '../helpers/chromium.js';

const appWith = useApps();
noteMissingChromium('the "Try it out" test in a real browser');

/** Every operation of openapi.yaml but /metrics (Prometheus text, nothing to try), registerGraph first. */
function operations(): { method: string; path: string; operationId: string }[] {
  const doc = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8'));
  const all = Object.entries(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method, path, operationId: op.operationId })),
  );
  const first = all.filter((o) => o.operationId === 'registerGraph');
  return [...first, ...all.filter((o) => o.operationId !== 'registerGraph' && o.path !== '/metrics')];
}

describe('in a real browser', () => {
  test.skipIf(!CHROMIUM)(
    'Try it out → Execute answers 200 for every operation with its documented example',
    async () => {
      // no shedding on event-loop delay: a busy machine must not turn a try into a 503
      const { app } = await appWith({ workers: 0, maxEventLoopDelayMs: 0 });
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
      try {
        const ops = operations();
        // at least health, ready, the 7 operations inline and on a stored graph, register and get
        expect(ops.length).toBeGreaterThanOrEqual(2 + 7 * 2 + 2);
        const seen: string[] = [];
        const page = await browser.newPage();
        await page.goto(`${base}/docs`);
        for (const { method, path, operationId } of ops) {
          const block = page.locator(`.opblock.opblock-${method}`, { has: page.locator(`[data-path="${path}"]`) });
          await block.locator('.opblock-summary').first().click();
          await block.locator('.try-out__btn').click();
          await block.locator('.execute').click();
          const status = block.locator('.live-responses-table tr.response .response-col_status').first();
          await status.waitFor({ timeout: 20_000 });
          const code = ((await status.textContent()) ?? '').trim();
          seen.push(`${operationId} ${code}`);
          const body = (await block.locator('.live-responses-table tr.response .response-col_description').first().textContent()) ?? '';
          expect(
            operationId === 'registerGraph' ? ['200', '201'] : ['200'],
            `${method.toUpperCase()} ${path}: ${body.slice(0, 400)}`,
          ).toContain(code);
          // Clear the answer and fold the operation: every answer Swagger UI holds slows each later render.
          await block.locator('.btn-clear').click();
          await block.locator('.opblock-summary').first().click();
        }
        expect(seen.length).toBe(ops.length);
      } finally {
        await browser.close();
      }
    },
    180_000,
  );
});
