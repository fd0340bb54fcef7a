/**
 * Checksums that say two copies of a record are the same, whatever store they were read from:
 * sha256 of the record's canonical JSON (object keys sorted, vectors as plain number arrays).
 * Pure. Used by `fieldscope migrate` to verify every copied record against its source.
 */
import { createHash } from 'node:crypto';

/** JSON with sorted keys; typed arrays become arrays; `undefined` fields are left out, as JSON does. */
export function canonicalJson(value: unknown): string {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return canonicalJson(Array.from(value as unknown as ArrayLike<number>));
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function recordChecksum(record: unknown): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex');
}

/** One checksum for a whole set, built in order from the records' own checksums (what the report prints). */
export class SetChecksum {
  private readonly hash = createHash('sha256');
  add(checksum: string): void {
    this.hash.update(checksum);
  }
  digest(): string {
    return this.hash.digest('hex').slice(0, 16);
  }
}
