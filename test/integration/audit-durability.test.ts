/**
 * Issue 14: the audit log's fsyncs (its WAL checkpoints) ran on the main thread inside a
 * request's append every ~250 entries, a 5-17 ms stall of every request in flight on a busy disk,
 * and at low traffic entries stayed un-synced indefinitely. Now appends only write the WAL and a
 * checkpointer thread syncs new entries to the database file within `checkpointIntervalMs`
 * (src/audit/sqlite-audit-store.ts states the guarantee). Real SQLite files throughout.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewAuditEntry } from '../../src/audit/audit-store.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-audit-sync-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const entry = (i: number): NewAuditEntry => ({
  at: new Date().toISOString(),
  keyName: 'ada',
  tenant: 'acme',
  role: 'admin',
  operation: 'embedText',
  operationName: null,
  outcome: 'ok',
  query: `query ${i}`,
  documentIds: [],
  photoIds: [],
  durationMs: 1,
});

/** Rows in the database file alone, as a power loss would leave it (the WAL not replayed: copied without it). */
function rowsInDatabaseFile(file: string): number {
  const copy = path.join(tempDir(), 'copy.db');
  copyFileSync(file, copy);
  const db = new Database(copy, { readonly: true });
  try {
    // Before the first checkpoint even the table exists only in the WAL.
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'audit'").get()) return 0;
    return (db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const WAL_FRAME_BYTES = 4096 + 24;

describe('SQLite audit log durability', () => {
  it('syncs new entries into the database file within the checkpoint interval, at any traffic', async () => {
    const file = path.join(tempDir(), 'audit.db');
    const log = new SqliteAuditStore(file, { checkpointIntervalMs: 100 });
    await log.init();
    try {
      for (let i = 0; i < 3; i++) await log.append(entry(i));
      const deadline = Date.now() + 5000;
      let rows = rowsInDatabaseFile(file);
      while (rows < 3 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        rows = rowsInDatabaseFile(file);
      }
      expect(rows).toBe(3);
      // …and an entry is readable at once, before any checkpoint (it is committed to the WAL).
      await log.append(entry(3));
      expect((await log.list({ tenant: 'acme', first: 10 })).items).toHaveLength(4);
    } finally {
      await log.close();
    }
  });

  it('never checkpoints inside an append (the WAL grows past SQLite’s 1000-page automatic checkpoint), and close() syncs everything', async () => {
    const file = path.join(tempDir(), 'audit.db');
    const log = new SqliteAuditStore(file, { checkpointIntervalMs: 3_600_000 });
    await log.init();
    const count = 600;
    for (let i = 0; i < count; i++) await log.append(entry(i));
    const walFrames = statSync(`${file}-wal`).size / WAL_FRAME_BYTES;
    expect(walFrames).toBeGreaterThan(1100);
    await log.close();
    expect(existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0).toBe(0);
    expect(rowsInDatabaseFile(file)).toBe(count);
    const again = new SqliteAuditStore(file);
    await again.init();
    try {
      expect((await again.list({ tenant: 'acme', first: 1 })).items[0]!.seq).toBe(count);
    } finally {
      await again.close();
    }
  });
});
