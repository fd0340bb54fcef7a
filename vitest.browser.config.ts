import { defineConfig } from 'vitest/config';

// The console in a real browser (Debian's chromium driven by playwright-core): `npm run test:browser`.
// One file at a time: each starts a real server and a browser on a 2-core machine.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Everything the run writes under os.tmpdir() goes to one folder, removed at the end.
    globalSetup: ['test/run-tmpdir.ts'],
    fileParallelism: false,
  },
});
