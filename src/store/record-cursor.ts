/**
 * Helpers both knowledge stores share for records listed newest first: opaque cursors over
 * (createdAt, id) and the createdAt check.
 */
import { InvalidInputError } from '../errors.js';

export function encodeCursor(createdMs: number, id: string): string {
  return Buffer.from(JSON.stringify([createdMs, id])).toString('base64url');
}

export function decodeCursor(cursor: string): [number, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') return [value[0] as number, value[1]];
  } catch {
    // fall through
  }
  throw new InvalidInputError('INVALID_CURSOR', 'The cursor is not one this list returned.');
}

export function createdMs(createdAt: string): number {
  const ms = Date.parse(createdAt);
  if (!Number.isFinite(ms)) throw new InvalidInputError('INVALID_RECORD', `createdAt must be an ISO 8601 date; got ${JSON.stringify(createdAt)}.`);
  return ms;
}
