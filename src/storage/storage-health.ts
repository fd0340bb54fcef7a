/**
 * Is the data disk writable? (issue 17, item 6: a full disk took the whole API down.)
 *
 * The policy, in one place:
 * - Reads keep working when the disk is full or read-only: searching, answering and `health` need
 *   no writes. Their audit entries cannot be written then; each is logged at error level instead
 *   (with its contents), so the trail is in the process log rather than lost silently.
 * - Mutations fail closed: while storage is failing, every mutation is refused before it runs with
 *   STORAGE_FULL (category UNAVAILABLE, `Retry-After` advice in the message), so nothing half-runs
 *   and nothing goes unaudited. A mutation that had already committed when a later write (its audit
 *   entry) failed is still answered as the success it was.
 * - `/ready` answers 503 with the cause while storage is failing, so a load balancer stops sending
 *   traffic and an operator sees why; it probes the disk itself (a small file written, flushed and
 *   removed under DATA_DIR, at most every PROBE_INTERVAL_MS), so it also notices a full disk before
 *   any write has failed, and notices when space is back.
 */
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type AppErrorOptions } from '../errors.js';

/** The disk cannot take writes: full, over quota, read-only or failing. */
export class StorageFullError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super('STORAGE_FULL', 'UNAVAILABLE', message, options);
  }
}

const ERRNO_CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EIO: 'input/output error',
  EFBIG: 'file too large for the file system',
};

/** A database file with damaged pages: reads that touch them fail, writes must not go on (issue 17, item 18). */
export class DatabaseCorruptError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super('DATABASE_CORRUPT', 'UNAVAILABLE', message, options);
  }
}

/** The cause of a database-damage error ("the database file is damaged (SQLITE_CORRUPT)"), or null. */
export function databaseDamageCause(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'))) return `the database file is damaged (${code})`;
  }
  return null;
}

/** The cause of a storage failure ("no space left on the device"), or null when `error` is something else. */
export function storageFailureCause(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (ERRNO_CAUSES[code]) return ERRNO_CAUSES[code]!;
    // better-sqlite3 codes: SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC, SQLITE_READONLY_…
    if (code === 'SQLITE_FULL') return ERRNO_CAUSES.ENOSPC!;
    if (code.startsWith('SQLITE_IOERR')) return `input/output error (${code})`;
    if (code.startsWith('SQLITE_READONLY')) return `the database is read-only (${code})`;
  }
  return null;
}

export interface StorageStatus {
  writable: boolean;
  /** Why not, e.g. "no space left on the device (audit log)". */
  cause: string | null;
  since: string | null;
}

const PROBE_BYTES = 64 * 1024;
const PROBE_INTERVAL_MS = 2000;

export class StorageHealth {
  private failure: { cause: string; since: string } | null = null;
  /** Sticky until restart: a damaged database does not heal when disk space comes back. */
  private damage: { cause: string; since: string } | null = null;
  private lastProbe = 0;
  private probing: Promise<void> | null = null;

  constructor(private readonly dataDir: string) {}

  /**
   * Records a failed read or write. Returns what it was ('storage': full/failing disk, 'damage':
   * a damaged database) with its cause, or null when `error` is neither.
   */
  noteFailure(error: unknown, where: string): { kind: 'storage' | 'damage'; cause: string } | null {
    const damage = databaseDamageCause(error);
    if (damage !== null) {
      this.noteDamage(`${damage} (${where})`);
      return { kind: 'damage', cause: damage };
    }
    const cause = storageFailureCause(error);
    if (cause === null) return null;
    this.failure ??= { cause: `${cause} (${where})`, since: new Date().toISOString() };
    return { kind: 'storage', cause };
  }

  /** A damaged database, found by an integrity check or by a read that tripped over it. */
  noteDamage(cause: string): void {
    this.damage ??= { cause, since: new Date().toISOString() };
  }

  /** Current status; probes the disk first when the last probe is older than PROBE_INTERVAL_MS. */
  async status(): Promise<StorageStatus> {
    if (Date.now() - this.lastProbe >= PROBE_INTERVAL_MS) await this.probe();
    const problem = this.damage ?? this.failure;
    return problem ? { writable: false, cause: problem.cause, since: problem.since } : { writable: true, cause: null, since: null };
  }

  /** Refuses a write while storage is failing (checked again by a fresh probe when the last is stale) or a database is damaged. */
  async assertWritable(): Promise<void> {
    if (this.damage) {
      throw new DatabaseCorruptError('The knowledge base is damaged, so nothing can be changed until an operator restores it (the server log says which file and how). Reads of undamaged data still work.');
    }
    if (!this.failure) return;
    const status = await this.status();
    if (!status.writable) {
      throw new StorageFullError(`The server cannot store anything right now: ${status.cause}. Reads still work; try the change again once an operator has freed space.`, {
        details: { retryAfterMs: 30_000 },
      });
    }
  }

  private probe(): Promise<void> {
    this.probing ??= (async () => {
      const file = path.join(this.dataDir, `.storage-probe-${randomBytes(4).toString('hex')}`);
      try {
        const handle = await open(file, 'w');
        try {
          await handle.write(Buffer.alloc(PROBE_BYTES));
          await handle.sync();
        } finally {
          await handle.close();
        }
        this.failure = null;
      } catch (error) {
        const cause = storageFailureCause(error);
        // Anything else (the folder is gone, permissions) is for start-up checks to report; do not guess.
        if (cause) this.failure ??= { cause: `${cause} (${this.dataDir})`, since: new Date().toISOString() };
      } finally {
        await rm(file, { force: true }).catch(() => undefined);
        this.lastProbe = Date.now();
        this.probing = null;
      }
    })();
    return this.probing;
  }
}
