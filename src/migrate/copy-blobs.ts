/**
 * Copies one tenant's files (originals, page renders and thumbnails, photos) from the embedded
 * blob folder into another BlobStore (the scale deployment's S3 bucket).
 *
 * Keys are the sha256 of the bytes, so a key says what its blob must hold: a blob already in the
 * target is not copied again (resumable), and every blob is verified by reading it back from the
 * target and hashing it.
 */
import { createHash } from 'node:crypto';
import { isAppError } from '../errors.js';
import type { BlobStore, DiskBlobStore } from '../blob/blob-store.js';
import { SetChecksum } from './checksum.js';
import { MigrationStopped, newTally, type MigrationEvents, type Tally } from './tally.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export async function copyBlobs(source: DiskBlobStore, target: BlobStore, events: MigrationEvents): Promise<Tally> {
  const tally = newTally('files', 0);
  const set = new SetChecksum();
  for await (const key of source.keys()) {
    tally.expected++;
    events.progress?.(`file ${key}`);
    const [hash, extension] = key.split('.') as [string, string];
    try {
      if (await target.has(key)) tally.skipped++;
      else {
        const bytes = await source.get(key);
        if (!bytes || sha256(bytes) !== hash) {
          tally.failed++;
          events.line(`failed   file ${key}: the source copy is ${bytes ? 'damaged (its bytes do not match its key)' : 'gone'}; not copied`);
          continue;
        }
        const stored = await target.put(bytes, extension);
        if (stored !== key) throw new Error(`the target stored it as ${stored}`);
        tally.copied++;
      }
      const copy = await target.get(key);
      if (copy && sha256(copy) === hash) {
        tally.verified++;
        set.add(hash);
      } else {
        tally.failed++;
        events.line(`failed   file ${key}: the copy in the target does not match its checksum`);
      }
    } catch (error) {
      tally.failed++;
      const reason = isAppError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
      events.line(`failed   file ${key}: ${reason}`);
      if (isAppError(error) && error.category === 'UNAVAILABLE') throw new MigrationStopped(reason);
    }
  }
  tally.checksum = set.digest();
  return tally;
}
