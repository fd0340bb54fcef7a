/**
 * The folders the server writes (DATA_DIR, UPLOAD_TMP_DIR) are created at start-up. When one cannot
 * be (a read-only disk, no permission, a file in the way) the operator gets a sentence naming the
 * setting, the folder and the cause, not a stack trace from inside `mkdir`.
 */
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';

const CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file of that name is in the way',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'it does not exist and cannot be created',
  EIO: 'input/output error',
};

/** Why a file-system call failed, in words ("permission denied (EACCES)"). */
export function describeFolderError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return CAUSES[code] ? `${CAUSES[code]} (${code})` : code;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates `dir` (and its parents) if missing. On failure throws INVALID_CONFIGURATION naming
 * `setting`, e.g. "DATA_DIR /mnt/ro/data cannot be used: the file system is read-only (EROFS)".
 */
export async function ensureFolder(dir: string, setting: string, note = ''): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    // mkdir's own code can mislead (ENOENT under a read-only mount): ask the nearest existing folder.
    const cause = (await nearestFolderProblem(dir)) ?? error;
    throw new ConfigError(`${setting} ${dir} cannot be used: ${describeFolderError(cause)}. Set ${setting} to a folder this user can create and write${note}.`, { cause });
  }
}

/** Why the nearest existing ancestor of `dir` cannot take a new folder (EROFS, EACCES, ENOTDIR), or null. */
async function nearestFolderProblem(dir: string): Promise<unknown> {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    const info = await stat(at).catch(() => null);
    if (info) {
      if (!info.isDirectory()) return Object.assign(new Error(`${at} is a file`), { code: at === path.resolve(dir) ? 'EEXIST' : 'ENOTDIR' });
      return access(at, constants.W_OK).then(() => null, (error: unknown) => error);
    }
    if (path.dirname(at) === at) return null;
  }
}
