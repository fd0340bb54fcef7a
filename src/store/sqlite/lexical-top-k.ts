/**
 * The exact BM25 top k of an OR of query phrases, without ranking every page that matches.
 *
 * Why: FTS5's `bm25()` over `"a" OR "b" OR "c"` scores every page holding any term (~1 µs each),
 * and at 1M pages with common words that is most of the corpus (~1 s a query). Dropping the
 * commonest terms instead (the old budget) is fast but wrong: their weight is not small.
 *
 * How (a MaxScore argument over term subsets, with FTS5 doing all the scoring):
 * - A page's score is a sum over the query's phrases of idf × tf-part, each part at most
 *   idf × (k1 + 1), or the phrase's best score alone once a plan has ranked it alone (`bound`).
 *   So a page whose matched phrases are the set S scores at most ub(S) = Σ bound over S.
 * - `"a" AND "b"` ranked by FTS5's bm25 gives each page the sum over a and b only: for a page
 *   that holds exactly {a, b} of the query's phrases that is its full score, to the bit (absent
 *   phrases add +0.0; the order of the sum is the query's). For a page that holds more, it is
 *   less than its full score, which the conjunction of its own, larger set (a higher ub, so
 *   ranked earlier) already gave it.
 * - Conjunctions run in decreasing ub order; each keeps its best `limit` pages (a page below
 *   them has `limit` pages at least as good, by full score); a page keeps the best score it
 *   was given. θ = the limit-th best so far. When the next set's ub is below θ, no page not yet
 *   seen can reach the top: the answer is exact, with FTS5's own scores.
 * - Terms on at least half the pages get FTS5's floor idf of 1e-6 ("weightless"): a conjunction
 *   with one would read its whole doclist (tens of ms at 1M) for at most 2.2e-6 of score. They
 *   are left out of the conjunctions and added, exactly as FTS5 computes them, to the pages whose
 *   order they can change (those within their total bound, ε, of θ): term frequency from
 *   `highlight()` on that one page, page length from the index's own `docsize` and averages.
 *   Those scores then equal FTS5's up to floating-point rounding (the sum's order differs).
 * - idf needs each phrase's page count: counted once per phrase and cached until the index
 *   changes (its structure record changes on every write).
 *
 * Limits (the caller's fallbacks): more than MAX_PLAN_TERMS weighted terms (2^n sets), or
 * `planBudget` conjunctions run before θ closes the plan (`complete` is then false: the best
 * found is returned). Pages that hold only weightless terms score below every page that holds a
 * weighted one; the plan does not rank them (the caller does, when fewer than k pages hold one).
 */
import type Database from 'better-sqlite3';
import { LEXICAL_TOKENIZE } from './migrations.js';

/** FTS5's bm25 constants (fts5_aux.c). */
const K1 = 1.2;
const B = 0.75;
/** The idf FTS5 gives a term on at least half the rows. */
const FLOOR_IDF = 1e-6;
/** Weighted terms up to which the subset plan runs (2^8 − 1 sets at most). */
export const MAX_PLAN_TERMS = 8;
/** Page counts kept at most (one entry per distinct phrase searched since the index last changed). */
const MAX_CACHED_COUNTS = 20_000;
/** Relative slack on bounds, so floating-point rounding of FTS5's sums cannot fool a comparison. */
const SLACK = 1e-9;

/** FTS5 shadow-table record ids (fts5Int.h): totals per column, and the segment structure. */
const AVERAGES_ID = 1;
const STRUCTURE_ID = 10;

/** Runs `MATCH expression` over the caller's scope (filter), best first; [rowid, bm25 (negative)]. */
export type RankConjunction = (expression: string, rows: number) => [number, number][];

export interface TopK {
  /** [rowid, score], best first (score positive: −bm25). */
  rows: [number, number][];
  /** True when the plan proved the answer exact; false when the conjunction budget ran out first. */
  complete: boolean;
  /** Phrases left out of the conjunctions as weightless (on at least half the pages). */
  weightless: string[];
  /** Pages the weightless phrases match, summed. */
  weightlessPages: number;
  /** Conjunction queries run. */
  conjunctions: number;
}

/** SQLite varint (as FTS5 writes it): 7 bits a byte, high bit = more, the 9th byte whole. */
function readVarint(buf: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    const byte = buf[at + i];
    if (byte === undefined) throw new Error('Truncated varint in the full-text index.');
    if (i === 8) return [value * 256 + byte, at + 9];
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return [value, at + i + 1];
  }
  return [value, at + 9];
}

/** Rows in the full-text index (pages and photos with text), from FTS5's averages record: one small read, no scan. */
export function lexicalRowCount(db: Database.Database): number {
  const averages = db.prepare('SELECT block FROM lexical_data WHERE id = ?').pluck().get(AVERAGES_ID) as Buffer | undefined;
  return averages && averages.length > 0 ? readVarint(averages, 0)[0] : 0;
}

/** FTS5's idf: ln((N − n + ½) / (n + ½)), floored at 1e-6. */
export function fts5Idf(rows: number, hits: number): number {
  const idf = Math.log((rows - hits + 0.5) / (hits + 0.5));
  return idf <= 0 ? FLOOR_IDF : idf;
}

export class LexicalTopK {
  private statsKey: Buffer | null = null;
  private readonly pageCounts = new Map<string, number>();
  /**
   * A phrase's best single-term score over the whole index, learnt for free when an unfiltered
   * plan ranks the phrase alone (its top page); a tighter bound than idf × (k1 + 1) for later
   * queries. Dropped with the page counts when the index changes.
   */
  private readonly bestAlone = new Map<string, number>();
  private totalRows = 0;
  private averageLength = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly planBudget: number,
  ) {}

  /** Row count and mean length from FTS5's averages record; the page-count cache is dropped when the index changed. */
  private refresh(): void {
    const get = this.db.prepare('SELECT block FROM lexical_data WHERE id = ?').pluck();
    const averages = (get.get(AVERAGES_ID) as Buffer | undefined) ?? Buffer.alloc(0);
    const structure = (get.get(STRUCTURE_ID) as Buffer | undefined) ?? Buffer.alloc(0);
    const key = Buffer.concat([averages, Buffer.from([0]), structure]);
    if (this.statsKey?.equals(key)) return;
    this.statsKey = key;
    this.pageCounts.clear();
    this.bestAlone.clear();
    if (averages.length === 0) {
      this.totalRows = 0;
      this.averageLength = 0;
      return;
    }
    const [rows, next] = readVarint(averages, 0);
    const [tokens] = readVarint(averages, next);
    this.totalRows = rows;
    this.averageLength = rows > 0 ? tokens / rows : 0;
  }

  /** Pages holding the phrase (a plain count(*): twice as fast as one capped by a LIMIT subquery, whose rows go through the VM). */
  private pageCount(phrase: string): number {
    let n = this.pageCounts.get(phrase);
    if (n === undefined) {
      n = this.db.prepare('SELECT count(*) FROM lexical WHERE lexical MATCH ?').pluck().get(phrase) as number;
      if (this.pageCounts.size >= MAX_CACHED_COUNTS) {
        this.pageCounts.clear();
        this.bestAlone.clear();
      }
      this.pageCounts.set(phrase, n);
    }
    return n;
  }

  /**
   * The best `limit` pages for the OR of `phrases` (query order), or null when the query has more
   * weighted terms than the plan takes (the caller falls back). `filtered`: `rank` sees only some
   * pages (then its results teach nothing about the whole index).
   */
  search(phrases: readonly string[], limit: number, rank: RankConjunction, filtered = false): TopK | null {
    this.refresh();
    const rows = this.totalRows;
    const live = phrases.map((phrase, i) => ({ phrase, i, hits: this.pageCount(phrase) })).filter((p) => p.hits > 0);
    if (live.length === 0 || limit <= 0) return { rows: [], complete: true, weightless: [], weightlessPages: 0, conjunctions: 0 };
    const withIdf = live.map((p) => ({ ...p, idf: fts5Idf(rows, p.hits) }));
    // A phrase of several tokens stays weighted whatever its idf: highlight() merges overlapping instances.
    const isWeightless = (p: { phrase: string; idf: number }): boolean => p.idf <= FLOOR_IDF && !/[^\p{L}\p{N}]/u.test(p.phrase.slice(1, -1));
    let weighted = withIdf.filter((p) => !isWeightless(p));
    let weightless = withIdf.filter(isWeightless);
    // Only weightless terms: they are all there is to rank by.
    if (weighted.length === 0) [weighted, weightless] = [weightless, []];
    if (weighted.length > MAX_PLAN_TERMS) return null;

    const epsilon = weightless.length * FLOOR_IDF * (K1 + 1) * (1 + SLACK);
    const m = weighted.length;
    const bound = weighted.map((p) => Math.min(p.idf * (K1 + 1), this.bestAlone.get(p.phrase) ?? Number.POSITIVE_INFINITY));
    const sets: { mask: number; ub: number; size: number }[] = [];
    for (let mask = 1; mask < 1 << m; mask++) {
      let ub = 0;
      let size = 0;
      for (let j = 0; j < m; j++) {
        if ((mask & (1 << j)) === 0) continue;
        ub += bound[j]!;
        size++;
      }
      sets.push({ mask, ub: ub * (1 + SLACK), size });
    }
    // Decreasing bound; a superset before its subsets on a tie (its pages' scores are then final first).
    sets.sort((a, b) => b.ub - a.ub || b.size - a.size);

    const best = new Map<number, number>();
    const kth = (): number => {
      if (best.size < limit) return Number.NEGATIVE_INFINITY;
      return [...best.values()].sort((a, b) => b - a)[limit - 1]!;
    };
    let conjunctions = 0;
    let complete = true;
    for (const set of sets) {
      if (set.ub + epsilon < kth()) break;
      if (conjunctions >= this.planBudget) {
        complete = false;
        break;
      }
      const expression = weighted.filter((_, j) => set.mask & (1 << j)).map((p) => p.phrase).join(' AND ');
      conjunctions++;
      const found = this.rankBand(expression, limit, epsilon, rank);
      if (set.size === 1 && !filtered && found.length > 0) this.bestAlone.set(expression, -found[0]![1]);
      for (const [id, bm25] of found) {
        const score = -bm25;
        if (!((best.get(id) ?? Number.NEGATIVE_INFINITY) >= score)) best.set(id, score);
      }
    }

    let ranked = [...best.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    if (weightless.length > 0 && ranked.length > 0) {
      // Weightless terms can reorder only pages within epsilon of the limit-th: add their parts there.
      const floor = ranked.length >= limit ? ranked[limit - 1]![1] - epsilon : Number.NEGATIVE_INFINITY;
      const terms = weightless.sort((a, b) => a.i - b.i).map((p) => p.phrase);
      const parts = this.weightlessParts(
        ranked.filter(([, score]) => score >= floor).map(([id]) => id),
        terms,
      );
      ranked = ranked.map(([id, score]) => [id, score + (parts.get(id) ?? 0)] as [number, number]);
      ranked.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    }
    return { rows: ranked.slice(0, limit), complete, weightless: weightless.map((p) => p.phrase), weightlessPages: weightless.reduce((n, p) => n + p.hits, 0), conjunctions };
  }

  /**
   * A conjunction's best `limit` pages, and when weightless terms are left out, also every page
   * within epsilon of the limit-th (one of those may pass it once their parts are added).
   */
  private rankBand(expression: string, limit: number, epsilon: number, rank: RankConjunction): [number, number][] {
    let rows = epsilon > 0 ? limit + 32 : limit;
    for (;;) {
      const found = rank(expression, rows);
      if (epsilon === 0 || found.length < rows) return found;
      const limitTh = -found[limit - 1]![1];
      if (-found[rows - 1]![1] < limitTh - epsilon) return found;
      rows *= 4;
    }
  }

  /**
   * What FTS5's bm25 adds for the weightless phrases on each of these pages (idf 1e-6 each),
   * computed as fts5_aux.c does. Term frequencies come from `highlight()` on a scratch FTS5
   * table holding only these pages (same tokenizer): on the main index a rowid-restricted match
   * still walks the whole doclist of a term on half the pages (~10 ms at 200k pages).
   */
  private weightlessParts(ids: number[], phrases: readonly string[]): Map<number, number> {
    const db = this.db;
    db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.lexical_scratch USING fts5 (text, tokenize = '${LEXICAL_TOKENIZE}')`);
    db.exec('DELETE FROM temp.lexical_scratch');
    const list = JSON.stringify(ids);
    db.prepare('INSERT INTO temp.lexical_scratch (rowid, text) SELECT id, text FROM main.targets WHERE id IN (SELECT value FROM json_each(?))').run(list);
    const lengths = new Map(
      (db.prepare('SELECT id, sz FROM main.lexical_docsize WHERE id IN (SELECT value FROM json_each(?))').raw().all(list) as [number, Buffer][]).map(([id, sz]) => [id, readVarint(sz, 0)[0]]),
    );
    const marked = db.prepare("SELECT rowid, highlight(lexical_scratch, 0, char(1), ''), text FROM temp.lexical_scratch WHERE lexical_scratch MATCH ?").raw();
    const parts = new Map<number, number>(ids.map((id) => [id, 0]));
    for (const phrase of phrases) {
      for (const [id, highlighted, text] of marked.all(phrase) as [number, string, string][]) {
        const length = lengths.get(id);
        if (length === undefined) continue;
        // highlight() opens one mark per phrase instance (instances of a one-token phrase never overlap).
        const tf = count(highlighted) - count(text);
        parts.set(id, parts.get(id)! + FLOOR_IDF * ((tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * length) / this.averageLength))));
      }
    }
    db.exec('DELETE FROM temp.lexical_scratch');
    return parts;
  }
}

function count(text: string): number {
  let n = 0;
  for (let at = text.indexOf('\u0001'); at >= 0; at = text.indexOf('\u0001', at + 1)) n++;
  return n;
}
