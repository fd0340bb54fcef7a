/**
 * Blob throughput on each BlobStore: the disk folder and S3-compatible storage (s3rver, started
 * here on 127.0.0.1). Prints upload MB/s through the store, and download MB/s, ranged-read
 * latency and memory held by slow readers through the real server's /files (same code path as
 * production: signed-URL check, Range, ETag, streamed).
 *
 *   npm run bench:blobs -- [--mb 40] [--readers 40]
 *
 * s3rver is a test server written in Node (files on local disk): the S3 figures measure
 * Fieldscope's path through the AWS SDK plus s3rver on this machine, not what MinIO or AWS S3
 * would sustain.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { DiskBlobStore, type BlobStore } from '../src/blob/blob-store.js';
import { putMany, PUTS_AT_ONCE } from '../src/blob/put-many.js';
import { S3BlobStore } from '../src/blob/s3-blob-store.js';
import { startTestS3 } from '../test/helpers/s3rver.js';
import { startTestServer, TINY_MODEL_DIR } from '../test/helpers/server.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const MB = 1024 * 1024;
const BIG_MB = Number(arg('mb', '40'));
const READERS = Number(arg('readers', '40'));

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

async function uploads(store: BlobStore): Promise<{ smallMbps: number; bigMbps: number; bigKey: string }> {
  const small = Array.from({ length: 50 }, () => randomBytes(200 * 1024));
  let started = performance.now();
  for (const b of small) await store.put(b, 'webp');
  const smallMbps = (small.length * 0.2) / ((performance.now() - started) / 1000);
  const big = randomBytes(BIG_MB * MB);
  started = performance.now();
  const bigKey = await store.put(big, 'pdf');
  const bigMbps = BIG_MB / ((performance.now() - started) / 1000);
  return { smallMbps, bigMbps, bigKey };
}

/** 100 thumbnail-sized blobs (15 KB) one at a time, then with putMany as ingest uploads a PDF's page thumbnails. */
async function thumbnails(store: BlobStore): Promise<{ oneByOneMs: number; manyMs: number }> {
  const make = () => Array.from({ length: 100 }, () => ({ bytes: randomBytes(15 * 1024), extension: 'webp' }));
  const first = make();
  let started = performance.now();
  for (const t of first) await store.put(t.bytes, t.extension);
  const oneByOneMs = performance.now() - started;
  const second = make();
  started = performance.now();
  await putMany(store, second, () => undefined);
  return { oneByOneMs, manyMs: performance.now() - started };
}

async function serving(url: string, key: string): Promise<{ wholeMbps: number; parallelMbps: number; rangeP50: number; rangeP95: number; slowReadersMb: number }> {
  const file = `${url}/files/${key}`;
  let started = performance.now();
  const whole = await fetch(file);
  await whole.arrayBuffer();
  const wholeMbps = BIG_MB / ((performance.now() - started) / 1000);

  started = performance.now();
  await Promise.all(Array.from({ length: 4 }, async () => (await fetch(file)).arrayBuffer()));
  const parallelMbps = (4 * BIG_MB) / ((performance.now() - started) / 1000);

  const latencies: number[] = [];
  for (let i = 0; i < 40; i++) {
    const start = Math.floor(Math.random() * (BIG_MB * MB - 65536));
    const t = performance.now();
    const res = await fetch(file, { headers: { range: `bytes=${start}-${start + 65535}` } });
    await res.arrayBuffer();
    if (res.status !== 206) throw new Error(`range answered ${res.status}`);
    latencies.push(performance.now() - t);
  }

  const collect = async () => {
    for (let i = 0; i < 3; i++) {
      (globalThis as { gc?: () => void }).gc?.();
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await collect();
  const before = process.memoryUsage().arrayBuffers;
  const requests: http.ClientRequest[] = [];
  await Promise.all(
    Array.from(
      { length: READERS },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = http.get(file, (res) => {
            res.pause();
            resolve();
          });
          req.on('error', reject);
          requests.push(req);
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 1500));
  // Collected first: what remains is what the paused responses hold (their buffers are referenced).
  await collect();
  const slowReadersMb = (process.memoryUsage().arrayBuffers - before) / MB;
  for (const req of requests) req.destroy();
  return { wholeMbps, parallelMbps, rangeP50: percentile(latencies, 50), rangeP95: percentile(latencies, 95), slowReadersMb };
}

const rows: string[] = [];
const s3 = await startTestS3();
try {
  await s3.createBucket('bench-blobs');
  for (const kind of ['disk', 's3'] as const) {
    const server = await startTestServer({ LOAD_DEMO: 'false', OCR: 'off', CLIP_MODEL: TINY_MODEL_DIR, ...(kind === 's3' ? s3.env('bench-blobs') : {}) });
    // The default tenant's store, as the server sees it (the bench writes through it, then reads through /files).
    const store: BlobStore = kind === 's3' ? new S3BlobStore(s3.settings('bench-blobs')) : new DiskBlobStore(path.join(server.dataDir, 'blobs'));
    try {
      const up = await uploads(store);
      const thumbs = await thumbnails(store);
      const down = await serving(server.url, up.bigKey);
      rows.push(
        `${kind.padEnd(5)} put 50×200 KB ${up.smallMbps.toFixed(0).padStart(4)} MB/s | put ${BIG_MB} MB ${up.bigMbps.toFixed(0).padStart(4)} MB/s | ` +
          `/files ${BIG_MB} MB ${down.wholeMbps.toFixed(0).padStart(4)} MB/s, 4 at once ${down.parallelMbps.toFixed(0).padStart(4)} MB/s | ` +
          `64 KB Range p50 ${down.rangeP50.toFixed(1)} ms p95 ${down.rangeP95.toFixed(1)} ms | ${READERS} paused readers hold +${down.slowReadersMb.toFixed(0)} MB | ` +
          `100 thumbnails one at a time ${thumbs.oneByOneMs.toFixed(0)} ms, ${PUTS_AT_ONCE} at once ${thumbs.manyMs.toFixed(0)} ms`,
      );
    } finally {
      if (store instanceof S3BlobStore) store.close();
      await server.close();
    }
  }
} finally {
  await s3.close();
}
console.log(`Blob stores on this machine (${BIG_MB} MB file; s3rver is a Node test server, not MinIO or AWS S3):`);
for (const row of rows) console.log(row);
