/**
 * The blob contract on S3-compatible storage: a real s3rver on 127.0.0.1 (not a mock of the
 * SDK), a fresh bucket per test. Then what only object storage has: tenants' prefixes in one
 * bucket, the storage going down and coming back, a bucket that is missing, a server that
 * accepts connections and never answers — each a clear UNAVAILABLE with a retry hint, never a
 * credential in a message.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore, tenantBlobPrefix } from '../../src/blob/s3-blob-store.js';
import { S3RVER_SECRET, startTestS3, type TestS3 } from '../helpers/s3rver.js';
import { defineBlobStoreContract } from './blob-store.contract.js';

let s3: TestS3;
let serial = 0;
const bucketName = () => `contract-${process.pid}-${++serial}`;

beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.close();
});

defineBlobStoreContract('S3 (s3rver)', async () => {
  const bucket = bucketName();
  await s3.createBucket(bucket);
  const store = new S3BlobStore(s3.settings(bucket));
  return {
    store,
    async cleanup() {
      store.close();
      await s3.removeBucket(bucket);
    },
  };
});

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; category?: string; details?: Record<string, unknown> }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error,
  );
}

describe('S3BlobStore (object-storage-specific)', () => {
  it("keeps each tenant's blobs under its own prefix, laid out as below DATA_DIR", async () => {
    const bucket = bucketName();
    await s3.createBucket(bucket);
    const home = new S3BlobStore(s3.settings(bucket));
    const acme = home.forPrefix(tenantBlobPrefix('tenants/acme'));
    try {
      const bytes = Buffer.from('a manual page');
      const key = await home.put(bytes, 'pdf');
      expect(await acme.has(key)).toBe(false);
      expect(await acme.get(key)).toBeNull();
      expect(await acme.put(bytes, 'pdf')).toBe(key);
      await home.delete(key);
      expect(await acme.has(key)).toBe(true);
      await home.put(bytes, 'pdf');
      const relative = `${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`;
      expect(await s3.list(bucket)).toEqual([`blobs/${relative}`, `tenants/acme/blobs/${relative}`]);
      expect(tenantBlobPrefix('')).toBe('blobs/');
    } finally {
      home.close();
      await s3.removeBucket(bucket);
    }
  });

  it('storage down: every operation is UNAVAILABLE with a retry hint, /ready-style status says why, and it recovers', async () => {
    const bucket = bucketName();
    await s3.createBucket(bucket);
    const store = new S3BlobStore(s3.settings(bucket, { timeoutMs: 2000 }));
    try {
      const kept = await store.put(Buffer.from('stored before the outage'), 'txt');
      await s3.stop();
      const failures = [
        await rejection(store.put(Buffer.from('written during the outage'), 'txt')),
        await rejection(store.get(kept)),
        await rejection(store.open(kept)),
        await rejection(store.has(kept)),
        await rejection(store.delete(kept)),
      ];
      for (const error of failures) {
        expect(error).toMatchObject({ code: 'UNAVAILABLE', category: 'UNAVAILABLE', details: { retryAfterMs: 5000 } });
        expect(error.message).toMatch(new RegExp(`s3://${bucket} at ${s3.endpoint}.*cannot be reached \\(ECONNREFUSED\\).*Try again`));
        expect(error.message).not.toContain(S3RVER_SECRET);
      }
      const down = await store.blobStatus();
      expect(down).toMatchObject({ kind: 's3', ready: false });
      expect(down.problem).toMatch(/cannot be reached/);

      await s3.start();
      expect(await store.blobStatus()).toMatchObject({ ready: true, problem: null });
      expect(Buffer.from((await store.get(kept))!).toString()).toBe('stored before the outage');
      expect(await store.has(await store.put(Buffer.from('written after'), 'txt'))).toBe(true);
    } finally {
      await s3.start();
      store.close();
      await s3.removeBucket(bucket);
    }
  });

  it('a missing bucket: status names it and the fix, writes are UNAVAILABLE, and creating it is enough', async () => {
    const bucket = bucketName();
    const store = new S3BlobStore(s3.settings(bucket));
    try {
      const status = await store.blobStatus();
      expect(status.ready).toBe(false);
      expect(status.problem).toContain(`the bucket "${bucket}" does not exist. Create it`);
      const error = await rejection(store.put(Buffer.from('x'), 'txt'));
      expect(error).toMatchObject({ code: 'UNAVAILABLE', details: { retryAfterMs: 5000 } });
      expect(error.message).toContain(`the bucket "${bucket}" does not exist`);
      // Reads too: a HEAD's bare 404 is told apart from a missing object.
      const key = `${'a'.repeat(64)}.pdf`;
      for (const read of [() => store.open(key), () => store.has(key), () => store.get(key)]) {
        const readError = await rejection(read());
        expect(readError).toMatchObject({ code: 'UNAVAILABLE' });
        expect(readError.message).toContain(`the bucket "${bucket}" does not exist`);
      }
      await s3.createBucket(bucket);
      expect((await store.blobStatus()).ready).toBe(true);
      expect(await store.has(await store.put(Buffer.from('x'), 'txt'))).toBe(true);
    } finally {
      store.close();
      await s3.removeBucket(bucket);
    }
  });

  it('a server that accepts connections and never answers: UNAVAILABLE within the timeout, not a hang', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const store = new S3BlobStore(s3.settings('silent-bucket', { endpoint: `http://127.0.0.1:${port}`, timeoutMs: 300 }));
    try {
      const started = performance.now();
      const error = await rejection(store.has(`${'a'.repeat(64)}.pdf`));
      expect(error).toMatchObject({ code: 'UNAVAILABLE' });
      expect(error.message).toMatch(/no answer within 300 ms/);
      // Three attempts at most, each cut at the deadline (the SDK's retries share it).
      expect(performance.now() - started).toBeLessThan(3000);
      const status = await store.blobStatus();
      expect(status.ready).toBe(false);
      expect(status.problem).toMatch(/no answer within 300 ms/);
    } finally {
      store.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('storage gone between open and read: the stream errors with UNAVAILABLE instead of hanging', async () => {
    const bucket = bucketName();
    await s3.createBucket(bucket);
    const store = new S3BlobStore(s3.settings(bucket, { timeoutMs: 2000 }));
    try {
      const key = await store.put(randomBytes(1000), 'bin');
      const reader = (await store.open(key))!;
      await s3.stop();
      const stream = reader.stream({ start: 0, end: 999 });
      const error = await new Promise<Error & { code?: string }>((resolve) => {
        stream.once('error', resolve);
        stream.resume();
      });
      expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await s3.start();
      store.close();
      await s3.removeBucket(bucket);
    }
  });
});
