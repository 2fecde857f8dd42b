/**
 * Builds dist/ once before the reliability suite: the service under test runs as
 * `node dist/server/main.js`, as in production (npm start, the Docker image), and a
 * stale dist/ would test yesterday's code. tsc is quick here (a few seconds).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers/service.js';

export default function setup(): void {
  const t0 = performance.now();
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: ROOT,
    stdio: 'inherit',
    timeout: 180_000,
  });
  process.stderr.write(`reliability: built dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
