/**
 * The Postgres audit log against the shared AuditStore contract, on a real PostgreSQL server
 * started for this file (test/helpers/postgres.ts; it fails loudly when Postgres cannot start).
 * Each test gets a new database; a second `open()` is a second pool, as a second replica has.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PostgresAuditStore } from '../../src/audit/postgres-audit-store.js';
import { PostgresDatabase } from '../../src/postgres/postgres-database.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { defineAuditStoreContract } from './audit-store.contract.js';

let server: TestPostgres;
let databases = 0;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.close();
});

defineAuditStoreContract('Postgres (shared by replicas)', async () => {
  const url = await server.createDatabase(`audit_${++databases}`);
  const pools: PostgresDatabase[] = [];
  return {
    async open() {
      const db = new PostgresDatabase({ url, poolSize: 5, connectTimeoutMs: 5000, statementTimeoutMs: 10_000 });
      await db.init();
      pools.push(db);
      return new PostgresAuditStore(db);
    },
    async tamper(kind) {
      const client = new pg.Client(url);
      await client.connect();
      try {
        await client.query(kind === 'update' ? "UPDATE audit_entries SET key_name = 'mallory'" : 'DELETE FROM audit_entries');
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      for (const p of pools) await p.close();
    },
  };
});
