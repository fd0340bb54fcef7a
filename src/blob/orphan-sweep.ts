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
 */
import { AppError } from '../errors.js';
import type { BlobEntry, BlobStore } from './blob-store.js';

export interface SweepOptions {
  blobs: BlobStore;
  /** Whether any record (committed or being written) refers to the blob. */
  isReferenced(key: string): Promise<boolean>;
  /** Blobs written less than this long ago are kept, referenced or not (ms). */
  graceMs: number;
  /** Report what would be deleted; delete nothing. */
  dryRun?: boolean;
  /** Sweep even when no file at all is referenced (refused otherwise: see NothingReferencedError). */
  force?: boolean;
  /** Each orphan as it is found (deleted, or not in a dry run), and each failure. */
  onItem?: (item: SweepItem) => void;
  now?: () => number;
}

export interface SweepItem {
  key: string;
  outcome: 'deleted' | 'would-delete' | 'failed';
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
}

export async function sweepOrphanBlobs(options: SweepOptions): Promise<SweepSummary> {
  const { blobs, graceMs } = options;
  const now = options.now ?? Date.now;
  const isRecent = (writtenAt: number) => now() - writtenAt < graceMs;
  const summary: SweepSummary = { scanned: 0, recent: 0, referenced: 0, orphans: 0, failed: 0 };
  const failed = (key: string, error: unknown) => {
    summary.failed++;
    options.onItem?.({ key, outcome: 'failed', reason: error instanceof Error ? error.message : String(error) });
  };

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
