/**
 * An ingest that is cut off still leaves its audit row: every mutation that reached a tenant writes
 * exactly one entry saying how it ended, whether the client hung up mid-upload, hung up while the PDF
 * was being read, or the deadline passed. Real server on 127.0.0.1, real multipart uploads of a long
 * PDF over a raw socket (so the test decides exactly when the body stops), the audit read back over
 * GraphQL.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePdf } from '../helpers/documents.js';
import { gql, startTestServer } from '../helpers/server.js';

const BOUNDARY = 'xxBOUNDARYxx';
const INGEST = 'mutation Cut($file: Upload!) { ingestDocument(file: $file) { id } }';

/** The multipart body of one ingestDocument call, split where the file's bytes begin. */
function multipart(pdf: Uint8Array): { head: Buffer; file: Buffer; tail: Buffer } {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n` +
      JSON.stringify({ query: INGEST, operationName: 'Cut', variables: { file: null } }) +
      `\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.file"]}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="long.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
  );
  return { head, file: Buffer.from(pdf), tail: Buffer.from(`\r\n--${BOUNDARY}--\r\n`) };
}

/** Opens the upload; the caller writes the body. Resolves the status if an answer comes, null if the socket just closes. */
function openUpload(baseUrl: string, contentLength: number): { req: http.ClientRequest; answered: Promise<number | null> } {
  const url = new URL('/graphql', baseUrl);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'apollo-require-preflight': 'true', 'content-length': contentLength },
  });
  const answered = new Promise<number | null>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on('error', () => resolve(null));
    req.on('close', () => resolve(null));
  });
  return { req, answered };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type AuditRow = { operation: string; operationName: string | null; outcome: string };

/** The ingestDocument audit rows, once no new one has appeared for a while (the cut-off work settles first). */
async function settledIngestRows(url: string, expected: number): Promise<AuditRow[]> {
  const read = async () => {
    const res = await gql<{ auditLog: { nodes: AuditRow[] } }>(url, '{ auditLog(first: 100, operation: "ingestDocument") { nodes { operation operationName outcome } } }');
    return res.data?.auditLog.nodes ?? [];
  };
  await expect.poll(async () => (await read()).length, { timeout: 20_000, interval: 200 }).toBeGreaterThanOrEqual(expected);
  // Long enough for a second (duplicate) row to show up if one were coming.
  await sleep(1500);
  return read();
}

describe('an ingestDocument that is cut off is audited once, with how it ended', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let pdf: Uint8Array;

  beforeAll(async () => {
    // A deadline that a fully sent 150-page PDF cannot meet, far beyond what reading the operation takes.
    server = await startTestServer({ LOAD_DEMO: 'false', INGEST_TIMEOUT_MS: '4000' });
    const pages = Array.from({ length: 150 }, (_, i) => [`Page ${i + 1} of the long manual`, 'Check the seal and the impeller.']);
    pdf = await makePdf(pages, 'Long manual');
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('client gone mid-upload: one CLIENT_CLOSED_REQUEST row, nothing stored', async () => {
    const { head, file, tail } = multipart(pdf);
    const { req, answered } = openUpload(server.url, head.length + file.length + tail.length);
    // The operation and half the file, then the client vanishes with the rest unsent.
    req.write(head);
    req.write(file.subarray(0, file.length >> 1));
    await sleep(1000);
    req.destroy();
    expect(await answered).toBeNull();
    const rows = await settledIngestRows(server.url, 1);
    expect(rows).toEqual([{ operation: 'ingestDocument', operationName: 'Cut', outcome: 'CLIENT_CLOSED_REQUEST' }]);
    const docs = await gql<{ documents: { totalCount: number } }>(server.url, '{ documents(first: 1) { totalCount } }');
    expect(docs.data?.documents.totalCount).toBe(0);
  }, 60_000);

  it('client gone while the PDF is read: one CLIENT_CLOSED_REQUEST row more', async () => {
    const { head, file, tail } = multipart(pdf);
    const { req, answered } = openUpload(server.url, head.length + file.length + tail.length);
    req.end(Buffer.concat([head, file, tail]));
    await sleep(400);
    req.destroy();
    expect(await answered).toBeNull();
    const rows = await settledIngestRows(server.url, 2);
    expect(rows.map((r) => r.outcome)).toEqual(['CLIENT_CLOSED_REQUEST', 'CLIENT_CLOSED_REQUEST']);
  }, 60_000);

  it('deadline passed mid-upload (a client that stalls): 504 and one TIMEOUT row more', async () => {
    const { head, file, tail } = multipart(pdf);
    const { req, answered } = openUpload(server.url, head.length + file.length + tail.length);
    // The operation and a few bytes of the file, then nothing: the deadline (4 s) ends it, not the client.
    req.write(head);
    req.write(file.subarray(0, 1024));
    expect(await answered).toBe(504);
    req.destroy();
    const rows = await settledIngestRows(server.url, 3);
    expect(rows.map((r) => r.outcome)).toEqual(['TIMEOUT', 'CLIENT_CLOSED_REQUEST', 'CLIENT_CLOSED_REQUEST']);
    const docs = await gql<{ documents: { totalCount: number } }>(server.url, '{ documents(first: 1) { totalCount } }');
    expect(docs.data?.documents.totalCount).toBe(0);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  }, 60_000);
});
