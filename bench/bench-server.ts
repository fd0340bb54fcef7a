/**
 * The server under test for the HTTP benches and probes: `node --import tsx src/main.ts` (what
 * `npm start` runs) on 127.0.0.1, a free port, the given DATA_DIR and model, no demo data, no
 * model download, no rate limit; resolves once the server has logged its URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');

export interface BenchServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface BenchServerOptions {
  dataDir: string;
  /** CLIP_MODEL: a model folder. */
  model: string;
  /** Further settings, over the bench defaults. */
  env?: Record<string, string>;
  /** Node options before `--import tsx` (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
}

export async function startBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: options.dataDir,
    CLIP_MODEL: path.resolve(options.model),
    CLIP_AUTO_PULL: 'false',
    LOAD_DEMO: 'false',
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '0',
    ...options.env,
  };
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', path.join(REPO_ROOT, 'src', 'main.ts')], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining the log
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the server exited with code ${code} before listening:\n${stderr}${out.slice(-2000)}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
