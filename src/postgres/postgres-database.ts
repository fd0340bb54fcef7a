/**
 * One Postgres connection pool for the records that replicas share (identifications, feedback,
 * review items and their claims, photo hashes, the audit log), and the schema they live in.
 *
 * - The constructor does no I/O; `init()` connects and brings the schema up to date. Two replicas
 *   starting at once are safe: migrations run inside one transaction holding a transaction-scoped
 *   advisory lock, so the second waits, then finds them applied in `fieldscope_migrations`.
 * - Every call maps connection failures to `UNAVAILABLE` with a retry hint (postgres-errors.ts).
 *   Writes are single statements or `transaction()`s, so a failure mid-request leaves nothing
 *   half-written: Postgres rolls back what a dropped connection did not commit.
 * - The URL is only handed to `pg`; logs and errors name `host:port/database` (the password is in
 *   the URL's user-info part).
 * - An operation's abort signal (its deadline, its client gone) reaches the server: once it fires,
 *   the statement running on the operation's connection is cancelled (`pg_cancel_backend`, sent
 *   over a short-lived connection of its own so a full pool cannot delay it), a transaction never
 *   commits and is rolled back, and the call rejects with the signal's reason. A connection that
 *   was sent a cancel is closed, never handed back to the pool, so a cancel that arrives late
 *   cannot hit the next request's statement.
 * - It remembers whether Postgres is known to be down (a call or the /ready probe failed to reach
 *   it, or the server closed the pool's idle connections) until a call or probe reaches it again:
 *   `assertAvailable()` answers from that memory, so mutations are refused while the audit log
 *   cannot record them, with no round trip per request while Postgres is up (storage-guard.ts).
 */
import pg from 'pg';
import { AppError, UnavailableError } from '../errors.js';
import { DATABASE_RETRY_AFTER_MS, describeDatabaseUrl, isConnectionFailure, isServerUnreachable, toDatabaseError } from './postgres-errors.js';
import { MIGRATIONS } from './schema.js';

export interface PostgresSettings {
  /** postgres://user:password@host:port/database (DATABASE_URL). */
  url: string;
  /** Most connections this process opens (DATABASE_POOL_SIZE). */
  poolSize: number;
  /** How long to wait for a connection, from the server or the pool, in ms (DATABASE_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** Longest a statement may run on the server, in ms; 0: no limit (DATABASE_STATEMENT_TIMEOUT_MS). */
  statementTimeoutMs: number;
}

export interface PostgresStatus {
  ready: boolean;
  /** Why not, in words fit for /ready (no credentials). */
  problem: string | null;
  location: string;
}

/** Key of the advisory lock that serializes schema migrations across replicas ("fsmigrat"). */
const MIGRATION_LOCK_KEY = 0x66736d69677261n;

/** The schema was written by a newer program: running an older one against it is unsafe. */
export class DatabaseSchemaTooNewError extends AppError {
  constructor(location: string, found: number, supported: number) {
    super(
      'DATABASE_SCHEMA_TOO_NEW',
      'CONFIGURATION',
      `The records database (Postgres at ${location}) has schema version ${found}, newer than this program supports (${supported}). Upgrade the program, or point DATABASE_URL at another database.`,
      { details: { found, supported } },
    );
  }
}

/** The operation a call belongs to: once `signal` fires the call stops (see the top of this file). */
export interface DatabaseCallOptions {
  signal?: AbortSignal | undefined;
}

/** What both the database and a transaction's connection offer: one parameterized statement. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** The server process behind a connection (pg reads it from BackendKeyData; its typings omit it). */
function backendPid(client: pg.PoolClient): number | undefined {
  const pid = (client as unknown as { processID?: unknown }).processID;
  return typeof pid === 'number' ? pid : undefined;
}

export class PostgresDatabase {
  readonly location: string;
  private pool: pg.Pool | null = null;
  private initialized = false;
  private lastProblem = 'not connected yet';
  /** Set when a call found Postgres unreachable, cleared when one reaches it (see the top of this file). */
  private outage: string | null = null;
  private checking: Promise<string | null> | null = null;

  constructor(
    private readonly settings: PostgresSettings,
    private readonly onIdleError: (message: string) => void = () => undefined,
  ) {
    this.location = describeDatabaseUrl(settings.url);
  }

  private getPool(): pg.Pool {
    if (!this.pool) {
      const pool = new pg.Pool({
        connectionString: this.settings.url,
        max: this.settings.poolSize,
        connectionTimeoutMillis: this.settings.connectTimeoutMs,
        ...(this.settings.statementTimeoutMs > 0 ? { statement_timeout: this.settings.statementTimeoutMs } : {}),
        keepAlive: true,
        application_name: 'fieldscope',
      });
      // An idle connection that the server drops (restart, failover) emits 'error' on the pool;
      // unhandled, it would end the process. The next query opens a fresh connection.
      pool.on('error', (error) => {
        if (isServerUnreachable(error)) this.noteOutage(error);
        this.onIdleError(`an idle connection to Postgres at ${this.location} was closed: ${error.message}`);
      });
      this.pool = pool;
    }
    return this.pool;
  }

  /** Connects and applies missing migrations (idempotent; safe from several replicas at once). */
  async init(): Promise<void> {
    try {
      await this.inTransaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
        await client.query('CREATE TABLE IF NOT EXISTS fieldscope_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
        const applied = new Set((await client.query<{ version: number }>('SELECT version FROM fieldscope_migrations')).rows.map((r) => r.version));
        const newest = Math.max(0, ...applied);
        const supported = MIGRATIONS.at(-1)?.version ?? 0;
        if (newest > supported) throw new DatabaseSchemaTooNewError(this.location, newest, supported);
        for (const migration of MIGRATIONS) {
          if (applied.has(migration.version)) continue;
          await client.query(migration.sql);
          await client.query('INSERT INTO fieldscope_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        }
      });
      this.initialized = true;
    } catch (error) {
      this.noteInitFailure(error);
      throw error;
    }
  }

  /** One statement on any pooled connection; with a signal, on one the signal can cancel. */
  async query<R extends pg.QueryResultRow>(text: string, params: unknown[] = [], options: DatabaseCallOptions = {}): Promise<pg.QueryResult<R>> {
    this.requireSchema();
    const { signal } = options;
    if (signal) return this.onCancellable(signal, (client) => client.query<R>(text, params));
    try {
      const result = await this.getPool().query<R>(text, params);
      this.outage = null;
      return result;
    } catch (error) {
      throw this.failure(error);
    }
  }

  /**
   * `fn` inside BEGIN … COMMIT on one connection; any failure rolls it all back. With a signal,
   * its firing cancels the running statement, refuses the next ones, and rolls back.
   */
  async transaction<T>(fn: (client: Queryable) => Promise<T>, options: DatabaseCallOptions = {}): Promise<T> {
    this.requireSchema();
    const { signal } = options;
    if (!signal) return this.inTransaction(fn);
    return this.onCancellable(signal, async (client) => {
      const guarded: Queryable = {
        query: <R extends pg.QueryResultRow>(text: string, params?: unknown[]) => {
          signal.throwIfAborted();
          return client.query<R>(text, params);
        },
      };
      await client.query('BEGIN');
      const result = await fn(guarded);
      // The last moment to give up: past it the transaction is the operation's result.
      signal.throwIfAborted();
      await client.query('COMMIT');
      return result;
    });
  }

  /**
   * `work` on a connection of its own while `signal` may cancel it. Aborted: the statement in
   * progress is cancelled on the server, the call rejects with `signal.reason`, and the connection
   * is closed (which also rolls back an open transaction); otherwise failures are as `query`'s.
   */
  private async onCancellable<T>(signal: AbortSignal, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    const client = await this.connectUnlessAborted(signal);
    let cancelSent = false;
    const onAbort = () => {
      cancelSent = true;
      void this.cancelBackend(backendPid(client));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let destroy = false;
    try {
      const result = await work(client);
      this.outage = null;
      signal.throwIfAborted();
      return result;
    } catch (error) {
      if (signal.aborted) {
        destroy = true;
        throw signal.reason;
      }
      destroy = isConnectionFailure(error);
      // Outside a transaction this is a harmless no-op; inside, it ends the failed one.
      if (!destroy) {
        await client.query('ROLLBACK').catch(() => {
          destroy = true;
        });
      }
      throw this.failure(error);
    } finally {
      signal.removeEventListener('abort', onAbort);
      client.release(destroy || cancelSent);
    }
  }

  /** A pooled connection, or the signal's reason as soon as it fires (a connection that comes later goes back to the pool). */
  private connectUnlessAborted(signal: AbortSignal): Promise<pg.PoolClient> {
    return new Promise<pg.PoolClient>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.getPool()
        .connect()
        .then(
          (client) => {
            signal.removeEventListener('abort', onAbort);
            if (signal.aborted) {
              client.release();
              reject(signal.reason);
            } else resolve(client);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(this.failure(error));
          },
        );
    });
  }

  /**
   * Asks the server to cancel what backend `pid` is running, over a connection of its own (a full
   * pool must not hold the cancel up). Best effort: when it fails, the statement ends at
   * DATABASE_STATEMENT_TIMEOUT_MS, or when its connection is closed.
   */
  private async cancelBackend(pid: number | undefined): Promise<void> {
    if (!pid) return;
    const canceller = new pg.Client({ connectionString: this.settings.url, connectionTimeoutMillis: this.settings.connectTimeoutMs, application_name: 'fieldscope-cancel' });
    canceller.on('error', () => undefined);
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch (error) {
      this.onIdleError(`could not cancel a statement on Postgres at ${this.location}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }

  /** Until `init()` has succeeded the tables may not exist: callers get UNAVAILABLE, not "relation does not exist". */
  private requireSchema(): void {
    if (this.initialized) return;
    throw new UnavailableError(`The records database (Postgres at ${this.location}) is not connected yet (${this.lastProblem}); nothing was written. Retry in a few seconds.`, {
      details: { retryAfterMs: DATABASE_RETRY_AFTER_MS, dependency: 'postgres' },
    });
  }

  private async inTransaction<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.getPool().connect();
    } catch (error) {
      throw this.failure(error);
    }
    let destroy = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      this.outage = null;
      return result;
    } catch (error) {
      destroy = isConnectionFailure(error);
      if (!destroy) {
        await client.query('ROLLBACK').catch(() => {
          destroy = true;
        });
      }
      throw this.failure(error);
    } finally {
      // A connection that failed is closed, not handed to the next request.
      client.release(destroy);
    }
  }

  /**
   * For /ready: before `init()` succeeded, why it has not; after, a `SELECT 1` round trip, so a
   * database that went away shows at once, not only when a request happens to need it.
   */
  async status(): Promise<PostgresStatus> {
    if (!this.initialized) return { ready: false, problem: this.lastProblem, location: this.location };
    const problem = await this.check();
    return problem === null ? { ready: true, problem: null, location: this.location } : { ready: false, problem: `Postgres at ${this.location} is unreachable: ${problem}`, location: this.location };
  }

  /**
   * Refuses (UNAVAILABLE with a retry hint) while Postgres is not connected yet or is known to be
   * down; no round trip while it is known to be up. While down, each call first checks again (one
   * `SELECT 1` shared by concurrent callers), so callers are let through as soon as it is back.
   */
  async assertAvailable(): Promise<void> {
    this.requireSchema();
    if (this.outage === null) return;
    await this.check();
    if (this.outage === null) return;
    throw new UnavailableError(`The records database (Postgres at ${this.location}) is unavailable (${this.outage}), so the audit log cannot record changes; nothing was written. Reads still work; retry in a few seconds.`, {
      details: { retryAfterMs: DATABASE_RETRY_AFTER_MS, dependency: 'postgres' },
    });
  }

  /** One `SELECT 1` (concurrent callers share it): null when Postgres answered, else why not. */
  private check(): Promise<string | null> {
    this.checking ??= (async () => {
      try {
        await this.getPool().query('SELECT 1');
        this.outage = null;
        return null;
      } catch (error) {
        this.noteOutage(error);
        return error instanceof Error ? error.message : String(error);
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  private noteOutage(error: unknown): void {
    this.outage = error instanceof Error ? error.message : String(error);
  }

  /** Records why the last connection attempt failed (start-up retries), for /ready. */
  noteInitFailure(error: unknown): void {
    // The driver's own reason (connect ECONNREFUSED …): /ready and the request's message already
    // name the records database, and an UNAVAILABLE's "nothing was written" is for requests.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    this.lastProblem = cause instanceof Error ? cause.message : String(cause);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    this.initialized = false;
    this.lastProblem = 'closed';
    await pool?.end();
  }

  private failure(error: unknown): unknown {
    if (isServerUnreachable(error)) this.noteOutage(error);
    return toDatabaseError(error, this.location);
  }
}
