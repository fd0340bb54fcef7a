/**
 * Issue 17 item 18: a database file that is garbage stops start-up with a message naming the file
 * and the fix; one with damaged pages in the middle starts, says so on /ready (503, with the cause),
 * answers DATABASE_CORRUPT where a request touches the damage (never INTERNAL_SERVER_ERROR) and
 * refuses changes. Real server, real SQLite files damaged by the test.
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/start-server.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';

const INGEST = 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }';
const SEARCH = 'query($text: String) { search(text: $text) { hits { snippet } } }';

/** A knowledge base with a few documents, closed again; returns its data folder. */
async function populated(): Promise<string> {
  const server = await startTestServer({ LOAD_DEMO: 'false' });
  try {
    for (const name of ['pump', 'valve', 'gauge']) {
      const body = `# ${name} manual\n\n${Array.from({ length: 300 }, (_, i) => `The ${name} step ${i} uses seal kit ${name.toUpperCase()}-${i} and torque ${i} Nm.`).join('\n\n')}\n`;
      const res = await gqlUpload(server.url, INGEST, { file: { bytes: Buffer.from(body), name: `${name}.md` } });
      expect(res.errors).toBeUndefined();
    }
  } finally {
    await server.close();
  }
  return server.dataDir;
}

/** Overwrites pages of one table (found with SQLite's dbstat) with junk. */
function damageTable(file: string, tablePrefix: string): number {
  const db = new Database(file, { readonly: true });
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.prepare("SELECT pageno FROM dbstat WHERE name LIKE ? AND pagetype = 'leaf' ORDER BY pageno").pluck().all(`${tablePrefix}%`) as number[];
  db.close();
  const fd = openSync(file, 'r+');
  for (const page of pages.slice(0, 3)) writeSync(fd, Buffer.alloc(pageSize, 0x55), 0, pageSize, (page - 1) * pageSize);
  closeSync(fd);
  return pages.length;
}

describe('a damaged or unreadable database (real SQLite files)', () => {
  let server: (RunningServer & { dataDir: string }) | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('refuses to start on a file that is not a database, naming the file and the fix', async () => {
    const dataDir = await populated();
    const file = path.join(dataDir, 'fieldscope.db');
    writeFileSync(file, Buffer.alloc(64 * 1024, 0x41));
    const started = startTestServer({ LOAD_DEMO: 'false', DATA_DIR: dataDir });
    await expect(started).rejects.toMatchObject({ code: 'DATABASE_UNREADABLE' });
    const message = await started.then(() => '', (error: Error) => error.message);
    expect(message).toContain(file);
    expect(message).toMatch(/not a SQLite database/);
    expect(message).toMatch(/Restore it from a backup/);
  });

  it('starts on a file with damaged pages mid-file, with /ready 503 and DATABASE_CORRUPT instead of 500s', async () => {
    const dataDir = await populated();
    const file = path.join(dataDir, 'fieldscope.db');
    // The full-text index: keyword search reads it, and the vector indexes loaded at start do not.
    expect(damageTable(file, 'lexical')).toBeGreaterThan(0);
    server = await startTestServer({ LOAD_DEMO: 'false', DATA_DIR: dataDir });

    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    const report = (await ready.json()) as { reasons: string[]; storage: { writable: boolean; cause: string } };
    expect(report.reasons.join(' ')).toMatch(/damaged/);
    expect(report.storage).toMatchObject({ writable: false });

    const search = await gql(server.url, SEARCH, { text: 'seal kit torque step' });
    // The keyword search reads the damaged full-text pages (it answered INTERNAL_SERVER_ERROR before).
    expect(errorCode(search)).toBe('DATABASE_CORRUPT');
    expect(search.errors![0]!.extensions!.category).toBe('UNAVAILABLE');
    expect(search.errors![0]!.message).not.toContain(dataDir);
    const write = await gqlUpload(server.url, INGEST, { file: { bytes: Buffer.from('# New\n\nA new page.\n'), name: 'new.md' } });
    expect(errorCode(write)).toBe('DATABASE_CORRUPT');
    expect((await gql<{ health: { status: string } }>(server.url, '{ health { status } }')).errors).toBeUndefined();
  });
});
