// What `npm start` and `npm test` need on a fresh clone with only Node.js and npm:
// dependencies installed (npm ci) and, for start, dist/ built from src/; and what
// `npm run bench` needs besides: bench/'s own packages (TensorFlow.js, 270 MB that
// nothing but the benchmark uses), installed in bench/node_modules on first use and
// type-checked with bench/tsconfig.json (the root typecheck leaves bench/tfjs.ts out).
// The playground page (playground/, built by Vite into dist/playground/) is built
// by start too, and by its browser test.
// Usage: node scripts/bootstrap.mjs [install|build|playground|bench]
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (p) => join(root, p);
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function run(cmd) {
  process.stderr.write(`derivd: ${cmd}\n`);
  // its output to stderr: stdout is the derivd command's answer (derivd jacobian r.json --json > out.json)
  execSync(cmd, { cwd: root, stdio: ['ignore', 2, 'inherit'] });
}

/** npm ci when node_modules is missing or older than package-lock.json. */
export function ensureInstalled() {
  // npm writes node_modules/.package-lock.json on every install.
  if (mtime(at('node_modules/.package-lock.json')) < mtime(at('package-lock.json'))) run('npm ci --no-audit --no-fund');
}

/** tsc when dist/ is missing or older than any source, the tsconfig or the lock file. */
export function ensureBuilt() {
  const built = mtime(at('dist/server/main.js'));
  const sources = Math.max(newest(at('src')), mtime(at('tsconfig.json')), mtime(at('package-lock.json')));
  if (built < sources) run('npx tsc -p tsconfig.json');
}

/** vite build of playground/ when dist/playground/ is missing or older than any of its sources or the lock file. */
export function ensurePlayground() {
  const built = mtime(at('dist/playground/index.html'));
  const sources = Math.max(newest(at('playground')), mtime(at('package-lock.json')));
  if (built < sources) run('npx vite build --config playground/vite.config.ts --logLevel warn');
}

/** npm ci in bench/ when bench/node_modules is missing or older than bench/package-lock.json; then its typecheck. */
export function ensureBench() {
  if (mtime(at('bench/node_modules/.package-lock.json')) < mtime(at('bench/package-lock.json'))) {
    run('npm ci --prefix bench --no-audit --no-fund');
  }
  run('npx tsc -p bench/tsconfig.json');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const what = process.argv[2] ?? 'install';
  ensureInstalled();
  if (what === 'build') ensureBuilt();
  if (what === 'build' || what === 'playground') ensurePlayground();
  if (what === 'bench') ensureBench();
}
