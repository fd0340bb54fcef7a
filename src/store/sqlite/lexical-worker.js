// @ts-check
/**
 * Worker thread that ranks the lexical (KEYWORD) signal of large SQLite stores (lexical-thread.ts
 * says when and why): better-sqlite3 is synchronous, so on the main thread BM25 and the vector
 * searches of one query ran one after the other; here BM25 runs on the second core meanwhile.
 *
 * It holds its own read-only connection to the store's file (WAL: readers never block the writer
 * or each other) and answers `{ id, query, limit, filter }` with `{ id, rows }` ([target id,
 * score], best first) from the same LexicalRanker the main thread uses for small stores. Each
 * query is one read transaction begun when the query starts, so it sees every commit made
 * before the main thread sent it.
 *
 * Plain JavaScript (checked by tsc via @ts-check) because a worker is started from a file path;
 * it registers tsx itself (as pdf-worker.js does) so it runs under tsx, vitest and plain node.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { register } from 'tsx/esm/api';

const port = parentPort;
if (!port) throw new Error('lexical-worker must run as a worker thread');
register();

/** @type {{ file: string, exact: boolean, planBudget: number, rankBudget: number }} */
const options = workerData;

/** @type {import('./lexical-ranker.js').LexicalRanker} */
let ranker;
/** @type {Database.Database} */
let db;
try {
  /** @type {typeof import('./lexical-ranker.js')} */
  const { LexicalRanker } = await import('./lexical-ranker.js');
  db = new Database(options.file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  // As the main connection: the plan reads scattered doclist pages, mapping saves a copy per page.
  db.pragma('mmap_size = 1073741824');
  db.pragma('cache_size = -65536');
  ranker = new LexicalRanker(db, { exact: options.exact, planBudget: options.planBudget, rankBudget: options.rankBudget });
} catch (error) {
  port.postMessage({ kind: 'load-failed', message: error instanceof Error ? error.message : String(error) });
  throw error;
}

port.on('message', (/** @type {{ kind: 'rank', id: number, query: string, limit: number, filter?: import('../knowledge-store.js').SearchFilter } | { kind: 'fail', message: string } | { kind: 'stop' }} */ msg) => {
  if (msg.kind === 'stop') {
    db.close();
    port.close();
    return;
  }
  // For tests of the parent's crash handling: dies as any uncaught error would.
  if (msg.kind === 'fail') throw new Error(msg.message);
  const { id } = msg;
  try {
    const rows = ranker.rank(msg.query, msg.limit, msg.filter);
    port.postMessage({ kind: 'rows', id, rows });
  } catch (error) {
    const e = /** @type {{ name?: unknown, code?: unknown, category?: unknown, message?: unknown, details?: unknown }} */ (typeof error === 'object' && error !== null ? error : {});
    port.postMessage({
      kind: 'failed',
      id,
      error: { name: String(e.name ?? 'Error'), code: typeof e.code === 'string' ? e.code : null, category: typeof e.category === 'string' ? e.category : null, message: String(e.message ?? error), details: e.details ?? null },
    });
  }
});
port.postMessage({ kind: 'ready' });
