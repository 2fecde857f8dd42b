/**
 * The reliability suite (issue 8): `npm run test:reliability`. Separate from
 * `npm test` (whose include never matches *.reliability.ts) because it starts real
 * service processes, loads them for seconds at a time and measures them: run one
 * file at a time so that scenarios do not compete for the two cores they measure.
 * Every test sets its own time bound; these are the backstops.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/reliability/**/*.reliability.ts'],
    globalSetup: ['test/reliability/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 15_000,
  },
});
