/**
 * Issue 17 item 3, the attacks over real HTTP: a multipart operation past its deadline got no
 * response at all, and its work still committed (identifyPart with OPERATION_TIMEOUT_MS=150;
 * ingestDocument with a short INGEST_TIMEOUT_MS on a long document). Now the client gets a
 * TIMEOUT-coded answer at the deadline, the services get the abort, and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpeg } from '../helpers/images.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';

const IDENTIFY = 'query($image: Upload!, $candidates: [String!]) { identifyPart(image: $image, candidates: $candidates) { id confident } }';
const INGEST = 'mutation($f: Upload!) { ingestDocument(file: $f) { id pageCount } }';

/** A Markdown manual of `sections` sections, each with a few sentences (every section is a page, every sentence chunk is embedded). */
function longManual(sections: number, salt: string): string {
  return Array.from({ length: sections }, (_, i) => `## Section ${i} ${salt}\n\n${Array.from({ length: 6 }, (_, j) => `Step ${j} of procedure ${i}: check bolt ${i}-${j} and torque it to ${10 + j} Nm before the ${salt} run.`).join(' ')}`).join('\n\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('deadlines answer on time and cancel the work (multipart, HTTP)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false', OPERATION_TIMEOUT_MS: '150', INGEST_TIMEOUT_MS: '400' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('identifyPart past OPERATION_TIMEOUT_MS answers 504 TIMEOUT at the deadline and stores no identification', async () => {
    const candidates = Array.from({ length: 1000 }, (_, i) => `pump part number ${i} variant ${i * 7}`);
    const started = performance.now();
    const res = await gqlUpload(server.url, IDENTIFY, { image: { bytes: await jpeg(96, 96), name: 'part.jpg' } }, { candidates });
    const elapsed = performance.now() - started;
    expect(res.status).toBe(504);
    expect(errorCode(res)).toBe('TIMEOUT');
    expect(elapsed).toBeLessThan(10_000);
    // Give the abandoned work every chance to finish, then look for what it would have written.
    await sleep(3000);
    const queue = await gql<{ reviewQueue: { totalCount: number } }>(server.url, '{ reviewQueue { totalCount } }');
    expect(queue.data?.reviewQueue.totalCount).toBe(0);
    // The server is healthy and the same call works with fewer labels.
    const small = await gqlUpload<{ identifyPart: { id: string } }>(server.url, IDENTIFY, { image: { bytes: await jpeg(96, 96), name: 'part.jpg' } }, { candidates: ['pump', 'valve'] });
    expect(small.errors).toBeUndefined();
  });

  it('ingestDocument past INGEST_TIMEOUT_MS answers 504 TIMEOUT and commits nothing', async () => {
    const manual = Buffer.from(longManual(400, 'deadline'));
    const started = performance.now();
    const res = await gqlUpload(server.url, INGEST, { f: { bytes: manual, name: 'long.md' } });
    // Before, no answer came at all (the client waited forever). The answer comes at the deadline once
    // the event loop is free: extraction and chunking run synchronously in steps, slower on a busy machine.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(res.status).toBe(504);
    expect(errorCode(res)).toBe('TIMEOUT');
    await sleep(4000);
    const docs = await gql<{ documents: { totalCount: number } }>(server.url, '{ documents(first: 1) { totalCount } }');
    expect(docs.data?.documents.totalCount).toBe(0);
    // A small document still goes in.
    const ok = await gqlUpload<{ ingestDocument: { id: string } }>(server.url, INGEST, { f: { bytes: Buffer.from(longManual(2, 'small')), name: 'small.md' } });
    expect(ok.errors).toBeUndefined();
  });
});
