/**
 * Issue 17 item 9: /files streams with backpressure and serves byte ranges, against the real
 * server and the real disk blob store. The 40 MB blob is written straight into the server's blob
 * folder (the store serves any key it holds), so no 40 MB ingest is needed.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../src/blob/blob-store.js';
import { startTestServer } from '../helpers/server.js';

const MB = 1024 * 1024;

describe('/files streams (real HTTP server, real blob store)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let key: string;
  let bytes: Buffer;
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false' });
    bytes = randomBytes(40 * MB);
    key = await new DiskBlobStore(path.join(server.dataDir, 'blobs')).put(bytes, 'pdf');
  });
  afterAll(async () => server?.close());

  const get = (headers: Record<string, string> = {}, method = 'GET') => fetch(`${server.url}/files/${key}`, { headers, method });

  it('serves the whole file, then byte ranges, suffix ranges, 416 and 304', async () => {
    const whole = await get();
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(40 * MB));
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);

    const part = await get({ range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${40 * MB}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true);

    const tail = await get({ range: 'bytes=-10' });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10))).toBe(true);

    const beyond = await get({ range: `bytes=${50 * MB}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${40 * MB}`);

    const etag = whole.headers.get('etag')!;
    expect(etag).toBe(`"${key.split('.')[0]}"`);
    expect((await get({ 'if-none-match': etag })).status).toBe(304);
    const head = await get({}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(40 * MB));
    expect((await fetch(`${server.url}/files/${'0'.repeat(64)}.pdf`)).status).toBe(404);
  });

  it('holds little memory for 40 slow readers of a 40 MB file, and answers other requests meanwhile', async () => {
    global.gc?.();
    const before = process.memoryUsage();
    // 40 clients that read the headers and then nothing: the server can only send what their sockets take.
    const requests: http.ClientRequest[] = [];
    const responses = await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<http.IncomingMessage>((resolve, reject) => {
            const req = http.get(`${server.url}/files/${key}`, (res) => {
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
    // Reading whole files put 40 × 40 MB in buffers (1.6 GB); streamed, each reader holds about a socket's worth.
    const grownMb = (during.arrayBuffers - before.arrayBuffers) / MB;
    // Measured: +31 MB streamed; +1,565 MB (and +1.5 GB RSS) when each response read the file whole.
    expect(grownMb, 'MB of buffers held while 40 readers wait').toBeLessThan(200);
  });
});
