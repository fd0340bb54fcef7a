import Database from 'better-sqlite3';

/** Opens a small side database (identify records, audit) in WAL mode and applies its idempotent schema. */
export function openSideDatabase(file: string, schema: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(schema);
  return db;
}
