/**
 * The server logs to stdout asynchronously (src/observability/logger.ts, `asyncStdout`): lines a
 * request logs are buffered and written later, off its path. A lone line still goes out within
 * about LOG_FLUSH_MS. None may be lost when the process ends, whichever
 * way: `process.exit`, a signal handled by exiting (main.ts's SIGTERM), an uncaught exception, an
 * unhandled rejection. Each case logs far more than a pipe holds (64 KiB) and ends at once, so
 * most of it is still buffered in the process when it ends.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared.js';

const LINES = 4000;
const PADDING = 'x'.repeat(200);

/** A child process that makes the server's logger, logs LINES lines, then ends `how`. */
function runChild(how: 'exit' | 'sigterm' | 'throw' | 'reject'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const logger = path.join(REPO_ROOT, 'src', 'observability', 'logger.ts');
  const script = `
    import { createLogger } from ${JSON.stringify(logger)};
    const log = createLogger('info', undefined, { asyncStdout: true });
    process.once('SIGTERM', () => process.exit(0));
    for (let i = 0; i < ${LINES}; i++) log.info({ i, padding: '${PADDING}' }, 'line');
    const how = ${JSON.stringify(how)};
    if (how === 'exit') process.exit(0);
    if (how === 'sigterm') process.kill(process.pid, 'SIGTERM');
    if (how === 'throw') setImmediate(() => { throw new Error('crash on purpose'); });
    if (how === 'reject') void Promise.reject(new Error('rejected on purpose'));
    setTimeout(() => undefined, 10_000); // keeps the loop alive: the process must end by \`how\`
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('asynchronous stdout logging', () => {
  it('writes a lone line soon, while the process goes on', async () => {
    const logger = path.join(REPO_ROOT, 'src', 'observability', 'logger.ts');
    const script = `
      import { createLogger } from ${JSON.stringify(logger)};
      createLogger('info', undefined, { asyncStdout: true }).info('alone');
      setTimeout(() => undefined, 20_000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (c: Buffer) => resolve(c.toString()));
        child.once('exit', (code) => reject(new Error(`exited with ${code} before logging`)));
      });
      expect(JSON.parse(line)).toMatchObject({ msg: 'alone' });
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it.each(['exit', 'sigterm', 'throw', 'reject'] as const)('writes every line when the process ends by %s', async (how) => {
    const { code, stdout, stderr } = await runChild(how);
    expect(code, stderr).toBe(how === 'exit' || how === 'sigterm' ? 0 : 1);
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(LINES);
    // Whole lines, in order: nothing torn or interleaved.
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(Array.from({ length: LINES }, (_, i) => i));
  }, 30_000);
});
