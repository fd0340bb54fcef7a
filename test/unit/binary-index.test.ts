// Rows a search may not return (removed, or outside a filter) must not take a place among the
// coarse candidates: an index with exclusions finds exactly what an index built without those
// rows finds, whichever way the exclusion is applied (the removed rows only, or a filter test
// of every row).
import { describe, expect, it } from 'vitest';
import { BinaryCodeIndex, KIND_CODES, quantize, type IndexRow } from '../../src/store/sqlite/binary-index.js';
import { seededRandom } from '../../src/demo/seeded-random.js';

const dim = 96;
const random = seededRandom(5);
const rows: IndexRow[] = Array.from({ length: 2000 }, (_, i) => ({
  rowId: i + 1,
  targetId: i + 1,
  owner: i % 3 === 0 ? -(1 + (i % 7)) : 1 + (i % 11),
  kind: i % 3 === 0 ? KIND_CODES.photo : i % 2 === 0 ? KIND_CODES.pdf : KIND_CODES.markdown,
  code: quantize(Float32Array.from({ length: dim }, () => random() - 0.5), null),
}));
const query = Float32Array.from({ length: dim }, () => random() - 0.5);

function indexOf(kept: IndexRow[], options: { simd?: boolean } = {}): BinaryCodeIndex {
  const index = new BinaryCodeIndex(dim, options);
  for (const row of kept) index.add(row);
  return index;
}

describe('BinaryCodeIndex exclusions', () => {
  it('removed rows give up their place to the next nearest (fewer removals than trigger a compaction)', () => {
    const removed = new Set(Array.from({ length: 300 }, (_, i) => 1 + i * 6));
    const index = indexOf(rows);
    index.remove(removed);
    index.remove([1, 7]); // already removed: no effect
    expect(index.size).toBe(rows.length - removed.size);
    const fresh = indexOf(rows.filter((r) => !removed.has(r.rowId)));
    for (const [coarseK, refineK] of [
      [40, 10],
      [300, 60],
      [5000, 5000],
    ] as const) {
      const got = index.candidates(query, null, coarseK, refineK);
      const want = fresh.candidates(query, null, coarseK, refineK);
      expect(got.rowIds).toEqual(want.rowIds);
      expect(got.complete).toBe(want.complete);
    }
  });

  it('a filter (kinds, documents, photos) and removals together, in WebAssembly and in JS', () => {
    const index = indexOf(rows);
    index.remove([2, 3, 5, 8]);
    const js = indexOf(rows, { simd: false });
    js.remove([2, 3, 5, 8]);
    const documents = new Uint8Array(12);
    documents[2] = documents[5] = 1;
    const photos = new Uint8Array(8);
    photos[3] = 1;
    const filters = [
      { kindMask: 1 << KIND_CODES.markdown, documents: null, photos: null },
      { kindMask: (1 << KIND_CODES.pdf) | (1 << KIND_CODES.photo), documents, photos },
      { kindMask: 0x3f, documents, photos: null },
    ];
    for (const filter of filters) {
      const allowed = (r: IndexRow): boolean =>
        ![2, 3, 5, 8].includes(r.rowId) &&
        ((filter.kindMask >>> r.kind) & 1) === 1 &&
        (r.owner > 0 ? filter.documents === null || filter.documents[r.owner] === 1 : filter.photos === null || filter.photos[-r.owner] === 1);
      const fresh = indexOf(rows.filter(allowed));
      expect(fresh.size).toBeGreaterThan(50);
      const want = fresh.candidates(query, null, 60, 15).rowIds;
      expect(index.candidates(query, filter, 60, 15).rowIds).toEqual(want);
      expect(js.candidates(query, filter, 60, 15).rowIds).toEqual(want);
      // An unfiltered search in between must not disturb what the next filtered one reads.
      index.candidates(query, null, 60, 15);
      expect(index.candidates(query, filter, 60, 15).rowIds).toEqual(want);
    }
  });

  it('edge cases of the filter test: owners past the end of a bitmap, no kind allowed, rows added and removed between searches', () => {
    const index = indexOf(rows.slice(0, 1000));
    const js = indexOf(rows.slice(0, 1000), { simd: false });
    const short = { kindMask: 0x3f, documents: new Uint8Array([0, 0, 0, 1]), photos: new Uint8Array([0, 1]) };
    const both = (filter: typeof short, coarseK = 80, refineK = 20): number[] => {
      const got = index.candidates(query, filter, coarseK, refineK);
      expect(got).toMatchObject({ rowIds: js.candidates(query, filter, coarseK, refineK).rowIds });
      return got.rowIds;
    };
    // Documents 4..11 and photos 2..7 are past the bitmaps' ends: excluded.
    const shortIds = both(short, 5000, 5000);
    expect(new Set(shortIds)).toEqual(new Set(rows.slice(0, 1000).filter((r) => r.owner === 3 || r.owner === -1).map((r) => r.rowId)));
    expect(both({ ...short, kindMask: 0 }).length).toBe(0);
    const all = { kindMask: 0x3f, documents: null, photos: null } as unknown as typeof short;
    const before = both(all);
    // A row added after a filtered search is seen by the next one, and a removed one is not.
    const nearest: IndexRow = { rowId: 5000, targetId: 5000, owner: 3, kind: KIND_CODES.pdf, code: quantize(query, null) };
    index.add(nearest);
    js.add(nearest);
    expect(both(all)).toContain(5000);
    expect(both(short, 1, 1)).toEqual([5000]);
    index.remove([5000, before[0]!]);
    js.remove([5000, before[0]!]);
    expect(both(all)).not.toContain(5000);
    expect(both(all)).not.toContain(before[0]);
  });
});
