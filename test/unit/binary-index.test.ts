// Rows a search may not return (removed, or outside a filter) must not take a place among the
// coarse candidates: an index with exclusions finds exactly what an index built without those
// rows finds, whichever way the exclusion is applied (the removed rows only, or a filter test
// of every row).
import { describe, expect, it } from 'vitest';
import { BinaryCodeIndex, KIND_CODES, quantize, type IndexRow } from '../../src/store/sqlite/binary-index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const dim = 96;
const random = rng(5);
const rows: IndexRow[] = Array.from({ length: 2000 }, (_, i) => ({
  rowId: i + 1,
  targetId: i + 1,
  owner: i % 3 === 0 ? -(1 + (i % 7)) : 1 + (i % 11),
  kind: i % 3 === 0 ? KIND_CODES.photo : i % 2 === 0 ? KIND_CODES.pdf : KIND_CODES.markdown,
  code: quantize(Float32Array.from({ length: dim }, () => random() - 0.5), null),
}));
const query = Float32Array.from({ length: dim }, () => random() - 0.5);

function indexOf(kept: IndexRow[]): BinaryCodeIndex {
  const index = new BinaryCodeIndex(dim);
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

  it('a filter (kinds, documents, photos) and removals together', () => {
    const index = indexOf(rows);
    index.remove([2, 3, 5, 8]);
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
      const got = index.candidates(query, filter, 60, 15);
      expect(got.rowIds).toEqual(fresh.candidates(query, null, 60, 15).rowIds);
    }
  });
});
