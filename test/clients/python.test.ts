/**
 * The Python client's own tests (clients/python/tests, unittest) against a real
 * listening service: this file starts one in-process on a loopback port and runs
 * `python3 -m unittest discover` with DERIVD_URL pointing at it, once as installed
 * (numpy when the machine has it) and once with DERIVD_NO_NUMPY=1 (the
 * standard-library-only path). A failure shows Python's output. Without python3
 * (3.9 or later) the tests are skipped and say so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { useListening } from '../helpers/server.js';

const CLIENT_DIR = fileURLToPath(new URL('../../clients/python', import.meta.url));
const PYTHON_TIMEOUT_MS = 120_000;

const PYTHON =
  spawnSync('python3', ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)'], { encoding: 'utf8' }).status === 0;
if (!PYTHON) console.log('python3 (3.9 or later) was not found: skipping the Python client tests (clients/python/tests)');
const NUMPY = PYTHON && spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

/** Runs the Python suite; resolves with its exit code and output (the child is killed past the timeout). */
function runPython(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-m', 'unittest', 'discover', '-s', 'tests', '-v'], {
      cwd: CLIENT_DIR,
      env: { ...process.env, PYTHONPATH: CLIENT_DIR, PYTHONDONTWRITEBYTECODE: '1', DERIVD_REQUIRE_SERVER: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      output += `\n(killed after ${PYTHON_TIMEOUT_MS} ms)`;
    }, PYTHON_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe.skipIf(!PYTHON)('the Python client (clients/python) against a real service', () => {
  const service = useListening();

  for (const [label, env] of [
    [NUMPY ? 'with numpy' : 'as installed (numpy is not, so lists only)', {}],
    ['standard library only (DERIVD_NO_NUMPY=1)', { DERIVD_NO_NUMPY: '1' }],
  ] as const) {
    test(
      `python3 -m unittest: ${label}`,
      async () => {
        const { code, output } = await runPython({ DERIVD_URL: service.url(), ...env });
        expect(code, output).toBe(0);
        expect(output).toMatch(/^OK/m);
      },
      PYTHON_TIMEOUT_MS + 10_000,
    );
  }
});
