import Database from 'better-sqlite3';
import { AppError } from '../../errors.js';

/**
 * A SQLite file that cannot be used: not a database (garbage, a truncated copy, an encrypted
 * file), damaged, or not openable (permissions, a missing folder). The message names the file and
 * the fix, for the operator reading the start-up error or the log (issue 17, item 18). Its category
 * is CONFIGURATION: not for API clients, who are told only that the data is unavailable.
 */
export class DatabaseUnreadableError extends AppError {
  constructor(
    readonly file: string,
    readonly sqliteCode: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'DATABASE_UNREADABLE',
      'CONFIGURATION',
      `The database file ${file} cannot be used: ${detail} (${sqliteCode}). ` +
        (sqliteCode === 'SQLITE_CANTOPEN' || sqliteCode === 'SQLITE_PERM' || sqliteCode.startsWith('SQLITE_READONLY')
          ? 'Check that the folder exists and that the server may read and write it.'
          : 'Restore it from a backup, or salvage it with `sqlite3 <file> ".recover" | sqlite3 <new file>` and put the result in its place; ' +
            'moving it away starts an empty knowledge base (the files under blobs/ are kept).'),
      options,
    );
  }
}

const WHAT: Record<string, string> = {
  SQLITE_NOTADB: 'it is not a SQLite database (or its header is damaged)',
  SQLITE_CORRUPT: 'it is damaged',
  SQLITE_CANTOPEN: 'it cannot be opened',
  SQLITE_PERM: 'permission denied',
  SQLITE_READONLY: 'it is read-only',
  SQLITE_IOERR: 'the disk failed while reading it',
};

/** The SQLite code of an error, when it is one that makes the file unusable as it is. */
function unusableCode(error: unknown): string | null {
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : null;
  if (!code) return null;
  return Object.keys(WHAT).some((c) => code === c || code.startsWith(`${c}_`)) ? code : null;
}

/** `error` as a DatabaseUnreadableError naming `file`, when it says the file is unusable; else null. */
export function unreadableDatabase(file: string, error: unknown): DatabaseUnreadableError | null {
  const code = unusableCode(error);
  if (!code) return null;
  const base = Object.keys(WHAT).find((c) => code === c || code.startsWith(`${c}_`))!;
  return new DatabaseUnreadableError(file, code, WHAT[base]!, { cause: error });
}

/**
 * Problems `PRAGMA quick_check` finds (empty when the file is sound). It reads every page once
 * (at start-up: about as long as reading the file), so a damaged page in the middle of the file
 * is found before a search trips over it.
 */
export function quickCheck(db: Database.Database, maxProblems = 5): string[] {
  const rows = db.pragma(`quick_check(${maxProblems})`, { simple: false }) as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check);
  return problems.length === 1 && problems[0] === 'ok' ? [] : problems;
}

/** Opens a small side database (identify records, audit) in WAL mode and applies its idempotent schema. */
export function openSideDatabase(file: string, schema: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(schema);
    return db;
  } catch (error) {
    db?.close();
    throw unreadableDatabase(file, error) ?? error;
  }
}
