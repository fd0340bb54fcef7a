/**
 * The Postgres IdentifyStore against the shared IdentifyStore contract, on a real PostgreSQL
 * server started for this file (test/helpers/postgres.ts; it fails loudly when Postgres cannot
 * start). Each test gets a new database; `openOther` is a second pool, as a second replica has.
 */
import { afterAll, beforeAll } from 'vitest';
import { PostgresIdentifyStore } from '../../src/identify/postgres-identify-store.js';
import { PostgresDatabase } from '../../src/postgres/postgres-database.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { defineIdentifyStoreContract } from './identify-store.contract.js';

let server: TestPostgres;
let databases = 0;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.close();
});

export async function openDatabase(url: string, poolSize = 5): Promise<PostgresDatabase> {
  const db = new PostgresDatabase({ url, poolSize, connectTimeoutMs: 5000, statementTimeoutMs: 10_000 });
  await db.init();
  return db;
}

defineIdentifyStoreContract('Postgres (tenants as rows of one database)', async () => {
  const url = await server.createDatabase(`identify_${++databases}`);
  const main = await openDatabase(url);
  const pools = [main];
  return {
    open: async (tenant) => new PostgresIdentifyStore(main, tenant),
    async openOther(tenant) {
      const second = await openDatabase(url);
      pools.push(second);
      return new PostgresIdentifyStore(second, tenant);
    },
    async deleteReviewItem(tenant, id) {
      await main.query('DELETE FROM review_items WHERE tenant = $1 AND id = $2', [tenant, id]);
    },
    async cleanup() {
      for (const p of pools) await p.close();
    },
  };
});
