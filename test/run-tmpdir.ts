/**
 * vitest global setup: one temporary folder per test run, removed when the run ends.
 *
 * Test servers, Postgres clusters, s3rver buckets, CLI runs and browsers each make their own
 * folder under os.tmpdir(), and many suites never remove theirs (a server's DATA_DIR is often
 * read after the server has closed). Left in /tmp they piled up: ~3,000 folders and 2.9 GB after
 * a few dozen runs on one machine. Pointing TMPDIR at a per-run folder before the test workers
 * start (they and every process they spawn inherit it; os.tmpdir() reads it on each call) puts
 * everything a run writes in one place, and the teardown removes it whatever the suites did.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-run-'));
  // mkdtemp makes it 0700; the Postgres suites run initdb as the postgres user (CI runs as root),
  // which must be able to reach its cluster folder inside.
  chmodSync(dir, 0o755);
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
