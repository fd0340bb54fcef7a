/**
 * Upload temp files in a folder the server owns (issue 17, item 19).
 *
 * graphql-upload buffers each uploaded file in a temp file (fs-capacitor, `capacitor-*.tmp`) and
 * removes it when the request ends, but a SIGKILL or a crash leaves it behind in the system temp
 * folder, where nothing removes it (13 files, 16 MB after one test). fs-capacitor can be given a
 * folder, but graphql-upload 17 creates it without options, so the only way to choose the folder
 * is the process's temp folder itself (`os.tmpdir()` reads TMPDIR on every call). The server
 * process therefore points TMPDIR at UPLOAD_TMP_DIR (DATA_DIR/tmp by default), and empties that
 * folder at start-up, before it accepts a request: what is in it then belongs to no live request.
 * (A request that declares a Content-Length of at most 8 MiB keeps its files in memory instead:
 * src/server/multipart-request.ts.)
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ensureFolder } from '../storage/usable-folder.js';

/** Creates the folder and removes whatever an earlier run left in it; returns what was removed. */
export async function sweepUploadTempDir(dir: string): Promise<{ files: number; bytes: number }> {
  // UPLOAD_TMP_DIR defaults to DATA_DIR/tmp, so a DATA_DIR that cannot be written is usually met here first.
  await ensureFolder(dir, 'UPLOAD_TMP_DIR', ' (unset, it is DATA_DIR/tmp: check DATA_DIR)');
  let files = 0;
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isFile()) {
      bytes += await stat(file).then((s) => s.size, () => 0);
      files++;
    }
    await rm(file, { recursive: true, force: true });
  }
  return { files, bytes };
}

/**
 * Makes `dir` the process's temp folder, so upload buffers (and any other temp file a library
 * makes) land where the server sweeps. Only for a process that is the server (main.ts): in a test
 * process that runs several servers it would move every temp file of the test run.
 */
export function useAsProcessTempDir(dir: string): void {
  process.env.TMPDIR = dir;
}
