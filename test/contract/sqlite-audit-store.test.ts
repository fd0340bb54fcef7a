/**
 * The SQLite audit log (DATA_DIR/audit.db, the embedded default) against the shared AuditStore
 * contract. A second handle on the same file stands in for a second process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import type { AuditStore } from '../../src/audit/audit-store.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';
import { defineAuditStoreContract } from './audit-store.contract.js';

const tempDirs: string[] = [];

defineAuditStoreContract('SQLite (DATA_DIR/audit.db)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-auditlog-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'audit.db');
  const opened: AuditStore[] = [];
  return {
    async open() {
      const log = new SqliteAuditStore(file);
      await log.init();
      opened.push(log);
      return log;
    },
    async tamper(kind) {
      const db = new Database(file);
      try {
        db.prepare(kind === 'update' ? "UPDATE audit SET key_name = 'mallory'" : 'DELETE FROM audit').run();
      } finally {
        db.close();
      }
    },
    async cleanup() {
      for (const log of opened) await log.close();
    },
  };
});

afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
