/**
 * API keys, roles, signed file URLs and the audit log over real HTTP.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { runKeysCommand } from '../../src/cli/keys.js';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { jpeg } from '../helpers/images.js';
import { startTestServer } from '../helpers/server.js';

const KEYS = { technician: 'tech-key-0123456789abcdefghij', agent: 'agent-key-0123456789abcdefghij', admin: 'admin-key-0123456789abcdefghij', revoked: 'old-key-0123456789abcdefghijkl' };

async function call(url: string, key: string | null, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: res.status, ...body, code: body.errors?.[0]?.extensions?.code };
}

async function upload(url: string, key: string, bytes: Uint8Array, name: string) {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: 'mutation($f: Upload!) { ingestDocument(file: $f) { id pages { thumbnailUrl } url } }', variables: { f: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.f'] }));
  form.append('0', new Blob([bytes]), name);
  const res = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${key}` } });
  return (await res.json()) as { data?: { ingestDocument: { id: string; url: string } } | null; errors?: { extensions?: { code?: string } }[] };
}

describe('authentication, roles and audit', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-auth-'));
  const keysFile = path.join(dir, 'keys.json');
  let server: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    writeFileSync(
      keysFile,
      JSON.stringify({
        keys: [
          { name: 'anna', role: 'technician', tenant: 'acme', keyHash: hashKey(KEYS.technician) },
          { name: 'bob', role: 'agent', tenant: 'acme', key: KEYS.agent },
          { name: 'root', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.admin) },
          { name: 'former', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.revoked), revoked: true },
        ],
      }),
    );
    server = await startTestServer({ LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses missing, malformed, unknown and revoked keys with 401 UNAUTHENTICATED', async () => {
    for (const key of [null, 'not-a-real-key-at-all-xxxxxxxx', KEYS.revoked]) {
      const r = await call(server.url, key, '{ health { status } }');
      expect(r.status).toBe(401);
      expect(r.code).toBe('UNAUTHENTICATED');
    }
    const malformed = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Basic abc' }, body: '{"query":"{ __typename }"}' });
    expect(malformed.status).toBe(401);
  });

  it('lets each role do its work and nothing more', async () => {
    expect((await call(server.url, KEYS.technician, '{ me { keyName role tenant } }')).data).toEqual({ me: { keyName: 'anna', role: 'technician', tenant: 'acme' } });
    expect((await call(server.url, KEYS.technician, '{ documents(first: 1) { totalCount } }')).errors).toBeUndefined();
    const forbidden = await call(server.url, KEYS.technician, '{ reviewQueue { totalCount } }');
    expect(forbidden).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect((await call(server.url, KEYS.agent, '{ reviewQueue { totalCount } }')).errors).toBeUndefined();
    expect((await call(server.url, KEYS.agent, 'mutation { deleteDocument(id: "x") }')).code).toBe('FORBIDDEN');
    expect((await call(server.url, KEYS.technician, '{ auditLog { nodes { seq } } }')).code).toBe('FORBIDDEN');
    // A forbidden field hidden in a fragment is still found.
    expect((await call(server.url, KEYS.technician, 'query { ...F } fragment F on Query { reviewQueue { totalCount } }')).code).toBe('FORBIDDEN');
    const techIngest = await upload(server.url, KEYS.technician, Buffer.from(PUMP_MANUAL_MD), 'p200.md');
    expect(techIngest.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('serves files to key holders and through signed URLs, and to nobody else', async () => {
    const doc = await upload(server.url, KEYS.admin, Buffer.from(PUMP_MANUAL_MD), 'p200.md');
    const url = doc.data!.ingestDocument.url;
    expect(url).toMatch(/^\/files\/[0-9a-f]{64}\.md\?tenant=acme&exp=\d+&sig=/);
    expect((await fetch(`${server.url}${url}`)).status).toBe(200); // signed: no header needed
    const tampered = url.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    expect((await fetch(`${server.url}${tampered}`)).status).toBe(401);
    const bare = url.split('?')[0]!;
    expect((await fetch(`${server.url}${bare}`)).status).toBe(401);
    expect((await fetch(`${server.url}${bare}`, { headers: { authorization: `Bearer ${KEYS.technician}` } })).status).toBe(200);
  });

  it('records who did what in an append-only audit log that admins can read', async () => {
    await call(server.url, KEYS.technician, 'query($text: String) { search(text: $text) { hits { document { id } } } }', { text: 'mechanical seal 4471-B' });
    await upload(server.url, KEYS.admin, await jpeg(64, 64), 'scan.jpg');
    const log = await call(server.url, KEYS.admin, '{ auditLog(first: 50) { nodes { keyName tenant role operation outcome query documentIds } } }');
    const nodes = (log.data!.auditLog as { nodes: { keyName: string; operation: string; outcome: string; query: string | null; documentIds: string[] }[] }).nodes;
    const search = nodes.find((n) => n.keyName === 'anna' && n.operation === 'search')!;
    expect(search).toMatchObject({ outcome: 'ok', query: 'mechanical seal 4471-B' });
    expect(search.documentIds.length).toBeGreaterThan(0);
    expect(nodes.some((n) => n.keyName === 'anna' && n.operation === 'reviewQueue' && n.outcome === 'FORBIDDEN')).toBe(true);
    expect(JSON.stringify(nodes)).not.toContain(KEYS.technician);
    // Append-only, enforced by the database.
    const db = new Database(path.join(server.dataDir, 'audit.db'));
    expect(() => db.prepare('DELETE FROM audit').run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE audit SET key_name = 'x'").run()).toThrow(/append-only/);
    db.close();
  });

  it('WebSocket subscriptions need a key in connectionParams, and roles apply there too', async () => {
    const subscribe = (key: string | null) =>
      new Promise<string>((resolve) => {
        const client = createClient({ url: `${server.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: key ? { authorization: `Bearer ${key}` } : {} });
        client.subscribe(
          { query: 'subscription { askStream(question: "zebra quantum pancake") { __typename ... on Answer { text } } }' },
          {
            next: () => undefined,
            error: (e) => {
              void client.dispose();
              resolve(e instanceof Error ? e.message : 'code' in (e as object) ? `closed ${(e as { code: number }).code}` : JSON.stringify(e));
            },
            complete: () => {
              void client.dispose();
              resolve('completed');
            },
          },
        );
      });
    expect(await subscribe(null)).toMatch(/closed 4403|Forbidden/);
    expect(await subscribe('not-a-key-0123456789abcdef')).toMatch(/closed 4403|Forbidden/);
    expect(await subscribe(KEYS.technician)).toBe('completed');
  });

  it('keys added and revoked with the CLI take effect without a restart', async () => {
    let out = '';
    expect(await runKeysCommand(['add', '--name', 'carol', '--role', 'technician', '--tenant', 'acme', '--file', keysFile], { stdout: { write: (s: string) => (out += s) } })).toBe(0);
    const key = out.trim().split('\n').at(-1)!;
    expect(key).toMatch(/^fsk_/);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call(server.url, key, '{ me { keyName } }')).data).toEqual({ me: { keyName: 'carol' } });
    expect(await runKeysCommand(['revoke', 'carol', '--file', keysFile], { stdout: { write: () => true } })).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call(server.url, key, '{ me { keyName } }')).code).toBe('UNAUTHENTICATED');
  });
});
