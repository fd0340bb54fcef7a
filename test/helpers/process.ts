/**
 * Runs the server the way users do (`npm start` = tsx src/main.ts) as a child process, and
 * reads its JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './shared.js';

export interface ServerProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the base URL once the server logs that it is listening. */
  listening: Promise<string>;
  exited: Promise<number | null>;
}

// Servers still running when the test file's process ends (a test that timed out before its
// SIGTERM) are killed, so a failed run leaves no orphaned servers behind.
const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((child) => child.kill('SIGKILL')));

/**
 * The demo knowledge base is off unless the test asks for it (LOAD_DEMO: 'true'): loading it takes
 * seconds on a busy machine and only the tests about the demo need it. Image workers keep the nice
 * value only (CLIP_IMAGE_SCHED_IDLE=false), as in startTestServer.
 */
export function spawnServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'main.ts')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', LOG_LEVEL: 'info', CLIP_TEXT_THREADS: '1', CLIP_IMAGE_THREADS: '1', CLIP_IMAGE_SCHED_IDLE: 'false', RATE_LIMIT_PER_MINUTE: '0', LOAD_DEMO: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${err}\n${out}`)));
  });
  listening.catch(() => undefined);
  return { child, stdout: () => out, stderr: () => err, listening, exited };
}
