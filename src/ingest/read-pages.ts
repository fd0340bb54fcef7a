/**
 * Scanned pages get a text layer: pages without text of their own (PDF pages without a text
 * layer, images ingested as documents) are read by the `TextReader` at ingest, so their words
 * are searchable and quotable like any other page's.
 *
 * Pages are read one at a time: the reader's workers run at the image lanes' low priority and a
 * bounded queue serves interactive readText and search too, so one long scan must not fill it.
 * Each page has a time limit; past it, or when the caller's signal aborts, the whole ingest
 * stops (nothing has been written yet: the store commits after this).
 */
import { normalizeText } from '../text/normalize-text.js';
import type { TextReader } from '../ocr/text-reader.js';
import type { TextSource } from '../store/knowledge-store.js';
import { DocumentTooComplexError } from './errors.js';
import type { ExtractedPage } from './extracted.js';

export type SourcedPage = ExtractedPage & { textSource: TextSource };

export interface ReadPagesOptions {
  /** Most time reading one page may take, in ms. */
  pageTimeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Told after each page read (benchmarks count pages per second with it). */
  onPageRead?: (pageNumber: number) => void;
}

/** The page's text: its own (FILE), or read from its OCR image (OCR); NONE when it has none either way. */
export async function readScannedPages(pages: readonly ExtractedPage[], reader: TextReader | null, options: ReadPagesOptions): Promise<SourcedPage[]> {
  const out: SourcedPage[] = [];
  for (const page of pages) {
    if (page.text.trim() !== '') {
      out.push({ ...page, textSource: 'file' });
      continue;
    }
    if (!reader || !page.ocrImage) {
      out.push({ ...page, textSource: 'none' });
      continue;
    }
    options.signal?.throwIfAborted();
    const text = await readOnePage(reader, page, options);
    options.onPageRead?.(page.number);
    out.push({ ...page, text, textSource: text.trim() === '' ? 'none' : 'ocr' });
  }
  return out;
}

async function readOnePage(reader: TextReader, page: ExtractedPage, options: ReadPagesOptions): Promise<string> {
  const timeout = AbortSignal.timeout(options.pageTimeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const read = await raceAbort(reader.readText(page.ocrImage!, { signal }), signal);
    // Lines as read, then what the codes on the page say (an asset tag's QR code is part of the page).
    return normalizeText([read.text, ...read.codes.map((c) => c.value)].filter((s) => s.trim() !== '').join('\n'));
  } catch (error) {
    if (timeout.aborted && !options.signal?.aborted) {
      throw new DocumentTooComplexError(`Reading the text of page ${page.number} took longer than ${options.pageTimeoutMs} ms (OCR_PAGE_TIMEOUT_MS); nothing was stored. Try again when the server is less busy, or raise the limit.`, {
        cause: error,
        details: { limit: 'ocrPageTime', limitMs: options.pageTimeoutMs, page: page.number },
      });
    }
    throw error;
  }
}

/** The reader checks its signal between steps; this gives up at once when it fires. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
