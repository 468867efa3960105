import { defineConfig } from 'vitest/config';

// Two projects: pure and CLI tests, and end-to-end tests that boot real QEMU guests.
// No test depends on this machine's speed: the unit project's timeout is far above any case's
// run time on an idle machine (the slowest, the JUnit fuzz and CLI spawns, take seconds), so a
// busy 2-core CI host cannot fail them. The e2e project runs its files one at a time: each
// guest under TCG wants a core.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
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
