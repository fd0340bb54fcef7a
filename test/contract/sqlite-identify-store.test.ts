/**
 * The SQLite IdentifyStore (the embedded default: one file per tenant folder) against the shared
 * IdentifyStore contract. A second handle on the same file stands in for a second process.
 */
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import type { IdentifyStore } from '../../src/identify/identify-store.js';
import { SqliteIdentifyStore } from '../../src/identify/sqlite-identify-store.js';
import { defineIdentifyStoreContract } from './identify-store.contract.js';

const tempDirs: string[] = [];

defineIdentifyStoreContract('SQLite (a file per tenant)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-identify-'));
  tempDirs.push(dir);
  const opened: IdentifyStore[] = [];
  const open = async (tenant: string) => {
    mkdirSync(path.join(dir, tenant), { recursive: true });
    const store = new SqliteIdentifyStore(path.join(dir, tenant, 'identify.db'));
    await store.init();
    opened.push(store);
    return store;
  };
  return {
    open,
    openOther: open,
    async deleteReviewItem(tenant, id) {
      const db = new Database(path.join(dir, tenant, 'identify.db'));
      try {
        db.prepare('DELETE FROM review_items WHERE id = ?').run(id);
      } finally {
        db.close();
      }
    },
    async cleanup() {
      for (const s of opened) await s.close();
    },
  };
});

afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
