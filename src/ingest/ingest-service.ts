/**
 * Ingestion: an untrusted file → pages → chunks and embeddings → the knowledge store, all or
 * nothing, keyed by content hash so the same file never lands twice.
 *
 * Order matters for crash safety: files go to the content-addressed blob store first (a crash
 * there leaves only unreferenced blobs), then one store transaction writes every record. A
 * failed transaction removes the blobs it alone would have referenced. So when the blob store
 * fails (object storage down, its bucket gone) no record is written: the caller gets the
 * store's UNAVAILABLE error, and the same upload later finds no document by its hash and runs
 * whole (blobs already uploaded are overwritten with the same bytes).
 */
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import sharp from 'sharp';
import type { BlobStore } from '../blob/blob-store.js';
import { putMany } from '../blob/put-many.js';
import type { ClipEncoder } from '../clip/clip-encoder.js';
import { inspectImage, undecodableImage, UPLOADED_IMAGE_INPUT } from '../clip/image-decode.js';
import { TooLargeError } from '../errors.js';
import { nearCopyKeys } from '../identify/page-layout.js';
import { extractIdentifiers } from '../search/identifiers.js';
import { resolveGluedInStore } from '../search/glued-identifiers.js';
import { checkMetadata } from '../store/metadata-limits.js';
import { normalizeJsonStrings, normalizeText, truncateText } from '../text/normalize-text.js';
import type { ChunkInput, DocumentKind, DocumentRecord, JsonObject, KnowledgeStore, NewPage, PhotoRecord } from '../store/knowledge-store.js';
import { chunkText } from './chunk.js';
import { detectFileType } from './detect.js';
import type { ModerationService } from '../moderation/moderation-service.js';
import type { ReadTextResult, TextReader } from '../ocr/text-reader.js';
import { InvalidDocumentError } from './errors.js';
import type { ExtractedDocument } from './extracted.js';
import { backfillImageKeys, type BackfillOptions, type BackfillSummary } from './backfill-image-keys.js';
import { extractPdfIsolated } from './isolated-pdf.js';
import { readScannedPages } from './read-pages.js';
import { extractTextDocument } from './sections.js';

export interface IngestLimits {
  maxDocumentBytes: number;
  maxPages: number;
  maxImageBytes: number;
  maxImagePixels: number;
  /** Most characters of text in one PDF (see pdf.ts). */
  maxTextChars: number;
  /** Heap of the worker that reads one PDF, in MB (see isolated-pdf.ts). */
  pdfWorkerMemoryMb: number;
  /** Most time one PDF page may take, in ms. */
  pdfPageTimeoutMs: number;
  /** Most pages of one document read by OCR (OCR_MAX_PAGES); later pages without text stay without (textSource NONE). */
  ocrMaxPages: number;
  /** Most time reading one page may take, in ms (OCR_PAGE_TIMEOUT_MS); past it the ingest fails with DOCUMENT_TOO_COMPLEX. */
  ocrPageTimeoutMs: number;
}

export interface IngestSettings extends IngestLimits {
  /** Long side of the page render the image encoder sees (before padding to a square). */
  renderLongSide: number;
  thumbnailLongSide: number;
  /** Long side of the render OCR reads of a PDF page without a text layer (~190 dpi for A4). */
  ocrLongSide: number;
  /** CLIP's window without start/end tokens. */
  chunkTokens: number;
  chunkOverlapTokens: number;
}

export const DEFAULT_INGEST_SETTINGS: IngestSettings = {
  maxDocumentBytes: 100 * 1024 * 1024,
  maxPages: 2000,
  maxImageBytes: 20 * 1024 * 1024,
  maxImagePixels: 50_000_000,
  maxTextChars: 10_000_000,
  pdfWorkerMemoryMb: 256,
  pdfPageTimeoutMs: 15_000,
  ocrMaxPages: 100,
  ocrPageTimeoutMs: 60_000,
  ocrLongSide: 2048,
  renderLongSide: 448,
  thumbnailLongSide: 320,
  chunkTokens: 75,
  chunkOverlapTokens: 16,
};

export interface DocumentUpload {
  bytes: Uint8Array;
  filename?: string;
  title?: string | null;
  metadata?: JsonObject | null;
  /**
   * The caller's deadline (or its client going away): once aborted, queued encoder work is
   * dropped, the work stops at the next step, and nothing is written (the store commits the
   * document in one transaction, after the last check).
   */
  signal?: AbortSignal;
}

export interface PhotoUpload {
  bytes: Uint8Array;
  /** The caller's deadline: once aborted the work stops and nothing is written (see ingestDocument). */
  signal?: AbortSignal;
  filename?: string;
  caption?: string | null;
  metadata?: JsonObject | null;
}

const MIME: Record<string, string> = {
  pdf: 'application/pdf',
  markdown: 'text/markdown',
  html: 'text/html',
  text: 'text/plain',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heif: 'image/heif',
};
const EXTENSION: Record<string, string> = { pdf: 'pdf', markdown: 'md', html: 'html', text: 'txt', jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tiff', avif: 'avif', heif: 'heic' };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Metadata within the limits (depth checked before anything recurses into it), its strings normalised like all stored text. */
function validMetadata(metadata: JsonObject | null | undefined): JsonObject {
  return normalizeJsonStrings(checkMetadata(metadata));
}

/** Identifiers given as metadata values (e.g. {"partNumber": "4471-B"}) count as found on the item. */
function metadataIdentifiers(metadata: JsonObject): string[] {
  return Object.values(metadata).flatMap((v) => (typeof v === 'string' ? extractIdentifiers(v) : []));
}

/**
 * A photo's identifiers: those in its caption, its metadata values, and what was read on it
 * (plate text and codes), so a text search for the part number on the label finds the photo.
 */
function photoIdentifiers(caption: string | null, metadata: JsonObject, readText: ReadTextResult | null): string[] {
  return [...new Set([...(caption ? extractIdentifiers(caption) : []), ...metadataIdentifiers(metadata), ...(readText?.identifiers ?? [])])];
}

/** Told about photos as they come and go (near-duplicate detection keeps its hashes this way). */
export interface PhotoIndex {
  indexPhoto(photo: PhotoRecord, bytes: Uint8Array, vector: Float32Array, options?: { signal?: AbortSignal | undefined }): Promise<unknown>;
  forgetPhoto(photoId: string): Promise<void>;
  /** Opens a review item for an upload the moderation policy wants a person to look at. */
  flagUpload(input: { photoId: string | null; reasons: readonly string[]; signal?: AbortSignal | undefined }): Promise<unknown>;
}

export class IngestService {
  constructor(
    private readonly encoder: ClipEncoder,
    private readonly store: KnowledgeStore,
    private readonly blobs: BlobStore,
    private readonly settings: IngestSettings = DEFAULT_INGEST_SETTINGS,
    private readonly photoIndex: PhotoIndex | null = null,
    private readonly moderation: ModerationService | null = null,
    /** Reads text and codes on photos and scanned pages; null when OCR=off. */
    private readonly reader: TextReader | null = null,
  ) {}

  async ingestDocument(upload: DocumentUpload): Promise<{ document: DocumentRecord; created: boolean }> {
    const { bytes } = upload;
    if (bytes.length > this.settings.maxDocumentBytes) {
      throw new TooLargeError('PAYLOAD_TOO_LARGE', `The document is ${bytes.length} bytes; the limit is ${this.settings.maxDocumentBytes}.`, {
        details: { limitBytes: this.settings.maxDocumentBytes },
      });
    }
    const metadata = validMetadata(upload.metadata);
    const contentHash = sha256(bytes);
    const existing = await this.store.findDocumentByHash(contentHash);
    if (existing) return { document: await this.updateDocumentDetails(existing, upload.title, upload.metadata == null ? null : metadata), created: false };

    const { signal } = upload;
    const detected = detectFileType(bytes, upload.filename);
    const { kind, format, extracted: raw } = await this.extract(bytes, detected, signal);
    signal?.throwIfAborted();
    // Stored text is normalised once, here, like every other field (see normalize-text.ts).
    const normalized: ExtractedDocument = { title: raw.title === null ? null : normalizeText(raw.title), pages: raw.pages.map((p) => ({ ...p, text: normalizeText(p.text) })) };
    // Scanned pages get their text from OCR (before anything is embedded or written).
    const extracted = { title: normalized.title, pages: await readScannedPages(normalized.pages, this.reader, { pageTimeoutMs: this.settings.ocrPageTimeoutMs, signal }) };
    signal?.throwIfAborted();
    if (extracted.pages.length === 0 || extracted.pages.every((p) => !p.text.trim() && !p.image)) {
      throw new InvalidDocumentError('The document has no text and no pages to index.');
    }

    // Embeddings first (the slow part), so a failure here writes nothing at all.
    const chunkTexts = extracted.pages.map((p) => this.chunk(p.text));
    const flat = chunkTexts.flat();
    const chunkVectors = flat.length > 0 ? await this.encoder.embedTexts(flat, { priority: 'background', signal }) : [];
    const pageImages = await Promise.all(extracted.pages.map((p) => (p.image ? this.squarePage(p.image) : null)));
    const withImage = pageImages.filter((x): x is Uint8Array => x !== null);
    const imageVectors = withImage.length > 0 ? await this.encoder.embedImages(withImage, { signal }) : [];
    // Near-copy keys of the renders: a photo of this very page finds it on any model. The
    // difference hash when informative; a page of plain text or a scan (whose hashes collide with
    // any other page of text) keeps its layout signature instead (identify/page-layout.ts).
    const pageKeys = await Promise.all(extracted.pages.map(async (p) => (p.image ? await nearCopyKeys(p.image) : null)));
    // An uploaded image of a page is screened like a photo.
    const screening = kind === 'image' && imageVectors[0] ? await this.moderation?.assertImageAllowed(imageVectors[0], 'upload') : undefined;

    const written: string[] = [];
    const put = async (data: Uint8Array, ext: string) => {
      const key = await this.blobs.put(data, ext);
      written.push(key);
      return key;
    };
    try {
      const blobKey = await put(bytes, EXTENSION[format]!);
      const thumbnailKeys = await putMany(this.blobs, extracted.pages.map((p) => (p.thumbnail ? { bytes: p.thumbnail, extension: 'webp' } : null)), (key) => written.push(key));
      let chunkAt = 0;
      let imageAt = 0;
      const pages: NewPage[] = [];
      for (const [i, page] of extracted.pages.entries()) {
        const texts = chunkTexts[i]!;
        const chunks: ChunkInput[] = texts.map((text) => ({ text, vector: chunkVectors[chunkAt++]! }));
        pages.push({
          number: page.number,
          text: page.text,
          textSource: page.textSource,
          thumbnailKey: thumbnailKeys[i] ?? null,
          imageVector: pageImages[i] ? imageVectors[imageAt++]! : null,
          chunks,
          identifiers: extractIdentifiers(page.text),
          imageHash: pageKeys[i]?.hash ?? null,
          imageLayout: pageKeys[i]?.layout ?? null,
        });
      }
      if (pages[0]) pages[0].identifiers = [...new Set([...pages[0].identifiers, ...metadataIdentifiers(metadata)])];
      // The last moment to give up: the store writes the document in one transaction after this.
      signal?.throwIfAborted();
      const given = upload.title ? normalizeText(upload.title).trim() : '';
      const fromName = upload.filename ? normalizeText(path.parse(upload.filename).name) : '';
      const title = truncateText(given || extracted.title?.trim() || fromName || 'Untitled', 500);
      const document: DocumentRecord = {
        id: randomUUID(),
        title,
        kind,
        mimeType: MIME[format]!,
        contentHash,
        byteSize: bytes.length,
        pageCount: pages.length,
        metadata,
        blobKey,
        createdAt: new Date().toISOString(),
      };
      const added = await this.store.addDocument({ document, pages }, { signal });
      if (added.created) {
        await this.completeOrWithdraw(signal, async () => {
          if (screening?.decision === 'review') await this.photoIndex?.flagUpload({ photoId: null, reasons: [`Document ${added.document.id} ("${added.document.title}"):`, ...screening.reasons], signal });
        }, () => this.deleteDocument(added.document.id));
      }
      return added;
    } catch (error) {
      await this.releaseBlobs(written);
      throw error;
    }
  }

  /**
   * The same file again: its pages stay, and the title and metadata the upload gives (when it
   * gives them) replace the stored ones, so a re-ingest with `{site: "north"}` is found by that
   * filter. Nothing given, or nothing different: the record as it is, no write.
   */
  private async updateDocumentDetails(existing: DocumentRecord, title: string | null | undefined, metadata: JsonObject | null): Promise<DocumentRecord> {
    const newTitle = title?.trim() ? title.trim().slice(0, 500) : existing.title;
    const newMetadata = metadata ?? existing.metadata;
    if (newTitle === existing.title && sameJson(newMetadata, existing.metadata)) return existing;
    const [first] = await this.store.getPages(existing.id);
    const page = first
      ? { number: first.number, identifiers: [...new Set([...extractIdentifiers(first.text ?? ''), ...metadataIdentifiers(newMetadata)])] }
      : { number: 1, identifiers: [] };
    return (await this.store.updateDocumentDetails(existing.id, { title: newTitle, metadata: newMetadata, page })) ?? existing;
  }

  /** As updateDocumentDetails, for a photo's caption (re-chunked and re-embedded) and metadata. */
  private async updatePhotoDetails(existing: PhotoRecord, caption: string | null | undefined, metadata: JsonObject | null): Promise<PhotoRecord> {
    const newCaption = caption === undefined ? existing.caption : caption;
    const newMetadata = metadata ?? existing.metadata;
    if (newCaption === existing.caption && sameJson(newMetadata, existing.metadata)) return existing;
    const chunks = newCaption ? this.chunk(newCaption) : [];
    const vectors = chunks.length > 0 ? await this.encoder.embedTexts(chunks, { priority: 'background' }) : [];
    const updated = await this.store.updatePhotoDetails(existing.id, {
      caption: newCaption,
      metadata: newMetadata,
      chunks: chunks.map((text, i) => ({ text, vector: vectors[i]! })),
      identifiers: photoIdentifiers(newCaption, newMetadata, existing.readText),
    });
    return updated ?? existing;
  }

  async ingestPhoto(upload: PhotoUpload): Promise<{ photo: PhotoRecord; created: boolean }> {
    const { bytes } = upload;
    const info = await inspectImage(bytes, { maxBytes: this.settings.maxImageBytes, maxPixels: this.settings.maxImagePixels });
    const metadata = validMetadata(upload.metadata);
    const typedCaption = upload.caption ? normalizeText(upload.caption).trim() : '';
    const caption = typedCaption ? truncateText(typedCaption, 2000) : null;
    const contentHash = sha256(bytes);
    const existing = await this.store.findPhotoByHash(contentHash);
    if (existing) return { photo: await this.updatePhotoDetails(existing, upload.caption == null ? undefined : caption, upload.metadata == null ? null : metadata), created: false };

    const { signal } = upload;
    // What is written on the photo is read on the OCR workers while CLIP embeds it.
    const [[imageVector], { hash: imageHash, layout: imageLayout }, readText] = await Promise.all([
      this.encoder.embedImages([bytes], { signal }),
      nearCopyKeys(bytes),
      this.reader ? this.reader.readText(bytes, signal ? { signal } : {}).then((read) => resolveGluedInStore(read, this.store)) : Promise.resolve(null),
    ]);
    // A blocked upload is refused before anything is written.
    const screening = await this.moderation?.assertImageAllowed(imageVector!, 'upload');
    const captionChunks = caption ? this.chunk(caption) : [];
    const captionVectors = captionChunks.length > 0 ? await this.encoder.embedTexts(captionChunks, { priority: 'background', signal }) : [];
    const written: string[] = [];
    try {
      const blobKey = await this.blobs.put(bytes, EXTENSION[info.format] ?? 'bin');
      written.push(blobKey);
      const photo: PhotoRecord = {
        id: randomUUID(),
        caption,
        metadata,
        contentHash,
        mimeType: MIME[info.format] ?? 'application/octet-stream',
        width: info.width,
        height: info.height,
        blobKey,
        createdAt: new Date().toISOString(),
        readText,
      };
      signal?.throwIfAborted();
      const added = await this.store.addPhoto(
        {
          photo,
          imageVector: imageVector!,
          chunks: captionChunks.map((text, i) => ({ text, vector: captionVectors[i]! })),
          identifiers: photoIdentifiers(caption, metadata, readText),
          imageHash,
          imageLayout,
        },
        { signal },
      );
      if (added.created) {
        // Never keep a photo without its hash record, nor a flagged one without its review item.
        await this.completeOrWithdraw(signal, async () => {
          await this.photoIndex?.indexPhoto(added.photo, bytes, imageVector!, { signal });
          if (screening?.decision === 'review') await this.photoIndex?.flagUpload({ photoId: added.photo.id, reasons: screening.reasons, signal });
        }, () => this.withdrawPhoto(added.photo.id));
      }
      return added;
    } catch (error) {
      await this.releaseBlobs(written);
      throw error;
    }
  }

  /**
   * The records that go with a file just committed (its photo hash, its review item), then the
   * deadline checked once more. When either fails, or the operation was aborted meanwhile (the
   * client is told TIMEOUT or has gone), the file is withdrawn, so the answer and the stored state
   * agree: an error means nothing stays. The original error is what the caller gets; a withdrawal
   * that fails too (the store down) leaves the record, as a failed deleteDocument would.
   */
  private async completeOrWithdraw(signal: AbortSignal | undefined, complete: () => Promise<void>, withdraw: () => Promise<unknown>): Promise<void> {
    try {
      await complete();
      signal?.throwIfAborted();
    } catch (error) {
      await withdraw().catch(() => undefined);
      throw error;
    }
  }

  /** Deletes the document's records, its cached chunk embeddings, then the files no other record uses. */
  async deleteDocument(id: string): Promise<boolean> {
    const pages = await this.store.getPages(id);
    const removed = await this.store.deleteDocument(id);
    if (!removed) return false;
    // Chunking is deterministic: the same page text gives the same chunks, the cache's keys.
    this.encoder.evictTexts?.(pages.flatMap((p) => this.chunk(p.text)));
    await this.releaseBlobs(removed.blobKeys);
    return true;
  }

  async deletePhoto(id: string): Promise<boolean> {
    const photo = await this.store.getPhoto(id);
    // Its near-duplicate hash first (in Postgres with DATABASE_URL): when that store is down the
    // delete fails before anything is gone, as its UNAVAILABLE error says, and a retry does it all.
    // The other way round the photo was gone, its hash left behind and the retry found nothing to do.
    await this.photoIndex?.forgetPhoto(id);
    return this.removePhoto(id, photo);
  }

  /**
   * Withdraws a photo whose hash record or review item could not be written (ingestPhoto): the
   * photo goes whatever happens to its hash, which is forgotten when the records store answers.
   */
  private async withdrawPhoto(id: string): Promise<void> {
    await this.photoIndex?.forgetPhoto(id).catch(() => undefined);
    await this.removePhoto(id, await this.store.getPhoto(id));
  }

  /** The photo's record out of the store, then its cached embeddings and the files no other record uses. */
  private async removePhoto(id: string, photo: PhotoRecord | null): Promise<boolean> {
    const removed = await this.store.deletePhoto(id);
    if (!removed || !photo) return false;
    // The records are gone: storage that cannot be read now only costs a cache entry, not the delete.
    const bytes = await this.blobs.get(photo.blobKey).catch(() => null);
    if (bytes) this.encoder.evictImages?.([bytes]);
    if (photo.caption) this.encoder.evictTexts?.(this.chunk(photo.caption));
    await this.releaseBlobs(removed.blobKeys);
    return true;
  }

  private async extract(bytes: Uint8Array, detected: ReturnType<typeof detectFileType>, signal: AbortSignal | undefined): Promise<{ kind: DocumentKind; format: string; extracted: ExtractedDocument }> {
    const limits = { maxPages: this.settings.maxPages };
    switch (detected.kind) {
      case 'pdf':
        return {
          kind: 'pdf',
          format: 'pdf',
          // In a worker of its own, with memory and time limits: a PDF's size says little about the work it costs.
          extracted: await extractPdfIsolated(
            bytes,
            {
              ...limits,
              maxTextChars: this.settings.maxTextChars,
              renderLongSide: this.settings.renderLongSide,
              thumbnailLongSide: this.settings.thumbnailLongSide,
              // Pages without a text layer get a render OCR can read (none with OCR=off).
              ocrLongSide: this.reader ? this.settings.ocrLongSide : 0,
              maxOcrPages: this.settings.ocrMaxPages,
            },
            { workerMemoryMb: this.settings.pdfWorkerMemoryMb, pageTimeoutMs: this.settings.pdfPageTimeoutMs },
            // The deadline or a client gone stops the worker mid-document, not after the last page.
            signal,
          ),
        };
      case 'image': {
        // A scan or a photo of a page: one page, searchable by image.
        await inspectImage(bytes, { maxBytes: this.settings.maxImageBytes, maxPixels: this.settings.maxImagePixels });
        // The header was read; the pixels may still end early or be damaged: that is the file's fault.
        const thumbnail = await sharp(bytes, UPLOADED_IMAGE_INPUT)
          .rotate()
          .resize(this.settings.thumbnailLongSide, this.settings.thumbnailLongSide, { fit: 'inside' })
          .webp()
          .toBuffer()
          .catch((cause: unknown) => {
            throw undecodableImage(cause);
          });
        // OCR reads the original (full resolution); with OCR=off the page has no text.
        return { kind: 'image', format: detected.format, extracted: { title: null, pages: [{ number: 1, text: '', image: bytes, thumbnail, ocrImage: this.reader ? bytes : null }] } };
      }
      case 'markdown':
      case 'html':
      case 'text':
        // Decodes strictly: invalid UTF-8 is refused (INVALID_ENCODING), not silently replaced.
        return { kind: detected.kind, format: detected.kind, extracted: extractTextDocument(bytes, detected.kind, limits) };
    }
  }

  /** Near-copy keys for page renders and photos stored before they existed (`fieldscope backfill image-keys`). */
  backfillImageKeys(options: BackfillOptions = {}): Promise<BackfillSummary> {
    return backfillImageKeys({ store: this.store, blobs: this.blobs, renderPdfPages: (bytes, signal) => this.renderPdfPages(bytes, signal) }, options);
  }

  /** A PDF's page renders exactly as ingest renders them for the encoder and the keys (no OCR renders). */
  private async renderPdfPages(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<Map<number, Uint8Array>> {
    const extracted = await extractPdfIsolated(
      bytes,
      {
        maxPages: this.settings.maxPages,
        maxTextChars: this.settings.maxTextChars,
        renderLongSide: this.settings.renderLongSide,
        thumbnailLongSide: this.settings.thumbnailLongSide,
        ocrLongSide: 0,
        maxOcrPages: 0,
      },
      { workerMemoryMb: this.settings.pdfWorkerMemoryMb, pageTimeoutMs: this.settings.pdfPageTimeoutMs },
      signal,
    );
    return new Map(extracted.pages.flatMap((p): [number, Uint8Array][] => (p.image ? [[p.number, p.image]] : [])));
  }

  private chunk(text: string): string[] {
    return chunkText(text, {
      maxTokens: this.settings.chunkTokens,
      overlapTokens: this.settings.chunkOverlapTokens,
      countTokens: (s) => this.encoder.countTokens(s),
    });
  }

  /**
   * CLIP centre-crops to a square, which would cut the top and bottom off a portrait page:
   * pad the page to a white square instead, so the whole page is seen.
   */
  private async squarePage(png: Uint8Array): Promise<Uint8Array> {
    const side = this.settings.renderLongSide;
    // An uploaded image of a page arrives here as it was sent: decode it as every other reader does.
    return sharp(png, UPLOADED_IMAGE_INPUT)
      .resize(side, side, { fit: 'contain', background: { r: 255, g: 255, b: 255 } })
      .png()
      .toBuffer()
      .catch((cause: unknown) => {
        throw undecodableImage(cause);
      });
  }

  /**
   * Deletes the blobs no record references. Best effort: it runs after the outcome is decided (a
   * failed ingest's error, a committed delete), which a cleanup failure must not replace. A blob
   * left behind (storage down at that moment) is unreferenced bytes only: nothing links to it,
   * and an upload of the same bytes reuses its key.
   */
  private async releaseBlobs(keys: string[]): Promise<void> {
    for (const key of new Set(keys)) {
      try {
        if (!(await this.store.isBlobReferenced(key))) await this.blobs.delete(key);
      } catch {
        // See above: wasted space at worst, never a broken record.
      }
    }
  }
}

/** Key order aside, the same JSON value (metadata round-trips through the stores as JSON). */
function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, x]) => [k, canonical(x)])) : v;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
