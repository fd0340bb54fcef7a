/**
 * Pure clean-up of decoded QR / barcode contents. A code is printed by whoever made the label,
 * so its value is untrusted: control characters (which could forge log lines or confuse a
 * terminal) are removed and the length is capped, so a QR code holding kilobytes of junk cannot
 * bloat a response.
 */
import { normalizeText, truncateText } from '../text/normalize-text.js';

/** Longest code value returned, in characters (a QR code holds at most ~7k). */
export const MAX_CODE_VALUE_CHARS = 512;
/** Most codes reported for one image. */
export const MAX_CODES = 16;

/** Control characters (C0, DEL, C1) become spaces, Unicode is normalised as everywhere, whitespace collapsed, length capped (UTF-16 units, never splitting a pair). */
export function sanitizeCodeValue(value: string, maxChars = MAX_CODE_VALUE_CHARS): string {
  const bounded = truncateText(value, maxChars * 4);
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const cleaned = normalizeText(bounded.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')).replace(/\s+/g, ' ').trim();
  return truncateText(cleaned, maxChars);
}

const KNOWN_FORMATS: Record<string, string> = {
  QRCode: 'QR_CODE',
  MicroQRCode: 'MICRO_QR_CODE',
  rMQRCode: 'RMQR_CODE',
  DataMatrix: 'DATA_MATRIX',
  PDF417: 'PDF_417',
  UPCA: 'UPC_A',
  UPCE: 'UPC_E',
  DataBar: 'DATABAR',
  DataBarExpanded: 'DATABAR_EXPANDED',
  DataBarLimited: 'DATABAR_LIMITED',
  DXFilmEdge: 'DX_FILM_EDGE',
  ITF: 'ITF',
};

/**
 * zxing-wasm 3 names formats in CamelCase ("QRCode", "Code128", "EAN13"); the contract
 * and ZXing's own enum use upper snake case (QR_CODE, CODE_128, EAN_13), which is what we return.
 */
export function codeFormatName(format: string): string {
  const known = KNOWN_FORMATS[format];
  if (known) return known;
  return format
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/([A-Za-z])(\d)/g, '$1_$2')
    .toUpperCase();
}
