/**
 * `fieldscope migrate --to scale` with DATABASE_URL, end to end on a real Postgres: an embedded
 * DATA_DIR (two tenants' identify.db, one audit.db) copied into Postgres and verified record by
 * record; Postgres down stops the run naming the database (and no password in the output); a rerun
 * copies nothing; what was copied is what the scale server reads (tenants kept apart, review
 * queue order and audit numbers kept).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresAuditStore } from '../../src/audit/postgres-audit-store.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';
import { runMigrateCommand } from '../../src/cli/migrate.js';
import { PostgresIdentifyStore } from '../../src/identify/postgres-identify-store.js';
import { SqliteIdentifyStore } from '../../src/identify/sqlite-identify-store.js';
import { PostgresDatabase } from '../../src/postgres/postgres-database.js';
import { auditEntry } from '../contract/audit-store.contract.js';
import { feedback, identification, reviewItem } from '../contract/identify-store.contract.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { capture } from '../helpers/capture.js';

describe('fieldscope migrate --to scale (records into a real Postgres)', () => {
  let postgres: TestPostgres;
  let url: string;
  let dataDir: string;
  const seeded = { default: { items: [] as string[], identification: '' }, acme: { items: [] as string[], identification: '' } };

  beforeAll(async () => {
    postgres = await startPostgres();
    url = await postgres.createDatabase('migrated');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-migrate-pg-'));
    for (const tenant of ['default', 'acme'] as const) {
      const dir = tenant === 'default' ? dataDir : path.join(dataDir, 'tenants', tenant);
      mkdirSync(dir, { recursive: true });
      const store = new SqliteIdentifyStore(path.join(dir, 'identify.db'));
      await store.init();
      const record = identification({ candidates: [{ label: `${tenant} pump`, score: 0.4 }] });
      seeded[tenant].identification = record.id;
      for (let i = 0; i < 3; i++) {
        const item = reviewItem({ reason: `${tenant} ${i}`, identificationId: i === 0 ? record.id : null, status: i === 2 ? 'RESOLVED' : 'OPEN' });
        seeded[tenant].items.push(item.id);
        if (i === 0) await store.addIdentification(record, item);
        else await store.addReviewItem(item);
      }
      await store.addFeedback(feedback({ identificationId: record.id }));
      await store.putPhotoHash({ photoId: 'p1', hash: tenant === 'default' ? '00000000000000ff' : 'ff00000000000000', duplicateOf: null });
      await store.close();
    }
    const audit = new SqliteAuditStore(path.join(dataDir, 'audit.db'));
    await audit.init();
    for (const tenant of ['default', 'acme', 'default', 'default', 'acme']) await audit.append(auditEntry({ tenant, query: `${tenant} question` }));
    await audit.close();
  }, 60_000);
  afterAll(async () => {
    await postgres?.close();
  });

  const migrate = async () => {
    const stdout = capture();
    const stderr = capture();
    const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', VECTOR_STORE: 'qdrant', QDRANT_URL: 'http://127.0.0.1:1', DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT_MS: '1000' };
    const code = await runMigrateCommand(['--to', 'scale'], { stdout: stdout.stream, stderr: stderr.stream, env });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  };

  it('stops while Postgres is down, naming the database (host:port/database) and never the password', async () => {
    await postgres.stop();
    const down = await migrate();
    await postgres.start();
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/Postgres at 127\.0\.0\.1:\d+\/migrated\) is unavailable/);
    // A store that cannot be reached is a stop to resume from, not a failure to investigate.
    expect(down.stderr).toContain("run `fieldscope migrate --to scale` again to resume");
    expect(down.stdout + down.stderr).not.toContain(postgres.password);
  });

  it('copies every tenant’s records and the audit log, verified, and the scale stores read them as the embedded ones did', async () => {
    const run = await migrate();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`identify records → Postgres at 127.0.0.1:${postgres.port}/migrated`);
    for (const tenant of ['default', 'acme']) {
      expect(run.stdout).toContain(`verified  [${tenant}] identifications 1/1 verified (1 copied, 0 already there)`);
      expect(run.stdout).toContain(`verified  [${tenant}] review items 3/3 verified (3 copied, 0 already there)`);
      expect(run.stdout).toContain(`verified  [${tenant}] feedback 1/1 verified`);
      expect(run.stdout).toContain(`verified  [${tenant}] photo hashes 1/1 verified`);
    }
    expect(run.stdout).toMatch(/verified {2}audit/);
    expect(run.stdout).not.toContain(postgres.password);

    const db = new PostgresDatabase({ url, poolSize: 2, connectTimeoutMs: 2000, statementTimeoutMs: 10_000 });
    await db.init();
    try {
      for (const tenant of ['default', 'acme'] as const) {
        const store = new PostgresIdentifyStore(db, tenant);
        expect((await store.listReviewItems({ first: 10 })).items.map((i) => i.id)).toEqual([...seeded[tenant].items].reverse());
        expect((await store.getIdentification(seeded[tenant].identification))?.candidates).toEqual([{ label: `${tenant} pump`, score: 0.4 }]);
        expect((await store.activeFeedback()).length).toBe(1);
      }
      expect((await new PostgresIdentifyStore(db, 'acme').getPhotoHash('p1'))?.hash).toBe('ff00000000000000');
      const audit = new PostgresAuditStore(db);
      expect((await audit.list({ tenant: 'default', first: 10 })).items.map((e) => e.seq)).toEqual([3, 2, 1]);
      expect((await audit.list({ tenant: 'acme', first: 10 })).items.map((e) => [e.seq, e.query])).toEqual([
        [2, 'acme question'],
        [1, 'acme question'],
      ]);
    } finally {
      await db.close();
    }
  });

  it('a rerun copies nothing and verifies everything again', async () => {
    const again = await migrate();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('verified  [acme] review items 3/3 verified (0 copied, 3 already there)');
    expect(again.stdout).not.toMatch(/NOT verified/);
  });
});
