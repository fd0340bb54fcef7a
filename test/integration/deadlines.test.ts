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

/**
 * A root field to select beside a check made after the abandoned call. Those checks must not race
 * this server's 150 ms deadline: on a busy machine that is a speed test (the same identifyPart with
 * two labels and OCR took longer, and answered TIMEOUT). An operation's deadline is the longest among
 * its root fields (operationBudgetMs in src/server/hardening.ts) and `ask`'s allows for the LLM's
 * retries, so selecting it too gives the check that room, while the call under attack keeps 150 ms.
 */
const ROOM = 'room: ask(question: "seal") { mode }';

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
    const queue = await gql<{ reviewQueue: { totalCount: number } }>(server.url, `{ reviewQueue { totalCount } ${ROOM} }`);
    expect(queue.errors).toBeUndefined();
    expect(queue.data?.reviewQueue.totalCount).toBe(0);
    // The server is healthy and the same call (photo, labels, OCR) works with fewer labels, and commits this time.
    const IDENTIFY_WITH_ROOM = IDENTIFY.replace(/\}$/, ` ${ROOM} }`);
    const small = await gqlUpload<{ identifyPart: { id: string } }>(server.url, IDENTIFY_WITH_ROOM, { image: { bytes: await jpeg(96, 96), name: 'part.jpg' } }, { candidates: ['pump', 'valve'] });
    expect(small.errors).toBeUndefined();
    expect(small.data?.identifyPart.id).toEqual(expect.any(String));
    const after = await gql<{ reviewQueue: { totalCount: number } }>(server.url, `{ reviewQueue { totalCount } ${ROOM} }`);
    expect(after.data?.reviewQueue.totalCount).toBe(1);
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
    const docs = await gql<{ documents: { totalCount: number } }>(server.url, `{ documents(first: 1) { totalCount } ${ROOM} }`);
    expect(docs.errors).toBeUndefined();
    expect(docs.data?.documents.totalCount).toBe(0);
    // The abandoned ingest left its one audit entry, saying how it ended.
    const audit = await gql<{ auditLog: { nodes: { outcome: string }[] } }>(server.url, `{ auditLog(operation: "ingestDocument") { nodes { outcome } } ${ROOM} }`);
    expect(audit.data?.auditLog.nodes).toEqual([{ outcome: 'TIMEOUT' }]);
    // A small document still goes in, and this server sees it. It goes in through a second server on
    // the same DATA_DIR (as replicas share one): on a loaded machine even a small ingest can take
    // longer than this server's 400 ms, which made this check a speed test. Sharing the files, it
    // still finds anything the abandoned ingest left holding the store (an open transaction, a
    // write lock would make it fail), and this server's read of it shows this server still serves.
    const peer = await startTestServer({ LOAD_DEMO: 'false', DATA_DIR: server.dataDir });
    try {
      const ok = await gqlUpload<{ ingestDocument: { id: string } }>(peer.url, INGEST, { f: { bytes: Buffer.from(longManual(2, 'small')), name: 'small.md' } });
      expect(ok.errors).toBeUndefined();
      const seen = await gql<{ documents: { nodes: { id: string }[] } }>(server.url, `{ documents(first: 5) { nodes { id } } ${ROOM} }`);
      expect(seen.errors).toBeUndefined();
      expect(seen.data?.documents.nodes).toEqual([{ id: ok.data?.ingestDocument.id }]);
    } finally {
      await peer.close();
    }
  });
});
