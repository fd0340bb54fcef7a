/**
 * HTTP requests refused before Apollo runs are audited (src/server/refusal-audit.ts), on a real
 * server on 127.0.0.1: a rate-limited call and a body too large each leave an entry with the
 * caller, their address and the code; a flood of 500 rate-limited calls leaves a handful of rows
 * (one per caller per second), not 500, and so does a flood over WebSocket. An unauthenticated call
 * is not audited (no tenant).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';
import type { AuditEntryRecord } from '../../src/audit/audit-store.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { errorCode, gql, startTestServer } from '../helpers/server.js';
import { wsClient } from '../helpers/ws.js';

const KEYS = { tina: 'refusal-tina-key-0123456789abcdef', ada: 'refusal-ada-key-0123456789abcdefg' };
const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const ME = '{ me { keyName } }';

function keysFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-refusal-'));
  const file = path.join(dir, 'keys.json');
  writeFileSync(
    file,
    JSON.stringify({
      keys: [
        { name: 'tina', role: 'technician', tenant: 'acme', keyHash: hashKey(KEYS.tina) },
        { name: 'ada', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.ada) },
      ],
    }),
  );
  return file;
}

/** Every entry of tenant acme, oldest first, read from the audit file (past any rate limit). */
async function entries(dataDir: string): Promise<AuditEntryRecord[]> {
  const audit = new SqliteAuditStore(path.join(dataDir, 'audit.db'));
  await audit.init();
  try {
    return (await audit.list({ tenant: 'acme', first: 1000 })).items.reverse();
  } finally {
    await audit.close();
  }
}

/** Refusal entries are written just after the answer: wait until `ready` holds (or give up after 5 s). */
async function settled(dataDir: string, ready: (e: AuditEntryRecord[]) => boolean): Promise<AuditEntryRecord[]> {
  for (let i = 0; ; i++) {
    const list = await entries(dataDir);
    if (ready(list) || i === 50) return list;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('HTTP refusals before Apollo are audited, rate-limit refusals coalesced', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    // One refill a minute: nothing comes back while the test runs, so a bucket of 4 is 4 calls.
    server = await startTestServer({ LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile(), RATE_LIMIT_PER_MINUTE: '1', RATE_LIMIT_BURST: '4', MAX_REQUEST_BYTES: '4096' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('writes an entry for a body too large and for a rate-limited call, readable through auditLog', async () => {
    const tooLarge = await gql(server.url, ME, { padding: 'x'.repeat(10_000) }, auth(KEYS.tina));
    expect(tooLarge.status).toBe(413);
    expect(errorCode(tooLarge)).toBe('PAYLOAD_TOO_LARGE');
    for (let i = 0; i < 3; i++) expect((await gql(server.url, ME, {}, auth(KEYS.tina))).status).toBe(200);
    const limited = await gql(server.url, ME, {}, auth(KEYS.tina));
    expect(limited.status).toBe(429);
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    // Not audited: no key, so no tenant to file it under.
    expect((await gql(server.url, ME, {}, auth('not-a-key-0123456789abcdefghijkl'))).status).toBe(401);

    await settled(server.dataDir, (list) => list.some((e) => e.outcome === 'RATE_LIMITED'));
    const log = await gql<{ auditLog: { nodes: { keyName: string; outcome: string; operation: string; clientAddress: string | null }[] } }>(
      server.url,
      '{ auditLog(first: 50, keyName: "tina") { nodes { keyName outcome operation clientAddress } } }',
      {},
      auth(KEYS.ada),
    );
    expect(log.status).toBe(200);
    const outcomes = log.data!.auditLog.nodes.map((n) => n.outcome).reverse();
    expect(outcomes).toEqual(['PAYLOAD_TOO_LARGE', 'ok', 'ok', 'ok', 'RATE_LIMITED']);
    const refused = log.data!.auditLog.nodes.find((n) => n.outcome === 'RATE_LIMITED')!;
    expect(refused).toMatchObject({ keyName: 'tina', operation: '(unparsed)' });
    expect(refused.clientAddress).toMatch(/127\.0\.0\.1$/);
    // Only tina's and ada's entries: the 401 wrote nothing.
    expect((await entries(server.dataDir)).every((e) => e.keyName === 'tina' || e.keyName === 'ada')).toBe(true);
  });

  it('a flood of 500 rate-limited calls writes one entry per caller per second, not 500', async () => {
    // Past the coalescing window of the previous test's refusals, so this flood opens its own.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = (await entries(server.dataDir)).filter((e) => e.outcome === 'RATE_LIMITED').length;
    const started = Date.now();
    const statuses: number[] = [];
    for (let wave = 0; wave < 10; wave++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => gql(server.url, ME, {}, auth(KEYS.tina))));
      statuses.push(...answers.map((a) => a.status));
    }
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(statuses.filter((s) => s === 429)).toHaveLength(500);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const written = (await entries(server.dataDir)).filter((e) => e.outcome === 'RATE_LIMITED').length - before;
    // At least one, at most one per started second of the flood (plus one for a window boundary).
    expect(written).toBeGreaterThanOrEqual(1);
    expect(written).toBeLessThanOrEqual(seconds + 1);
  });

  it('a flood of 300 rate-limited operations on one WebSocket is coalesced the same way', async () => {
    // Past the coalescing window of the previous test's refusals, so this flood opens its own.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = (await entries(server.dataDir)).filter((e) => e.outcome === 'RATE_LIMITED').length;
    const socket = wsClient(server.url, KEYS.tina);
    try {
      const started = Date.now();
      const codes: (string | undefined)[] = [];
      for (let wave = 0; wave < 6; wave++) codes.push(...(await Promise.all(Array.from({ length: 50 }, () => socket.run(ME)))).map((r) => r.code));
      const seconds = Math.ceil((Date.now() - started) / 1000);
      expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(300);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const written = (await entries(server.dataDir)).filter((e) => e.outcome === 'RATE_LIMITED').length - before;
      expect(written).toBeGreaterThanOrEqual(1);
      expect(written).toBeLessThanOrEqual(seconds + 1);
    } finally {
      await socket.dispose();
    }
  });
});
