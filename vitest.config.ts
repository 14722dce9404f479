import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bridge/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Browser pages and background jobs answer slower on a loaded CI machine; polls wait, then fail.
    expect: { poll: { timeout: 15_000, interval: 100 } },
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
