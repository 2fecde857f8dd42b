/**
 * The README's quick start runs against a real server and its dr/dxs matches
 * central differences of r written out here (the types are checked in
 * package.test.ts, under the strictest settings).
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect, test } from 'vitest';
import { expectClose, flat } from './numeric.js';
import { quickStartModule } from './readme.js';
import { useServer } from './server.js';

const server = useServer();

function r(xs: number): number[] {
  const t = Array.from({ length: 21 }, (_, i) => i - 10);
  const d = t.map((ti, i) => Math.exp(-1.5 * (ti - 0.3) ** 2) + 0.01 * Math.sin(i));
  const f = t.map((ti) => Math.exp(-1.5 * (ti - xs) ** 2));
  const c = d.reduce((s, di, i) => s + di * (f[i] as number), 0) / f.reduce((s, fi) => s + fi * fi, 0);
  return d.map((di, i) => di - c * (f[i] as number));
}

test('the quick start computes dr/dxs', async () => {
  const file = quickStartModule(server.base());
  const { res } = await import(file).finally(() => rmSync(dirname(file), { recursive: true, force: true }));
  const h = 1e-5;
  const [plus, minus] = [r(0.1 + h), r(0.1 - h)];
  expectClose(
    res.jacobian.r.xs,
    plus.map((p, i) => (p - (minus[i] as number)) / (2 * h)),
    1e-8,
  );
  expect(flat(res.jacobian.r.xs)).toHaveLength(21);
  expect(res.mode).toBe('forward');
});
