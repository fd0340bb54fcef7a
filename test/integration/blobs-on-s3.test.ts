/**
 * Blobs in S3-compatible storage, end to end: the real server (S3_BUCKET set) on a real s3rver,
 * over HTTP as clients speak to it. Files ingested are objects in the bucket under the tenant's
 * prefix (nothing in DATA_DIR), /files serves them through the same signed URLs with Range and
 * ETag, and when the storage goes down or its bucket disappears: /ready 503 with the cause,
 * /files and ingest answer UNAVAILABLE with a retry hint, no document is half-written, and the
 * same upload completes once storage is back.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { S3BlobStore, tenantBlobPrefix } from '../../src/blob/s3-blob-store.js';
import { makePdf } from '../helpers/documents.js';
import { startTestS3, type TestS3 } from '../helpers/s3rver.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';

const MB = 1024 * 1024;
const KEY = 'blob-admin-key-0123456789abcdefghij';
const auth = { authorization: `Bearer ${KEY}` };
const BUCKET = 'fieldscope-files';
const INGEST = 'mutation($file: Upload!) { ingestDocument(file: $file) { id url wasDuplicate pages { number thumbnailUrl } } }';
const COUNT = '{ documents { totalCount } }';

type Ingested = {
  ingestDocument: { id: string; url: string; wasDuplicate: boolean; pages: { number: number; thumbnailUrl: string | null }[] };
};
type Ready = {
  status: string;
  reasons: string[];
};

describe('blobs on S3-compatible storage (real server, real s3rver)', () => {
  let s3: TestS3;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let pdf: Uint8Array;

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket(BUCKET);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-s3-keys-'));
    const keysFile = path.join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'ada', role: 'admin', tenant: 'acme', keyHash: hashKey(KEY) }] }));
    server = await startTestServer({ LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile, S3_TIMEOUT_MS: '2000', ...s3.env(BUCKET) });
    pdf = await makePdf([['P-77 booster pump', 'Replace seal kit 9911-Q'], ['Page two: bearing grease GR-12'], ['Page three: wiring']], 'P-77 manual');
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await s3?.close();
  });

  const ingest = (bytes: Uint8Array, name: string) => gqlUpload<Ingested>(server.url, INGEST, { file: { bytes, name } }, {}, auth);
  const count = async () => (await gql<{ documents: { totalCount: number } }>(server.url, COUNT, {}, auth)).data!.documents.totalCount;
  const ready = async () => {
    const res = await fetch(`${server.url}/ready`);
    return { status: res.status, body: (await res.json()) as Ready };
  };

  it('stores originals and page thumbnails in the bucket under the tenant, and serves them through signed URLs with Range and ETag', async () => {
    const res = await ingest(pdf, 'p77.pdf');
    expect(res.errors).toBeUndefined();
    const doc = res.data!.ingestDocument;
    expect(doc.url).toMatch(/^\/files\/[0-9a-f]{64}\.pdf\?tenant=acme&exp=\d+&sig=/);
    const objects = await s3.list(BUCKET);
    // The original and three thumbnails, all under the tenant's prefix; nothing on the local disk.
    expect(objects).toHaveLength(4);
    expect(objects.every((k) => /^tenants\/acme\/blobs\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}\.(pdf|webp)$/.test(k))).toBe(true);
    expect(existsSync(path.join(server.dataDir, 'tenants', 'acme', 'blobs'))).toBe(false);

    // No Authorization header: the signature in the URL is the permission, as in an <img> tag.
    const whole = await fetch(`${server.url}${doc.url}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('application/pdf');
    expect(whole.headers.get('content-length')).toBe(String(pdf.length));
    expect(Buffer.from(await whole.arrayBuffer()).equals(Buffer.from(pdf))).toBe(true);
    const part = await fetch(`${server.url}${doc.url}`, { headers: { range: 'bytes=10-59' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-59/${pdf.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(Buffer.from(pdf.subarray(10, 60)))).toBe(true);
    const first = await fetch(`${server.url}${doc.url}`, { headers: { range: 'bytes=0-0' } });
    expect(first.status).toBe(206);
    expect(Buffer.from(await first.arrayBuffer())).toEqual(Buffer.from(pdf.subarray(0, 1)));
    const etag = whole.headers.get('etag')!;
    expect(etag).toBe(`"${doc.url.split('/files/')[1]!.split('.')[0]}"`);
    expect((await fetch(`${server.url}${doc.url}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${server.url}${doc.url}`, { headers: { range: `bytes=${pdf.length + 10}-` } })).status).toBe(416);
    const thumb = await fetch(`${server.url}${doc.pages[1]!.thumbnailUrl!}`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    // A tampered signature is refused as before.
    expect((await fetch(`${server.url}${doc.url.replace(/sig=./, 'sig=X')}`)).status).toBe(401);

    const { status, body } = await ready();
    expect(body.reasons.join(' ')).not.toMatch(/object storage/);
    expect(status).toBe(200);
  });

  it('streams from the bucket: 40 paused readers of a 40 MB file hold little memory, and other requests are answered meanwhile', async () => {
    // Written through the server's own tenant prefix, as ingest would (a 40 MB ingest is not needed to test serving).
    const store = new S3BlobStore(s3.settings(BUCKET), tenantBlobPrefix('tenants/acme'));
    const bytes = randomBytes(40 * MB);
    const key = await store.put(bytes, 'pdf');
    store.close();
    const file = `${server.url}/files/${key}`;
    global.gc?.();
    const before = process.memoryUsage();
    const requests: http.ClientRequest[] = [];
    const responses = await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<http.IncomingMessage>((resolve, reject) => {
            const req = http.get(file, { headers: auth }, (res) => {
              res.pause();
              resolve(res);
            });
            req.on('error', reject);
            requests.push(req);
          }),
      ),
    );
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    const during = process.memoryUsage();
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    for (const req of requests) req.destroy();
    // Read whole, 40 responses would hold 1.6 GB; streamed (s3rver runs in this process too, its buffers count) measured +37 MB.
    expect((during.arrayBuffers - before.arrayBuffers) / MB, 'MB of buffers held while 40 readers wait').toBeLessThan(200);
    // And the file is intact through the same path.
    const whole = await fetch(file, { headers: auth });
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
  }, 60_000);

  it('storage down: /ready 503 with the cause, /files and ingest UNAVAILABLE with a retry hint, no document; back up: the same upload completes', async () => {
    const before = await count();
    const served = (await ingest(await makePdf([['Already stored before the outage']]), 'kept.pdf')).data!.ingestDocument;
    await s3.stop();
    try {
      const down = await ready();
      expect(down.status).toBe(503);
      expect(down.body.reasons.join('\n')).toContain(`object storage (S3) is not ready: s3://${BUCKET} at ${s3.endpoint}: it cannot be reached (ECONNREFUSED).`);

      const file = await fetch(`${server.url}${served.url}`);
      expect(file.status).toBe(503);
      expect(file.headers.get('retry-after')).toBe('5');
      expect(((await file.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAVAILABLE');

      const pending = await makePdf([['Written while storage is down', 'part 5521-K']]);
      const failed = await ingest(pending, 'pending.pdf');
      expect(errorCode(failed)).toBe('UNAVAILABLE');
      expect(failed.errors![0]!.extensions).toMatchObject({ retryAfterMs: 5000 });
      expect(failed.errors![0]!.message).toMatch(/File storage is unavailable .*cannot be reached.*Try again in 5 s/);
      expect(await count()).toBe(before + 1);

      await s3.start();
      const up = await ready();
      expect(up.body.reasons.join(' ')).not.toMatch(/object storage/);
      expect(up.status).toBe(200);
      const rerun = await ingest(pending, 'pending.pdf');
      expect(rerun.errors).toBeUndefined();
      expect(rerun.data!.ingestDocument.wasDuplicate).toBe(false);
      expect(await count()).toBe(before + 2);
      expect((await fetch(`${server.url}${rerun.data!.ingestDocument.url}`)).status).toBe(200);
      expect((await fetch(`${server.url}${served.url}`)).status).toBe(200);
    } finally {
      await s3.start();
    }
  });

  it('the bucket removed: /ready names it and the fix, /files and ingest UNAVAILABLE, no document, and creating the bucket is enough', async () => {
    const before = await count();
    const earlier = (await ingest(await makePdf([['Stored before the bucket went']]), 'before.pdf')).data!.ingestDocument;
    await s3.removeBucket(BUCKET);
    try {
      const gone = await ready();
      expect(gone.status).toBe(503);
      expect(gone.body.reasons.join('\n')).toContain(`the bucket "${BUCKET}" does not exist. Create it`);
      const file = await fetch(`${server.url}${earlier.url}`);
      expect(file.status).toBe(503);
      expect(file.headers.get('retry-after')).toBe('5');
      const photoLike = await makePdf([['After the bucket was removed']]);
      const failed = await ingest(photoLike, 'after.pdf');
      expect(errorCode(failed)).toBe('UNAVAILABLE');
      expect(failed.errors![0]!.message).toContain(`the bucket "${BUCKET}" does not exist`);
      expect(await count()).toBe(before + 1);

      await s3.createBucket(BUCKET);
      expect((await ready()).status).toBe(200);
      const rerun = await ingest(photoLike, 'after.pdf');
      expect(rerun.errors).toBeUndefined();
      expect(await count()).toBe(before + 2);
      expect((await fetch(`${server.url}${rerun.data!.ingestDocument.url}`)).status).toBe(200);
      // The earlier document's files went with the bucket: now a plain 404, not 503.
      expect((await fetch(`${server.url}${earlier.url}`)).status).toBe(404);
    } finally {
      await s3.createBucket(BUCKET).catch(() => undefined);
    }
  });
});
