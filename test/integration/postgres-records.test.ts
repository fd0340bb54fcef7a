/**
 * What only the Postgres records have, on a real PostgreSQL server (test/helpers/postgres.ts):
 * schema creation raced by two replicas, a schema from a newer program, the server going away
 * and coming back (UNAVAILABLE with a retry hint, nothing half-written, no password anywhere),
 * and a wrong password (a configuration error).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresAuditStore } from '../../src/audit/postgres-audit-store.js';
import { PostgresIdentifyStore } from '../../src/identify/postgres-identify-store.js';
import { PostgresDatabase, type PostgresSettings } from '../../src/postgres/postgres-database.js';
import { MIGRATIONS } from '../../src/postgres/schema.js';
import { auditEntry } from '../contract/audit-store.contract.js';
import { feedback, identification, reviewItem } from '../contract/identify-store.contract.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let server: TestPostgres;
let databases = 0;
const settings = (url: string): PostgresSettings => ({ url, poolSize: 4, connectTimeoutMs: 2000, statementTimeoutMs: 10_000 });

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.close();
});

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const caught = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error & { code: string; category: string; details?: Record<string, unknown> },
  );

describe('Postgres schema', () => {
  it('two replicas starting at once on an empty database both come up, and each migration runs once', async () => {
    const url = await server.createDatabase(`schema_${++databases}`);
    const replicas = Array.from({ length: 4 }, () => new PostgresDatabase(settings(url)));
    await Promise.all(replicas.map((r) => r.init()));
    const applied = await withClient(url, async (c) => (await c.query<{ version: number }>('SELECT version FROM fieldscope_migrations ORDER BY version')).rows.map((r) => r.version));
    expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
    // Starting again changes nothing.
    await replicas[0]!.init();
    for (const r of replicas) expect((await r.status()).ready).toBe(true);
    await Promise.all(replicas.map((r) => r.close()));
  });

  it('refuses a schema written by a newer program, saying what to do', async () => {
    const url = await server.createDatabase(`schema_${++databases}`);
    const db = new PostgresDatabase(settings(url));
    await db.init();
    await withClient(url, (c) => c.query("INSERT INTO fieldscope_migrations (version, name) VALUES (999, 'from the future')"));
    const again = new PostgresDatabase(settings(url));
    const error = await caught(again.init());
    expect(error).toMatchObject({ code: 'DATABASE_SCHEMA_TOO_NEW', category: 'CONFIGURATION' });
    expect(error.message).toMatch(/Upgrade the program/);
    await db.close();
    await again.close();
  });
});

describe('Postgres going away', () => {
  it('answers UNAVAILABLE with a retry hint while down, writes nothing, and recovers when it returns; no password anywhere', async () => {
    const url = await server.createDatabase(`outage_${++databases}`);
    const idleErrors: string[] = [];
    const db = new PostgresDatabase(settings(url), (m) => idleErrors.push(m));
    await db.init();
    const store = new PostgresIdentifyStore(db, 'acme');
    const audit = new PostgresAuditStore(db, { logger: { error: (obj: unknown) => void idleErrors.push(JSON.stringify(obj)) } as never });
    const item = reviewItem();
    await store.addReviewItem(item);
    await audit.append(auditEntry());

    await server.stop();
    const down = await caught(store.updateReviewItem(item.id, ['OPEN'], { status: 'CLAIMED', claimedBy: 'bo' }));
    expect(down).toMatchObject({ code: 'UNAVAILABLE', category: 'UNAVAILABLE', details: { retryAfterMs: expect.any(Number) } });
    expect(down.message).toMatch(/Retry/);
    const record = identification();
    await expect(store.addIdentification(record, reviewItem({ identificationId: record.id }))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // The audit never throws: the entry goes to the error log instead.
    await expect(audit.append(auditEntry({ operation: 'during-outage' }))).resolves.toBeUndefined();
    const status = await db.status();
    expect(status.ready).toBe(false);
    expect(status.problem).toMatch(/unreachable/);
    for (const text of [down.message, JSON.stringify(down.details), status.problem!, ...idleErrors]) expect(text).not.toContain(server.password);

    await server.start();
    expect((await db.status()).ready).toBe(true);
    expect(await store.getIdentification(record.id)).toBeNull();
    expect((await store.getReviewItem(item.id))?.status).toBe('OPEN');
    expect(await store.updateReviewItem(item.id, ['OPEN'], { status: 'CLAIMED', claimedBy: 'bo' })).toMatchObject({ status: 'CLAIMED' });
    await audit.append(auditEntry({ operation: 'after-outage' }));
    expect((await audit.list({ tenant: 'acme', first: 10 })).items.map((e) => [e.seq, e.operation])).toEqual([
      [2, 'after-outage'],
      [1, 'search'],
    ]);
    await db.close();
  });

  it('a connection lost in the middle of a resolution leaves neither the resolution nor its feedback', async () => {
    const url = await server.createDatabase(`midway_${++databases}`);
    const db = new PostgresDatabase(settings(url));
    await db.init();
    const store = new PostgresIdentifyStore(db, 'acme');
    const item = reviewItem();
    await store.addReviewItem(item);
    const blocker = new pg.Client(url);
    await blocker.connect();
    // Hold the feedback table: the resolution's UPDATE goes through, its feedback INSERT waits.
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE feedback IN ACCESS EXCLUSIVE MODE');
    const label = feedback({ label: 'check valve' });
    const resolving = caught(store.updateReviewItem(item.id, ['OPEN', 'CLAIMED'], { status: 'RESOLVED', resolvedBy: 'bo', feedbackId: label.id }, label));
    // Wait until it is stuck on the lock, then cut its connection (as a crash or failover would).
    for (let i = 0; i < 100; i++) {
      const { rows } = await blocker.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'fieldscope' AND wait_event_type = 'Lock'");
      if (rows.length > 0) {
        await blocker.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await resolving).toMatchObject({ code: 'UNAVAILABLE' });
    await blocker.query('ROLLBACK');
    await blocker.end();
    expect((await store.getReviewItem(item.id))?.status).toBe('OPEN');
    expect(await store.getFeedback(label.id)).toBeNull();
    await db.close();
  });

  it('a wrong password is a configuration error that names the server but never the password', async () => {
    const wrong = server.url.replace(encodeURIComponent(server.password), 'not-the-password-xyz');
    const db = new PostgresDatabase(settings(wrong));
    const error = await caught(db.init());
    expect(error).toMatchObject({ code: 'INVALID_CONFIGURATION', category: 'CONFIGURATION' });
    expect(error.message).toContain(`127.0.0.1:${server.port}/postgres`);
    expect(error.message).not.toContain('not-the-password-xyz');
    expect((await db.status()).problem).not.toContain('not-the-password-xyz');
    await db.close();
  });

  it('an unreachable server fails init with UNAVAILABLE (retried at start-up), naming host and port only', async () => {
    const db = new PostgresDatabase({ ...settings(`postgres://fieldscope:${server.password}@127.0.0.1:1/postgres`), connectTimeoutMs: 500 });
    const error = await caught(db.init());
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    expect(error.message).toContain('127.0.0.1:1/postgres');
    expect(error.message).not.toContain(server.password);
    expect((await db.status()).ready).toBe(false);
    await db.close();
  });
});
