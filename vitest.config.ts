import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // ONNX sessions and HTTP servers are real; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Everything the run writes under os.tmpdir() goes to one folder, removed at the end.
    globalSetup: ['test/run-tmpdir.ts'],
  },
});
