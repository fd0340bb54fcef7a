/**
 * Near-copy keys for records stored before they existed: page renders and photos with neither a
 * difference hash (knowledge-store schema 2) nor a layout signature (schema 4) are found by any
 * model only once their keys are computed. The store cannot compute them itself (it has neither
 * the original files nor the PDF renderer), so this walks the store's list of such records,
 * reads each original from the blob store, renders PDF pages exactly as ingest does, and stores
 * the keys record by record.
 *
 * Resumable and safe beside a running server: only records without keys are listed, each is
 * written on its own (an interrupted run leaves finished records done and the rest listed for the
 * next run), and a record deleted meanwhile is skipped. A record that cannot be read (its file is
 * gone, a PDF no longer renders) is reported and left for a later run.
 */
import type { BlobStore } from '../blob/blob-store.js';
import { nearCopyKeys } from '../identify/page-layout.js';
import type { HitTarget, KnowledgeStore } from '../store/knowledge-store.js';

export interface BackfillItem {
  target: HitTarget;
  /** 'hash': an informative difference hash was stored; 'layout': a layout signature (a mostly white image); 'gone': deleted meanwhile. */
  outcome: 'hash' | 'layout' | 'gone' | 'failed';
  reason?: string;
}

export interface BackfillSummary {
  hash: number;
  layout: number;
  gone: number;
  failed: number;
}

export interface BackfillDeps {
  store: KnowledgeStore;
  blobs: BlobStore;
  /** A PDF's page renders by page number, as ingest renders them. */
  renderPdfPages(bytes: Uint8Array, signal?: AbortSignal): Promise<Map<number, Uint8Array>>;
}

export interface BackfillOptions {
  /** Records listed per store call (default 50). */
  batch?: number;
  signal?: AbortSignal;
  onItem?: (item: BackfillItem) => void;
}

export async function backfillImageKeys(deps: BackfillDeps, options: BackfillOptions = {}): Promise<BackfillSummary> {
  const { store } = deps;
  const summary: BackfillSummary = { hash: 0, layout: 0, gone: 0, failed: 0 };
  // Pages of one document come together: render it once.
  let rendered: { documentId: string; pages: Map<number, Uint8Array> } | null = null;
  const imageOf = async (target: HitTarget): Promise<Uint8Array | null> => {
    if (target.kind === 'photo') {
      const photo = await store.getPhoto(target.photoId);
      return photo ? await readBlob(deps.blobs, photo.blobKey) : null;
    }
    if (rendered?.documentId !== target.documentId) {
      const document = await store.getDocument(target.documentId);
      if (!document) return null;
      const bytes = await readBlob(deps.blobs, document.blobKey);
      const pages = document.kind === 'pdf' ? await deps.renderPdfPages(bytes, options.signal) : new Map([[1, bytes]]);
      rendered = { documentId: target.documentId, pages };
    }
    const image = rendered.pages.get(target.pageNumber);
    if (!image) throw new Error(`page ${target.pageNumber} has no render`);
    return image;
  };

  let after: string | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    const { targets, next } = await store.listTargetsWithoutImageKeys(options.batch ?? 50, after);
    for (const target of targets) {
      options.signal?.throwIfAborted();
      let item: BackfillItem;
      try {
        const image = await imageOf(target);
        const keys = image ? await nearCopyKeys(image) : null;
        const stored = keys ? await store.setImageKeys(target, keys) : false;
        item = { target, outcome: !stored ? 'gone' : keys?.hash ? 'hash' : 'layout' };
      } catch (error) {
        if (options.signal?.aborted) throw error;
        item = { target, outcome: 'failed', reason: error instanceof Error ? error.message : String(error) };
      }
      summary[item.outcome]++;
      options.onItem?.(item);
    }
    if (next === null) return summary;
    after = next;
  }
}

async function readBlob(blobs: BlobStore, key: string): Promise<Uint8Array> {
  const bytes = await blobs.get(key);
  if (!bytes) throw new Error(`its file ${key} is missing from the file store`);
  return bytes;
}
