/**
 * The README's seed problem from the two clients ("The same function as two formulas,
 * from curl, TypeScript and Python"), run against a real listening service:
 *   - the TypeScript example, its import pointed at clients/ts's source and its URL at
 *     the service, gives dr/dxs equal to central differences of r written out here,
 *     and type-checks under strict settings against the client's own types;
 *   - the Python example prints exactly the lines the README shows after it.
 * (The curl example runs in docs-examples.test.ts.) Without python3 the Python test is
 * skipped and says so.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { useListening } from './helpers/server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const CLIENT_SOURCE = join(ROOT, 'clients/ts/src/index.ts');

/** The one fenced block of `lang` whose text includes `marker`, and the block after it. */
function fenced(lang: string, marker: string): { text: string; after: string | undefined } {
  const blocks = [...README.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], text: m[2] as string }));
  const at = blocks.map((b, i) => (b.lang === lang && b.text.includes(marker) ? i : -1)).filter((i) => i >= 0);
  if (at.length !== 1) throw new Error(`README: expected one ${lang} block with ${marker}, found ${at.length}`);
  const i = at[0] as number;
  return { text: (blocks[i] as { text: string }).text, after: blocks[i + 1]?.text };
}

const TS = fenced('ts', "from 'derivd-client'").text;
const PYTHON = fenced('python', 'derivd.Derivd(');
const PAGE_URL = 'http://127.0.0.1:8080';

const D = [0, 0, 0, 0, 0, 0, 0, 0.001, 0.02, 0.2, 0.8, 1, 0.6, 0.1, 0.01, 0, 0, 0, 0, 0, 0];
/** r(d, xs) = d - (d·f / f·f) f, f = exp(-1.5 (t - xs)^2), t = -10 … 10: the README's function, by hand. */
function r(xs: number): number[] {
  const f = D.map((_, i) => Math.exp(-1.5 * (i - 10 - xs) ** 2));
  const dot = (a: number[], b: number[]) => a.reduce((s, ai, i) => s + ai * (b[i] as number), 0);
  const c = dot(D, f) / dot(f, f);
  return D.map((di, i) => di - c * (f[i] as number));
}

const service = useListening();

/** The TypeScript example as a module: the client's source, the test's service, `res` exported. */
function tsModule(dir: string, serviceUrl: string): string {
  if (!TS.includes(`'${PAGE_URL}'`)) throw new Error(`README: the TypeScript example no longer talks to ${PAGE_URL}`);
  const file = join(dir, 'readme-client.mts');
  writeFileSync(
    file,
    `${TS.replace("'derivd-client'", JSON.stringify(CLIENT_SOURCE.replace(/\.ts$/, '.js'))).replace(`'${PAGE_URL}'`, JSON.stringify(serviceUrl))}\nexport { res };\n`,
  );
  return file;
}

test('the TypeScript example: dr/dxs as central differences of r give it, forward with one direction', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'derivd-readme-ts-'));
  try {
    // the client's source by its .js specifier, as vite resolves it to the .ts file
    const { res } = await import(tsModule(dir, service.url()));
    const h = 1e-6;
    const [plus, minus] = [r(0.1 + h), r(0.1 - h)];
    const fd = plus.map((p, i) => (p - (minus[i] as number)) / (2 * h));
    const got = res.jacobian.r.xs as number[];
    expect(got).toHaveLength(21);
    got.forEach((g, i) => expect(Math.abs(g - (fd[i] as number))).toBeLessThan(1e-7 * (1 + Math.abs(fd[i] as number))));
    expect(Object.keys(res.jacobian.r)).toEqual(['xs']);
    expect(res.mode).toBe('forward');
    expect(res.stats.directions).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the TypeScript example type-checks against the client, strictly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'derivd-readme-tsc-'));
  try {
    writeFileSync(join(dir, 'example.mts'), `${TS}\nexport {};\n`);
    const compilerOptions = {
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      skipLibCheck: true,
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023', 'DOM'],
      types: [],
      paths: { 'derivd-client': [CLIENT_SOURCE] },
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['example.mts'] }));
    const out = await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json', '--pretty', 'false'], {
      cwd: dir,
    }).then(
      (x) => x.stdout,
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
    expect(out).toBe('');
    // and the check can fail: a constant input has no block
    writeFileSync(join(dir, 'example.mts'), `${TS}\nres.jacobian.r.d;\nexport {};\n`);
    const bad = await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json', '--pretty', 'false'], {
      cwd: dir,
    }).then(
      (x) => x.stdout,
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
    expect(bad).toMatch(/example\.mts\(\d+,\d+\): error TS\d+:.*'d'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

const HAS_PYTHON = spawnSync('python3', ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)']).status === 0;
if (!HAS_PYTHON) console.log('python3 (3.9 or later) was not found: SKIPPED the README Python example');

test.skipIf(!HAS_PYTHON)('the Python example prints what the README shows', async () => {
  expect(PYTHON.text).toContain(`"${PAGE_URL}"`);
  const code = PYTHON.text.replace(`"${PAGE_URL}"`, JSON.stringify(service.url()));
  const { stdout } = await promisify(execFile)('python3', ['-c', code], {
    env: { ...process.env, PYTHONPATH: join(ROOT, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' },
    timeout: 60_000,
  });
  expect(stdout).toBe(PYTHON.after);
});
