/**
 * Damaged photos over real HTTP on the real server: one file, one verdict, on every operation.
 *
 * CLIP decoding tolerates decoder *warnings* (a camera JPEG with a few extraneous bytes before a
 * marker) and refuses files that end early. The perceptual hash, the layout signature and the
 * page thumbnail used to run sharp with its default (fail on any warning) and let its raw error
 * through: such a JPEG was embedded by embedImage yet failed search(image:), caption and
 * ingestPhoto with INTERNAL_SERVER_ERROR, and a truncated photo given to ingestPhoto failed
 * with INTERNAL_SERVER_ERROR instead of INVALID_IMAGE (whichever of CLIP and the hash failed
 * first answered). Found by feeding the running server such files. Also: a file mapped to a
 * variable that is not an Upload is refused in words, not by printing graphql-upload's internals.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';
import { quadrantImage } from '../helpers/images.js';

const photo = readFileSync(path.join(REPO_ROOT, 'demo', 'photos', 'valve-bv50.jpg'));

/** The demo photo with 3 junk bytes after its first segment: libjpeg warns "extraneous bytes before marker", and decodes it whole. */
function jpegWithWarning(): Buffer {
  const afterFirstSegment = 4 + photo.readUInt16BE(4);
  return Buffer.concat([photo.subarray(0, afterFirstSegment), Buffer.from([0x12, 0x34, 0x56]), photo.subarray(afterFirstSegment)]);
}

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ OCR: 'off', LOAD_DEMO: 'false' });
}, 120_000);
afterAll(async () => server?.close());

function storedFiles(): string[] {
  const dir = path.join(server.dataDir, 'blobs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}

function photoRows(): number {
  const db = new Database(path.join(server.dataDir, 'fieldscope.db'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM photos').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('a JPEG with a decoder warning is one image everywhere', () => {
  const operations: [string, string][] = [
    ['embedImage', 'query($f: Upload!){ embedImage(image:$f){ dim } }'],
    ['search', 'query($f: Upload!){ search(image:$f, limit: 3){ noGoodMatch hits { score } } }'],
    ['caption', 'query($f: Upload!){ caption(image:$f){ text } }'],
    ['similarPhotos', 'query($f: Upload!){ similarPhotos(image:$f){ similarity } }'],
    ['ingestPhoto', 'mutation($f: Upload!){ ingestPhoto(file:$f){ id width height } }'],
    ['ingestDocument', 'mutation($f: Upload!){ ingestDocument(file:$f){ id pageCount } }'],
  ];
  for (const [name, query] of operations) {
    it(`${name} accepts it`, async () => {
      const res = await gqlUpload(server.url, query, { f: { bytes: jpegWithWarning(), name: 'camera.jpg', type: 'image/jpeg' } });
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      expect(res.data?.[name]).toBeTruthy();
    }, 60_000);
  }
});

describe('a photo that ends early is INVALID_IMAGE on ingestPhoto, with nothing stored', () => {
  const cases: [string, () => Promise<Buffer>][] = [
    ['a truncated JPEG', async () => photo.subarray(0, Math.floor(photo.length / 3))],
    ['a truncated PNG', async () => {
      const png = await (await quadrantImage(400, 300)).png().toBuffer();
      return png.subarray(0, Math.floor(png.length / 2));
    }],
  ];
  for (const [what, make] of cases) {
    it(what, async () => {
      const bytes = await make();
      const filesBefore = storedFiles().length;
      const rowsBefore = photoRows();
      // Several times: the CLIP decode and the hash race, and every order must answer the same.
      for (let i = 0; i < 3; i++) {
        const res = await gqlUpload(server.url, 'mutation($f: Upload!){ ingestPhoto(file:$f){ id } }', { f: { bytes, name: 'cut.bin' } });
        expect(errorCode(res), JSON.stringify(res.errors)).toBe('INVALID_IMAGE');
      }
      expect(storedFiles().length).toBe(filesBefore);
      expect(photoRows()).toBe(rowsBefore);
      expect((await gql<{ health: { status: string } }>(server.url, '{ health { status } }')).data?.health.status).toBe('ok');
    }, 60_000);
  }
});

describe('a file sent for a variable that is not an Upload', () => {
  it('is BAD_USER_INPUT saying so, without printing the upload library\'s internals', async () => {
    const res = await gqlUpload(server.url, 'query($t: String!){ search(text:$t){ noGoodMatch } }', { t: { bytes: photo, name: 'valve.jpg' } });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toBe('Variable "$t" got an uploaded file, but only a variable of type Upload can take one.');
  });
});
