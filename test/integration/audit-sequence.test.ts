/**
 * Issue 17 item 16: audit sequence numbers were shared across tenants, so the gaps in one
 * tenant's log showed it the other tenant's activity. Now each tenant's log is numbered 1, 2, 3 ….
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { gql, startTestServer } from '../helpers/server.js';
import { wsClient } from '../helpers/ws.js';

const KEYS = { acme: 'seq-acme-admin-0123456789abcdefgh', globex: 'seq-globex-admin-0123456789abcdef' };
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

describe('audit sequence numbers are per tenant', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-auditseq-'));
    const keysFile = path.join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [
      { name: 'ada', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.acme) },
      { name: 'gus', role: 'admin', tenant: 'globex', keyHash: hashKey(KEYS.globex) },
    ] }));
    server = await startTestServer({ LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("one tenant's log has no gaps however busy the other tenant is (HTTP and WebSocket)", async () => {
    await gql(server.url, '{ me { keyName } }', {}, auth(KEYS.globex));
    for (let i = 0; i < 7; i++) await gql(server.url, '{ me { keyName } }', {}, auth(KEYS.acme));
    await gql(server.url, '{ me { keyName } }', {}, auth(KEYS.globex));
    const socket = wsClient(server.url, KEYS.acme);
    for (let i = 0; i < 3; i++) await socket.run('{ me { keyName } }');
    await socket.dispose();
    await gql(server.url, '{ me { keyName } }', {}, auth(KEYS.globex));
    const read = async (key: string) => (await gql<{ auditLog: { nodes: { seq: number }[] } }>(server.url, '{ auditLog(first: 100) { nodes { seq } } }', {}, auth(key))).data!.auditLog.nodes.map((n) => n.seq);
    const globex = await read(KEYS.globex);
    expect(globex).toEqual([3, 2, 1]);
    const acme = await read(KEYS.acme);
    expect(acme).toEqual(Array.from({ length: 10 }, (_, i) => 10 - i));
    // Pages follow the tenant's own numbers.
    const page = await gql<{ auditLog: { nodes: { seq: number }[] } }>(server.url, '{ auditLog(first: 2, after: "3") { nodes { seq } } }', {}, auth(KEYS.globex));
    expect(page.data!.auditLog.nodes.map((n) => n.seq)).toEqual([2, 1]);
  });
});

describe('auditLog cursors', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-auditcursor-'));
    const keysFile = path.join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'ada', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.acme) }] }));
    server = await startTestServer({ LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile });
  });
  afterAll(async () => {
    await server?.close();
  });

  type Log = { auditLog: { nodes: { seq: number }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } };
  const LOG = 'query($after: String) { auditLog(first: 2, after: $after) { nodes { seq } pageInfo { endCursor hasNextPage } } }';

  it('pages by endCursor to the end, and still takes a seq in decimal (the old cursor)', async () => {
    for (let i = 0; i < 4; i++) await gql(server.url, '{ me { keyName } }', {}, auth(KEYS.acme));
    const first = await gql<Log>(server.url, LOG, {}, auth(KEYS.acme));
    const top = first.data!.auditLog.nodes[0]!.seq;
    expect(first.data!.auditLog.nodes.map((n) => n.seq)).toEqual([top, top - 1]);
    const cursor = first.data!.auditLog.pageInfo.endCursor!;
    expect(cursor).not.toBe(String(top - 1));
    const next = await gql<Log>(server.url, LOG, { after: cursor }, auth(KEYS.acme));
    expect(next.data!.auditLog.nodes.map((n) => n.seq)).toEqual([top - 2, top - 3]);
    const legacy = await gql<Log>(server.url, LOG, { after: String(top - 1) }, auth(KEYS.acme));
    expect(legacy.data!.auditLog.nodes.map((n) => n.seq)).toEqual([top - 2, top - 3]);
  });

  it('refuses any other after with INVALID_CURSOR instead of starting again at the newest entry', async () => {
    const reviewCursor = Buffer.from(JSON.stringify(['review', 3])).toString('base64url');
    const documentsCursor = Buffer.from(JSON.stringify([1767225600000, 'doc-1'])).toString('base64url');
    for (const bad of ['abc', '3abc', '0', '-2', '1.5', reviewCursor, documentsCursor]) {
      const res = await gql(server.url, LOG, { after: bad }, auth(KEYS.acme));
      expect(res.errors?.[0], bad).toMatchObject({ message: expect.stringContaining('pageInfo.endCursor'), extensions: { code: 'INVALID_CURSOR', category: 'BAD_USER_INPUT' } });
    }
  });
});

describe('an audit log written before per-tenant numbering', () => {
  it('is numbered per tenant, in order, once, and stays append-only', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'fieldscope-auditold-')), 'audit.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, key_name TEXT NOT NULL, tenant TEXT NOT NULL, role TEXT NOT NULL,
      operation TEXT NOT NULL, operation_name TEXT, outcome TEXT NOT NULL, query TEXT, document_ids TEXT NOT NULL, photo_ids TEXT NOT NULL, duration_ms INTEGER NOT NULL);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`);
    const insert = old.prepare("INSERT INTO audit (at, key_name, tenant, role, operation, operation_name, outcome, query, document_ids, photo_ids, duration_ms) VALUES ('2026-01-01T00:00:00Z', 'k', ?, 'admin', ?, NULL, 'ok', NULL, '[]', '[]', 1)");
    for (const [tenant, op] of [['a', 'a1'], ['b', 'b1'], ['a', 'a2'], ['b', 'b2'], ['a', 'a3']] as const) insert.run(tenant, op);
    old.close();

    const log = new SqliteAuditStore(file);
    await log.init();
    expect((await log.list({ tenant: 'a', first: 10 })).items.map((e) => [e.seq, e.operation])).toEqual([[3, 'a3'], [2, 'a2'], [1, 'a1']]);
    expect((await log.list({ tenant: 'b', first: 10 })).items.map((e) => [e.seq, e.operation])).toEqual([[2, 'b2'], [1, 'b1']]);
    await log.append({ at: '2026-01-02T00:00:00Z', keyName: 'k', tenant: 'b', role: 'admin', operation: 'b3', operationName: null, outcome: 'ok', query: null, documentIds: [], photoIds: [], durationMs: 1 });
    expect((await log.list({ tenant: 'b', first: 1 })).items[0]).toMatchObject({ seq: 3, operation: 'b3', clientAddress: null });
    // Entries from before client addresses were recorded read as null; new ones keep theirs.
    await log.append({ at: '2026-01-03T00:00:00Z', keyName: 'k', tenant: 'b', role: 'admin', operation: 'b4', operationName: null, outcome: 'ok', query: null, documentIds: [], photoIds: [], durationMs: 1, clientAddress: '198.51.100.4' });
    expect((await log.list({ tenant: 'b', first: 10 })).items.map((e) => e.clientAddress)).toEqual(['198.51.100.4', null, null, null]);
    await log.close();
    // Opening again changes nothing, and the database still refuses changes.
    const again = new SqliteAuditStore(file);
    await again.init();
    expect((await again.list({ tenant: 'a', first: 10 })).items.map((e) => e.seq)).toEqual([3, 2, 1]);
    expect((await again.list({ tenant: 'b', first: 1 })).items[0]).toMatchObject({ seq: 4, clientAddress: '198.51.100.4' });
    await again.close();
    const db = new Database(file);
    expect(() => db.prepare("UPDATE audit SET key_name = 'x'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit').run()).toThrow(/append-only/);
    db.close();
  });
});
