/**
 * Redocly CLI's lint of openapi.yaml with its recommended rules (redocly.yaml: the
 * rules turned off, each with its reason) passes with no error and no warning.
 * Offline: the rules are built in, the document has no remote references, and
 * telemetry and the update check are off.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('npx redocly lint openapi.yaml: no problem', () => {
  const require = createRequire(join(root, 'package.json'));
  const manifest = require.resolve('@redocly/cli/package.json');
  const cli = join(dirname(manifest), (require(manifest) as { bin: Record<string, string> }).bin.redocly);
  const run = spawnSync(process.execPath, [cli, 'lint', 'openapi.yaml', '--format=json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  });
  // the report is JSON on stdout; banners (Node 20's deprecation) go to stderr
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  const report = JSON.parse(run.stdout) as { totals: { errors: number; warnings: number; ignored: number }; problems: unknown[] };
  expect(report.problems).toEqual([]);
  expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
});
