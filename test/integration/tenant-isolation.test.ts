/**
 * Tenant isolation over real HTTP: two tenants (acme, globex) on one server, each with an admin,
 * an agent and a technician key. Globex plays the attacker: it searches for acme's words and
 * photos, guesses acme's document, photo, review item and feedback ids, rewrites acme's signed
 * file URLs, and reads the audit log. Every attempt must come back empty or refused, and acme's
 * data must be untouched afterwards.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashKey } from '../../src/auth/api-keys.js';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { errorCode, gql, gqlUpload, startTestServer, type GraphQLResponse } from '../helpers/server.js';

const KEYS = {
  acmeAdmin: 'acme-admin-0123456789abcdefghij',
  acmeAgent: 'acme-agent-0123456789abcdefghij',
  acmeTech: 'acme-tech-0123456789abcdefghijk',
  globexAdmin: 'globex-admin-0123456789abcdefgh',
  globexAgent: 'globex-agent-0123456789abcdefgh',
  globexTech: 'globex-tech-0123456789abcdefghi',
};
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

const GLOBEX_MANUAL_MD = `# C-900 Screw Compressor Operator Guide

## Oil separator
Change the separator element 8812-X every 4,000 hours. Check the differential pressure gauge weekly.

## Air filter
Replace the intake filter AF-31 when the restriction indicator shows red.
`;

/** A deterministic photo, different per seed. */
async function photo(seed: number): Promise<Buffer> {
  const w = 256;
  const h = 192;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const x = i % w;
    const y = Math.floor(i / w);
    px[i * 3] = (x * seed) % 256;
    px[i * 3 + 1] = ((x + y) * 5 * seed) % 256;
    px[i * 3 + 2] = (y * 3 + seed * 50) % 256;
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

interface Hit {
  document: { id: string } | null;
  photo: { id: string } | null;
}

const ingestDocument = (url: string, key: string, text: string, name: string) =>
  gqlUpload<{ ingestDocument: { id: string; url: string } }>(url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id url } }', { file: { bytes: Buffer.from(text), name } }, {}, auth(key));
const ingestPhoto = (url: string, key: string, bytes: Buffer, caption: string) =>
  gqlUpload<{ ingestPhoto: { id: string; url: string } }>(url, 'mutation($file: Upload!, $input: PhotoInput) { ingestPhoto(file: $file, input: $input) { id url } }', { file: { bytes, name: 'p.jpg' } }, { input: { caption } }, auth(key));

function ok<T>(res: GraphQLResponse<T>): T {
  expect(res.errors).toBeUndefined();
  return res.data!;
}

describe('tenant isolation', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-tenants-'));
  const keysFile = path.join(dir, 'keys.json');
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const acme = { docs: new Set<string>(), photos: new Set<string>() };
  const globex = { docs: new Set<string>(), photos: new Set<string>() };
  let acmeDoc: { id: string; url: string };
  let acmePhoto: { id: string; url: string };
  let acmePhotoBytes: Buffer;

  beforeAll(async () => {
    writeFileSync(
      keysFile,
      JSON.stringify({
        keys: [
          { name: 'acme-admin', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.acmeAdmin) },
          { name: 'acme-agent', role: 'agent', tenant: 'acme', keyHash: hashKey(KEYS.acmeAgent) },
          { name: 'acme-tech', role: 'technician', tenant: 'acme', keyHash: hashKey(KEYS.acmeTech) },
          { name: 'globex-admin', role: 'admin', tenant: 'globex', keyHash: hashKey(KEYS.globexAdmin) },
          { name: 'globex-agent', role: 'agent', tenant: 'globex', keyHash: hashKey(KEYS.globexAgent) },
          { name: 'globex-tech', role: 'technician', tenant: 'globex', keyHash: hashKey(KEYS.globexTech) },
        ],
      }),
    );
    // A policy that sends every upload to review, so each tenant gets review items.
    const policyFile = path.join(dir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ version: 1, neutralPrompts: ['a photo of an object.'], imageLabels: [{ label: 'anything', prompts: ['a photo.'], block: 1, review: 0 }] }));
    // The demo loads, into the `default` tenant only.
    server = await startTestServer({ AUTH_KEYS_FILE: keysFile, MODERATION: 'on', MODERATION_POLICY_FILE: policyFile });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('starts every named tenant empty: the demo belongs to the default tenant', async () => {
    for (const key of [KEYS.acmeAdmin, KEYS.globexAdmin]) {
      expect(ok(await gql<{ documents: { totalCount: number } }>(server.url, '{ documents { totalCount } }', {}, auth(key))).documents.totalCount).toBe(0);
    }
    // The default tenant's files exist (the demo did load) at the root of DATA_DIR.
    expect(readFileSync(path.join(server.dataDir, 'fieldscope.db')).length).toBeGreaterThan(0);
  });

  it('keeps the same file in two tenants as two independent records', async () => {
    acmeDoc = ok(await ingestDocument(server.url, KEYS.acmeAdmin, PUMP_MANUAL_MD, 'p200.md')).ingestDocument;
    acme.docs.add(acmeDoc.id);
    acmePhotoBytes = await photo(3);
    acmePhoto = ok(await ingestPhoto(server.url, KEYS.acmeAdmin, acmePhotoBytes, 'Acme seal kit 4471-B on pump P-200')).ingestPhoto;
    acme.photos.add(acmePhoto.id);

    const globexDoc = ok(await ingestDocument(server.url, KEYS.globexAdmin, GLOBEX_MANUAL_MD, 'c900.md')).ingestDocument;
    globex.docs.add(globexDoc.id);
    // The very same photo bytes and manual in globex: new records, not acme's (dedup is per tenant).
    const samePhoto = ok(await ingestPhoto(server.url, KEYS.globexAdmin, acmePhotoBytes, 'Globex compressor skid')).ingestPhoto;
    expect(samePhoto.id).not.toBe(acmePhoto.id);
    globex.photos.add(samePhoto.id);
    const sameDoc = ok(await ingestDocument(server.url, KEYS.globexAdmin, PUMP_MANUAL_MD, 'p200.md')).ingestDocument;
    expect(sameDoc.id).not.toBe(acmeDoc.id);
    globex.docs.add(sameDoc.id);
    globex.photos.add(ok(await ingestPhoto(server.url, KEYS.globexAdmin, await photo(7), 'Globex filter AF-31')).ingestPhoto.id);

    // Deleting globex's copy leaves acme's.
    expect(ok(await gql<{ deleteDocument: boolean }>(server.url, 'mutation($id: ID!) { deleteDocument(id: $id) }', { id: sameDoc.id }, auth(KEYS.globexAdmin))).deleteDocument).toBe(true);
    globex.docs.delete(sameDoc.id);
    expect(ok(await gql<{ document: { id: string } | null }>(server.url, 'query($id: ID!) { document(id: $id) { id } }', { id: acmeDoc.id }, auth(KEYS.acmeTech))).document).toEqual({ id: acmeDoc.id });
  });

  it("never returns another tenant's pages or photos from search, ask, similarPhotos or identifyPart", async () => {
    const SEARCH = 'query($text: String, $image: Upload) { search(text: $text, image: $image, limit: 50) { hits { document { id } photo { id } } } }';
    const check = (hits: Hit[], own: typeof acme) => {
      for (const h of hits) {
        if (h.document) expect(own.docs.has(h.document.id)).toBe(true);
        if (h.photo) expect(own.photos.has(h.photo.id)).toBe(true);
      }
    };
    // Acme's own words and photo find acme's records…
    const acmeHits = ok(await gql<{ search: { hits: Hit[] } }>(server.url, SEARCH, { text: 'mechanical seal kit 4471-B' }, auth(KEYS.acmeTech))).search.hits;
    expect(acmeHits.some((h) => h.document?.id === acmeDoc.id)).toBe(true);
    check(acmeHits, acme);
    // …and never globex's, nor globex acme's, by text, by photo, or both.
    for (const [key, own] of [
      [KEYS.globexTech, globex],
      [KEYS.acmeTech, acme],
    ] as const) {
      check(ok(await gql<{ search: { hits: Hit[] } }>(server.url, SEARCH, { text: 'mechanical seal kit 4471-B' }, auth(key))).search.hits, own);
      check(ok(await gql<{ search: { hits: Hit[] } }>(server.url, SEARCH, { text: 'separator element 8812-X compressor' }, auth(key))).search.hits, own);
      const byImage = ok(await gqlUpload<{ search: { hits: Hit[] } }>(server.url, SEARCH, { image: { bytes: acmePhotoBytes } }, { text: 'seal' }, auth(key))).search.hits;
      expect(byImage.length).toBeGreaterThan(0);
      check(byImage, own);

      const answer = ok(await gql<{ ask: { citations: Hit[] } }>(server.url, 'query($q: String) { ask(question: $q) { citations { document { id } photo { id } } } }', { q: 'How do I replace the mechanical seal 4471-B?' }, auth(key))).ask;
      check(answer.citations, own);

      const similar = ok(
        await gqlUpload<{ similarPhotos: { photo: { id: string } }[] }>(server.url, 'query($image: Upload!) { similarPhotos(image: $image, limit: 20, threshold: 0) { photo { id } } }', { image: { bytes: acmePhotoBytes } }, {}, auth(key)),
      ).similarPhotos;
      expect(similar.length).toBeGreaterThan(0);
      for (const s of similar) expect(own.photos.has(s.photo.id)).toBe(true);
    }
    // Labels come from the caller's own documents: globex's catalogue has no acme title.
    const labels = ok(
      await gqlUpload<{ identifyPart: { candidates: { label: string; pages: { document: { id: string } }[] }[] } }>(
        server.url,
        'query($image: Upload!) { identifyPart(image: $image, limit: 20) { candidates { label pages { document { id } } } } }',
        { image: { bytes: acmePhotoBytes } },
        {},
        auth(KEYS.globexTech),
      ),
    ).identifyPart.candidates;
    expect(labels.map((c) => c.label).join('\n')).not.toMatch(/P-200/);
    for (const c of labels) for (const p of c.pages) expect(globex.docs.has(p.document.id)).toBe(true);
  });

  it("answers a guessed document or photo id of another tenant as if it did not exist, and cannot delete it", async () => {
    const g = auth(KEYS.globexAdmin);
    expect(ok(await gql(server.url, 'query($id: ID!) { document(id: $id) { id title } }', { id: acmeDoc.id }, g))).toEqual({ document: null });
    expect(ok(await gql(server.url, 'query($id: ID!) { photo(id: $id) { id url } }', { id: acmePhoto.id }, g))).toEqual({ photo: null });
    const listed = ok(await gql<{ documents: { nodes: { id: string }[] } }>(server.url, '{ documents(first: 100) { nodes { id } } }', {}, g)).documents.nodes;
    expect(listed.map((d) => d.id).sort()).toEqual([...globex.docs].sort());
    expect(ok(await gql(server.url, 'mutation($id: ID!) { deleteDocument(id: $id) }', { id: acmeDoc.id }, g))).toEqual({ deleteDocument: false });
    expect(ok(await gql(server.url, 'mutation($id: ID!) { deletePhoto(id: $id) }', { id: acmePhoto.id }, g))).toEqual({ deletePhoto: false });
    // Filters naming acme's ids find nothing either.
    const filtered = ok(await gql<{ search: { hits: Hit[] } }>(server.url, 'query($ids: [ID!]) { search(text: "seal", filter: { documentIds: $ids }) { hits { document { id } } } }', { ids: [acmeDoc.id] }, g)).search.hits;
    expect(filtered).toEqual([]);
    // Acme still has both.
    const a = auth(KEYS.acmeTech);
    expect(ok(await gql(server.url, 'query($id: ID!) { document(id: $id) { id } }', { id: acmeDoc.id }, a))).toEqual({ document: { id: acmeDoc.id } });
    expect(ok(await gql(server.url, 'query($id: ID!) { photo(id: $id) { id } }', { id: acmePhoto.id }, a))).toEqual({ photo: { id: acmePhoto.id } });
  });

  it("serves a file only to its own tenant: a signed URL cannot be re-pointed and another tenant's key finds nothing", async () => {
    expect(acmeDoc.url).toMatch(/\?tenant=acme&exp=\d+&sig=/);
    expect((await fetch(`${server.url}${acmeDoc.url}`)).status).toBe(200);
    // Same signature, other tenant: the signature covers the tenant.
    expect((await fetch(`${server.url}${acmeDoc.url.replace('tenant=acme', 'tenant=globex')}`)).status).toBe(401);
    const bare = acmeDoc.url.split('?')[0]!;
    expect((await fetch(`${server.url}${bare}`, { headers: auth(KEYS.acmeTech) })).status).toBe(200);
    // Globex's key on acme's file key (a guessed or leaked sha256): not in globex's files.
    const res = await fetch(`${server.url}${bare}`, { headers: auth(KEYS.globexTech) });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('NOT_FOUND');
  });

  it("keeps review items and feedback to their tenant", async () => {
    // Every upload went to review (the test policy): acme's photo has an item in acme's queue only.
    const QUEUE = '{ reviewQueue(first: 100) { totalCount nodes { id kind photo { id } } } }';
    type Queue = { reviewQueue: { totalCount: number; nodes: { id: string; kind: string; photo: { id: string } | null }[] } };
    const acmeQueue = ok(await gql<Queue>(server.url, QUEUE, {}, auth(KEYS.acmeAgent))).reviewQueue.nodes;
    const globexQueue = ok(await gql<Queue>(server.url, QUEUE, {}, auth(KEYS.globexAgent))).reviewQueue.nodes;
    const item = acmeQueue.find((n) => n.photo?.id === acmePhoto.id);
    expect(item?.kind).toBe('UPLOAD');
    const itemId = item!.id;
    expect(globexQueue.length).toBeGreaterThan(0);
    expect(globexQueue.map((n) => n.id)).not.toContain(itemId);
    for (const n of globexQueue) expect(n.photo === null || globex.photos.has(n.photo.id)).toBe(true);
    for (const n of acmeQueue) expect(n.photo === null || acme.photos.has(n.photo.id)).toBe(true);
    expect(errorCode(await gql(server.url, 'mutation($id: ID!) { claimReview(id: $id) { id } }', { id: itemId }, auth(KEYS.globexAgent)))).toBe('REVIEW_ITEM_NOT_FOUND');
    expect(errorCode(await gql(server.url, 'mutation($id: ID!) { resolveReview(id: $id, label: "x") { id } }', { id: itemId }, auth(KEYS.globexAgent)))).toBe('REVIEW_ITEM_NOT_FOUND');

    // Feedback on acme's identification and photo cannot be given or withdrawn from globex.
    const r = ok(await gqlUpload<{ identifyPart: { id: string } }>(server.url, 'query($image: Upload!, $c: [String!]) { identifyPart(image: $image, candidates: $c) { id } }', { image: { bytes: await photo(11) } }, { c: ['gate valve GV-10', 'gate valve GV-11'] }, auth(KEYS.acmeTech))).identifyPart;
    expect(errorCode(await gql(server.url, 'mutation($id: ID) { confirmPart(identificationId: $id, label: "x") { id } }', { id: r.id }, auth(KEYS.globexTech)))).toBe('IDENTIFICATION_NOT_FOUND');
    expect(errorCode(await gql(server.url, 'mutation($id: ID) { confirmPart(photoId: $id, label: "x") { id } }', { id: acmePhoto.id }, auth(KEYS.globexTech)))).toBe('PHOTO_NOT_FOUND');
    const feedback = ok(await gql<{ confirmPart: { id: string } }>(server.url, 'mutation($id: ID) { confirmPart(photoId: $id, label: "seal kit 4471-B") { id } }', { id: acmePhoto.id }, auth(KEYS.acmeTech))).confirmPart;
    expect(errorCode(await gql(server.url, 'mutation($id: ID!) { undoFeedback(id: $id) { id } }', { id: feedback.id }, auth(KEYS.globexAdmin)))).toBe('FEEDBACK_NOT_FOUND');
    // Acme's confirmation does not teach globex's identifier: no globex candidate counts it.
    const g = ok(
      await gqlUpload<{ identifyPart: { candidates: { label: string; confirmations: number }[] } }>(server.url, 'query($image: Upload!) { identifyPart(image: $image, limit: 20) { candidates { label confirmations } } }', { image: { bytes: acmePhotoBytes } }, {}, auth(KEYS.globexTech)),
    ).identifyPart.candidates;
    expect(g.find((c) => c.label === 'seal kit 4471-B')).toBeUndefined();
  });

  it('streams answers over WebSocket from the subscriber\'s tenant only', async () => {
    const stream = (key: string) =>
      new Promise<Hit[]>((resolve, reject) => {
        const client = createClient({ url: `${server.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${key}` } });
        let citations: Hit[] = [];
        client.subscribe<{ askStream: { citations?: Hit[] } }>(
          { query: 'subscription { askStream(question: "How do I replace the mechanical seal 4471-B?") { ... on Answer { citations { document { id } photo { id } } } } }' },
          {
            next: (m) => {
              citations = m.data?.askStream.citations ?? citations;
            },
            error: (e) => {
              void client.dispose();
              reject(e instanceof Error ? e : new Error(JSON.stringify(e)));
            },
            complete: () => {
              void client.dispose();
              resolve(citations);
            },
          },
        );
      });
    const acmeCitations = await stream(KEYS.acmeTech);
    expect(acmeCitations.some((c) => c.document?.id === acmeDoc.id)).toBe(true);
    for (const c of await stream(KEYS.globexTech)) {
      if (c.document) expect(globex.docs.has(c.document.id)).toBe(true);
      if (c.photo) expect(globex.photos.has(c.photo.id)).toBe(true);
    }
  });

  it("shows an admin only their own tenant's audit entries", async () => {
    const log = ok(await gql<{ auditLog: { nodes: { keyName: string; tenant: string }[] } }>(server.url, '{ auditLog(first: 500) { nodes { keyName tenant } } }', {}, auth(KEYS.globexAdmin))).auditLog.nodes;
    expect(log.length).toBeGreaterThan(0);
    expect(new Set(log.map((e) => e.tenant))).toEqual(new Set(['globex']));
    // Even when asking for an acme key by name.
    expect(ok(await gql<{ auditLog: { nodes: unknown[] } }>(server.url, '{ auditLog(keyName: "acme-admin") { nodes { keyName } } }', {}, auth(KEYS.globexAdmin))).auditLog.nodes).toEqual([]);
  });

  it('opens a tenant added to the keys file while running, empty', async () => {
    const entries = JSON.parse(readFileSync(keysFile, 'utf8')) as { keys: unknown[] };
    entries.keys.push({ name: 'initech-admin', role: 'admin', tenant: 'initech', key: 'initech-admin-0123456789abcdef' });
    writeFileSync(keysFile, JSON.stringify(entries));
    await new Promise((r) => setTimeout(r, 1100));
    const i = auth('initech-admin-0123456789abcdef');
    expect(ok(await gql<{ documents: { totalCount: number } }>(server.url, '{ documents { totalCount } }', {}, i)).documents.totalCount).toBe(0);
    const hits = ok(await gql<{ search: { hits: Hit[] } }>(server.url, '{ search(text: "mechanical seal 4471-B") { hits { document { id } photo { id } } } }', {}, i)).search.hits;
    expect(hits).toEqual([]);
  });
});

describe('a tenant whose data cannot be opened', () => {
  it('answers 503 UNAVAILABLE for that tenant only, and the server serves the others', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-broken-tenant-'));
    const keysFile = path.join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'a', role: 'admin', tenant: 'acme', key: KEYS.acmeAdmin }, { name: 'b', role: 'admin', tenant: 'broken', key: KEYS.globexAdmin }] }));
    const dataDir = path.join(dir, 'data');
    // The tenant's folder is a file: its space cannot open.
    mkdirSync(path.join(dataDir, 'tenants'), { recursive: true });
    writeFileSync(path.join(dataDir, 'tenants', 'broken'), 'not a folder');
    const server = await startTestServer({ LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile, DATA_DIR: dataDir });
    try {
      const broken = await gql(server.url, '{ documents { totalCount } }', {}, auth(KEYS.globexAdmin));
      expect(broken.status).toBe(503);
      expect(errorCode(broken)).toBe('UNAVAILABLE');
      expect(broken.errors![0]!.message).toMatch(/tenant "broken" cannot be opened/);
      expect(ok(await gql(server.url, '{ documents { totalCount } }', {}, auth(KEYS.acmeAdmin)))).toEqual({ documents: { totalCount: 0 } });
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
