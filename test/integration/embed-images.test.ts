/**
 * embedImages over real HTTP (issue 14, item 4): several uploads in one multipart request, one
 * vector per image in order, the count and byte limits refused before any inference, and one bad
 * image failing the whole request with that image's code and position (README, "embedImages").
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpeg, SVG } from '../helpers/images.js';
import { errorCode, gql, gqlUpload, startTestServer, type GraphQLResponse } from '../helpers/server.js';
import { cosine, referencePath } from '../helpers/shared.js';

const EMBED_IMAGES = 'query ($images: [Upload!]!) { embedImages(images: $images) { vector model dim } }';
const EMBED_IMAGE = 'query ($image: Upload!) { embedImage(image: $image) { vector } }';
const MAX_IMAGES = 4;
/** The multipart layer's file limit, above MAX_IMAGES so that the resolver's own check is reached. */
const MAX_FILES = 6;
const MAX_BYTES_EACH = 2 * 1024 * 1024;
const MAX_BYTES_TOTAL = 3 * 1024 * 1024;

type Embeddings = { embedImages: { vector: number[]; model: string; dim: number }[] };

/** A multipart request whose `images` variable is a list of files (variables.images.0, .1, …). */
async function embedImages(url: string, images: readonly Uint8Array[]): Promise<GraphQLResponse<Embeddings>> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: EMBED_IMAGES, variables: { images: images.map(() => null) } }));
  form.append('map', JSON.stringify(Object.fromEntries(images.map((_, i) => [String(i), [`variables.images.${i}`]]))));
  images.forEach((bytes, i) => form.append(String(i), new Blob([bytes]), `photo-${i}.jpg`));
  const res = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true' } });
  return { status: res.status, ...((await res.json()) as object) };
}

describe('embedImages over HTTP', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let photos: Buffer[];
  beforeAll(async () => {
    server = await startTestServer({
      LOAD_DEMO: 'false',
      EMBED_MAX_IMAGES: String(MAX_IMAGES),
      MAX_UPLOAD_FILES: String(MAX_FILES),
      MAX_UPLOAD_BYTES: String(MAX_BYTES_EACH),
      EMBED_MAX_IMAGES_BYTES: String(MAX_BYTES_TOTAL),
      EMBED_CACHE_SIZE: '0',
    });
    photos = [await jpeg(320, 240), readFileSync(referencePath('photos', 'hubble_deep_field.jpg')), await jpeg(200, 300)];
  });
  afterAll(async () => {
    await server?.close();
  });

  async function expectHealthy() {
    const res = await gql<{ health: { status: string } }>(server.url, '{ health { status } }');
    expect(res.data?.health.status).toBe('ok');
  }

  /** Image inference batches the server has run so far (its /metrics). */
  async function imageBatches(): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^fieldscope_encoder_batch_size_count\{encoder="image"\} (\d+)/m.exec(text)?.[1] ?? 0);
  }

  it('returns one normalised vector per image, in order, equal to embedImage of the same image', async () => {
    const res = await embedImages(server.url, photos);
    expect(res.errors).toBeUndefined();
    const out = res.data!.embedImages;
    expect(out).toHaveLength(3);
    for (const [i, bytes] of photos.entries()) {
      expect(out[i]!.dim).toBe(32);
      expect(Math.hypot(...out[i]!.vector)).toBeCloseTo(1, 5);
      const single = await gqlUpload<{ embedImage: { vector: number[] } }>(server.url, EMBED_IMAGE, { image: { bytes } });
      expect(cosine(out[i]!.vector, single.data!.embedImage.vector)).toBeGreaterThan(0.99999);
    }
    expect(cosine(out[0]!.vector, out[1]!.vector)).toBeLessThan(0.999);
  });

  it(`more than EMBED_MAX_IMAGES (${MAX_IMAGES}) images: TOO_MANY_INPUTS, and nothing is inferred`, async () => {
    const before = await imageBatches();
    const res = await embedImages(server.url, Array.from({ length: MAX_IMAGES + 1 }, () => photos[0]!));
    expect(errorCode(res)).toBe('TOO_MANY_INPUTS');
    expect(res.errors?.[0]?.extensions?.limit).toBe(MAX_IMAGES);
    expect(await imageBatches()).toBe(before);
    await expectHealthy();
  });

  it(`more files than the multipart limit (MAX_UPLOAD_FILES ${MAX_FILES}): refused at the HTTP layer with PAYLOAD_TOO_LARGE (413)`, async () => {
    const before = await imageBatches();
    const res = await embedImages(server.url, Array.from({ length: MAX_FILES + 1 }, () => photos[0]!));
    expect(res.status).toBe(413);
    expect(errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
    expect(await imageBatches()).toBe(before);
    await expectHealthy();
  });

  it('an empty list: EMPTY_INPUT', async () => {
    const res = await embedImages(server.url, []);
    expect(errorCode(res)).toBe('EMPTY_INPUT');
    await expectHealthy();
  });

  it('images over EMBED_MAX_IMAGES_BYTES together (each under MAX_UPLOAD_BYTES): PAYLOAD_TOO_LARGE naming the image that crossed it, nothing inferred', async () => {
    const before = await imageBatches();
    const big = new Uint8Array(1.8 * 1024 * 1024).fill(7);
    const res = await embedImages(server.url, [photos[0]!, big, big]);
    expect(errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
    expect(res.errors?.[0]?.extensions).toMatchObject({ index: 2, limitBytes: MAX_BYTES_TOTAL });
    expect(await imageBatches()).toBe(before);
    await expectHealthy();
  });

  it('one image over MAX_UPLOAD_BYTES: PAYLOAD_TOO_LARGE with its index', async () => {
    const res = await embedImages(server.url, [new Uint8Array(MAX_BYTES_EACH + 10).fill(1), photos[0]!]);
    expect(errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
    expect(res.errors?.[0]?.extensions?.index).toBe(0);
    await expectHealthy();
  });

  it('a bad header anywhere fails the whole request with that image\'s code and index before any inference', async () => {
    const before = await imageBatches();
    const res = await embedImages(server.url, [photos[0]!, photos[1]!, SVG]);
    expect(errorCode(res)).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(res.errors?.[0]?.extensions?.index).toBe(2);
    expect(res.errors?.[0]?.message).toMatch(/^images\[2\]: /);
    expect(res.data).toBeNull();
    expect(await imageBatches()).toBe(before);
    await expectHealthy();
  });

  it('a truncated JPEG (its header is fine) fails the whole request with INVALID_IMAGE and its index', async () => {
    const res = await embedImages(server.url, [photos[0]!, readFileSync(referencePath('bad', 'truncated.jpg'))]);
    expect(errorCode(res)).toBe('INVALID_IMAGE');
    expect(res.errors?.[0]?.extensions?.index).toBe(1);
    expect(res.data).toBeNull();
    await expectHealthy();
  });
});
