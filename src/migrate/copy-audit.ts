/**
 * Copies the audit log (every tenant) from the embedded SQLite file into another AuditStore (the
 * scale deployment's Postgres), keeping each entry's number: the target numbers a tenant's entries
 * 1, 2, 3 … as they are appended, so the entries go in oldest first after the last one the target
 * already holds.
 *
 * Resumable: a rerun starts after the target's last entry. Verified: the target's entries are read
 * back and compared with the source's by checksum, number by number. The target must not have
 * entries of its own for a tenant before the copy is complete (run the migration before the scale
 * servers take traffic); if it has, the numbers disagree and the step says so.
 */
import type { AuditEntryRecord, AuditStore } from '../audit/audit-store.js';
import type { SqliteAuditStore } from '../audit/sqlite-audit-store.js';
import { recordChecksum, SetChecksum } from './checksum.js';
import { MigrationStopped, newTally, type MigrationEvents, type Tally } from './tally.js';

const PAGE = 500;

/** The last entry number the target holds for `tenant` (0: none). */
async function lastSeq(target: AuditStore, tenant: string): Promise<number> {
  return (await target.list({ tenant, first: 1 })).items[0]?.seq ?? 0;
}

/** Every entry of one tenant in the target, oldest first (read newest first, in pages). */
async function targetEntries(target: AuditStore, tenant: string): Promise<AuditEntryRecord[]> {
  const all: AuditEntryRecord[] = [];
  let after: number | null = null;
  for (;;) {
    const page = await target.list({ tenant, first: PAGE, after });
    all.push(...page.items);
    if (!page.hasNextPage || page.items.length === 0) break;
    after = page.items.at(-1)!.seq;
  }
  return all.reverse();
}

export async function copyAuditLog(source: SqliteAuditStore, target: AuditStore, events: MigrationEvents): Promise<Tally[]> {
  const tallies: Tally[] = [];
  for (const tenant of await source.tenants()) {
    const tally = newTally(`audit entries of ${tenant}`, 0);
    const start = await lastSeq(target, tenant);
    // Copy what the target lacks, oldest first; `append` never throws, so progress is checked by number.
    for (let after = start; ; ) {
      const batch = await source.entriesAfter(tenant, after, PAGE);
      if (batch.length === 0) break;
      for (const entry of batch) {
        events.progress?.(`audit ${tenant} #${entry.seq}`);
        const { seq: _seq, ...rest } = entry;
        await target.append(rest);
      }
      const reached = await lastSeq(target, tenant);
      const want = batch.at(-1)!.seq;
      if (reached !== want) throw new MigrationStopped(`the audit store took entries of "${tenant}" up to #${reached} of #${want} (see the log for the cause)`);
      tally.copied += batch.length;
      after = want;
    }
    // Verify every entry, number by number.
    const copied = await targetEntries(target, tenant);
    const set = new SetChecksum();
    let position = 0;
    for (let after = 0; ; ) {
      const batch = await source.entriesAfter(tenant, after, PAGE);
      if (batch.length === 0) break;
      for (const entry of batch) {
        tally.expected++;
        const copy = copied[position++];
        const want = recordChecksum(entry);
        if (copy && copy.seq === entry.seq && recordChecksum(copy) === want) {
          tally.verified++;
          set.add(want);
        } else {
          tally.failed++;
          if (tally.failed <= 5) events.line(`differs  audit entry #${entry.seq} of ${tenant}: the target's entry #${copy?.seq ?? '—'} is another one`);
        }
      }
      after = batch.at(-1)!.seq;
    }
    tally.skipped = tally.expected - tally.copied;
    if (copied.length > tally.expected) {
      tally.failed++;
      events.line(`differs  audit of ${tenant}: the target holds ${copied.length - tally.expected} entries the source does not (written there before the copy was complete)`);
    }
    tally.checksum = set.digest();
    tallies.push(tally);
  }
  return tallies;
}
