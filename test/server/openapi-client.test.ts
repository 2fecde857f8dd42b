/**
 * The contract as a client generator reads it: openapi-typescript (its own
 * workspace, tools/client-gen: it needs TypeScript 5's compiler API) turns
 * openapi.yaml into types in test/client/generated/ (rewritten on every run, not
 * committed), tsc type-checks test/client/client.ts against them strictly, and
 * that client, made with openapi-fetch, calls every operation of a listening
 * service. The answers are checked against the closed forms of
 * f(x, s) = (x · x) e^s: ∇ₓf = 2x e^s, ∂f/∂s = f, ∂²f/∂x² = 2e^s I,
 * ∂²f/∂x∂s = 2x e^s, ∂²f/∂s² = f.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../src/server/config.js';
import { expectClose, type Numbers } from '../helpers/numeric.js';

/** A tensor of the answers (typed by the generated client, which allows the special strings) against its closed form. */
function close(actual: unknown, expected: Numbers, label: string): void {
  expect(actual, label).toBeDefined();
  expectClose(actual as Numbers, expected, 1e-14, label);
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const clientDir = join(root, 'test/client');

/** Runs a package's CLI (by its bin entry) with this Node; returns stdout and stderr, or throws with them. */
function runBin(fromPackageJson: string, pkg: string, bin: string, args: string[]): string {
  const require = createRequire(fromPackageJson);
  const manifest = require.resolve(`${pkg}/package.json`);
  const entry = join(dirname(manifest), (require(manifest) as { bin: Record<string, string> }).bin[bin]);
  try {
    return execFileSync(process.execPath, [entry, ...args], { cwd: root, encoding: 'utf8', stdio: 'pipe', timeout: 60_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
  }
}

describe('a client generated from openapi.yaml (openapi-typescript + openapi-fetch)', () => {
  let built: App;
  let base: string;
  beforeAll(async () => {
    // No shedding on event-loop delay: a busy test machine must not turn a call into a 503.
    built = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', maxEventLoopDelayMs: 0 });
    base = await built.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => built.app.close());

  test('type-checks strictly: request bodies, responses and problems are typed', () => {
    mkdirSync(join(clientDir, 'generated'), { recursive: true });
    runBin(join(root, 'tools/client-gen/package.json'), 'openapi-typescript', 'openapi-typescript', [
      'openapi.yaml',
      '--output',
      'test/client/generated/api.d.ts',
    ]);
    // tsc prints the errors and exits non-zero: the message shows them
    runBin(join(root, 'package.json'), 'typescript', 'tsc', ['-p', join(clientDir, 'tsconfig.json')]);
  });

  test('calls every operation of a listening service and gets the right numbers', async () => {
    // Imported by a computed specifier: the project's typecheck must not follow it, since
    // client.ts's types exist only once this test has generated them (a fresh clone has none).
    const clientModule: string = new URL('../client/client.ts', import.meta.url).href;
    const { callEveryOperation } = (await import(clientModule)) as { callEveryOperation: (base: string) => Promise<unknown> };
    const got = (await callEveryOperation(base)) as Record<string, any>;
    expect(
      got.statuses.every((s: number) => s === 200),
      String(got.statuses),
    ).toBe(true);
    expect(got.health).toBe('ok');
    const x = [1, 2, 3];
    const es = Math.exp(0.5);
    const f = 14 * es;
    const gradX = x.map((xi) => 2 * xi * es);
    close(got.evaluate, f, 'values.f');
    for (const [name, g] of Object.entries({ jacobian: got.jacobian, gradient: got.gradient, vjp: got.vjp })) {
      close(g.x, gradX, `${name} x`);
      close(g.s, f, `${name} s`);
    }
    close(got.jvp, 2 * es, 'jvp.f along x₀');
    close(
      got.hessian.xx,
      x.map((_, i) => x.map((_, j) => (i === j ? 2 * es : 0))),
      'hessian x x',
    );
    close(got.hessian.xs, gradX, 'hessian x s');
    close(got.hessian.ss, f, 'hessian s s');
    // H · (e₀, 1): 2e^s e₀ + 2x e^s along x; 2x₀ e^s + f along s
    close(got.hvp.x, [4 * es, 4 * es, 6 * es], 'hvp x');
    close(got.hvp.s, 2 * es + f, 'hvp s');
    expect(got.explained).toEqual({ operation: 'hessian', nodes: 3, active: [true, true] });
    expect([200, 201]).toContain(got.registered.status);
    expect(got.registered.id).toMatch(/^[0-9a-f]{64}$/);
    expect(got.registered.nodes).toBe(3);
    expect(got.stored.nodes).toBe(3);
    close(got.stored.gradient, gradX, 'gradient on the stored graph');
    expect(got.problem).toEqual({ status: 422, type: 'urn:derivd:problem:invalid-graph', paths: ['graph.outputs[0]'] });
  });
});
