/**
 * Small multipart requests keep their files in memory (src/server/multipart-request.ts), larger or
 * chunked ones still go to graphql-upload's temp files; both read back byte for byte through
 * readUpload, with the same errors. A real express app with graphql-upload's middleware on
 * 127.0.0.1, real multipart bodies.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import express from 'express';
import graphqlUploadExpress from 'graphql-upload/graphqlUploadExpress.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readUpload } from '../../src/graphql/upload.js';
import { IN_MEMORY_MAX_BYTES, IN_MEMORY_TOTAL_BYTES, MemoryUpload, inMemoryBytesInFlight, processRequest } from '../../src/server/multipart-request.js';

const MAX_FILE = IN_MEMORY_MAX_BYTES + 4 * 1024 * 1024;
const BOUNDARY = 'memory-test-boundary';

let server: http.Server;
let url: string;

beforeAll(async () => {
  const app = express();
  app.post('/graphql', graphqlUploadExpress({ processRequest, maxFileSize: MAX_FILE }), async (req, res) => {
    // What the Upload scalar hands a resolver: the Upload's promise of the file.
    const upload = (req.body as { variables: { file: { promise: Promise<{ capacitor: unknown }> } } }).variables.file.promise;
    try {
      const inMemory = (await upload).capacitor instanceof MemoryUpload;
      const file = await readUpload(upload as never, MAX_FILE);
      res.json({ inMemory, bytes: file.bytes.length, sha: createHash('sha256').update(file.bytes).digest('hex'), filename: file.filename });
    } catch (error) {
      res.status(400).json({ code: (error as { code?: string }).code ?? String(error) });
    }
  });
  app.use((error: { status?: number; message: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(error.status ?? 500).json({ error: error.message });
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

function body(file: Buffer): Buffer {
  const part = (name: string, value: string) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head =
    part('operations', JSON.stringify({ query: '{ x }', variables: { file: null } })) +
    part('map', JSON.stringify({ 0: ['variables.file'] })) +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
}

/** Posts the body, with a Content-Length or (chunked) without, in pieces of `piece` bytes. */
function post(payload: Buffer, { chunked = false, piece = 16 * 1024 } = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };
    if (!chunked) headers['content-length'] = payload.length;
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }));
    });
    req.on('error', reject);
    const pieces = Array.from({ length: Math.ceil(payload.length / piece) }, (_, i) => payload.subarray(i * piece, (i + 1) * piece));
    Readable.from(pieces).pipe(req);
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('multipart uploads in memory', () => {
  it('a small request with a Content-Length is read from memory, byte for byte', async () => {
    const file = randomBytes(300 * 1024 + 7);
    const { status, json } = await post(body(file));
    expect(status).toBe(200);
    expect(json).toEqual({ inMemory: true, bytes: file.length, sha: sha(file), filename: 'photo.jpg' });
  });

  it('a request over IN_MEMORY_MAX_BYTES, or one without a Content-Length, goes through temp files and reads the same', async () => {
    const big = randomBytes(IN_MEMORY_MAX_BYTES + 1024);
    const overLimit = await post(body(big), { piece: 256 * 1024 });
    expect(overLimit.json).toEqual({ inMemory: false, bytes: big.length, sha: sha(big), filename: 'photo.jpg' });
    const small = randomBytes(50 * 1024);
    const chunked = await post(body(small), { chunked: true });
    expect(chunked.json).toEqual({ inMemory: false, bytes: small.length, sha: sha(small), filename: 'photo.jpg' });
  });

  it('requests held open take the in-memory path only up to IN_MEMORY_TOTAL_BYTES together; then temp files, until they close', async () => {
    // Clients that declare an 8 MiB body, send the start of the file and stall: each is held in flight.
    const held = Math.floor(IN_MEMORY_TOTAL_BYTES / IN_MEMORY_MAX_BYTES);
    const payload = body(Buffer.alloc(0));
    const head = payload.subarray(0, payload.length - Buffer.byteLength(`\r\n--${BOUNDARY}--\r\n`));
    const stalled = Array.from({ length: held }, () => {
      const req = http.request(url, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': IN_MEMORY_MAX_BYTES } });
      req.on('error', () => undefined);
      req.write(Buffer.concat([head, Buffer.alloc(4096, 1)]));
      return req;
    });
    try {
      await expect.poll(() => inMemoryBytesInFlight(), { timeout: 10_000 }).toBe(held * IN_MEMORY_MAX_BYTES);
      const file = randomBytes(20 * 1024);
      expect((await post(body(file))).json).toEqual({ inMemory: false, bytes: file.length, sha: sha(file), filename: 'photo.jpg' });
    } finally {
      for (const req of stalled) req.destroy();
    }
    // Their reservations end with their responses, and memory is used again.
    await expect.poll(() => inMemoryBytesInFlight(), { timeout: 10_000 }).toBe(0);
    const file = randomBytes(20 * 1024);
    expect((await post(body(file))).json).toEqual({ inMemory: true, bytes: file.length, sha: sha(file), filename: 'photo.jpg' });
  });

  it('a file over maxFileSize is PAYLOAD_TOO_LARGE in memory as on disk', async () => {
    const server413 = express();
    server413.post('/graphql', graphqlUploadExpress({ processRequest, maxFileSize: 1000 }), async (req, res) => {
      try {
        await readUpload((req.body as { variables: { file: { promise: never } } }).variables.file.promise, 10_000);
        res.json({ code: 'READ' });
      } catch (error) {
        res.json({ code: (error as { code?: string }).code });
      }
    });
    const s = server413.listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    const saved = url;
    url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/graphql`;
    try {
      expect((await post(body(randomBytes(5000)))).json).toEqual({ code: 'PAYLOAD_TOO_LARGE' });
      expect((await post(body(randomBytes(5000)), { chunked: true })).json).toEqual({ code: 'PAYLOAD_TOO_LARGE' });
    } finally {
      url = saved;
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});

describe('MemoryUpload', () => {
  const drain = async (r: Readable) => {
    const out: Buffer[] = [];
    for await (const c of r) out.push(c as Buffer);
    return Buffer.concat(out).toString();
  };

  it('replays what was written to readers made before, during and after the writes', async () => {
    const up = new MemoryUpload();
    const early = drain(up.createReadStream());
    up.write(Buffer.from('ab'));
    await new Promise((r) => setImmediate(r));
    const middle = drain(up.createReadStream());
    up.write(Buffer.from('cd'));
    up.end(Buffer.from('e'));
    await new Promise((r) => up.once('finish', r));
    expect(await early).toBe('abcde');
    expect(await middle).toBe('abcde');
    expect(await drain(up.createReadStream())).toBe('abcde');
  });

  it('a reader fails when the writer is destroyed with an error or the upload is released', async () => {
    const up = new MemoryUpload();
    up.on('error', () => undefined);
    const reader = drain(up.createReadStream());
    up.write(Buffer.from('ab'));
    up.destroy(new Error('limit'));
    await expect(reader).rejects.toThrow('limit');

    const released = new MemoryUpload();
    const waiting = drain(released.createReadStream());
    released.write(Buffer.from('x'));
    await new Promise((r) => setImmediate(r));
    released.release();
    await expect(waiting).rejects.toThrow('released');
  });
});
