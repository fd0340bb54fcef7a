/**
 * `fieldscope migrate`: moves an embedded deployment's state (files under DATA_DIR) to the engines
 * of the scale deployment.
 *
 * `--to qdrant` copies one tenant's knowledge base (DATA_DIR/fieldscope.db) into Qdrant, record by
 * record with its vectors, keeping ids, dates and blob keys. Resumable: a document or photo already
 * committed in Qdrant (same file) is skipped, and each record is added atomically (an interrupted
 * one is completed by the next run). When Qdrant stops answering, the run stops and says how to
 * resume. At the end the counts of documents, pages, chunks and photos in Qdrant are compared with
 * the SQLite store's. The SQLite file is opened read-only: the server may keep serving from it
 * meanwhile (records it adds during the run are copied by a rerun).
 *
 * `--to scale` copies everything the configuration keeps outside DATA_DIR (src/core/backends.ts,
 * `migrationTargets`): identify records and the audit log into Postgres, files into S3
 * (src/migrate/), and each tenant's knowledge base as above after its files, every tenant unless
 * `--tenant`. Also resumable, and every record and file is read back from its target and
 * compared by checksum.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { SqliteAuditStore } from '../audit/sqlite-audit-store.js';
import { DiskBlobStore } from '../blob/blob-store.js';
import { migrationTargets } from '../core/backends.js';
import { SqliteIdentifyStore } from '../identify/sqlite-identify-store.js';
import { copyAuditLog } from '../migrate/copy-audit.js';
import { copyBlobs } from '../migrate/copy-blobs.js';
import { copyIdentifyRecords } from '../migrate/copy-identify-records.js';
import { describeTally, isVerified, MigrationStopped, type Tally } from '../migrate/tally.js';
import { loadConfig, type Config } from '../config.js';
import { isAppError } from '../errors.js';
import { sqliteFile, type QdrantStoreSettings } from '../store/create-store.js';
import { QdrantKnowledgeStore, type QdrantStoreStats } from '../store/qdrant/qdrant-knowledge-store.js';
import { SqliteKnowledgeExport } from '../store/sqlite/sqlite-export.js';
import { DEFAULT_TENANT, qdrantTenantName, TENANT_NAME, tenantDataDir, tenantNameProblem } from '../tenancy/tenant-spaces.js';
import { TerminalStatus, type OutStream } from './terminal.js';

const USAGE = `Usage: fieldscope migrate --to qdrant|scale [options]

--to qdrant copies one tenant's embedded knowledge base in DATA_DIR into Qdrant, with progress.
Safe to rerun: records already in Qdrant are skipped, an interrupted run is resumed. Counts are
verified at the end. Run it once per tenant.

--to scale copies everything the configuration keeps outside DATA_DIR, for every tenant in
DATA_DIR (or --tenant): the knowledge base into Qdrant (VECTOR_STORE=qdrant), identifications,
feedback, review items, photo hashes and the audit log into Postgres (DATABASE_URL), and files
into object storage (S3_BUCKET). Safe to rerun and resumable; every record and file is read back
and verified by checksum. Run it before the scale servers take traffic.
  --to qdrant|scale          the target
  --qdrant-url <url>         Qdrant's REST URL (default: QDRANT_URL)
  --qdrant-api-key <key>     (default: QDRANT_API_KEY)
  --collection-prefix <p>    (default: QDRANT_COLLECTION_PREFIX, else "fieldscope_")
  --tenant <name>            the tenant to copy (qdrant: default "default", stored in Qdrant under
                             QDRANT_TENANT; any other tenant is stored under its own name, as
                             the server reads it)
  --batch <n>                most points per upsert request (default 64)
`;

export interface MigrateCommandIO {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
  /** Qdrant settings from the loaded configuration; command-line options win over them. */
  qdrant?: Partial<QdrantStoreSettings>;
}

type Outcome = 'copied' | 'skipped' | 'failed';

/**
 * Qdrant settings from the environment when QDRANT_URL is not set (`--qdrant-url` gives it):
 * config.ts carries them only with a URL, and then its validated values take precedence.
 */
function qdrantSettingsFromEnv(env: NodeJS.ProcessEnv): Partial<QdrantStoreSettings> {
  const value = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const timeout = value('QDRANT_TIMEOUT_MS');
  return {
    url: value('QDRANT_URL'),
    apiKey: value('QDRANT_API_KEY'),
    collectionPrefix: value('QDRANT_COLLECTION_PREFIX'),
    tenant: value('QDRANT_TENANT'),
    timeoutMs: timeout === undefined ? undefined : Number(timeout),
  };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function reason(error: unknown): string {
  return isAppError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
}

export async function runMigrateCommand(argv: string[], io: Partial<MigrateCommandIO> = {}): Promise<number> {
  const out: MigrateCommandIO = { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env, qdrant: io.qdrant };
  let values: { help?: boolean; to?: string; 'qdrant-url'?: string; 'qdrant-api-key'?: string; 'collection-prefix'?: string; tenant?: string; batch?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        to: { type: 'string' },
        'qdrant-url': { type: 'string' },
        'qdrant-api-key': { type: 'string' },
        'collection-prefix': { type: 'string' },
        tenant: { type: 'string' },
        batch: { type: 'string' },
      },
    }));
  } catch (error) {
    out.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) return void out.stdout.write(USAGE), 0;
  if (values.to !== 'qdrant' && values.to !== 'scale') {
    out.stderr.write(`${values.to === undefined ? 'Say where to: --to qdrant or --to scale' : `Unknown target "${values.to}"; the targets are qdrant and scale`}\n\n${USAGE}`);
    return 2;
  }
  const batch = values.batch === undefined ? undefined : Number(values.batch);
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 10_000)) {
    out.stderr.write(`--batch must be an integer from 1 to 10000; got ${values.batch}\n`);
    return 2;
  }

  let config: Config;
  try {
    config = loadConfig(out.env);
  } catch (error) {
    out.stderr.write(`fieldscope migrate cannot run: ${reason(error)}\n`);
    return 1;
  }
  const settings = {
    collectionPrefix: 'fieldscope_',
    ...defined(qdrantSettingsFromEnv(out.env)),
    // With QDRANT_URL set, the validated settings: every QDRANT_* the server reads, so a collection
    // the migration creates gets QDRANT_QUANTIZATION, and retries follow QDRANT_MAX_RETRIES.
    ...defined(config.store.qdrant ?? {}),
    ...defined(out.qdrant ?? {}),
    ...defined({ url: values['qdrant-url'], apiKey: values['qdrant-api-key'], collectionPrefix: values['collection-prefix'], upsertBatchSize: batch }),
  };
  if (values.tenant !== undefined) {
    const problem = tenantNameProblem(values.tenant);
    if (problem) {
      out.stderr.write(`${problem}\n`);
      return 2;
    }
  }
  if (values.to === 'scale') return migrateToScale(config, settings, values.tenant ?? null, out);
  if (!settings.url) {
    out.stderr.write(`fieldscope migrate: say which Qdrant: set QDRANT_URL or pass --qdrant-url.\n`);
    return 2;
  }
  return copyKnowledgeBase(config.dataDir, values.tenant ?? DEFAULT_TENANT, { ...settings, url: settings.url }, out);
}

type QdrantCopySettings = Partial<QdrantStoreSettings> & { url: string; collectionPrefix: string };

/** Copies one tenant's embedded knowledge base into Qdrant (`--to qdrant`, and each tenant's last step of `--to scale`); returns the exit code. */
async function copyKnowledgeBase(dataDir: string, tenant: string, settings: QdrantCopySettings, out: MigrateCommandIO): Promise<number> {
  let source: SqliteKnowledgeExport;
  let store: QdrantKnowledgeStore;
  try {
    source = SqliteKnowledgeExport.open(sqliteFile(tenantDataDir(dataDir, tenant)));
    store = new QdrantKnowledgeStore({ ...settings, tenant: qdrantTenantName(tenant, settings.tenant), dim: source.dim, modelId: source.modelId });
  } catch (error) {
    out.stderr.write(`fieldscope migrate cannot run: ${reason(error)}\n`);
    return 1;
  }

  try {
    try {
      await store.init();
    } catch (error) {
      out.stderr.write(`fieldscope migrate cannot open Qdrant: ${reason(error)}\n`);
      return 1;
    }
    const expected = source.counts();
    const total = expected.documents + expected.photos;
    out.stdout.write(
      `Copying ${expected.documents} documents (${expected.pages} pages, ${expected.chunks} chunks) and ${expected.photos} photos\n  from ${source.file}\n  to   Qdrant ${store.location}\n`,
    );
    const terminal = new TerminalStatus(out.stdout);
    const counts: Record<Outcome, number> = { copied: 0, skipped: 0, failed: 0 };
    const started = Date.now();
    let done = 0;
    const run: { stopped: string | null } = { stopped: null };

    const progress = (label: string) => {
      // Progress on a terminal every record; in a log every 100.
      if (terminal.tty || done % 100 === 0) terminal.status(terminal.bar(done, total, `${done}/${total}  ${label}`), false);
    };
    const copy = async (label: string, existing: () => Promise<{ id: string } | null>, add: () => Promise<{ id: string; created: boolean }>, id: string): Promise<void> => {
      progress(label);
      try {
        const found = await existing();
        if (found) {
          counts.skipped++;
          if (found.id !== id) terminal.line(`skipped  ${label}: the same file is already in Qdrant as ${found.id}`);
        } else {
          const result = await add();
          counts[result.created ? 'copied' : 'skipped']++;
          terminal.line(result.created ? `copied   ${label}` : `skipped  ${label}: the same file is already in Qdrant as ${result.id}`);
        }
      } catch (error) {
        counts.failed++;
        terminal.line(`failed   ${label}: ${reason(error)}`);
        if (isAppError(error) && error.category === 'UNAVAILABLE') run.stopped = reason(error);
      }
      done++;
    };

    for (const doc of source.documents()) {
      const d = doc.document;
      await copy(`document ${d.id} "${d.title}" (${doc.pages.length} page${doc.pages.length === 1 ? '' : 's'})`, () => store.findDocumentByHash(d.contentHash), async () => {
        const r = await store.addDocument(doc);
        return { id: r.document.id, created: r.created };
      }, d.id);
      if (run.stopped) break;
    }
    if (!run.stopped) {
      for (const photo of source.photos()) {
        const p = photo.photo;
        await copy(`photo ${p.id}${p.caption ? ` "${p.caption.slice(0, 50)}"` : ''}`, () => store.findPhotoByHash(p.contentHash), async () => {
          const r = await store.addPhoto(photo);
          return { id: r.photo.id, created: r.created };
        }, p.id);
        if (run.stopped) break;
      }
    }
    terminal.clear();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    out.stdout.write(`${counts.copied} copied, ${counts.skipped} already in Qdrant, ${counts.failed} failed (${done} of ${total} records in ${seconds} s)\n`);
    if (run.stopped) {
      out.stderr.write(`Qdrant stopped answering (${run.stopped}).\nNothing half-written is visible; run \`fieldscope migrate --to qdrant\` again to resume.\n`);
      return 1;
    }
    return verify(expected, await store.stats(), counts.failed, out);
  } catch (error) {
    out.stderr.write(`fieldscope migrate failed: ${reason(error)}\n`);
    return 1;
  } finally {
    source.close();
    await store.close();
  }
}

function verify(expected: QdrantStoreStats, actual: QdrantStoreStats, failed: number, out: MigrateCommandIO): number {
  const kinds = ['documents', 'pages', 'chunks', 'photos'] as const;
  const table = kinds.map((k) => `${k} ${actual[k]}/${expected[k]}`).join(', ');
  const short = kinds.filter((k) => actual[k] < expected[k]);
  if (short.length > 0 || failed > 0) {
    out.stderr.write(`Not verified: Qdrant/SQLite counts are ${table}${failed > 0 ? `; ${failed} records failed` : ''}. Run the migration again to copy what is missing.\n`);
    return 1;
  }
  if (kinds.some((k) => actual[k] > expected[k])) {
    out.stdout.write(`Verified: every record of the SQLite store is in Qdrant (Qdrant/SQLite: ${table}; Qdrant also holds records added to it directly).\n`);
    return 0;
  }
  out.stdout.write(`Verified: Qdrant holds the same ${table.replace(/ (\d+)\/\d+/g, ' $1')} as the SQLite store.\n`);
  return 0;
}

/** The tenants with data in DATA_DIR: `default` (its root) and every DATA_DIR/tenants/<name>. */
function tenantsIn(dataDir: string): string[] {
  const named = existsSync(path.join(dataDir, 'tenants')) ? readdirSync(path.join(dataDir, 'tenants'), { withFileTypes: true }).filter((e) => e.isDirectory() && TENANT_NAME.test(e.name)).map((e) => e.name) : [];
  return [DEFAULT_TENANT, ...named.filter((t) => t !== DEFAULT_TENANT).sort()];
}

/**
 * `--to scale`: every kind of state the configuration keeps outside DATA_DIR is copied there from
 * the embedded files, tenant by tenant (the audit log once, for every tenant): identify records
 * and the audit log into Postgres, files into S3, and then the knowledge base into Qdrant, so that
 * a document visible in Qdrant never lacks its files (a tenant whose files are not all copied
 * keeps its knowledge base back until a rerun has copied them). Each record is
 * read back from its target and compared by checksum. A kind the configuration keeps in DATA_DIR
 * is said to stay, and not touched.
 */
async function migrateToScale(config: Config, qdrant: Partial<QdrantStoreSettings> & { collectionPrefix: string }, only: string | null, out: MigrateCommandIO): Promise<number> {
  const tenants = only ? [only] : tenantsIn(config.dataDir);
  const targets = migrationTargets(config, pino({ level: 'silent' }));
  const terminal = new TerminalStatus(out.stdout);
  let progressed = 0;
  const events = {
    line: (text: string) => terminal.line(text),
    progress: (label: string) => {
      if (terminal.tty || ++progressed % 100 === 0) terminal.status(label, false);
    },
  };
  const tallies: Tally[] = [];
  let code = 0;
  const report = (tenant: string | null, step: Tally[]) => {
    terminal.clear();
    for (const t of step) out.stdout.write(`${isVerified(t) ? 'verified' : 'NOT verified'}  ${tenant ? `[${tenant}] ` : ''}${describeTally(t)}\n`);
    tallies.push(...step);
  };
  try {
    const toQdrant = config.store.kind === 'qdrant' && qdrant.url ? { ...qdrant, url: qdrant.url } : null;
    if (!toQdrant) out.stdout.write('Knowledge base: stays in DATA_DIR (VECTOR_STORE is not qdrant).\n');
    if (!targets.where.records) out.stdout.write('Identify records and the audit log: stay in DATA_DIR (set VECTOR_STORE=qdrant and DATABASE_URL to move them to Postgres).\n');
    if (!targets.where.blobs) out.stdout.write('Files: stay in DATA_DIR (set S3_BUCKET to move them to object storage).\n');
    if (!toQdrant && !targets.where.records && !targets.where.blobs) return code;
    if (targets.where.records || targets.where.blobs) await targets.open();
    for (const tenant of tenants) {
      const dir = tenantDataDir(config.dataDir, tenant);
      const records = targets.records(tenant);
      const identifyFile = path.join(dir, 'identify.db');
      if (records && existsSync(identifyFile)) {
        out.stdout.write(`[${tenant}] identify records → ${targets.where.records}\n`);
        const source = new SqliteIdentifyStore(identifyFile);
        await source.init();
        try {
          report(tenant, await copyIdentifyRecords(source, records, events));
        } finally {
          await source.close();
        }
      }
      const blobs = targets.blobs(tenant);
      let filesComplete = true;
      if (blobs && existsSync(path.join(dir, 'blobs'))) {
        out.stdout.write(`[${tenant}] files → ${targets.where.blobs}\n`);
        const files = await copyBlobs(new DiskBlobStore(path.join(dir, 'blobs')), blobs, events);
        report(tenant, [files]);
        filesComplete = isVerified(files);
      }
      // The knowledge base last: a document visible in Qdrant has its original and page images in the bucket already.
      if (toQdrant && existsSync(sqliteFile(dir))) {
        if (!filesComplete) {
          out.stdout.write(`[${tenant}] knowledge base → Qdrant: not copied until every file of the tenant is in the bucket (see above)\n`);
          code = 1;
          continue;
        }
        out.stdout.write(`[${tenant}] knowledge base → Qdrant\n`);
        code = Math.max(code, await copyKnowledgeBase(config.dataDir, tenant, toQdrant, out));
      }
    }
    const auditFile = path.join(config.dataDir, 'audit.db');
    if (targets.audit && existsSync(auditFile)) {
      out.stdout.write(`audit log (every tenant) → ${targets.where.records}\n`);
      const source = new SqliteAuditStore(auditFile);
      await source.init();
      try {
        report(null, await copyAuditLog(source, targets.audit, events));
      } finally {
        await source.close();
      }
    }
  } catch (error) {
    terminal.clear();
    if (error instanceof MigrationStopped || (isAppError(error) && error.category === 'UNAVAILABLE')) {
      out.stderr.write(`The migration stopped: ${error instanceof MigrationStopped ? error.message : reason(error)}.\nWhat was copied is verified and kept; run \`fieldscope migrate --to scale\` again to resume.\n`);
    } else out.stderr.write(`fieldscope migrate failed: ${reason(error)}\n`);
    return 1;
  } finally {
    await targets.close();
  }
  const unverified = tallies.filter((t) => !isVerified(t));
  if (unverified.length > 0) {
    out.stderr.write(`Not verified: ${unverified.map((t) => t.kind).join(', ')} (see the lines above). Run the migration again to copy what is missing; records that differ in the target are left as they are.\n`);
    return 1;
  }
  if (tallies.length > 0) out.stdout.write(`Verified: every record and file copied is in its target, checksum for checksum (${tallies.reduce((n, t) => n + t.verified, 0)} in all).\n`);
  return code;
}
