/**
 * The embedded audit store (src/audit/audit-store.ts): append-only, enforced by the database
 * itself (triggers refuse UPDATE and DELETE), in its own SQLite file so it survives restarts and
 * is never touched by knowledge-base maintenance.
 *
 * Durability, and why the main thread never fsyncs. Every GraphQL operation appends one entry
 * before its answer is sent, on the main thread, so an append must be cheap. The file is in WAL
 * mode with `synchronous = NORMAL` (better-sqlite3's build default for WAL, stated here): a commit
 * writes the entry to the WAL without an fsync (~0.05 ms). The fsyncs happen at checkpoints, and
 * SQLite's automatic checkpoint ran them on the committing thread every ~1000 WAL pages (about
 * 250 entries): a 5-17 ms stall of every request in flight when the disk was busy, and at low
 * traffic entries could sit un-synced for hours. Now the appending connection never checkpoints
 * (`wal_autocheckpoint = 0`) and a worker thread (audit-checkpointer.js) with its own connection
 * checkpoints every `checkpointIntervalMs` (1 s) while entries arrive. The guarantee:
 *  - an entry is committed before its operation's answer is sent: a later read sees it, and it
 *    survives a crash or kill of the server process;
 *  - it is on disk (survives an OS crash or power loss) within about `checkpointIntervalMs`.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { StorageHealth } from '../storage/storage-health.js';
import { openSideDatabase } from '../store/sqlite/open-database.js';
import { awaitReady } from '../workers/await-ready.js';
import type { AuditEntryRecord, AuditPage, AuditQuery, AuditReader, AuditStore, NewAuditEntry } from './audit-store.js';

/**
 * `seq` orders the whole file; `tenant_seq` numbers each tenant's entries 1, 2, 3 … and is what
 * readers see (a shared counter would show one tenant, by its gaps, how busy the others are).
 */
const NO_UPDATE_TRIGGER = `CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL, key_name TEXT NOT NULL, tenant TEXT NOT NULL, role TEXT NOT NULL,
  operation TEXT NOT NULL, operation_name TEXT, outcome TEXT NOT NULL, query TEXT,
  document_ids TEXT NOT NULL, photo_ids TEXT NOT NULL, duration_ms INTEGER NOT NULL,
  tenant_seq INTEGER, client_address TEXT
);
CREATE INDEX IF NOT EXISTS audit_key ON audit (key_name, seq);
CREATE INDEX IF NOT EXISTS audit_tenant ON audit (tenant, seq);
${NO_UPDATE_TRIGGER}
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`;

/**
 * Logs written before per-tenant numbering get `tenant_seq` once, in order (the only UPDATE the
 * log ever sees: the append-only trigger is lifted for it, inside one transaction, and restored).
 */
function migrateTenantSeq(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(audit)').all() as { name: string }[];
  db.transaction(() => {
    if (!columns.some((c) => c.name === 'tenant_seq')) db.exec('ALTER TABLE audit ADD COLUMN tenant_seq INTEGER');
    // Logs written before client addresses were recorded: their entries keep NULL (unknown).
    if (!columns.some((c) => c.name === 'client_address')) db.exec('ALTER TABLE audit ADD COLUMN client_address TEXT');
    const missing = db.prepare('SELECT 1 FROM audit WHERE tenant_seq IS NULL LIMIT 1').get();
    if (missing) {
      db.exec('DROP TRIGGER IF EXISTS audit_no_update');
      db.exec(`UPDATE audit SET tenant_seq = numbered.n
        FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY tenant ORDER BY seq) AS n FROM audit) AS numbered
        WHERE audit.seq = numbered.seq`);
      db.exec(NO_UPDATE_TRIGGER);
    }
    db.exec('CREATE UNIQUE INDEX IF NOT EXISTS audit_tenant_seq ON audit (tenant, tenant_seq)');
  }).immediate();
}

interface Row {
  seq: number;
  tenant_seq: number;
  at: string;
  key_name: string;
  tenant: string;
  role: string;
  operation: string;
  operation_name: string | null;
  outcome: string;
  query: string | null;
  document_ids: string;
  photo_ids: string;
  duration_ms: number;
  client_address: string | null;
}

const fromRow = (r: Row): AuditEntryRecord => ({
  seq: r.tenant_seq,
  at: r.at,
  keyName: r.key_name,
  tenant: r.tenant,
  role: r.role,
  operation: r.operation,
  operationName: r.operation_name,
  outcome: r.outcome,
  query: r.query,
  documentIds: JSON.parse(r.document_ids) as string[],
  photoIds: JSON.parse(r.photo_ids) as string[],
  durationMs: r.duration_ms,
  clientAddress: r.client_address ?? null,
});

export interface SqliteAuditStoreOptions {
  /** Told when an entry cannot be written for lack of storage (mutations then fail closed). */
  storage?: Pick<StorageHealth, 'noteFailure'>;
  /** Where an entry that cannot be written goes instead, at error level. */
  logger?: Pick<Logger, 'error'>;
  /** How often the checkpointer thread syncs new entries to disk (ms, default 1000): the power-loss window. */
  checkpointIntervalMs?: number;
}

/** Default of `checkpointIntervalMs`. */
export const AUDIT_CHECKPOINT_INTERVAL_MS = 1000;

const INSERT = `INSERT INTO audit (at, key_name, tenant, role, operation, operation_name, outcome, query, document_ids, photo_ids, duration_ms, client_address, tenant_seq)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(tenant_seq), 0) + 1 FROM audit WHERE tenant = ?))`;

const CHECKPOINTER_URL = new URL('./audit-checkpointer.js', import.meta.url);

export class SqliteAuditStore implements AuditStore {
  private db: Database.Database | null = null;
  /** The prepared insert in its immediate transaction (prepared once: compiling it per entry cost more than the write). */
  private write: ((e: NewAuditEntry) => void) | null = null;
  private checkpointer: Worker | null = null;

  constructor(
    private readonly file: string,
    private readonly options: SqliteAuditStoreOptions = {},
  ) {}

  async init(): Promise<void> {
    const db = openSideDatabase(this.file, SCHEMA);
    this.db = db;
    migrateTenantSeq(db);
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 0');
    const insert = db.prepare(INSERT);
    // The next number of this tenant and the row, in one immediate transaction: two writers (two
    // processes on one file) cannot take the same number; the unique index would refuse it anyway.
    const tx = db.transaction((e: NewAuditEntry) => {
      insert.run(e.at, e.keyName, e.tenant, e.role, e.operation, e.operationName, e.outcome, e.query, JSON.stringify(e.documentIds), JSON.stringify(e.photoIds), Math.round(e.durationMs), e.clientAddress ?? null, e.tenant);
    });
    this.write = (e) => tx.immediate(e);
    this.checkpointer = await this.startCheckpointer();
  }

  private async startCheckpointer(): Promise<Worker> {
    const worker = new Worker(CHECKPOINTER_URL, { workerData: { file: this.file, intervalMs: this.options.checkpointIntervalMs ?? AUDIT_CHECKPOINT_INTERVAL_MS } });
    await awaitReady(worker, 'the audit checkpointer').catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    worker.on('message', (msg: { kind: string; message?: string }) => {
      if (msg.kind === 'error') this.options.logger?.error({ file: this.file, reason: msg.message }, 'the audit log could not be synced to disk (checkpoint failed); entries stay in its WAL and are retried');
    });
    worker.on('error', (error) => this.options.logger?.error({ err: error, file: this.file }, 'the audit checkpointer stopped; entries are synced at close'));
    // An idle server may exit without closing the store (tests, CLI): the checkpointer does not hold it open.
    worker.unref();
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.checkpointer;
    this.checkpointer = null;
    if (worker) {
      // Its last checkpoint first, then the main connection (the last one closes the WAL).
      const stopped = new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.on('message', (msg: { kind: string }) => msg.kind === 'stopped' && resolve());
      });
      worker.postMessage({ kind: 'stop' });
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 5000).unref())]);
      await worker.terminate();
    }
    this.write = null;
    this.db?.close();
    this.db = null;
  }

  /**
   * Writes one entry. Never throws: the operation it records has already happened and its answer
   * is decided (a committed ingest must not be answered 500 because its audit entry did not fit on
   * a full disk). An entry that cannot be written is logged at error level with its contents, and
   * a storage failure is reported so that mutations fail closed until the disk takes writes again.
   */
  async append(e: NewAuditEntry): Promise<void> {
    const write = this.write;
    if (!write) return;
    try {
      write(e);
    } catch (error) {
      this.options.storage?.noteFailure(error, 'audit log');
      this.options.logger?.error({ err: error, auditEntry: e }, 'audit entry could not be written; it is kept in this log line instead');
    }
  }

  /** One tenant's entries: what an admin of that tenant may read (GraphQL `auditLog`). */
  forTenant(tenant: string): AuditReader {
    return { list: async (options) => this.list({ ...options, tenant }) };
  }

  /** Newest first; `after` is the (per-tenant) seq of the last entry of the previous page. Always one tenant's entries. */
  async list(options: AuditQuery & { tenant: string }): Promise<AuditPage> {
    if (!this.db) throw new Error('SqliteAuditStore used before init()');
    const where: string[] = ['tenant = ?'];
    const params: (string | number)[] = [options.tenant];
    if (options.after) {
      where.push('tenant_seq < ?');
      params.push(options.after);
    }
    if (options.keyName) {
      where.push('key_name = ?');
      params.push(options.keyName);
    }
    if (options.operation) {
      // An exact, case-sensitive field name among the comma-separated ones (LIKE would also match
      // another case and read `_` as a wildcard, unlike the Postgres store).
      where.push("instr(',' || operation || ',', ?) > 0");
      params.push(`,${options.operation},`);
    }
    const rows = this.db.prepare(`SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY tenant_seq DESC LIMIT ?`).all(...params, options.first + 1) as Row[];
    return { items: rows.slice(0, options.first).map(fromRow), hasNextPage: rows.length > options.first };
  }

  /** The tenants with entries (for `fieldscope migrate`). */
  async tenants(): Promise<string[]> {
    if (!this.db) throw new Error('SqliteAuditStore used before init()');
    return (this.db.prepare('SELECT DISTINCT tenant FROM audit ORDER BY tenant').all() as { tenant: string }[]).map((r) => r.tenant);
  }

  /** One tenant's entries oldest first, those numbered after `afterSeq` (for `fieldscope migrate`). */
  async entriesAfter(tenant: string, afterSeq: number, limit: number): Promise<AuditEntryRecord[]> {
    if (!this.db) throw new Error('SqliteAuditStore used before init()');
    const rows = this.db.prepare('SELECT * FROM audit WHERE tenant = ? AND tenant_seq > ? ORDER BY tenant_seq LIMIT ?').all(tenant, afterSeq, limit) as Row[];
    return rows.map(fromRow);
  }
}
