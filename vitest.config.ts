import { defineConfig } from 'vitest/config';

// Two projects: fast pure tests, and end-to-end tests that boot real QEMU guests.
// The e2e project runs its files one at a time: this machine has 2 cores and each
// guest under TCG wants one.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 1_800_000,
        },
      },
    ],
  },
});
