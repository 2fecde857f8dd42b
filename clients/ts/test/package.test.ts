/**
 * The package as it is published: the generated op typings match the op registry,
 * it builds with declarations, its types hold under the strictest settings (the
 * README's quick start and types.check.ts, with noUncheckedIndexedAccess), and
 * what npm would pack is dist/ and nothing depends on anything.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { CLIENT_OPS_PATH, clientOpsSource } from '../../../scripts/generate-client-ops.js';
import { fragmentModules, quickStartModule } from './readme.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const temp: string[] = [];
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'derivd-client-'));
  temp.push(dir);
  return dir;
};

/** Runs tsc; returns its output, or fails the test with it. */
function tsc(args: string[]): string {
  try {
    return execFileSync(TSC, args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`tsc ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

test('ops.generated.ts is what npm run build:client-ops writes from the op registry', () => {
  expect(readFileSync(CLIENT_OPS_PATH, 'utf8'), 'run npm run build:client-ops').toBe(clientOpsSource());
});

test('it builds to JavaScript with declarations', () => {
  const out = tempDir();
  tsc(['-p', PACKAGE, '--outDir', out]);
  for (const f of ['index.js', 'index.d.ts', 'client.d.ts', 'ops.generated.d.ts']) expect(existsSync(join(out, f)), f).toBe(true);
  expect(readFileSync(join(out, 'index.d.ts'), 'utf8')).toContain('ops.generated.js');
});

test('its types hold under strict settings: the README examples and types.check.ts', () => {
  const quickStart = quickStartModule('http://127.0.0.1:8080');
  const fragments = fragmentModules();
  expect(fragments).toHaveLength(1);
  temp.push(dirname(quickStart), ...fragments.map((f) => dirname(f)));
  const dir = tempDir();
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023', 'DOM'],
      types: [],
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      skipLibCheck: true,
    },
    files: [quickStart, ...fragments, join(PACKAGE, 'test', 'types.check.ts')],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
  tsc(['-p', join(dir, 'tsconfig.json')]);
});

describe('what npm publishes', () => {
  const pkg = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8'));

  test('a public ES module with types, for Node 20+, with no dependencies at all', () => {
    expect(pkg).toMatchObject({ name: 'derivd-client', private: false, type: 'module', files: ['dist'], engines: { node: '>=20' } });
    expect(pkg.exports['.'].types).toBe('./dist/index.d.ts');
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies'])
      expect(pkg[field]).toBeUndefined();
  });

  test('npm pack takes dist, the README and package.json, nothing else', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE, encoding: 'utf8', stdio: 'pipe' });
    const [packed] = JSON.parse(out) as { files: { path: string }[]; bundled: string[] }[];
    const paths = packed?.files.map((f) => f.path) ?? [];
    expect(paths.filter((p) => !p.startsWith('dist/'))).toEqual(expect.arrayContaining(['README.md', 'package.json']));
    expect(paths.filter((p) => !p.startsWith('dist/') && p !== 'README.md' && p !== 'package.json')).toEqual([]);
    expect(packed?.bundled).toEqual([]);
  });
});
