/**
 * Part identification, feedback, tagging, near-duplicates and the review queue over real HTTP.
 * The bundled model has random weights, so these tests check behaviour that holds on any model
 * (ranking plumbing, the pull of confirmed examples, copies found, queue transitions), not
 * zero-shot accuracy; `fieldscope eval` measures that on a real model.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quadrantImage } from '../helpers/images.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';

const IDENTIFY = `query($image: Upload!, $candidates: [String!], $limit: Int) {
  identifyPart(image: $image, candidates: $candidates, limit: $limit) { id confident candidates { label score confirmations pages { page { number } document { title } } } reviewItem { id status } }
}`;
const INGEST_PHOTO = 'mutation($file: Upload!, $input: PhotoInput) { ingestPhoto(file: $file, input: $input) { id duplicateOf { id } } }';
const LABELS = ['ball valve', 'pressure gauge', 'centrifugal pump', 'electric motor', 'hydraulic hose', 'thermostat', 'air compressor', 'pipe flange'];

interface Identification { id: string; confident: boolean; candidates: { label: string; score: number; confirmations: number }[]; reviewItem: { id: string; status: string } | null }

async function stripes(seed: number): Promise<Buffer> {
  const w = 320;
  const h = 240;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const x = i % w;
    const y = Math.floor(i / w);
    px[i * 3] = (x * seed) % 256;
    px[i * 3 + 1] = ((x + y) * 7 * seed) % 256;
    px[i * 3 + 2] = (y * 3 + seed * 40) % 256;
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
}

describe('identification, tagging, near-duplicates and review over GraphQL', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let photoA: Buffer;
  let photoAId: string;
  const identify = async (image: Uint8Array, candidates: string[] | null = LABELS, limit = 8) => {
    const res = await gqlUpload<{ identifyPart: Identification }>(server.url, IDENTIFY, { image: { bytes: image } }, { candidates, limit });
    expect(res.errors).toBeUndefined();
    return res.data!.identifyPart;
  };

  beforeAll(async () => {
    // Strict confidence thresholds so that the review path is exercised whatever the random model scores.
    server = await startTestServer({ LOAD_DEMO: 'false', IDENTIFY_MIN_SCORE: '0.999999', IDENTIFY_MIN_MARGIN: '0.999' });
    photoA = await (await quadrantImage(400, 300)).jpeg({ quality: 92 }).toBuffer();
    const res = await gqlUpload<{ ingestPhoto: { id: string; duplicateOf: null } }>(server.url, INGEST_PHOTO, { file: { bytes: photoA } }, { input: { caption: 'Valve on line 3' } });
    photoAId = res.data!.ingestPhoto.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('ranks the candidates with probabilities and returns an id to confirm', async () => {
    const r = await identify(photoA);
    expect(r.candidates).toHaveLength(8);
    const scores = r.candidates.map((c) => c.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('learns from confirmations: a label confirmed a few times wins for that part, and undoing removes the pull', async () => {
    const before = await identify(photoA);
    const target = before.candidates.at(-1)!.label; // the zero-shot loser
    const feedbackIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await gql<{ confirmPart: { id: string; label: string; givenBy: string; photo: { id: string } } }>(
        server.url,
        'mutation($photoId: ID, $label: String!) { confirmPart(photoId: $photoId, label: $label) { id label givenBy photo { id } } }',
        { photoId: photoAId, label: target },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data!.confirmPart).toMatchObject({ label: target, givenBy: 'anonymous', photo: { id: photoAId } });
      feedbackIds.push(res.data!.confirmPart.id);
    }
    const copy = await sharp(photoA).resize(360).jpeg({ quality: 75 }).toBuffer();
    const after = await identify(copy);
    expect(after.candidates[0]!.label).toBe(target);
    expect(after.candidates[0]!.confirmations).toBe(3);

    for (const id of feedbackIds) {
      const undone = await gql<{ undoFeedback: { undoneAt: string | null } }>(server.url, 'mutation($id: ID!) { undoFeedback(id: $id) { undoneAt } }', { id });
      expect(undone.data!.undoFeedback.undoneAt).not.toBeNull();
    }
    const reverted = await identify(copy);
    expect(reverted.candidates.find((c) => c.label === target)!.confirmations).toBe(0);
    expect(reverted.candidates[0]!.label).not.toBe(target);
  });

  it('sends unconfident identifications to the review queue, where they are claimed and resolved into feedback', async () => {
    const r = await identify(await stripes(3), ['gate valve model GV-10', 'gate valve model GV-11']);
    expect(r.confident).toBe(false);
    expect(r.reviewItem?.status).toBe('OPEN');
    const queue = await gql<{ reviewQueue: { totalCount: number; nodes: { id: string; kind: string; identification: { id: string } } [] } }>(server.url, '{ reviewQueue(status: OPEN) { totalCount nodes { id kind identification { id } } } }');
    expect(queue.data!.reviewQueue.nodes.some((n) => n.id === r.reviewItem!.id && n.kind === 'IDENTIFICATION' && n.identification.id === r.id)).toBe(true);

    const claim = 'mutation($id: ID!) { claimReview(id: $id) { status claimedBy } }';
    expect((await gql<{ claimReview: unknown }>(server.url, claim, { id: r.reviewItem!.id })).data!.claimReview).toEqual({ status: 'CLAIMED', claimedBy: 'anonymous' });
    expect(errorCode(await gql(server.url, claim, { id: r.reviewItem!.id }))).toBe('REVIEW_ITEM_NOT_OPEN');
    const resolved = await gql<{ resolveReview: { status: string; label: string; note: string; resolvedBy: string } }>(
      server.url,
      'mutation($id: ID!) { resolveReview(id: $id, label: "gate valve model GV-11", note: "checked the nameplate") { status label note resolvedBy } }',
      { id: r.reviewItem!.id },
    );
    expect(resolved.data!.resolveReview).toEqual({ status: 'RESOLVED', label: 'gate valve model GV-11', note: 'checked the nameplate', resolvedBy: 'anonymous' });
    // The resolution is feedback: the same image now leans to the reviewer's label.
    const again = await identify(await stripes(3), ['gate valve model GV-10', 'gate valve model GV-11']);
    expect(again.candidates[0]).toMatchObject({ label: 'gate valve model GV-11', confirmations: 1 });
    expect(errorCode(await gql(server.url, 'mutation { resolveReview(id: "nope") { id } }'))).toBe('REVIEW_ITEM_NOT_FOUND');
  });

  it('tags multi-label attributes, each scored on its own, above a threshold', async () => {
    const query = 'query($image: Upload!, $labels: [String!]!, $threshold: Float) { tagImage(image: $image, labels: $labels, threshold: $threshold) { label score } }';
    const all = await gqlUpload<{ tagImage: { label: string; score: number }[] }>(server.url, query, { image: { bytes: photoA } }, { labels: ['corroded', 'leaking', 'red', 'Red '], threshold: 0 });
    expect(all.data!.tagImage.map((t) => t.label).sort()).toEqual(['corroded', 'leaking', 'red']);
    for (const t of all.data!.tagImage) expect(t.score).toBeGreaterThanOrEqual(0);
    const strict = await gqlUpload<{ tagImage: { score: number }[] }>(server.url, query, { image: { bytes: photoA } }, { labels: ['corroded', 'leaking', 'red'], threshold: 0.999999 });
    expect(strict.data!.tagImage.every((t) => t.score >= 0.999999)).toBe(true);
    expect(errorCode(await gqlUpload(server.url, query, { image: { bytes: photoA } }, { labels: ['red'], threshold: 1.5 }))).toBe('INVALID_THRESHOLD');
    expect(errorCode(await gqlUpload(server.url, query, { image: { bytes: photoA } }, { labels: [] }))).toBe('EMPTY_INPUT');
    expect(errorCode(await gqlUpload(server.url, query, { image: { bytes: photoA } }, { labels: ['red', '   '] }))).toBe('INVALID_LABEL');
  });

  it('reports duplicateOf for re-encoded, resized and lightly cropped copies, not for distinct photos', async () => {
    const variants = [
      await sharp(photoA).jpeg({ quality: 60 }).toBuffer(),
      await sharp(photoA).resize(200).png().toBuffer(),
      await sharp(photoA).extract({ left: 8, top: 6, width: 384, height: 288 }).jpeg().toBuffer(),
    ];
    for (const bytes of variants) {
      const res = await gqlUpload<{ ingestPhoto: { id: string; duplicateOf: { id: string } | null } }>(server.url, INGEST_PHOTO, { file: { bytes } });
      expect(res.errors).toBeUndefined();
      expect(res.data!.ingestPhoto.duplicateOf?.id).toBe(photoAId);
    }
    const distinct = await gqlUpload<{ ingestPhoto: { duplicateOf: unknown } }>(server.url, INGEST_PHOTO, { file: { bytes: await stripes(7) } });
    expect(distinct.data!.ingestPhoto.duplicateOf).toBeNull();
  });

  it('finds similar photos above a threshold', async () => {
    const query = 'query($image: Upload!, $limit: Int, $threshold: Float) { similarPhotos(image: $image, limit: $limit, threshold: $threshold) { similarity photo { id } } }';
    const res = await gqlUpload<{ similarPhotos: { similarity: number; photo: { id: string } }[] }>(server.url, query, { image: { bytes: await sharp(photoA).resize(300).toBuffer() } }, { limit: 10, threshold: 0.9 });
    expect(res.data!.similarPhotos.map((m) => m.photo.id)).toContain(photoAId);
    for (const m of res.data!.similarPhotos) expect(m.similarity).toBeGreaterThanOrEqual(0.9);
    expect(errorCode(await gqlUpload(server.url, query, { image: { bytes: photoA } }, { threshold: -0.1 }))).toBe('INVALID_THRESHOLD');
  });

  describe('bad input', () => {
    it('an empty candidate list, 5,000 candidates, blank labels', async () => {
      expect(errorCode(await gqlUpload(server.url, IDENTIFY, { image: { bytes: photoA } }, { candidates: [] }))).toBe('EMPTY_INPUT');
      expect(errorCode(await gqlUpload(server.url, IDENTIFY, { image: { bytes: photoA } }, { candidates: Array.from({ length: 5000 }, (_, i) => `part ${i}`) }))).toBe('TOO_MANY_INPUTS');
      expect(errorCode(await gqlUpload(server.url, IDENTIFY, { image: { bytes: photoA } }, { candidates: ['valve', ' '] }))).toBe('INVALID_LABEL');
    });

    it('duplicate labels count once', async () => {
      const r = await identify(photoA, ['valve', 'Valve', ' valve ', 'gauge'], 10);
      expect(r.candidates.filter((c) => c.label.toLowerCase() === 'valve')).toHaveLength(1);
    });

    it('feedback for a photo or identification that does not exist', async () => {
      const q = 'mutation($photoId: ID, $identificationId: ID) { confirmPart(photoId: $photoId, identificationId: $identificationId, label: "valve") { id } }';
      expect(errorCode(await gql(server.url, q, { photoId: 'no-such-photo' }))).toBe('PHOTO_NOT_FOUND');
      expect(errorCode(await gql(server.url, q, { identificationId: 'no-such-id' }))).toBe('IDENTIFICATION_NOT_FOUND');
      expect(errorCode(await gql(server.url, q, {}))).toBe('MISSING_SUBJECT');
    });
  });

  it('reviewQueue pages by opaque cursors (edges and endCursor), still takes an item id, and refuses any other after with INVALID_CURSOR', async () => {
    for (let i = 0; i < 3; i++) expect((await identify(await stripes(4 + i), ['gate valve model GV-10', 'gate valve model GV-11'])).reviewItem).not.toBeNull();
    type Queue = { reviewQueue: { nodes: { id: string }[]; edges: { cursor: string; node: { id: string } }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } };
    const QUEUE = 'query($after: String) { reviewQueue(first: 1, after: $after) { nodes { id } edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }';
    const everything = (await gql<{ reviewQueue: { nodes: { id: string }[] } }>(server.url, '{ reviewQueue(first: 100) { nodes { id } } }')).data!.reviewQueue.nodes.map((n) => n.id);
    expect(everything.length).toBeGreaterThanOrEqual(3);
    const paged: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: Awaited<ReturnType<typeof gql<Queue>>> = await gql<Queue>(server.url, QUEUE, { after });
      expect(res.errors).toBeUndefined();
      const page = res.data!.reviewQueue;
      paged.push(...page.nodes.map((n) => n.id));
      expect(page.edges.map((e) => e.cursor)).toEqual([page.pageInfo.endCursor]);
      expect(page.pageInfo.endCursor).not.toBe(page.nodes[0]!.id);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(paged).toEqual(everything);
    // Older clients pass the last item's id: still the next page.
    const byId = await gql<Queue>(server.url, QUEUE, { after: everything[0] });
    expect(byId.data!.reviewQueue.nodes.map((n) => n.id)).toEqual([everything[1]]);
    for (const bad of ['no-such-item', 'WyJyZXZpZXciLDFd!', Buffer.from(JSON.stringify(['audit', 1])).toString('base64url')]) {
      const res = await gql(server.url, QUEUE, { after: bad });
      expect(res.errors?.[0]).toMatchObject({ message: expect.stringContaining('pageInfo.endCursor'), extensions: { code: 'INVALID_CURSOR', category: 'BAD_USER_INPUT' } });
    }
  });
});
