import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Both cores of the CI machines (vitest's default leaves one idle: one test file at a time). Most
    // files wait on virtual clocks, sockets and child processes, not on the CPU.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
