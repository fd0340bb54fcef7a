/**
 * The audit log on Postgres (DATABASE_URL), shared by every replica: an admin reading it on any
 * replica sees every replica's entries. Append-only, enforced by triggers (src/postgres/schema.ts).
 *
 * Per-tenant numbers come from `audit_counters` in the same statement as the insert: the counter
 * row is locked until the statement commits, so concurrent appends of one tenant (from any number
 * of replicas) take consecutive numbers, and a failed insert rolls its number back (no gaps).
 */
import type { Logger } from 'pino';
import type { PostgresDatabase } from '../postgres/postgres-database.js';
import type { AuditEntryRecord, AuditStore, AuditPage, AuditQuery, AuditReader, NewAuditEntry } from './audit-store.js';

interface Row {
  seq: string;
  at: string;
  key_name: string;
  tenant: string;
  role: string;
  operation: string;
  operation_name: string | null;
  outcome: string;
  query: string | null;
  document_ids: string[];
  photo_ids: string[];
  duration_ms: number;
  client_address: string | null;
}

const fromRow = (r: Row): AuditEntryRecord => ({
  seq: Number(r.seq),
  at: r.at,
  keyName: r.key_name,
  tenant: r.tenant,
  role: r.role,
  operation: r.operation,
  operationName: r.operation_name,
  outcome: r.outcome,
  query: r.query,
  documentIds: r.document_ids,
  photoIds: r.photo_ids,
  durationMs: r.duration_ms,
  clientAddress: r.client_address,
});

const APPEND = `
WITH next AS (
  INSERT INTO audit_counters (tenant, last_seq) VALUES ($1, 1)
  ON CONFLICT (tenant) DO UPDATE SET last_seq = audit_counters.last_seq + 1
  RETURNING last_seq
)
INSERT INTO audit_entries (tenant, seq, at, key_name, role, operation, operation_name, outcome, query, document_ids, photo_ids, duration_ms, client_address)
SELECT $1, next.last_seq, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM next`;

export interface PostgresAuditStoreOptions {
  /** Where an entry that cannot be written goes instead, at error level. */
  logger?: Pick<Logger, 'error'>;
}

export class PostgresAuditStore implements AuditStore {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly options: PostgresAuditStoreOptions = {},
  ) {}

  /** The schema is the database's (PostgresDatabase.init, run by the composition root). */
  async init(): Promise<void> {}

  /** The pool is shared with the identify records; the root closes it. */
  async close(): Promise<void> {}

  async append(e: NewAuditEntry): Promise<void> {
    try {
      await this.db.query(APPEND, [
        e.tenant,
        e.at,
        e.keyName,
        e.role,
        e.operation,
        e.operationName,
        e.outcome,
        e.query,
        JSON.stringify(e.documentIds),
        JSON.stringify(e.photoIds),
        Math.round(e.durationMs),
        e.clientAddress ?? null,
      ]);
    } catch (error) {
      this.options.logger?.error({ err: error, auditEntry: e }, 'audit entry could not be written; it is kept in this log line instead');
    }
  }

  /** UNAVAILABLE (retryAfterMs) while Postgres is not connected yet or known to be down. */
  assertRecording(): Promise<void> {
    return this.db.assertAvailable();
  }

  forTenant(tenant: string): AuditReader {
    return { list: (options) => this.list({ ...options, tenant }) };
  }

  async list(options: AuditQuery & { tenant: string }): Promise<AuditPage> {
    const where = ['tenant = $1'];
    const params: unknown[] = [options.tenant];
    if (options.after) {
      params.push(options.after);
      where.push(`seq < $${params.length}`);
    }
    if (options.keyName) {
      params.push(options.keyName);
      where.push(`key_name = $${params.length}`);
    }
    if (options.operation) {
      params.push(options.operation);
      where.push(`$${params.length} = ANY(string_to_array(operation, ','))`);
    }
    params.push(options.first + 1);
    const { rows } = await this.db.query<Row>(`SELECT * FROM audit_entries WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${params.length}`, params);
    return { items: rows.slice(0, options.first).map(fromRow), hasNextPage: rows.length > options.first };
  }
}
