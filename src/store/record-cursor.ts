/**
 * Opaque cursors for every paginated list (documents, reviewQueue, auditLog), and the createdAt
 * check the knowledge stores share. A cursor encodes the position itself, never just the id of the
 * last item, so the next page is right even when that item has since been deleted; and a string
 * the list did not make is INVALID_CURSOR, never a silently empty or restarted page.
 *
 * documents: [createdMs, id] (newest first by both). reviewQueue and auditLog: [list, seq], the
 * list's name first so that one list's cursor is refused by the other.
 */
import { InvalidInputError } from '../errors.js';

export function encodeCursor(createdMs: number, id: string): string {
  return Buffer.from(JSON.stringify([createdMs, id])).toString('base64url');
}

export function decodeCursor(cursor: string): [number, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const ok = Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string';
    // Re-encoding must give the same text: base64url decoding skips stray characters, a cursor must not.
    if (ok && encodeCursor(value[0] as number, value[1] as string) === cursor) return [value[0] as number, value[1] as string];
  } catch {
    // fall through
  }
  throw new InvalidInputError('INVALID_CURSOR', `after must be a cursor from documents' pageInfo.endCursor (or an edge's cursor); got ${JSON.stringify(cursor.slice(0, 100))}.`);
}

export function createdMs(createdAt: string): number {
  const ms = Date.parse(createdAt);
  if (!Number.isFinite(ms)) throw new InvalidInputError('INVALID_RECORD', `createdAt must be an ISO 8601 date; got ${JSON.stringify(createdAt)}.`);
  return ms;
}

/** The lists whose order is a sequence number (newest first: the next page has smaller numbers). */
export type SeqList = 'review' | 'audit';

export function encodeSeqCursor(list: SeqList, seq: number): string {
  return Buffer.from(JSON.stringify([list, seq])).toString('base64url');
}

/** The position a `list` cursor encodes, or null when `cursor` is not one (the caller decides what else it accepts). */
export function decodeSeqCursor(list: SeqList, cursor: string): number | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const ok = Array.isArray(value) && value.length === 2 && value[0] === list && Number.isSafeInteger(value[1]) && (value[1] as number) >= 0;
    // Re-encoding must give the same text: base64url decoding skips stray characters, a cursor must not.
    if (ok && encodeSeqCursor(list, value[1] as number) === cursor) return value[1] as number;
  } catch {
    // not a cursor
  }
  return null;
}

/**
 * The seq that an auditLog `after` stands for: an auditLog cursor's, or (as auditLog's cursors
 * were until they became opaque) an entry's seq written in decimal. Entries are never deleted and
 * seq is the position, so either form stays valid. Anything else is INVALID_CURSOR, never page one again.
 */
export function auditPosition(after: string): number {
  const seq = decodeSeqCursor('audit', after) ?? (/^[1-9][0-9]{0,14}$/.test(after) ? Number(after) : null);
  if (seq !== null) return seq;
  throw new InvalidInputError('INVALID_CURSOR', `after must be a cursor from auditLog's pageInfo.endCursor (or an entry's seq); got ${JSON.stringify(after.slice(0, 100))}.`);
}
