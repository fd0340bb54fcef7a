/**
 * What a migration step did, per kind of record: copied, already there (skipped), failed, and how
 * many of the source's records were then verified in the target by checksum. Pure.
 */
export interface Tally {
  kind: string;
  /** Records in the source. */
  expected: number;
  copied: number;
  skipped: number;
  failed: number;
  /** Source records found in the target with the same checksum. */
  verified: number;
  /** Checksum of the verified set, in source order (the same on both sides when verified). */
  checksum: string;
}

export function newTally(kind: string, expected: number): Tally {
  return { kind, expected, copied: 0, skipped: 0, failed: 0, verified: 0, checksum: '' };
}

export function isVerified(t: Tally): boolean {
  return t.failed === 0 && t.verified === t.expected;
}

/** "identifications 12/12 (3 copied, 9 already there) checksum 1a2b…" */
export function describeTally(t: Tally): string {
  const parts = [`${t.copied} copied`, `${t.skipped} already there`];
  if (t.failed > 0) parts.push(`${t.failed} failed`);
  return `${t.kind} ${t.verified}/${t.expected} verified (${parts.join(', ')})${t.checksum ? ` checksum ${t.checksum}` : ''}`;
}

/** Told about each record as it goes (a line per failure; progress for a terminal). */
export interface MigrationEvents {
  line(text: string): void;
  progress?(label: string): void;
}

/** Why a copy stopped: a store that stopped answering ends the run (the rerun resumes). */
export class MigrationStopped extends Error {}
