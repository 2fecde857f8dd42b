import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'clients/ts/**/*.test.ts', 'playground/**/*.test.ts'],
    // fast-check runs are seeded per test file; print the seed on failure.
    testTimeout: 60_000,
  },
});
