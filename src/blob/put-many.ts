/**
 * Several blobs stored a few at a time: on object storage each put is a network round trip, so
 * a 100-page PDF's thumbnails one after another cost 100 of them back to back. Keys come back in
 * the order given. When a put fails, the ones already running are waited for (so every blob that
 * was written is reported to `onWritten` before the error reaches the caller, who cleans up) and
 * no new one starts.
 */
import type { BlobStore } from './blob-store.js';

/** Puts running at once per call: enough to hide round trips, few enough not to flood the storage. */
export const PUTS_AT_ONCE = 8;

export async function putMany(
  blobs: Pick<BlobStore, 'put'>,
  items: readonly ({ bytes: Uint8Array; extension: string } | null)[],
  onWritten: (key: string) => void,
  concurrency = PUTS_AT_ONCE,
): Promise<(string | null)[]> {
  const keys: (string | null)[] = items.map(() => null);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const i = next++;
      const item = items[i];
      if (!item) continue;
      try {
        const key = await blobs.put(item.bytes, item.extension);
        onWritten(key);
        keys[i] = key;
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
  return keys;
}
