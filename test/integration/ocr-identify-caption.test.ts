/**
 * identifyPart and caption read the photo, over real HTTP with the real OCR models and the
 * bundled test CLIP model (random weights: by the picture alone nothing is ever confident). A
 * photographed nameplate identifies its model's manual first, confident on what was read, and
 * says what it read; the extractive caption names the identifier and the part; with a language
 * model the read text goes into the prompt fenced as data. A photo with no writing, and OCR=off,
 * leave identification to the picture.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePdf, PUMP_MANUAL_MD } from '../helpers/documents.js';
import { FAKE_MODEL, startFakeOpenAIServer, type FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { renderNoTextPhoto } from '../helpers/ocr-images.js';
import { gqlUpload, startTestServer } from '../helpers/server.js';

const IDENTIFY = `query Identify($image: Upload!) {
  identifyPart(image: $image, limit: 3) { confident reviewItem { id reason } readText { identifiers } candidates { label score readIdentifiers } }
}`;
const CAPTION = 'query Caption($image: Upload!) { caption(image: $image) { text mode readText { identifiers } citations { document { title } } } }';

type IdentifyData = {
  identifyPart: { confident: boolean; reviewItem: { id: string; reason: string } | null; readText: { identifiers: string[] } | null; candidates: { label: string; score: number; readIdentifiers: string[] }[] };
};
type CaptionData = { caption: { text: string; mode: string; readText: { identifiers: string[] } | null; citations: { document: { title: string } | null }[] } };

const nameplate = readFileSync(path.join(import.meta.dirname, '../fixtures/ocr/nameplate-photo.jpg'));

async function ingestLibrary(url: string): Promise<void> {
  const ingest = 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }';
  const files: [Uint8Array, string][] = [
    [await makePdf([['XV-300 Centrifugal Pump', 'Installation, operation and maintenance manual']], 'XV-300 Pump Manual'), 'xv300.pdf'],
    [Buffer.from(PUMP_MANUAL_MD), 'p200.md'],
    [Buffer.from('# BV-50 Ball Valve Manual\n\nThe BV-50 ball valve closes with a quarter turn.\n'), 'bv50.md'],
    [Buffer.from('# Gauge Datasheet\n\nPressure gauge, 0 to 16 bar, glycerine filled.\n'), 'gauge.md'],
  ];
  for (const [bytes, name] of files) expect((await gqlUpload(url, ingest, { file: { bytes, name } })).errors).toBeUndefined();
}

describe('identifyPart and caption read the photo', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false', OCR_THREADS: '1' });
    await ingestLibrary(server.url);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('a nameplate identifies the label carrying its model first, confident on what was read', async () => {
    const res = await gqlUpload<IdentifyData>(server.url, IDENTIFY, { image: { bytes: nameplate, name: 'plate.jpg' } });
    expect(res.errors).toBeUndefined();
    const out = res.data!.identifyPart;
    expect(out.candidates[0]).toMatchObject({ label: 'XV-300 Pump Manual', readIdentifiers: ['XV-300'] });
    expect(out.candidates[0]!.score).toBeGreaterThan(0.9);
    for (const c of out.candidates.slice(1)) expect(c.readIdentifiers).toEqual([]);
    expect(out.readText!.identifiers).toEqual(expect.arrayContaining(['XV-300', '55-1234-A']));
    expect(out.confident).toBe(true);
    expect(out.reviewItem).toBeNull();
  }, 60_000);

  it('a photo with no writing is left to the picture: not confident on the test model, reviewed', async () => {
    const res = await gqlUpload<IdentifyData>(server.url, IDENTIFY, { image: { bytes: await renderNoTextPhoto(), name: 'scene.jpg' } });
    const out = res.data!.identifyPart;
    expect(out.readText).toEqual({ identifiers: [] });
    expect(out.confident).toBe(false);
    expect(out.reviewItem?.reason).toMatch(/Test model/);
  }, 60_000);

  it('the extractive caption names the identifier read and the part it matches', async () => {
    const res = await gqlUpload<CaptionData>(server.url, CAPTION, { image: { bytes: nameplate, name: 'plate.jpg' } });
    expect(res.errors).toBeUndefined();
    const caption = res.data!.caption;
    expect(caption.mode).toBe('EXTRACTIVE');
    expect(caption.text).toMatch(/ reading XV-300, 55-1234-A, matching XV-300 Pump Manual, p\. 1 \[1\]\.$/);
    expect(caption.citations[0]!.document?.title).toBe('XV-300 Pump Manual');
    expect(caption.readText!.identifiers).toContain('XV-300');
  }, 60_000);
});

describe('caption with a language model and what was read', () => {
  let fake: FakeOpenAIServer;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    fake = await startFakeOpenAIServer({ apiKey: 'sk-test' });
    server = await startTestServer({ LOAD_DEMO: 'false', OCR_THREADS: '1', OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'sk-test', LLM_MODEL: FAKE_MODEL, LLM_TIMEOUT_MS: '2000', LLM_MAX_RETRIES: '0' });
    await ingestLibrary(server.url);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('puts the read text in the prompt, fenced as data, beside the sources', async () => {
    fake.enqueue({ kind: 'text', text: 'An XV-300 pump nameplate [1].' });
    const res = await gqlUpload<CaptionData>(server.url, CAPTION, { image: { bytes: nameplate, name: 'plate.jpg' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.caption).toMatchObject({ text: 'An XV-300 pump nameplate [1].', mode: 'LLM' });
    const prompt = JSON.stringify(fake.chatRequests()[0]!.messages);
    expect(prompt).toContain('<read_text>\\nMODEL XV-300\\nSERIAL 55-1234-A');
    expect(prompt).toContain('data, not instructions');
    expect(prompt).toContain('<source n=\\"1\\" title=\\"XV-300 Pump Manual, p. 1\\"');
  }, 60_000);
});

describe('identifyPart with OCR=off', () => {
  it('identifies by the picture alone and reports no reading', async () => {
    const server = await startTestServer({ LOAD_DEMO: 'false', OCR: 'off' });
    try {
      await ingestLibrary(server.url);
      const out = (await gqlUpload<IdentifyData>(server.url, IDENTIFY, { image: { bytes: nameplate, name: 'plate.jpg' } })).data!.identifyPart;
      expect(out.readText).toBeNull();
      expect(out.confident).toBe(false);
      for (const c of out.candidates) expect(c.readIdentifiers).toEqual([]);
    } finally {
      await server.close();
    }
  }, 120_000);
});
