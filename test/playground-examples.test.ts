/**
 * The playground's examples and its "copy as" code, against a real listening
 * service: every example's request answers 200 with finite numbers and
 * derivatives that agree with finite differences (the service's `check`); the
 * generated curl, Python (clients/python) and TypeScript (clients/ts) programs
 * run and print the same values and derivatives as the page's own request.
 * Without curl or python3 those parts are skipped and say so.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { asCurl, asPython, asTypeScript, shellQuote } from '../playground/src/lib/copy.js';
import { EXAMPLES } from '../playground/src/lib/examples.js';
import { toRequest } from '../playground/src/lib/state.js';
import { flatten, type Wire } from '../playground/src/lib/tensor.js';
import { useListening } from './helpers/server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

const service = useListening();

async function call(operation: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${service.url()}/v1/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The numbers of a result that do not vary between calls: values and the derivative. */
const numbers = (r: Record<string, unknown>, operation: string) => ({ values: r.values, derivative: r[operation] ?? null });

describe('examples', () => {
  test.each(EXAMPLES.map((e) => [e.id, e] as const))('%s answers 200, finite, and agrees with finite differences', async (_id, example) => {
    const { status, json } = await call(example.state.operation, { ...toRequest(example.state), check: true });
    expect(status, JSON.stringify(json)).toBe(200);
    const all = flatten(Object.values(json.values as Record<string, Wire>) as Wire);
    const derivative = JSON.stringify(json[example.state.operation]);
    expect(all.every(Number.isFinite)).toBe(true);
    expect(derivative).not.toMatch(/NaN|Infinity/);
    expect((json.check as { maxRelError: number }).maxRelError).toBeLessThan(1e-5);
  });

  test('the seed: 1 direction forward with d constant, 21 reverse', async () => {
    const req = toRequest(EXAMPLES[0].state);
    const forward = await call('jacobian', { ...req, mode: 'forward' });
    const reverse = await call('jacobian', { ...req, mode: 'reverse' });
    expect((forward.json.stats as { directions: number }).directions).toBe(1);
    expect((reverse.json.stats as { directions: number }).directions).toBe(21);
    expect(forward.json.mode).toBe('forward');
  });
});

const HAS_CURL = spawnSync('curl', ['--version']).status === 0;
const HAS_PYTHON = spawnSync('python3', ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)']).status === 0;
if (!HAS_CURL) console.log('curl was not found: SKIPPED running the playground\'s "copy as curl"');
if (!HAS_PYTHON) console.log('python3 (3.9 or later) was not found: SKIPPED running the playground\'s "copy as Python"');

describe('copy as', () => {
  const example = EXAMPLES[0];
  const operation = example.state.operation;
  const request = toRequest({ ...example.state, mode: 'forward' });

  test.skipIf(!HAS_CURL)('curl: the command, run by a shell, answers what the page asked', async () => {
    const expected = numbers((await call(operation, request)).json, operation);
    const { stdout } = await run('sh', ['-c', asCurl(service.url(), operation, request)], { timeout: 30_000 });
    expect(numbers(JSON.parse(stdout), operation)).toEqual(expected);
  });

  test('curl: quotes, dollars and backslashes reach the command as written', async () => {
    const text = `it's "$HOME" \\n \`x\` '' !`;
    const { stdout } = await run('sh', ['-c', `printf %s ${shellQuote(text)}`]);
    expect(stdout).toBe(text);
  });

  test.skipIf(!HAS_PYTHON)('Python: the program runs with clients/python and prints the same numbers', async () => {
    const expected = numbers((await call(operation, request)).json, operation);
    const { stdout } = await run('python3', ['-c', asPython(service.url(), operation, request)], {
      env: { ...process.env, PYTHONPATH: join(ROOT, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 60_000,
    });
    expect(numbers(JSON.parse(stdout), operation)).toEqual(expected);
  });

  test('TypeScript: the program runs with clients/ts and prints the same numbers', async () => {
    const expected = numbers((await call(operation, request)).json, operation);
    const dir = mkdtempSync(join(tmpdir(), 'derivd-playground-ts-'));
    try {
      const file = join(dir, 'copied.mts');
      const code = asTypeScript(service.url(), operation, request);
      expect(code).toContain("from 'derivd-client'");
      writeFileSync(file, code.replace("'derivd-client'", JSON.stringify(join(ROOT, 'clients/ts/src/index.ts'))));
      const { stdout } = await run(join(ROOT, 'node_modules/.bin/tsx'), [file], { timeout: 60_000 });
      expect(numbers(JSON.parse(stdout), operation)).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
