/**
 * The rows of the lexical (KEYWORD) signal: the BM25 top k of a query's terms over the filter's
 * pages, as [target id, score] (score = −bm25, best first), with nothing else read.
 *
 * Why a module of its own: the SQLite store runs this on its own connection while the store is
 * small, and at scale in the lexical worker (lexical-worker.js, on a read-only connection of its
 * own to the same file) beside the vector searches on the main thread. Both run this same code on
 * the same file, so both give the same rows and the same scores; the store then reads the targets
 * and excerpts of those rows itself.
 */
import type Database from 'better-sqlite3';
import type { SearchFilter } from '../knowledge-store.js';
import { lexicalPhrases } from './lexical-query.js';
import { LexicalTopK } from './lexical-top-k.js';
import { compileFilter, type CompiledFilter } from './search-filter.js';

export interface LexicalRankOptions {
  /** 'exact': one FTS5 OR over every term (baselines); false: the top-k plan (lexical-top-k.ts). */
  exact: boolean;
  /** Conjunctions the plan may run (SqliteKnowledgeStoreOptions.lexicalPlanBudget). */
  planBudget: number;
  /** Pages FTS5 may rank when the plan does not take the query (SqliteKnowledgeStoreOptions.lexicalRankBudget). */
  rankBudget: number;
}

/** [target id, score], best first. */
export type LexicalRow = [number, number];

export class LexicalRanker {
  private readonly topK: LexicalTopK;

  constructor(
    private readonly db: Database.Database,
    private readonly options: LexicalRankOptions,
  ) {
    this.topK = new LexicalTopK(db, options.planBudget);
  }

  /** The best `limit` targets for the raw query `query` (the caller has checked `limit`). */
  rank(query: string, limit: number, filter: SearchFilter | undefined): LexicalRow[] {
    const db = this.db;
    const phrases = lexicalPhrases(query);
    if (phrases.length === 0 || limit === 0) return [];
    const compiled = compileFilter(db, filter);

    // One read transaction: the range, the plan's several queries and the fallbacks see one
    // snapshot of the index (a commit by another connection between them would change idf halfway
    // through the proof). It starts here, so it sees every commit made before this call.
    return db.transaction((): LexicalRow[] => {
      let range: [number, number] = [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
      if (compiled?.namesDocuments) {
        const found = this.targetRange(compiled);
        if (!found) return [];
        range = found;
      }
      // FTS5, best first, over the filter's pages: [rowid, bm25] (bm25 is negative, lower is better).
      const rank = (expression: string, count: number): [number, number][] =>
        (compiled
          ? db
              .prepare(
                `SELECT lexical.rowid, bm25(lexical) AS score FROM lexical JOIN targets t ON t.id = lexical.rowid
                 WHERE lexical MATCH ? AND lexical.rowid BETWEEN ? AND ? AND ${compiled.sql} ORDER BY score, lexical.rowid LIMIT ?`,
              )
              .raw()
              .all(expression, range[0], range[1], ...compiled.params, count)
          : db.prepare('SELECT rowid, bm25(lexical) AS score FROM lexical WHERE lexical MATCH ? ORDER BY score, rowid LIMIT ?').raw().all(expression, count)) as [number, number][];
      const everyTerm = (kept: string[]): LexicalRow[] => rank(kept.join(' OR '), limit).map(([id, bm25]) => [id, -bm25]);

      if (this.options.exact) return everyTerm(phrases);
      const top = this.topK.search(phrases, limit, rank, Boolean(compiled));
      if (top === null) return everyTerm(compiled ? phrases : this.prunePhrases(phrases));
      // Fewer than `limit` pages hold a weighted term: the rest of the answer is pages holding only
      // weightless ones, ordered by ~1e-6 of score. Ranked when cheap (a filter, or a small
      // corpus); at scale (the terms on > `rankBudget` pages) left out, as they always were.
      if (top.rows.length < limit && top.weightless.length > 0 && (compiled || top.weightlessPages <= this.options.rankBudget)) return everyTerm(phrases);
      return top.rows;
    })();
  }

  /** The id range of the targets a filter that names documents allows (they are contiguous per document). */
  private targetRange(compiled: CompiledFilter): [number, number] | null {
    const row = this.db.prepare(`SELECT min(t.id), max(t.id) FROM targets t WHERE ${compiled.sql}`).raw().get(...compiled.params) as [number | null, number | null];
    return row[0] === null || row[1] === null ? null : [row[0], row[1]];
  }

  /**
   * For queries of more weighted terms than the exact plan takes: the terms of an unfiltered query worth ranking by: FTS5's BM25 gives a term on more than
   * half the pages an IDF of ~0 (it clamps log((N − n + ½)/(n + ½)) at 1e-6), so such terms
   * change no score and only make FTS5 rank every page that has them — they are dropped while
   * another term remains. Then, rarest first, terms are kept while the pages they match fit
   * `rankBudget`. Filtered queries keep every term (a filter may leave only pages whose
   * sole match is a common word).
   */
  private prunePhrases(phrases: string[]): string[] {
    if (phrases.length < 2) return phrases;
    const db = this.db;
    const pages = db.prepare('SELECT count(*) FROM targets').pluck().get() as number;
    const half = Math.floor(pages / 2);
    const budget = Number.isFinite(this.options.rankBudget) ? Math.max(1, Math.floor(this.options.rankBudget)) : Number.POSITIVE_INFINITY;
    const cap = Math.min(pages, Math.max(half, Number.isFinite(budget) ? budget : 0)) + 1;
    const probe = db.prepare('SELECT count(*) FROM (SELECT 1 FROM lexical WHERE lexical MATCH ? LIMIT ?)').pluck();
    const counted = phrases
      .map((phrase) => ({ phrase, matches: probe.get(phrase, cap) as number }))
      .filter((p) => p.matches > 0)
      .sort((a, b) => a.matches - b.matches);
    const kept: string[] = [];
    let total = 0;
    for (const { phrase, matches } of counted) {
      if (kept.length > 0 && (matches > half || total + matches > budget)) break;
      kept.push(phrase);
      total += matches;
    }
    return kept;
  }
}
