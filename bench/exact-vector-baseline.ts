/**
 * The exact answer to many vector queries at once, for recall: one sequential pass over every
 * stored vector of a space, scoring each block of vectors against every query (WebAssembly
 * SIMD dots, dot-kernel.ts) and keeping each query's `k` best targets (best row per target, as
 * the store's searchChunks/searchImages return them). At 1M pages an exact scan per query
 * (sqlite-vec) takes ~40 s, so a baseline of 3 queries was all a run could afford; this pass
 * costs about one scan for 50 queries or more, and measures recall on all of them.
 *
 * Reads the file through its own read-only connection; no filters (the bench has none).
 */
import Database from 'better-sqlite3';
import { createDotKernel } from './dot-kernel.js';

export interface ExactHit {
  targetId: number;
  /** Cosine similarity of the target's best row to the query. */
  score: number;
}

const BLOCK = 1024;

/** The k best targets of each query (query vectors need not be normalised), best first. */
export function exactTopTargets(file: string, space: 'chunk' | 'image', queries: Float32Array[], k: number): ExactHit[][] {
  if (queries.length === 0) return [];
  const dim = queries[0]!.length;
  if (dim % 4 !== 0) throw new Error(`the baseline kernel needs a dimension divisible by 4; got ${dim}`);
  const bytesPerVector = dim * 4;
  const queryBase = 0;
  const vectorBase = queries.length * bytesPerVector;
  const outBase = vectorBase + BLOCK * bytesPerVector;
  const { memory, dot } = createDotKernel(outBase + BLOCK * 4);
  const floats = new Float32Array(memory.buffer);
  queries.forEach((q, i) => {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += q[d]! * q[d]!;
    norm = Math.sqrt(norm);
    for (let d = 0; d < dim; d++) floats[(queryBase + i * bytesPerVector) / 4 + d] = q[d]! / norm;
  });
  const bytes = new Uint8Array(memory.buffer);
  const out = new Float32Array(memory.buffer, outBase, BLOCK);

  // Per query: up to k (target, score) pairs, kept unsorted with the index of the worst.
  const tops = queries.map(() => ({ targets: [] as number[], scores: [] as number[], worst: -1, worstScore: Number.NEGATIVE_INFINITY }));
  const offer = (top: (typeof tops)[number], targetId: number, score: number): void => {
    if (top.targets.length === k && score <= top.worstScore) return;
    const at = top.targets.indexOf(targetId);
    if (at >= 0) {
      if (score <= top.scores[at]!) return;
      top.scores[at] = score;
    } else if (top.targets.length < k) {
      top.targets.push(targetId);
      top.scores.push(score);
    } else {
      top.targets[top.worst] = targetId;
      top.scores[top.worst] = score;
    }
    if (top.targets.length === k) {
      let w = 0;
      for (let i = 1; i < k; i++) if (top.scores[i]! < top.scores[w]!) w = i;
      top.worst = w;
      top.worstScore = top.scores[w]!;
    }
  };

  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows =
      space === 'chunk'
        ? db.prepare('SELECT c.target_id, v.vector FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id ORDER BY v.chunk_id').raw()
        : db.prepare('SELECT target_id, vector FROM image_vectors ORDER BY target_id').raw();
    const blockTargets = new Float64Array(BLOCK);
    let n = 0;
    const flush = (): void => {
      for (let q = 0; q < queries.length; q++) {
        dot(vectorBase, n, dim / 4, queryBase + q * bytesPerVector, outBase);
        const top = tops[q]!;
        for (let r = 0; r < n; r++) {
          const score = out[r]!;
          if (top.targets.length < k || score > top.worstScore) offer(top, blockTargets[r]!, score);
        }
      }
      n = 0;
    };
    for (const [targetId, blob] of rows.iterate() as IterableIterator<[number, Buffer]>) {
      bytes.set(blob.subarray(0, bytesPerVector), vectorBase + n * bytesPerVector);
      blockTargets[n++] = targetId;
      if (n === BLOCK) flush();
    }
    if (n > 0) flush();
  } finally {
    db.close();
  }
  return tops.map((top) =>
    top.targets.map((targetId, i) => ({ targetId, score: top.scores[i]! })).sort((a, b) => b.score - a.score || a.targetId - b.targetId),
  );
}

/** `documentId#page` or `photo:id` of target ids (the bench's hit keys). */
export function targetKeys(file: string, targetIds: number[]): Map<number, string> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(
        `SELECT t.id, d.id, t.page_number, p.id FROM targets t
         LEFT JOIN documents d ON d.seq = t.document_seq LEFT JOIN photos p ON p.seq = t.photo_seq
         WHERE t.id IN (SELECT value FROM json_each(?))`,
      )
      .raw()
      .all(JSON.stringify(targetIds)) as [number, string | null, number | null, string | null][];
    return new Map(rows.map(([id, documentId, page, photoId]) => [id, documentId !== null ? `${documentId}#${page}` : `photo:${photoId}`]));
  } finally {
    db.close();
  }
}

/** Pages (bytes) per table and index, largest first: where the file's size goes. */
export function sizePerTable(file: string): { name: string; bytes: number; payload: number }[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT name, sum(pgsize) AS bytes, sum(payload) AS payload FROM dbstat GROUP BY name ORDER BY bytes DESC').all() as { name: string; bytes: number; payload: number }[];
  } finally {
    db.close();
  }
}
