/**
 * Issue 17 items 10, 12 and 15, the attacks over real HTTP against a production server:
 * - 10: /metrics was open to anyone and made a series of every client-chosen operation name
 *   (20,000 names → a 102 MB scrape); /ready showed the database's absolute path;
 * - 12: enum-value suggestions leaked ("Did you mean the enum value "PDF"?");
 * - 15: a persisted query with a wrong hash answered INTERNAL_SERVER_ERROR (and was logged as an error).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { gql, startTestServer } from '../helpers/server.js';

const KEYS = { tech: 'exp-tech-key-0123456789abcdefghij', admin: 'exp-admin-key-0123456789abcdefghi' };
const METRICS_TOKEN = 'scrape-token-0123456789abcdef';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

describe('what a production server reveals', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-exposure-'));
    const keysFile = path.join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [
      { name: 'tina', role: 'technician', tenant: 'acme', keyHash: hashKey(KEYS.tech) },
      { name: 'ada', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.admin) },
    ] }));
    server = await startTestServer({ NODE_ENV: 'production', LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile, METRICS_TOKEN });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('/metrics answers only an admin key or the metrics token', async () => {
    const scrape = (headers: Record<string, string> = {}) => fetch(`${server.url}/metrics`, { headers });
    expect((await scrape()).status).toBe(401);
    expect((await scrape({ authorization: 'Bearer not-the-token-0123456789' })).status).toBe(401);
    expect((await scrape(auth(KEYS.tech))).status).toBe(403);
    expect((await scrape(auth(KEYS.admin))).status).toBe(200);
    const byToken = await scrape({ authorization: `Bearer ${METRICS_TOKEN}` });
    expect(byToken.status).toBe(200);
    expect(await byToken.text()).toContain('fieldscope_graphql_operation_duration_seconds');
  });

  it('client-chosen operation names never become metric series', async () => {
    for (let i = 0; i < 300; i++) await gql(server.url, `query Attack${i}x { me { keyName } }`, {}, auth(KEYS.tech));
    await gql(server.url, 'query { me { keyName } health { status } }', {}, auth(KEYS.tech));
    await gql(server.url, 'query { nope }', {}, auth(KEYS.tech));
    const body = await (await fetch(`${server.url}/metrics`, { headers: auth(KEYS.admin) })).text();
    expect(body).not.toContain('Attack');
    const labels = new Set([...body.matchAll(/fieldscope_graphql_operation_duration_seconds_count\{operation="([^"]*)"/g)].map((m) => m[1]));
    expect(labels).toContain('me');
    expect(labels).toContain('health,me');
    // An operation that does not validate has no fields to name.
    expect(labels).toContain('(unparsed)');
    expect(labels.size).toBeLessThanOrEqual(5);
  });

  it('/ready and the health query name no absolute path', async () => {
    const ready = await (await fetch(`${server.url}/ready`)).text();
    expect(ready).not.toContain(server.dataDir);
    expect(ready).not.toMatch(/"location":"\//);
    const health = await gql<{ health: { store: { location: string } } }>(server.url, '{ health { store { location } } }', {}, auth(KEYS.tech));
    expect(health.data!.health.store.location).not.toContain(server.dataDir);
    expect(health.data!.health.store.location).toMatch(/\.db$/);
  });

  it('gives no "Did you mean" hints: enum values in variables or inline, fields, arguments', async () => {
    const cases = [
      gql(server.url, 'query($k: [SourceKind!]) { search(text: "seal", filter: { kinds: $k }) { noGoodMatch } }', { k: ['PDFF'] }, auth(KEYS.tech)),
      gql(server.url, 'query { search(text: "seal", filter: { kinds: [PDFF] }) { noGoodMatch } }', {}, auth(KEYS.tech)),
      gql(server.url, '{ serch(text: "seal") { noGoodMatch } }', {}, auth(KEYS.tech)),
      gql(server.url, '{ search(txt: "seal") { noGoodMatch } }', {}, auth(KEYS.tech)),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.errors?.length).toBeGreaterThan(0);
      expect(JSON.stringify(res.errors)).not.toMatch(/Did you mean|PDF"/);
      expect(res.errors![0]!.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    }
  });

  it('a persisted query with a wrong hash is a client error with its own code', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth(KEYS.tech) },
      body: JSON.stringify({ query: '{ me { keyName } }', extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('PERSISTED_QUERY_HASH_MISMATCH');
  });
});
