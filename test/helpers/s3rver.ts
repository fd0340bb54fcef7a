/**
 * A real S3-compatible server for tests: s3rver (S3's REST API in Node, objects as files in a
 * temp folder) on 127.0.0.1 and a free port. It can be stopped and started again on the same
 * port and folder, so tests see storage go down mid-way and come back with its objects.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { S3BlobSettings } from '../../src/blob/s3-blob-store.js';

/** s3rver's built-in credentials. */
export const S3RVER_KEY_ID = 'S3RVER';
export const S3RVER_SECRET = 'S3RVER';

/**
 * Lets s3rver (in this process) accept another key pair, so a test can look for distinctive
 * credentials in logs. s3rver 3.7 refuses unknown access key ids (InvalidAccessKeyId) but does
 * not verify SigV4 signatures, so a wrong secret is not detected by it.
 */
export function registerS3Credentials(accessKeyId: string, secretAccessKey: string): void {
  const account = createRequire(import.meta.url)('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
  account.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
}

export interface TestS3 {
  endpoint: string;
  port: number;
  /** The server's own folder (objects are files below it). */
  directory: string;
  settings(bucket: string, overrides?: Partial<S3BlobSettings>): S3BlobSettings;
  /** The variables the server reads (S3_ENDPOINT, S3_BUCKET, …). */
  env(bucket: string, credentials?: { accessKeyId: string; secretAccessKey: string }): Record<string, string>;
  createBucket(name: string): Promise<void>;
  /** Empties and removes a bucket (a deleted bucket, as an operator might do by mistake). */
  removeBucket(name: string): Promise<void>;
  /** Object keys in a bucket, sorted. */
  list(bucket: string): Promise<string[]>;
  stop(): Promise<void>;
  /** Starts again on the same port and folder (objects and buckets kept). */
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

export async function startTestS3(): Promise<TestS3> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-s3-'));
  let server: S3rver | null = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY_ID, secretAccessKey: S3RVER_SECRET },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const list = async (bucket: string): Promise<string[]> => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  };
  const stop = async () => {
    const s = server;
    server = null;
    if (s) await s.close();
  };
  return {
    endpoint,
    port,
    directory,
    settings: (bucket, overrides = {}) => ({
      endpoint,
      bucket,
      region: 'us-east-1',
      accessKeyId: S3RVER_KEY_ID,
      secretAccessKey: S3RVER_SECRET,
      forcePathStyle: true,
      timeoutMs: 5000,
      maxSockets: 64,
      ...overrides,
    }),
    env: (bucket, credentials = { accessKeyId: S3RVER_KEY_ID, secretAccessKey: S3RVER_SECRET }) => ({
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    }),
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async removeBucket(name) {
      const keys = await list(name);
      if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
      await client.send(new DeleteBucketCommand({ Bucket: name }));
    },
    list,
    stop,
    async start() {
      if (server) return;
      const s = new S3rver({ address: '127.0.0.1', port, directory, silent: true });
      await s.run();
      server = s;
    },
    async close() {
      await stop();
      client.destroy();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
