import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/conformance/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // TensorFlow.js backends are process-global: one file per worker process keeps them apart.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
