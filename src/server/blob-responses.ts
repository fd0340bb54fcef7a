/**
 * `/files/:key` responses, streamed (issue 17, item 9): a file is never read whole into memory
 * (40 slow readers of a 40 MB PDF took the server from 0.8 to 2.45 GB). The blob is piped to the
 * socket, so a slow reader holds back the disk read instead of queueing the file in memory, and a
 * client that goes away ends the read. Single byte ranges are served (206), so PDF viewers can
 * fetch pages and a broken download can resume; keys are content hashes, so the key is a strong
 * ETag and a cached copy is answered 304.
 *
 * The same for every blob store: on S3 the range becomes GetObject's Range and the object
 * storage's response body is piped through. The status line waits for the first bytes (or the
 * end), so storage that fails before sending anything is answered 503 UNAVAILABLE with
 * Retry-After, not a 200 cut short; a failure mid-body can only end the connection.
 */
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { BlobReader } from '../blob/blob-store.js';
import { isAppError } from '../errors.js';

const notFound = { errors: [{ message: 'No such file.', extensions: { code: 'NOT_FOUND', category: 'NOT_FOUND' } }] };

export async function sendBlob(req: Request, res: Response, key: string, reader: BlobReader | null, contentType: string): Promise<void> {
  if (!reader) return void res.status(404).json(notFound);
  const etag = `"${key.split('.')[0]}"`;
  res.set({
    'Content-Type': contentType,
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'Cache-Control': 'private, max-age=31536000, immutable',
    'Accept-Ranges': 'bytes',
    ETag: etag,
  });
  const ifNoneMatch = req.get('if-none-match');
  if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
    await reader.close();
    return void res.status(304).end();
  }

  let range: { start: number; end: number } | undefined;
  const header = req.get('range');
  // If-Range with another validator: the client's partial copy is stale, send the whole file.
  const ifRange = req.get('if-range');
  if (header && (!ifRange || ifRange === etag)) {
    // express's req.range (the range-parser package): -1 unsatisfiable, -2 malformed (ignored, as RFC 9110 allows).
    const parsed = req.range(reader.size, { combine: true });
    if (parsed === -1) {
      await reader.close();
      return void res.status(416).set('Content-Range', `bytes */${reader.size}`).end();
    }
    // Several ranges would need a multipart/byteranges body; the whole file is a valid answer to them.
    if (Array.isArray(parsed) && parsed.type === 'bytes' && parsed.length === 1) range = { start: parsed[0]!.start, end: parsed[0]!.end };
  }

  const length = range ? range.end - range.start + 1 : reader.size;
  const head = () => {
    res.status(range ? 206 : 200).set('Content-Length', String(length));
    if (range) res.set('Content-Range', `bytes ${range.start}-${range.end}/${reader.size}`);
  };
  if (req.method === 'HEAD' || length === 0) {
    await reader.close();
    head();
    return void res.end();
  }
  const stream = reader.stream(range);
  try {
    await firstBytes(stream);
  } catch (error) {
    stream.destroy();
    if (isAppError(error) && error.category === 'UNAVAILABLE') return sendUnavailable(res, error.message, error.details?.retryAfterMs);
    throw error;
  }
  head();
  try {
    await pipeline(stream, res);
  } catch {
    // The client went away (or the disk failed mid-file): the response cannot be repaired now, and
    // pipeline has already closed the file and the socket.
  }
}

/** Resolves when `stream` has bytes to read (or has ended); rejects with its error. */
async function firstBytes(stream: Readable): Promise<void> {
  if (stream.readableLength > 0 || stream.readableEnded) return;
  // 'readable' fires on the first data and on the end; `once` rejects on 'error'. Removing the
  // listener hands flow control back, so the pipeline after it reads as usual.
  await once(stream, 'readable');
}

/** 503 with the code clients switch on and when to come back (storage down, say). */
export function sendUnavailable(res: Response, message: string, retryAfterMs: unknown): void {
  const ms = typeof retryAfterMs === 'number' && retryAfterMs > 0 ? retryAfterMs : 5000;
  res
    .status(503)
    .set('Retry-After', String(Math.ceil(ms / 1000)))
    .set('Cache-Control', 'no-store')
    .json({ errors: [{ message, extensions: { code: 'UNAVAILABLE', category: 'UNAVAILABLE', retryAfterMs: ms } }] });
}
