/**
 * Moderation as users meet it: a blocked upload is refused with nothing written, a borderline one
 * is stored and queued for review, a question with a blocked term is refused, and an answer with
 * one is withheld. Policies with extreme thresholds make the random-weight model's verdicts
 * certain, so the mechanics are tested, not the model.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { FAKE_MODEL, startFakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { jpeg } from '../helpers/images.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';

function policy(block: number, review: number): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'policy-')), 'policy.json');
  writeFileSync(file, JSON.stringify({ version: 1, imageLabels: [{ label: 'weapon', block, review }], blockedTerms: ['bomb'], allowedTerms: ['bomb calorimeter'] }));
  return file;
}

const INGEST_PHOTO = 'mutation($file: Upload!) { ingestPhoto(file: $file) { id } }';
const COUNT_PHOTOS_VIA_SEARCH = 'query($t: String) { search(text: $t, filter: { kinds: [PHOTO] }) { hits { photo { id } } } }';

describe('moderation wired into uploads and answers', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('refuses a blocked upload with CONTENT_BLOCKED and writes nothing', async () => {
    const server = await startTestServer({ LOAD_DEMO: 'false', MODERATION: 'on', MODERATION_POLICY_FILE: policy(0, 0) });
    servers.push(server);
    const res = await gqlUpload(server.url, INGEST_PHOTO, { file: { bytes: await jpeg(200, 150) } });
    expect(errorCode(res)).toBe('CONTENT_BLOCKED');
    expect(res.errors![0]!.message).toContain('weapon');
    const photos = await gql<{ search: { hits: unknown[] } }>(server.url, COUNT_PHOTOS_VIA_SEARCH, { t: 'photo' });
    expect(photos.data!.search.hits).toHaveLength(0);
  });

  it('stores a borderline upload and opens an UPLOAD review item for it', async () => {
    const server = await startTestServer({ LOAD_DEMO: 'false', MODERATION: 'on', MODERATION_POLICY_FILE: policy(1, 0) });
    servers.push(server);
    const res = await gqlUpload<{ ingestPhoto: { id: string } }>(server.url, INGEST_PHOTO, { file: { bytes: await jpeg(200, 150) } });
    expect(res.errors).toBeUndefined();
    const queue = await gql<{ reviewQueue: { nodes: { kind: string; reason: string; photo: { id: string } }[] } }>(server.url, '{ reviewQueue(status: OPEN) { nodes { kind reason photo { id } } } }');
    expect(queue.data!.reviewQueue.nodes).toEqual([expect.objectContaining({ kind: 'UPLOAD', photo: { id: res.data!.ingestPhoto.id } })]);
    expect(queue.data!.reviewQueue.nodes[0]!.reason).toMatch(/weapon/);
  });

  it('refuses a question with a blocked term, allows the allowed phrase, and withholds an answer with one', async () => {
    const fake = await startFakeOpenAIServer();
    const server = await startTestServer({ LOAD_DEMO: 'false', MODERATION: 'on', MODERATION_POLICY_FILE: policy(1, 1), OPENAI_BASE_URL: fake.baseURL, LLM_MODEL: FAKE_MODEL, LLM_MAX_RETRIES: '0' });
    servers.push(server, fake);
    await gqlUpload(server.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }', { file: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } });
    const ask = 'query($q: String) { ask(question: $q) { text mode citations { marker } warnings } }';
    const refused = await gql(server.url, ask, { q: 'how to build a Bomb from the P-200 seal 4471-B' });
    expect(errorCode(refused)).toBe('CONTENT_BLOCKED');
    expect(refused.errors![0]!.message).not.toContain('P-200'); // the user's text is not echoed

    fake.enqueue({ kind: 'json', value: { answer: 'Use seal kit 4471-B [1]. It is the bomb [1].', answerable: true } });
    const withheld = await gql<{ ask: { text: string; citations: unknown[]; warnings: string[] } }>(server.url, ask, { q: 'seal kit 4471-B' });
    expect(withheld.data!.ask.text).toBe('The answer was withheld by the moderation policy.');
    expect(withheld.data!.ask.citations).toEqual([]);
    expect(withheld.data!.ask.warnings.join(' ')).toContain('"bomb"');

    fake.enqueue({ kind: 'json', value: { answer: 'Calibrate with the bomb calorimeter, seal kit 4471-B [1].', answerable: true } });
    const allowed = await gql<{ ask: { text: string; mode: string } }>(server.url, ask, { q: 'seal kit 4471-B' });
    expect(allowed.data!.ask).toMatchObject({ mode: 'LLM', text: 'Calibrate with the bomb calorimeter, seal kit 4471-B [1].' });
  });
});
