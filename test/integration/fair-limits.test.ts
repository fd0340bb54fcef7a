/**
 * Issue 17 items 7 and 8, the attacks over the real server:
 * - 7: no rate limit over WebSocket (thousands of embedText on one socket), and meanwhile another
 *   tenant's HTTP request got OVERLOADED from the shared encoder queue;
 * - 8: identifyPart with more than ~250 labels (4 prompts each) overflowed the encoder queue
 *   (OVERLOADED "retry in 100 ms" forever), as did a knowledge base whose titles are that many labels.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { jpeg } from '../helpers/images.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';
import { wsClient, type WsTestClient } from '../helpers/ws.js';

const KEYS = { tina: 'fair-tina-key-0123456789abcdefgh', ada: 'fair-ada-key-0123456789abcdefghi', olga: 'fair-olga-key-0123456789abcdefgh', gus: 'fair-gus-key-0123456789abcdefghi' };
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

function keysFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-fair-'));
  const file = path.join(dir, 'keys.json');
  writeFileSync(
    file,
    JSON.stringify({
      keys: [
        { name: 'tina', role: 'technician', tenant: 'acme', keyHash: hashKey(KEYS.tina) },
        { name: 'ada', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.ada) },
        { name: 'olga', role: 'technician', tenant: 'globex', keyHash: hashKey(KEYS.olga) },
        { name: 'gus', role: 'admin', tenant: 'globex', keyHash: hashKey(KEYS.gus) },
      ],
    }),
  );
  return file;
}

const IDENTIFY = 'query($image: Upload!, $candidates: [String!]) { identifyPart(image: $image, candidates: $candidates, limit: 3) { id candidates { label } } }';

describe('rate limits over WebSocket use the same buckets as HTTP', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const clients: WsTestClient[] = [];
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile(), RATE_LIMIT_PER_MINUTE: '60', RATE_LIMIT_BURST: '5' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await server?.close();
  });

  it('refuses a key past its burst on one socket with RATE_LIMITED, and its HTTP calls too; other keys go on', async () => {
    const socket = wsClient(server.url, KEYS.tina);
    clients.push(socket);
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 12; i++) codes.push((await socket.run('query($t: [String!]!) { embedText(texts: $t) { dim } }', { t: [`flood ${i}`] })).code);
    expect(codes.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(6);
    const limited = await socket.run('{ me { keyName } }');
    expect(limited.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    // The same bucket over HTTP.
    const http = await gql(server.url, '{ me { keyName } }', {}, auth(KEYS.tina));
    expect(http.status).toBe(429);
    // Another key of another tenant is not affected.
    expect((await gql(server.url, '{ me { keyName } }', {}, auth(KEYS.olga))).status).toBe(200);
    // Refusals are audited like any operation.
    const log = await gql<{ auditLog: { nodes: { keyName: string; outcome: string }[] } }>(server.url, '{ auditLog(first: 50, keyName: "tina") { nodes { keyName outcome } } }', {}, auth(KEYS.ada));
    expect(log.data!.auditLog.nodes.some((n) => n.outcome === 'RATE_LIMITED')).toBe(true);
  });
});

describe('the shared encoder queue is fair between tenants, and large label sets go through it', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    // A small queue makes the flood cheap; the default share (half the queue per tenant) applies.
    // One text per inference keeps the queue full long enough for the flood to matter with the tiny model.
    server = await startTestServer({ LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile(), CLIP_QUEUE_LIMIT: '64', CLIP_TEXT_BATCH: '1', EMBED_CACHE_SIZE: '0' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("one tenant flooding the encoder does not get another tenant's requests refused", async () => {
    let stop = false;
    let n = 0;
    const floodCodes: (string | undefined)[] = [];
    const flooder = async () => {
      while (!stop) {
        // Small requests, so the flood fills every free slot of the queue as soon as a batch leaves it.
        const texts = Array.from({ length: 16 }, () => `flood text number ${n++} with a few more words to read`);
        floodCodes.push(errorCode(await gql(server.url, 'query($t: [String!]!) { embedText(texts: $t) { dim } }', { t: texts }, auth(KEYS.tina))));
      }
    };
    const flood = Promise.all(Array.from({ length: 12 }, flooder));
    await new Promise((r) => setTimeout(r, 200));
    const victim: (string | undefined)[] = [];
    for (let i = 0; i < 20; i++) {
      victim.push(errorCode(await gql(server.url, 'query($t: [String!]!) { embedText(texts: $t) { dim } }', { t: [`globex query ${i} a`, `globex query ${i} b`, `globex query ${i} c`] }, auth(KEYS.olga))));
    }
    stop = true;
    await flood;
    // The flood really filled its share (some of it was refused) …
    expect(floodCodes.filter((c) => c === 'OVERLOADED').length).toBeGreaterThan(0);
    // … and the other tenant was never refused.
    expect(victim).toEqual(Array.from({ length: 20 }, () => undefined));
  });

  it('identifyPart with 300 candidate labels (1,200 prompts, far more than the queue) answers', async () => {
    const candidates = Array.from({ length: 300 }, (_, i) => `hydraulic fitting model ${i}`);
    const res = await gqlUpload<{ identifyPart: { candidates: { label: string }[] } }>(server.url, IDENTIFY, { image: { bytes: await jpeg(96, 96), name: 'p.jpg' } }, { candidates }, auth(KEYS.olga));
    expect(res.errors).toBeUndefined();
    expect(res.data!.identifyPart.candidates).toHaveLength(3);
    for (const c of res.data!.identifyPart.candidates) expect(candidates).toContain(c.label);
  });

  it('identifyPart without candidates works on a knowledge base with more titles than the queue holds', async () => {
    const titles = Array.from({ length: 40 }, (_, i) => `Gearbox GX-${100 + i} manual`);
    for (const [i, title] of titles.entries()) {
      const doc = await gqlUpload(server.url, 'mutation($f: Upload!, $input: DocumentInput) { ingestDocument(file: $f, input: $input) { id } }', { f: { bytes: Buffer.from(`# ${title}\n\nService step ${i}: drain the oil.`), name: `m${i}.md` } }, { input: { title } }, auth(KEYS.ada));
      expect(doc.errors, JSON.stringify(doc.errors)).toBeUndefined();
    }
    // Tenant acme: globex's catalogue was read (empty) by the test before and is cached for a few seconds.
    const res = await gqlUpload<{ identifyPart: { candidates: { label: string }[] } }>(server.url, IDENTIFY, { image: { bytes: await jpeg(96, 96), name: 'p.jpg' } }, {}, auth(KEYS.tina));
    expect(res.errors).toBeUndefined();
    expect(res.data!.identifyPart.candidates.length).toBeGreaterThan(0);
    for (const c of res.data!.identifyPart.candidates) expect(titles).toContain(c.label);
  });
});
