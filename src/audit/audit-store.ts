/**
 * The audit trail's port: who (key name, tenant), what operation, when, the outcome, and the ids
 * of the documents and photos returned. Never image bytes, never keys; question and search texts
 * are kept (truncated), because "who asked what" is the point of the log.
 *
 * Append-only and per tenant: each tenant's entries are numbered 1, 2, 3 … (`seq`) and a reader
 * sees one tenant's entries only. Implementations: SQLite (embedded, sqlite-audit-store.ts); the
 * scale deployment's shared store is chosen in src/core/backends.ts.
 */

export interface AuditEntryRecord {
  /** Position in its tenant's log: 1, 2, 3 … per tenant, so gaps never show another tenant's activity. */
  seq: number;
  at: string;
  keyName: string;
  tenant: string;
  role: string;
  /** Top-level fields called, e.g. "search" or "ingestDocument,deletePhoto". */
  operation: string;
  operationName: string | null;
  /** "ok" or the first error code. */
  outcome: string;
  /** Truncated question / search text, when the operation had one. */
  query: string | null;
  documentIds: string[];
  photoIds: string[];
  durationMs: number;
  /**
   * The caller's address: the connection's peer, or the client a trusted proxy forwarded
   * (TRUST_PROXY, src/server/trusted-proxy.ts). Null for entries written before it was recorded.
   */
  clientAddress: string | null;
}

/** A new entry: `clientAddress` may be left out (null) by writers that have no connection, such as migration. */
export type NewAuditEntry = Omit<AuditEntryRecord, 'seq' | 'clientAddress'> & { clientAddress?: string | null };

export interface AuditQuery {
  first: number;
  after?: number | null;
  keyName?: string | null;
  operation?: string | null;
}

export interface AuditPage {
  items: AuditEntryRecord[];
  hasNextPage: boolean;
}

/** Read access to one tenant's part of the log. */
export interface AuditReader {
  list(options: AuditQuery): Promise<AuditPage>;
}

/** Where every operation's entry goes, and where admins read it back. */
export interface AuditStore {
  init(): Promise<void>;
  close(): Promise<void>;
  /**
   * Writes one entry; resolves once it is stored. Never rejects: the operation it records has
   * already happened and its answer is decided. An entry that cannot be written is logged (with its
   * contents) instead, and a storage failure reported.
   */
  append(entry: NewAuditEntry): Promise<void>;
  /**
   * Rejects (an AppError) while entries are known not to reach the store, so that a mutation can be
   * refused before it runs rather than go unaudited. Answers from known state, with no round trip
   * while the store is up. Absent: the store's own guard covers it (the embedded SQLite log is on
   * DATA_DIR, which src/storage/storage-health.ts watches).
   */
  assertRecording?(): Promise<void>;
  /** Newest first; `after` is the (per-tenant) seq of the last entry of the previous page. Always one tenant's entries. */
  list(options: AuditQuery & { tenant: string }): Promise<AuditPage>;
  /** One tenant's entries: what an admin of that tenant may read (GraphQL `auditLog`). */
  forTenant(tenant: string): AuditReader;
}
