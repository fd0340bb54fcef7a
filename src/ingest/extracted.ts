/**
 * What the extraction layer hands to ingestion: a document as a list of "pages" (PDF pages, or
 * sections of Markdown/HTML/plain text), each with its text and, for PDFs, a rendered image.
 */

/** Image formats accepted as field photos (the names sharp reports, see src/clip/image-decode.ts). */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heif';

/** What an uploaded file is, decided from its bytes (see detect.ts). */
export type DetectedType =
  | { kind: 'pdf' }
  | { kind: 'image'; format: ImageFormat }
  | { kind: 'html' }
  | { kind: 'markdown' }
  | { kind: 'text' };

export type DocumentKind = Exclude<DetectedType['kind'], 'image'>;

export interface ExtractedPage {
  /** 1-based: the PDF page number, or the section's position in a text document. */
  number: number;
  /** The page's text, whitespace tidied; empty for a scanned page without a text layer. */
  text: string;
  /** PNG of the rendered page (long side = renderLongSide) for the image encoder; null for text formats. */
  image: Uint8Array | null;
  /** Small WebP preview for result lists; null for text formats. */
  thumbnail: Uint8Array | null;
  /**
   * A larger PNG of a page without text, for OCR (PDF pages without a text layer when OCR is
   * on, up to its page limit; the original bytes of an image ingested as a document); null otherwise.
   */
  ocrImage?: Uint8Array | null;
}

export interface ExtractedDocument {
  /** From the PDF's Info Title, the first H1 of Markdown, or the HTML <title>/first <h1>. */
  title: string | null;
  pages: ExtractedPage[];
}
