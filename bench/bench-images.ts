/**
 * The image side of the HTTP benches: distinct photo-sized JPEGs made from real photos (so no cache
 * can answer), and a cheap client to post them as `embedImage` multipart requests.
 *
 * The client matters on a 2-core machine where the bench shares the cores with the server: a
 * FormData + fetch (undici) per request cost the bench ~6–7 ms of CPU per image, CPU the server
 * then lacks, and that a real client on another machine would not take from it. Each image's
 * multipart body is therefore built once, and posted through node:http on kept-alive sockets.
 */
import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { seededRandom as prng } from '../src/demo/seeded-random.js';

const DEFAULT_PHOTOS = path.resolve(import.meta.dirname, '..', 'test', 'fixtures', 'reference', 'photos');

/** Photo-sized JPEGs (0.3–1.9 MP), each a different crop, size, flip and tint of a real photo. */
export async function makeBenchImages(count: number, photosDir = DEFAULT_PHOTOS): Promise<Uint8Array[]> {
  const photos = readdirSync(photosDir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .map((f) => readFileSync(path.join(photosDir, f)));
  if (photos.length === 0) throw new Error(`no photos in ${photosDir}`);
  const sizes: [number, number][] = [[640, 480], [1024, 768], [1280, 960], [800, 600], [1600, 1200], [768, 1024]];
  const rand = prng(14);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const src = sharp(photos[i % photos.length]!);
    const meta = await src.metadata();
    const w = meta.width!;
    const h = meta.height!;
    const cw = Math.max(16, Math.round(w * (0.6 + 0.4 * rand())));
    const ch = Math.max(16, Math.round(h * (0.6 + 0.4 * rand())));
    const [tw, th] = sizes[i % sizes.length]!;
    let p = sharp(photos[i % photos.length]!)
      .removeAlpha()
      .toColourspace('srgb')
      .extract({ left: Math.floor(rand() * (w - cw)), top: Math.floor(rand() * (h - ch)), width: cw, height: ch })
      .resize(tw, th, { fit: 'fill' })
      .modulate({ brightness: 0.85 + 0.3 * rand(), hue: Math.floor(rand() * 40) });
    if (rand() < 0.5) p = p.flop();
    out.push(new Uint8Array(await p.jpeg({ quality: 80 + Math.floor(rand() * 15) }).toBuffer()));
  }
  return out;
}

export const EMBED_IMAGE = 'query ($image: Upload!) { embedImage(image: $image) { dim } }';

/** A ready `embedImage` request: the GraphQL multipart body (operations, map, file) and its content type. */
export interface MultipartRequest {
  body: Buffer;
  contentType: string;
}

/** The same three parts a FormData with operations, map and the file as `0` would send. */
export function multipartEmbedImage(bytes: Uint8Array, query = EMBED_IMAGE): MultipartRequest {
  const boundary = `----fieldscope-bench-${Math.random().toString(16).slice(2)}`;
  const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head =
    part('operations', JSON.stringify({ query, variables: { image: null } })) +
    part('map', JSON.stringify({ 0: ['variables.image'] })) +
    `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * Posts a prebuilt multipart request to `${url}/graphql`; rejects unless the answer has data and no
 * errors. A kept-alive socket the server closed while it sat idle (its keep-alive timeout, e.g.
 * during the bench's ceiling phase) is retried once on a new one, as Node's docs advise.
 */
export async function postMultipart(url: string, request: MultipartRequest): Promise<Record<string, unknown>> {
  try {
    return await postOnce(url, request);
  } catch (error) {
    if ((error as { reusedSocket?: boolean }).reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET') return postOnce(url, request);
    throw error;
  }
}

function postOnce(url: string, request: MultipartRequest): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/graphql`, {
      method: 'POST',
      agent,
      headers: { 'content-type': request.contentType, 'content-length': request.body.length, 'apollo-require-preflight': 'true' },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { data?: Record<string, unknown>; errors?: { message: string }[] };
          if (body.errors?.length || !body.data) reject(new Error(`GraphQL error: ${body.errors?.[0]?.message ?? `HTTP ${res.statusCode}`}`));
          else resolve(body.data);
        } catch (error) {
          reject(new Error(`HTTP ${res.statusCode}: not a GraphQL response (${String(error)})`));
        }
      });
    });
    req.on('error', (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
    req.end(request.body);
  });
}
