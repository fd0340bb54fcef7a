/**
 * What runs where. One backend provider per deployment kind supplies every store a tenant needs;
 * the services built on top (src/core/create-core.ts) never know which provider they got.
 *
 *   state                        embedded (VECTOR_STORE=sqlite, default)   scale (VECTOR_STORE=qdrant)
 *   ───────────────────────────  ────────────────────────────────────────  ─────────────────────────────────────
 *   vectors, documents, pages    <tenant dir>/fieldscope.db (SQLite)       Qdrant (QDRANT_URL): one collection
 *                                                                          per model, a tenant field per point
 *   identifications, feedback,   <tenant dir>/identify.db (SQLite)         Postgres (DATABASE_URL): one database,
 *   review items, photo hashes                                             a tenant column in every key †
 *   audit entries                DATA_DIR/audit.db (SQLite)                Postgres (DATABASE_URL) †
 *   rate-limit buckets           each process's memory                     Postgres (DATABASE_URL), else memory
 *   blobs (originals, renders,   <tenant dir>/blobs/ (a folder); with       S3_BUCKET (S3-compatible storage): the
 *   thumbnails, photos)          S3_BUCKET, that bucket as in scale        object `<tenant dir>/blobs/aa/bb/<key>`,
 *                                                                          <tenant dir> relative to DATA_DIR ‡
 *
 *   <tenant dir> is DATA_DIR for the `default` tenant, DATA_DIR/tenants/<name> for the others.
 *   † without DATABASE_URL, the embedded column's SQLite files (replicas must then share DATA_DIR).
 *   ‡ without S3_BUCKET the folder, as embedded (replicas must then share DATA_DIR).
 *
 * A provider does no I/O until asked: `openTenant` opens one tenant's stores (the caller closes
 * them), `audit` is initialised by `open()`, `ready` resolves when remote services answer.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AuditStore } from '../audit/audit-store.js';
import { SqliteAuditStore } from '../audit/sqlite-audit-store.js';
import { DiskBlobStore, type BlobStore } from '../blob/blob-store.js';
import { S3BlobStore, tenantBlobPrefix } from '../blob/s3-blob-store.js';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { IdentifyStore } from '../identify/identify-store.js';
import { PostgresIdentifyStore } from '../identify/postgres-identify-store.js';
import { SqliteIdentifyStore } from '../identify/sqlite-identify-store.js';
import { PostgresAuditStore } from '../audit/postgres-audit-store.js';
import { PostgresDatabase } from '../postgres/postgres-database.js';
import { PostgresRateBuckets, type SharedBuckets } from '../postgres/postgres-rate-buckets.js';
import type { StorageHealth } from '../storage/storage-health.js';
import { initStoreWithRetry, sqliteFile } from '../store/create-store.js';
import type { KnowledgeStore } from '../store/knowledge-store.js';
import { QdrantKnowledgeStore } from '../store/qdrant/qdrant-knowledge-store.js';
import { SqliteKnowledgeStore } from '../store/sqlite/sqlite-knowledge-store.js';
import { qdrantTenantName, tenantDataDir } from '../tenancy/tenant-spaces.js';

export type DeploymentKind = 'embedded' | 'scale';

/**
 * A service the deployment depends on beyond the knowledge store (Postgres, object storage):
 * `problem()` says in one sentence why it cannot be used now, or null when it can. Any problem
 * makes /ready answer 503 with that cause (src/server/health.ts).
 */
export interface DependencyProbe {
  readonly name: string;
  problem(): Promise<string | null>;
}

/** Every store one tenant's services need. `close()` closes what this tenant owns (not shared connections). */
export interface TenantStores {
  readonly knowledge: KnowledgeStore;
  readonly records: IdentifyStore;
  readonly blobs: BlobStore;
  close(): Promise<void>;
}

/** One deployment kind's stores. */
export interface Backend {
  readonly kind: DeploymentKind;
  /** Opens the shared stores (the audit store; remote connections start in the background). */
  open(): Promise<void>;
  /** Resolves when the remote stores are usable (at once when there are none); rejects on a configuration error. */
  readonly ready: Promise<void>;
  /** The audit trail of every tenant (each reader sees one tenant's entries). */
  readonly audit: AuditStore;
  /** One tenant's stores, opened; the caller closes them. */
  openTenant(tenant: string): Promise<TenantStores>;
  /** Services beyond the knowledge store that /ready reports on. */
  readonly probes: readonly DependencyProbe[];
  /** Rate-limit buckets shared by replicas (Postgres), or null: each replica keeps its own. */
  readonly rateBuckets: SharedBuckets | null;
  close(): Promise<void>;
}

export interface BackendDeps {
  config: Config;
  logger: Logger;
  /** Embedding size and id of the loaded CLIP model (the knowledge store checks them). */
  model: { dim: number; id: string };
  /** Whether DATA_DIR takes writes: damaged or full local files are reported here. */
  storage: StorageHealth;
}

/** The provider for the configured deployment kind. */
export function createBackend(deps: BackendDeps): Backend {
  return deps.config.store.kind === 'qdrant' ? scaleBackend(deps) : embeddedBackend(deps);
}

/** The audit trail in one SQLite file for every tenant (a reader sees one tenant's entries). */
function localAudit({ config, storage, logger }: BackendDeps): AuditStore {
  return new SqliteAuditStore(path.join(config.dataDir, 'audit.db'), { storage, logger });
}

/**
 * Blobs in S3-compatible storage when S3_BUCKET is set (one connection for every tenant, each
 * tenant under its own prefix), with the probe that puts a missing or unreachable bucket on
 * /ready; null: blobs stay in the tenants' folders.
 */
function objectStorage({ config, logger }: BackendDeps): { store: S3BlobStore; probe: DependencyProbe } | null {
  if (config.blobs.kind !== 's3') return null;
  const store = new S3BlobStore(config.blobs.s3, tenantBlobPrefix(''));
  logger.info({ blobs: store.location }, 'blobs in S3-compatible object storage');
  return { store, probe: { name: 'object storage (S3)', problem: async () => (await store.blobStatus()).problem } };
}

/** The blob store of the tenant whose folder is `dir`: its prefix in the bucket, or its folder. */
function tenantBlobs(config: Config, s3: S3BlobStore | null, dir: string): BlobStore {
  return s3 ? s3.forPrefix(tenantBlobPrefix(path.relative(config.dataDir, dir))) : new DiskBlobStore(path.join(dir, 'blobs'));
}

/** Identify records in the tenant's folder, and `blobs`; closes `knowledge` when opening them fails. */
async function localRecordsAndBlobs(dir: string, knowledge: KnowledgeStore, ownsKnowledge: boolean, blobs: BlobStore): Promise<TenantStores> {
  const records = new SqliteIdentifyStore(path.join(dir, 'identify.db'));
  try {
    await records.init();
  } catch (error) {
    if (ownsKnowledge) await knowledge.close();
    throw error;
  }
  return {
    knowledge,
    records,
    blobs,
    async close() {
      if (ownsKnowledge) await knowledge.close();
      await records.close();
    },
  };
}

/** Embedded: SQLite files and a folder under DATA_DIR; no service to start. */
function embeddedBackend(deps: BackendDeps): Backend {
  const { config, logger, model, storage } = deps;
  const audit = localAudit(deps);
  const s3 = objectStorage(deps);
  if (config.database) logger.warn('DATABASE_URL is set but not used: the embedded deployment (VECTOR_STORE=sqlite) keeps its records in SQLite files under DATA_DIR. Set VECTOR_STORE=qdrant to share records through Postgres.');
  return {
    kind: 'embedded',
    ready: Promise.resolve(),
    audit,
    probes: s3 ? [s3.probe] : [],
    rateBuckets: null,
    open: () => audit.init(),
    async openTenant(tenant) {
      const dir = tenantDataDir(config.dataDir, tenant);
      await mkdir(dir, { recursive: true });
      const file = sqliteFile(dir);
      const knowledge = new SqliteKnowledgeStore({ file, dim: model.dim, modelId: model.id });
      await knowledge.init();
      // A damaged page anywhere in the file: serve what can be read, but /ready says so and writes stop.
      const started = performance.now();
      const problems = knowledge.checkIntegrity();
      if (problems.length > 0) {
        storage.noteDamage(`the database file of tenant "${tenant}" is damaged`);
        logger.error(
          { tenant, file, problems },
          `The database file ${file} is damaged: reads that touch the damaged pages fail and changes are refused. Restore it from a backup, or salvage it with \`sqlite3 <file> ".recover" | sqlite3 <new file>\`.`,
        );
      } else {
        logger.debug({ tenant, ms: Math.round(performance.now() - started) }, 'database integrity checked');
      }
      return localRecordsAndBlobs(dir, knowledge, true, tenantBlobs(config, s3?.store ?? null, dir));
    },
    async close() {
      s3?.store.close();
      await audit.close();
    },
  };
}

/**
 * Scale: Qdrant for vectors and documents (one connection; each tenant's store is a view of it).
 * Qdrant may be down at start: the connection is retried in the background (readiness stays false
 * and queries answer UNAVAILABLE meanwhile), but configuration errors stop the server.
 */
function scaleBackend(deps: BackendDeps): Backend {
  const { config, logger, model } = deps;
  if (!config.store.qdrant) throw new ConfigError('VECTOR_STORE=qdrant needs QDRANT_URL.');
  const qdrantSettings = config.store.qdrant;
  const qdrant = new QdrantKnowledgeStore({ ...qdrantSettings, dim: model.dim, modelId: model.id });
  // Postgres (DATABASE_URL): one pool for every tenant's records and the audit log. Like Qdrant it
  // may be down at start: connected (and its schema migrated) in the background meanwhile.
  const database = config.database ? new PostgresDatabase(config.database, (message) => logger.warn(message)) : null;
  const s3 = objectStorage(deps);
  const audit = database ? new PostgresAuditStore(database, { logger }) : localAudit(deps);
  if (!database) logger.warn('No DATABASE_URL: identify records and the audit log stay in SQLite files under DATA_DIR, so replicas must share one DATA_DIR. Set DATABASE_URL to share them through Postgres.');
  // Qdrant tenant name → Fieldscope tenant: two tenants may not meet under one name.
  const qdrantOwners = new Map<string, string>();
  let ready: Promise<void> | null = null;
  return {
    kind: 'scale',
    get ready() {
      return ready ?? Promise.resolve();
    },
    audit,
    rateBuckets: database ? new PostgresRateBuckets(database) : null,
    probes: [...(s3 ? [s3.probe] : []), ...(database ? [{ name: `the records database (Postgres at ${database.location})`, problem: async () => (await database.status()).problem }] : [])],
    async open() {
      await audit.init();
      if (qdrantSettings.apiKey && new URL(qdrantSettings.url).protocol === 'http:') {
        logger.warn({ url: new URL(qdrantSettings.url).origin }, 'QDRANT_API_KEY is sent to Qdrant over plain http: use https unless Qdrant is on a private network');
      }
      const qdrantReady = initStoreWithRetry(qdrant, {
        onRetry: (error, attempt, delayMs) => logger.warn({ attempt, retryInMs: delayMs, reason: error instanceof Error ? error.message : String(error) }, 'Qdrant is not reachable yet; retrying'),
      }).then(() => logger.info({ url: qdrantSettings.url }, 'Qdrant knowledge store ready'));
      const databaseReady = database
        ? initStoreWithRetry(database, {
            // The reason names host:port/database only: DATABASE_URL (with its password) is never logged.
            onRetry: (error, attempt, delayMs) => logger.warn({ attempt, retryInMs: delayMs, reason: error instanceof Error ? error.message : String(error) }, 'Postgres is not reachable yet; retrying'),
          }).then(() => logger.info({ database: database.location }, 'Postgres records ready'))
        : Promise.resolve();
      ready = Promise.all([qdrantReady, databaseReady]).then(() => undefined);
      ready.catch(() => undefined);
    },
    async openTenant(tenant) {
      const dir = tenantDataDir(config.dataDir, tenant);
      await mkdir(dir, { recursive: true });
      const name = qdrantTenantName(tenant, qdrantSettings.tenant);
      const owner = qdrantOwners.get(name);
      if (owner !== undefined && owner !== tenant) throw new ConfigError(`The tenants "${owner}" and "${tenant}" would share the Qdrant tenant "${name}" (QDRANT_TENANT names the default tenant's data); rename one.`);
      qdrantOwners.set(name, tenant);
      // A Qdrant view shares the connection, which `close()` below closes once.
      const knowledge = qdrant.forTenant(name);
      const blobs = tenantBlobs(config, s3?.store ?? null, dir);
      if (!database) return localRecordsAndBlobs(dir, knowledge, false, blobs);
      // A Postgres view shares the pool, which `close()` below closes once.
      return { knowledge, records: new PostgresIdentifyStore(database, tenant), blobs, async close() {} };
    },
    async close() {
      s3?.store.close();
      await qdrant.close();
      await audit.close();
      await database?.close();
    },
  };
}

/**
 * Where `fieldscope migrate --to scale` copies the embedded state: the stores the scale deployment
 * of this configuration uses instead of files under DATA_DIR. A kind the configuration keeps in
 * DATA_DIR has no target (null): there is nothing to move.
 */
export interface MigrationTargets {
  /** One tenant's identify records (Postgres: DATABASE_URL with VECTOR_STORE=qdrant). */
  records(tenant: string): IdentifyStore | null;
  /** The audit log of every tenant (Postgres). */
  readonly audit: AuditStore | null;
  /** One tenant's files (S3: S3_BUCKET). */
  blobs(tenant: string): BlobStore | null;
  /** Where each kind goes, for the report (credentials left out), or null when it stays. */
  readonly where: { records: string | null; blobs: string | null };
  open(): Promise<void>;
  close(): Promise<void>;
}

export function migrationTargets(config: Config, logger: Logger): MigrationTargets {
  const s3 = config.blobs.kind === 's3' ? new S3BlobStore(config.blobs.s3, tenantBlobPrefix('')) : null;
  // Records move to Postgres only where the server would keep them there: the scale deployment.
  const database = config.database && config.store.kind === 'qdrant' ? new PostgresDatabase(config.database, (message) => logger.warn(message)) : null;
  return {
    records: (tenant) => (database ? new PostgresIdentifyStore(database, tenant) : null),
    audit: database ? new PostgresAuditStore(database, { logger }) : null,
    blobs: (tenant) => (s3 ? tenantBlobs(config, s3, tenantDataDir(config.dataDir, tenant)) : null),
    where: { records: database ? `Postgres at ${database.location}` : null, blobs: s3 ? s3.location : null },
    async open() {
      if (s3) logger.debug({ blobs: s3.location }, 'migrating files to object storage');
      // No retry here: a command run by hand says at once that the database cannot be reached.
      await database?.init();
    },
    async close() {
      s3?.close();
      await database?.close();
    },
  };
}
