/**
 * The embeddings API over real HTTP: the server as `npm start` builds it, on 127.0.0.1, with the
 * bundled tiny model. Every bad input gets a stable error code and leaves the server healthy.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';
import { jpeg, pngBomb, SVG } from '../helpers/images.js';
import { cosine, REPO_ROOT, referencePath } from '../helpers/shared.js';

const EMBED_IMAGE = 'query Embed($image: Upload!) { embedImage(image: $image) { vector model dim } }';
const EMBED_TEXT = 'query Embed($texts: [String!]!) { embedText(texts: $texts) { vector model dim } }';
const UPLOAD_LIMIT = 2 * 1024 * 1024;

describe('GraphQL embeddings API over HTTP', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer({ MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT), EMBED_MAX_TEXTS: '64', EMBED_MAX_TEXT_CHARS: '2000', EMBED_MAX_IMAGES: '4' });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function expectHealthy() {
    const res = await gql<{ health: { status: string } }>(server.url, '{ health { status } }');
    expect(res.data?.health.status).toBe('ok');
  }

  it('reports health with the model id and the vector size read from the graph', async () => {
    const res = await gql<{ health: { status: string; model: { id: string; dim: number; isTestModel: boolean }; store: { ready: boolean } } }>(
      server.url,
      '{ health { status model { id dim isTestModel } store { kind ready location } } }',
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.health).toMatchObject({ status: 'ok', model: { id: 'tiny-clip', dim: 32, isTestModel: true }, store: { ready: true } });
  });

  it('embeds texts in order, L2-normalised, equal for equal texts and different for different ones', async () => {
    const res = await gql<{ embedText: { vector: number[]; model: string; dim: number }[] }>(server.url, EMBED_TEXT, {
      texts: ['replace the seal on the P-200 pump', 'a photo of a ball valve', 'replace the seal on the P-200 pump'],
    });
    expect(res.errors).toBeUndefined();
    const [a, b, c] = res.data!.embedText;
    for (const e of [a!, b!, c!]) {
      expect(e.dim).toBe(32);
      expect(e.vector).toHaveLength(32);
      expect(Math.hypot(...e.vector)).toBeCloseTo(1, 5);
      expect(e.model).toBe('tiny-clip');
    }
    expect(cosine(a!.vector, c!.vector)).toBeCloseTo(1, 6);
    expect(cosine(a!.vector, b!.vector)).toBeLessThan(0.99);
  });

  it('embeds an uploaded image (multipart request spec)', async () => {
    const bytes = await jpeg();
    const res = await gqlUpload<{ embedImage: { vector: number[]; dim: number } }>(server.url, EMBED_IMAGE, { image: { bytes, name: 'valve.jpg', type: 'image/jpeg' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.embedImage.vector).toHaveLength(32);
    expect(Math.hypot(...res.data!.embedImage.vector)).toBeCloseTo(1, 5);
  });

  it('embedText is within cosine 0.9999 of PyTorch (models/tiny-clip/reference.json) end to end', async () => {
    // PyTorch outputs of the bundled model, written by models/scripts/make_tiny_clip.py. Real
    // photos against PyTorch/PIL preprocessing are checked in clip-conformance.test.ts.
    const reference = JSON.parse(readFileSync(path.join(REPO_ROOT, 'models', 'tiny-clip', 'reference.json'), 'utf8')) as { texts: { text: string; text_embeds: number[] }[] };
    const sample = reference.texts.slice(0, 5);
    expect(sample).toHaveLength(5);
    const res = await gql<{ embedText: { vector: number[] }[] }>(server.url, EMBED_TEXT, { texts: sample.map((r) => r.text) });
    expect(res.errors).toBeUndefined();
    sample.forEach((r, i) => expect(cosine(res.data!.embedText[i]!.vector, r.text_embeds), r.text).toBeGreaterThanOrEqual(0.9999));
  });

  describe('bad input: a clear error with a stable code, and the server stays healthy', () => {
    const cases: [string, () => Promise<Uint8Array>, string][] = [
      ['bytes that are not an image', async () => Buffer.from('this is plain text, not a JPEG at all'), 'INVALID_IMAGE'],
      ['an empty file', async () => new Uint8Array(0), 'EMPTY_FILE'],
      ['an SVG', async () => SVG, 'UNSUPPORTED_MEDIA_TYPE'],
      ['a decompression bomb (30000×30000 PNG of ~100 kB)', async () => pngBomb(), 'IMAGE_TOO_LARGE'],
      ['a truncated JPEG', async () => (await jpeg(640, 480)).subarray(0, 3000), 'INVALID_IMAGE'],
    ];
    it.each(cases)('%s', async (_name, make, code) => {
      const res = await gqlUpload(server.url, EMBED_IMAGE, { image: { bytes: await make() } });
      expect(errorCode(res)).toBe(code);
      expect(res.errors?.[0]?.message).toBeTruthy();
      expect(res.data).toBeNull();
      await expectHealthy();
    });

    it('a real-world truncated JPEG (test/fixtures/reference/bad)', async () => {
      const res = await gqlUpload(server.url, EMBED_IMAGE, { image: { bytes: readFileSync(referencePath('bad', 'truncated.jpg')) } });
      expect(errorCode(res)).toBe('INVALID_IMAGE');
      await expectHealthy();
    });

    it('a decompression bomb is refused before decoding: memory stays flat', async () => {
      const bomb = pngBomb();
      const before = process.memoryUsage().rss;
      for (let i = 0; i < 5; i++) {
        const res = await gqlUpload(server.url, EMBED_IMAGE, { image: { bytes: bomb } });
        expect(errorCode(res)).toBe('IMAGE_TOO_LARGE');
      }
      // Decoding even one would need ~900 MB (30000² greyscale) to 2.7 GB (RGB).
      expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    });

    it('an upload over MAX_UPLOAD_BYTES', async () => {
      const res = await gqlUpload(server.url, EMBED_IMAGE, { image: { bytes: new Uint8Array(UPLOAD_LIMIT + 1024).fill(7) } });
      expect(errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
      await expectHealthy();
    });

    it('more files than MAX_UPLOAD_FILES (and EMBED_MAX_IMAGES) in one request', async () => {
      const bytes = await jpeg(64, 64);
      const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}`, { bytes }]));
      const res = await gqlUpload(server.url, EMBED_IMAGE, files);
      expect(res.status).toBe(413);
      expect(errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
      await expectHealthy();
    });

    it('an empty texts list', async () => {
      const res = await gql(server.url, EMBED_TEXT, { texts: [] });
      expect(errorCode(res)).toBe('EMPTY_INPUT');
      await expectHealthy();
    });

    it('10,000 texts in one call', async () => {
      const res = await gql(server.url, EMBED_TEXT, { texts: Array.from({ length: 10_000 }, (_, i) => `text ${i}`) });
      expect(errorCode(res)).toBe('TOO_MANY_INPUTS');
      expect(res.errors?.[0]?.extensions?.limit).toBe(64);
      await expectHealthy();
    });

    it('a text over EMBED_MAX_TEXT_CHARS', async () => {
      const res = await gql(server.url, EMBED_TEXT, { texts: ['ok', 'x'.repeat(2001)] });
      expect(errorCode(res)).toBe('TEXT_TOO_LONG');
      expect(res.errors?.[0]?.extensions?.index).toBe(1);
      await expectHealthy();
    });

    it('a text of 1 MB (over the request body limit)', async () => {
      const res = await gql(server.url, EMBED_TEXT, { texts: ['y'.repeat(1024 * 1024)] });
      expect(res.status).toBe(413);
      expect(errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
      await expectHealthy();
    });

    it('a wrongly typed argument and a malformed query', async () => {
      expect(errorCode(await gql(server.url, EMBED_TEXT, { texts: [{ not: 'a string' }] }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await gql(server.url, '{ embedText(texts: [1, 2]) { vector }'))).toBe('GRAPHQL_PARSE_FAILED');
      expect(errorCode(await gql(server.url, '{ embedText(texts: ["a"]) { nope } }'))).toBe('GRAPHQL_VALIDATION_FAILED');
      await expectHealthy();
    });

    it('malformed JSON body', async () => {
      const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
      await expectHealthy();
    });

    it('a multipart request without the CSRF preflight header is refused', async () => {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query: EMBED_IMAGE, variables: { image: null } }));
      form.append('map', JSON.stringify({ 0: ['variables.image'] }));
      form.append('0', new Blob([await jpeg(32, 32)]), 'a.jpg');
      const res = await fetch(`${server.url}/graphql`, { method: 'POST', body: form });
      expect(res.status).toBe(400);
      await expectHealthy();
    });
  });

  describe('HTTP endpoints', () => {
    it('GET /health is live and GET /ready reports the model', async () => {
      expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'degraded', testModel: true, model: { dim: 32 } });
    });

    it('GET /metrics exposes request and per-stage latency histograms', async () => {
      await gql(server.url, EMBED_TEXT, { texts: ['metrics please'] });
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toContain('fieldscope_http_request_duration_seconds_bucket');
      expect(text).toMatch(/fieldscope_stage_duration_seconds_count\{stage="infer_text"\} [1-9]/);
      expect(text).toMatch(/fieldscope_stage_duration_seconds_count\{stage="tokenize"\} [1-9]/);
      expect(text).toContain('fieldscope_graphql_operation_duration_seconds_bucket');
    });

    it('GET /explorer serves the explorer page with no external resources', async () => {
      const res = await fetch(`${server.url}/explorer`);
      const html = await res.text();
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(html).toContain('Fieldscope GraphQL explorer');
      expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);
    });
  });
});
