/**
 * A real PostgreSQL server for tests: Debian's `postgresql` package (15), started by the test
 * itself in a temporary folder, on a free port of 127.0.0.1, and removed afterwards. No Docker
 * (no engine runs on these machines) and no shared server, so every test file gets a clean one.
 *
 * initdb and postgres refuse to run as root ("cannot be run as root"). CI and these machines run
 * as root, so the helper then runs both as the `postgres` system user that the Debian package
 * creates, through Node's own `uid`/`gid` spawn options (not `runuser`/`su`, which would stand
 * between the test and the server and turn the fast-shutdown signal into a slow one), after giving
 * that user the temporary folder. As any other user it runs them directly.
 *
 * When Postgres cannot be started the helper THROWS (the test file fails with the reason): a
 * missing server must never turn into silently skipped tests. Install it with
 * `apt-get install -y postgresql` (`.ci/run` does so when it is missing).
 *
 * The server asks for a password (scram-sha-256), so the credential-handling paths are the ones
 * production takes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const POSTGRES_USER = 'fieldscope';

export interface TestPostgres {
  /** postgres://fieldscope:<password>@127.0.0.1:<port>/postgres */
  url: string;
  password: string;
  port: number;
  /** A new empty database on this server; its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown); data stays, so `start()` brings the same server back. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

function findBinDir(): string {
  const fromEnv = process.env.POSTGRES_BIN_DIR;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL is not installed: these tests need a real Postgres server (no binaries under /usr/lib/postgresql/*/bin). ' +
        'Install it with `apt-get install -y postgresql` (or set POSTGRES_BIN_DIR to a folder holding initdb and postgres).',
    );
  }
  return path.join(root, versions[0]!, 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** As root: the ids of the `postgres` user to run initdb and postgres as (they refuse root). */
function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error("Running as root, and there is no `postgres` user to run PostgreSQL as (initdb refuses root). Install Debian's postgresql package, which creates it.");
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function waitForConnection(url: string, child: ChildProcess, log: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode} while starting:\n${log()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within ${timeoutMs} ms (${(error as Error).message}):\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = findBinDir();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-pg-'));
  const dataDir = path.join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  const pwFile = path.join(dir, 'pwfile');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  const user = postgresUser();
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(pwFile, user.uid, user.gid);
  }
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', POSTGRES_USER, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync', '--no-instructions'], {
    encoding: 'utf8',
    cwd: dir,
    ...asUser,
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout || init.error?.message}`);
  }
  rmSync(pwFile);

  let port = 0;
  let child: ChildProcess | null = null;
  let log = '';
  const url = () => `postgres://${POSTGRES_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  const start = async () => {
    port ||= await freePort();
    // fsync off: test data need not survive a power cut, and the machine's disk is shared.
    const args = ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'];
    log = '';
    const started = spawn(path.join(bin, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...asUser });
    started.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    started.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    child = started;
    running.add(started);
    started.once('exit', () => running.delete(started));
    await waitForConnection(url(), started, () => log);
  };

  const stop = async () => {
    const current = child;
    child = null;
    if (!current || current.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    // SIGINT = "fast shutdown": open connections are cut, as when a database server goes down.
    current.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (current.exitCode === null) current.kill('SIGKILL');
  };

  try {
    await start();
  } catch (error) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    get url() {
      return url();
    },
    password,
    get port() {
      return port;
    },
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`createDatabase: plain lower-case names only, got "${name}"`);
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url().replace(/\/postgres$/, `/${name}`);
    },
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A server still running when the test file's process ends (a test that timed out before its
// afterAll) is killed, so a failed run leaves no orphaned postgres behind.
const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((child) => child.kill('SIGKILL')));
