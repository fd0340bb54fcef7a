/**
 * Issue 17 items 1 and 2, the attacks over a real WebSocket (graphql-ws) against the real server:
 * a technician's key ran `auditLog` and `deleteDocument` over the socket (the role check and the
 * audit were Apollo plugins, which the WebSocket path never ran), and a key revoked while its
 * socket was open kept working.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { gql, gqlUpload, startTestServer } from '../helpers/server.js';
import { wsClient, type WsTestClient } from '../helpers/ws.js';

const KEYS = {
  tech: 'ws-tech-key-0123456789abcdefghij',
  admin: 'ws-admin-key-0123456789abcdefghij',
  otherAdmin: 'ws-other-admin-0123456789abcdefgh',
  leaving: 'ws-leaving-key-0123456789abcdefgh',
};

function keysJson(revokeLeaving: boolean): string {
  return JSON.stringify({
    keys: [
      { name: 'tina', role: 'technician', tenant: 'acme', keyHash: hashKey(KEYS.tech) },
      { name: 'ada', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.admin) },
      { name: 'olga', role: 'admin', tenant: 'globex', keyHash: hashKey(KEYS.otherAdmin) },
      { name: 'leo', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.leaving), revoked: revokeLeaving },
    ],
  });
}

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

describe('WebSocket operations go through the same authorization and audit as HTTP', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-wsauth-'));
  const keysFile = path.join(dir, 'keys.json');
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let documentId: string;
  const clients: WsTestClient[] = [];
  const open = (key: string) => {
    const c = wsClient(server.url, key);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    writeFileSync(keysFile, keysJson(false));
    server = await startTestServer({ LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile });
    const ingested = await gqlUpload<{ ingestDocument: { id: string } }>(server.url, 'mutation($f: Upload!) { ingestDocument(file: $f) { id } }', { f: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } }, {}, auth(KEYS.admin));
    documentId = ingested.data!.ingestDocument.id;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await server?.close();
  });

  it("refuses a technician's auditLog and deleteDocument over the socket, and the document stays", async () => {
    const tech = open(KEYS.tech);
    const audit = await tech.run('{ auditLog(first: 5) { nodes { seq operation } } }');
    expect(audit.code).toBe('FORBIDDEN');
    expect(audit.data ?? null).toBeNull();
    const del = await tech.run('mutation($id: ID!) { deleteDocument(id: $id) }', { id: documentId });
    expect(del.code).toBe('FORBIDDEN');
    // Hidden in a fragment, as over HTTP.
    const hidden = await tech.run('mutation($id: ID!) { ...D } fragment D on Mutation { deleteDocument(id: $id) }', { id: documentId });
    expect(hidden.code).toBe('FORBIDDEN');
    const still = await gql<{ document: { id: string } | null }>(server.url, 'query($id: ID!) { document(id: $id) { id } }', { id: documentId }, auth(KEYS.admin));
    expect(still.data?.document?.id).toBe(documentId);
    // What the technician may do still works on the same socket.
    expect((await tech.run('{ me { keyName role } }')).data).toEqual({ me: { keyName: 'tina', role: 'technician' } });
  });

  it('writes an audit entry for every WebSocket operation, allowed or refused, in the caller’s tenant', async () => {
    const tech = open(KEYS.tech);
    await tech.run('query Probe { auditLog(first: 1) { nodes { seq } } }');
    await tech.run('query($text: String) { search(text: $text) { hits { document { id } } } }', { text: 'mechanical seal 4471-B' });
    await tech.run('subscription { askStream(question: "how do I replace the mechanical seal?") { __typename } }');
    const log = await gql<{ auditLog: { nodes: { keyName: string; operation: string; operationName: string | null; outcome: string; query: string | null; documentIds: string[] }[] } }>(
      server.url,
      '{ auditLog(first: 100) { nodes { keyName operation operationName outcome query documentIds } } }',
      {},
      auth(KEYS.admin),
    );
    const tina = log.data!.auditLog.nodes.filter((n) => n.keyName === 'tina');
    expect(tina.find((n) => n.operationName === 'Probe')).toMatchObject({ operation: 'auditLog', outcome: 'FORBIDDEN' });
    expect(tina.find((n) => n.operation === 'deleteDocument')).toMatchObject({ outcome: 'FORBIDDEN' });
    const search = tina.find((n) => n.operation === 'search')!;
    expect(search).toMatchObject({ outcome: 'ok', query: 'mechanical seal 4471-B' });
    expect(search.documentIds).toContain(documentId);
    expect(tina.find((n) => n.operation === 'askStream')).toMatchObject({ outcome: 'ok', query: 'how do I replace the mechanical seal?' });
    // The other tenant's admin sees none of it.
    const other = await gql<{ auditLog: { nodes: { keyName: string }[] } }>(server.url, '{ auditLog(first: 100) { nodes { keyName } } }', {}, auth(KEYS.otherAdmin));
    expect(other.data!.auditLog.nodes.some((n) => n.keyName === 'tina')).toBe(false);
  });

  it('an admin deletes over the socket, and the deletion is audited', async () => {
    const admin = open(KEYS.admin);
    const extra = await gqlUpload<{ ingestDocument: { id: string } }>(server.url, 'mutation($f: Upload!) { ingestDocument(file: $f) { id } }', { f: { bytes: Buffer.from(`${PUMP_MANUAL_MD}\n\nRevision B.`), name: 'p200b.md' } }, {}, auth(KEYS.admin));
    const id = extra.data!.ingestDocument.id;
    expect((await admin.run('mutation($id: ID!) { deleteDocument(id: $id) }', { id })).data).toEqual({ deleteDocument: true });
    const log = await gql<{ auditLog: { nodes: { keyName: string; operation: string; outcome: string }[] } }>(server.url, '{ auditLog(first: 20, operation: "deleteDocument") { nodes { keyName operation outcome } } }', {}, auth(KEYS.admin));
    expect(log.data!.auditLog.nodes).toContainEqual({ keyName: 'ada', operation: 'deleteDocument', outcome: 'ok' });
  });

  it('a key revoked while its socket is open is refused on the next operation and the socket closes', async () => {
    const leaving = open(KEYS.leaving);
    expect((await leaving.run('{ me { keyName } }')).data).toEqual({ me: { keyName: 'leo' } });
    expect((await leaving.run('{ documents(first: 1) { totalCount } }')).data).toEqual({ documents: { totalCount: 1 } });
    writeFileSync(keysFile, keysJson(true));
    // The registry re-reads the file at most once a second.
    await new Promise((r) => setTimeout(r, 1100));
    const after = await leaving.run('{ documents(first: 1) { totalCount } }');
    expect(after.data ?? null).toBeNull();
    expect(after.code).toMatch(/UNAUTHENTICATED|closed 4401|closed 4403/);
    // Refused on the socket opened before the revocation, not by a reconnect.
    expect(leaving.connections()).toBe(1);
    // HTTP agrees.
    expect((await gql(server.url, '{ me { keyName } }', {}, auth(KEYS.leaving))).status).toBe(401);
    writeFileSync(keysFile, keysJson(false));
    await new Promise((r) => setTimeout(r, 1100));
  });
});
