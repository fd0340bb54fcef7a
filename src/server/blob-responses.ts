/**
 * `/files/:key` responses, streamed (issue 17, item 9): a file is never read whole into memory
 * (40 slow readers of a 40 MB PDF took the server from 0.8 to 2.45 GB). The blob is piped to the
 * socket, so a slow reader holds back the disk read instead of queueing the file in memory, and a
 * client that goes away ends the read. Single byte ranges are served (206), so PDF viewers can
 * fetch pages and a broken download can resume; keys are content hashes, so the key is a strong
 * ETag and a cached copy is answered 304.
 */
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { BlobReader } from '../blob/blob-store.js';

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
  res.status(range ? 206 : 200).set('Content-Length', String(length));
  if (range) res.set('Content-Range', `bytes ${range.start}-${range.end}/${reader.size}`);
  if (req.method === 'HEAD' || length === 0) {
    await reader.close();
    return void res.end();
  }
  try {
    await pipeline(reader.stream(range), res);
  } catch {
    // The client went away (or the disk failed mid-file): the response cannot be repaired now, and
    // pipeline has already closed the file and the socket.
  }
}
