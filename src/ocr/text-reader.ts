/**
 * The port for reading what is written on a photo: text lines (OCR) and QR / barcodes.
 * Services depend on this interface; `PaddleTextReader` is the adapter (PP-OCRv4 on ONNX
 * Runtime worker threads + zxing-wasm in its own worker).
 */

export interface TextRegion {
  text: string;
  /** Mean per-character probability of the recogniser, 0..1. */
  confidence: number;
  /** x, y, width, height, each a fraction (0..1) of the image's oriented size. */
  box: [number, number, number, number];
}

export interface ScannedCode {
  /** Upper snake case as ZXing names formats: QR_CODE, CODE_128, EAN_13, … */
  format: string;
  /** Decoded content, control characters removed and length capped. */
  value: string;
}

export interface ReadTextResult {
  /** Region texts in reading order, one line each. */
  text: string;
  /** Part numbers, models and document codes found in the text and the codes (search's rules). */
  identifiers: string[];
  regions: TextRegion[];
  codes: ScannedCode[];
}

export interface TextReader {
  /** Reads an image (file bytes). Bad images throw the same errors as embedding them. */
  readText(image: Uint8Array, options?: { signal?: AbortSignal }): Promise<ReadTextResult>;
  close(): Promise<void>;
}
