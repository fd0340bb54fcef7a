/**
 * The orphan-blob sweep: deletes the files no record refers to, once they are older than a grace
 * period. Ingest stores a file before the record that refers to it (a crash then leaves only
 * unreferenced bytes, never a record without its file), and a failed ingest deletes what it
 * stored; when that clean-up fails too (storage down at that moment), the file stays, referenced
 * by nothing. Keys are content hashes, so such a file is never reached again except by an upload
 * of the same bytes, and it costs only space: this sweep gives the space back.
 *
 * Safe beside ingests that run meanwhile, on any replica: a blob is deleted only when
 *   1. it was last written more than `graceMs` ago (a put, even of bytes already there, renews
 *      that time: see BlobStore.put), and
 *   2. no record refers to it (the knowledge store's `isBlobReferenced`, which on Qdrant counts
 *      an add still in progress too), and
 *   3. its write time, read again after 2, has not moved (no ingest put it meanwhile).
 * An ingest puts its files and writes its record within its deadline (INGEST_TIMEOUT_MS), so a
 * grace period longer than that never takes a file an ingest is about to refer to. What is left
 * is the moment between step 3 and the delete: an ingest would have to put those very bytes in
 * that instant, after they had lain unreferenced for the whole grace period.
 *
 * It refuses to delete anything when not one file is referenced (NothingReferencedError): that is
 * what pointing it at the wrong records (another DATA_DIR, collection or bucket) looks like.
 *
 * Unfinished adds first. On Qdrant an add writes its records uncommitted and flips them at the end;
 * a writer killed in between (a replica SIGKILLed mid-ingest) leaves invisible records that still
 * refer to its files, and only an add of the same file would take them over. So before looking at
 * files the sweep removes the records of adds claimed more than INGEST_TIMEOUT_MS + graceMs ago
 * (`removeUnfinished`; SQLite adds are one transaction and leave none), and their files then go in
 * the same run by the rules above, only when nothing committed refers to them. Why that age never
 * touches a running add: an ingest dates its claim (`claimed_ms`) before writing anything, and its
 * deadline (INGEST_TIMEOUT_MS) stops it from starting any request after claim + INGEST_TIMEOUT_MS;
 * graceMs (at least INGEST_TIMEOUT_MS, 24 h by default) more covers the request in flight at that
 * moment and clocks of replicas that disagree. (`fieldscope migrate` adds without a deadline, but
 * one add is a bounded number of requests, each with its own timeout: far less than a day.) A
 * rerun of the same file meanwhile takes the claim over under a new id and a new date, and the
 * removal filters by the old attempt's id and `committed: false`, so it cannot reach the rerun.
 */
import { AppError } from '../errors.js';
import type { UnfinishedAdd } from '../store/knowledge-store.js';
import type { BlobEntry, BlobStore } from './blob-store.js';

export interface SweepOptions {
  blobs: BlobStore;
  /** Whether any record (committed or being written) refers to the blob. */
  isReferenced(key: string): Promise<boolean>;
  /** Blobs written less than this long ago are kept, referenced or not (ms). */
  graceMs: number;
  /**
   * Removes the records of unfinished adds older than `olderThanMs` (in a dry run: lists them) —
   * the knowledge store's `removeUnfinishedAdds`. Left out: files only.
   */
  removeUnfinished?: (options: { olderThanMs: number; dryRun: boolean }) => Promise<UnfinishedAdd[]>;
  /** INGEST_TIMEOUT_MS: unfinished adds older than this plus `graceMs` are removed. Required with `removeUnfinished`. */
  ingestTimeoutMs?: number;
  /** Report what would be deleted; delete nothing. */
  dryRun?: boolean;
  /** Sweep even when no file at all is referenced (refused otherwise: see NothingReferencedError). */
  force?: boolean;
  /** Each orphan as it is found (deleted, or not in a dry run), and each failure. */
  onItem?: (item: SweepItem) => void;
  now?: () => number;
}

export interface SweepItem {
  /** A file's key, or for an unfinished add "document ID" / "photo ID". */
  key: string;
  outcome: 'deleted' | 'would-delete' | 'failed' | 'removed-unfinished' | 'would-remove-unfinished';
  reason?: string;
}

export interface SweepSummary {
  /** Blobs looked at. */
  scanned: number;
  /** Kept: written within the grace period. */
  recent: number;
  /** Kept: a record refers to them. */
  referenced: number;
  /** Deleted (in a dry run: would have been). */
  orphans: number;
  failed: number;
  /** Unfinished adds whose records were removed (in a dry run: would have been). */
  unfinished: number;
}

export async function sweepOrphanBlobs(options: SweepOptions): Promise<SweepSummary> {
  const { blobs, graceMs } = options;
  const now = options.now ?? Date.now;
  const isRecent = (writtenAt: number) => now() - writtenAt < graceMs;
  const summary: SweepSummary = { scanned: 0, recent: 0, referenced: 0, orphans: 0, failed: 0, unfinished: 0 };
  const failed = (key: string, error: unknown) => {
    summary.failed++;
    options.onItem?.({ key, outcome: 'failed', reason: error instanceof Error ? error.message : String(error) });
  };

  // 0. Abandoned unfinished adds: their records go first, so their files become candidates below.
  if (options.removeUnfinished) {
    if (options.ingestTimeoutMs === undefined) throw new Error('sweepOrphanBlobs: removeUnfinished needs ingestTimeoutMs');
    const dryRun = options.dryRun === true;
    for (const add of await options.removeUnfinished({ olderThanMs: options.ingestTimeoutMs + graceMs, dryRun })) {
      summary.unfinished++;
      const files = add.blobKeys.length > 0 ? ` (claimed ${add.claimedAt}; files ${add.blobKeys.join(', ')})` : ` (claimed ${add.claimedAt})`;
      options.onItem?.({ key: `${add.type} ${add.id}`, outcome: dryRun ? 'would-remove-unfinished' : 'removed-unfinished', reason: files });
    }
  }

  // 1. Find the candidates: old enough, referenced by nothing.
  const candidates: BlobEntry[] = [];
  for await (const entry of blobs.list()) {
    summary.scanned++;
    if (isRecent(entry.writtenAt)) {
      summary.recent++;
      continue;
    }
    try {
      if (await options.isReferenced(entry.key)) summary.referenced++;
      else candidates.push(entry);
    } catch (error) {
      failed(entry.key, error);
    }
  }
  // Files but not one referenced: the records are elsewhere (another DATA_DIR, collection prefix or
  // bucket than the files'), or the knowledge base is empty. The first is a configuration mistake
  // that would cost every file, so only an explicit `force` goes on.
  if (summary.referenced === 0 && candidates.length > 0 && !options.force) throw new NothingReferencedError(candidates.length);

  // 2. Delete each one that is still unreferenced and was not written again meanwhile.
  for (const entry of candidates) {
    try {
      if (await options.isReferenced(entry.key)) {
        summary.referenced++;
        continue;
      }
      const writtenAt = await blobs.writtenAt(entry.key);
      if (writtenAt === null) continue; // deleted meanwhile (another sweep, a delete)
      if (writtenAt !== entry.writtenAt || isRecent(writtenAt)) {
        summary.recent++;
        continue;
      }
      if (!options.dryRun) await blobs.delete(entry.key);
      summary.orphans++;
      options.onItem?.({ key: entry.key, outcome: options.dryRun ? 'would-delete' : 'deleted' });
    } catch (error) {
      failed(entry.key, error);
    }
  }
  return summary;
}

/** The sweep found files but no record referring to any of them, and deleted nothing (see `force`). */
export class NothingReferencedError extends AppError {
  constructor(candidates: number) {
    super(
      'SWEEP_NOTHING_REFERENCED',
      'CONFIGURATION',
      `No stored file is referenced by any record, and ${candidates} are old enough to sweep: the knowledge base is empty, or it is not the one these files belong to (check DATA_DIR, QDRANT_COLLECTION_PREFIX, QDRANT_TENANT and S3_BUCKET). Nothing was deleted. If the knowledge base really is empty, sweep with --force.`,
      { details: { candidates } },
    );
  }
}
