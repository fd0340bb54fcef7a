/**
 * Copies one tenant's identify records (identifications, feedback, review items with their claims
 * and resolutions, photo hashes) from the embedded SQLite file into another IdentifyStore (the
 * scale deployment's Postgres), keeping ids, times and states.
 *
 * Resumable: a record already in the target is not written again. Verified: every source record is
 * read back from the target and compared by checksum (src/migrate/checksum.ts); a record that
 * differs (changed in the target since) is reported, never overwritten.
 */
import { isAppError } from '../errors.js';
import type { IdentifyStore } from '../identify/identify-store.js';
import type { SqliteIdentifyStore } from '../identify/sqlite-identify-store.js';
import { recordChecksum, SetChecksum } from './checksum.js';
import { MigrationStopped, newTally, type MigrationEvents, type Tally } from './tally.js';

interface Kind<R> {
  name: string;
  ids: string[];
  get(store: IdentifyStore, id: string): Promise<R | null>;
  add(store: IdentifyStore, record: R): Promise<void>;
}

async function copyKind<R>(kind: Kind<R>, source: IdentifyStore, target: IdentifyStore, events: MigrationEvents): Promise<Tally> {
  const tally = newTally(kind.name, kind.ids.length);
  const set = new SetChecksum();
  for (const id of kind.ids) {
    events.progress?.(`${kind.name} ${id}`);
    const record = await kind.get(source, id);
    if (!record) {
      // Deleted in the source meanwhile (retention): nothing to copy.
      tally.expected--;
      continue;
    }
    try {
      let copy = await kind.get(target, id);
      if (copy) tally.skipped++;
      else {
        await kind.add(target, record);
        copy = await kind.get(target, id);
        tally.copied++;
      }
      const want = recordChecksum(record);
      if (copy && recordChecksum(copy) === want) {
        tally.verified++;
        set.add(want);
      } else {
        tally.failed++;
        events.line(`differs  ${kind.name} ${id}: the target holds another version (changed there since); left as it is`);
      }
    } catch (error) {
      tally.failed++;
      const reason = isAppError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
      events.line(`failed   ${kind.name} ${id}: ${reason}`);
      if (isAppError(error) && error.category === 'UNAVAILABLE') throw new MigrationStopped(reason);
    }
  }
  tally.checksum = set.digest();
  return tally;
}

/** Copies and verifies every kind; throws MigrationStopped when the target stops answering. */
export async function copyIdentifyRecords(source: SqliteIdentifyStore, target: IdentifyStore, events: MigrationEvents): Promise<Tally[]> {
  const ids = await source.exportIds();
  const tallies: Tally[] = [];
  // In this order: review items and feedback name identifications; the target checks nothing, but a reader mid-way sees a whole chain.
  tallies.push(await copyKind({ name: 'identifications', ids: ids.identifications, get: (s, id) => s.getIdentification(id), add: (s, r) => s.addIdentification(r) }, source, target, events));
  tallies.push(await copyKind({ name: 'feedback', ids: ids.feedback, get: (s, id) => s.getFeedback(id), add: (s, r) => s.addFeedback(r) }, source, target, events));
  tallies.push(await copyKind({ name: 'review items', ids: ids.reviewItems, get: (s, id) => s.getReviewItem(id), add: (s, r) => s.addReviewItem(r) }, source, target, events));
  tallies.push(await copyKind({ name: 'photo hashes', ids: ids.photoHashes, get: (s, id) => s.getPhotoHash(id), add: (s, r) => s.putPhotoHash(r) }, source, target, events));
  return tallies;
}
