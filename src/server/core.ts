/**
 * The product's core, built from the configuration: the CLIP encoder, and per tenant a space
 * with its knowledge store, blob store and the services on top (src/tenancy/tenant-spaces.ts).
 * Shared by the HTTP server and the CLI (ingest), so both run exactly the same code against the
 * same DATA_DIR.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { AnswerService, DEFAULT_ANSWER_SETTINGS } from '../answer/answer-service.js';
import { ModerationService } from '../moderation/moderation-service.js';
import { resolvePolicy } from '../moderation/policy.js';
import { AuditLog } from '../audit/audit-log.js';
import { OpenAIChatModel } from '../answer/openai-chat-model.js';
import { DiskBlobStore } from '../blob/blob-store.js';
import { OnnxClipEncoder } from '../clip/clip-encoder.js';
import { resolveModelFolder } from '../clip/model-files.js';
import type { Config } from '../config.js';
import { EmbeddingService } from '../embedding/embedding-service.js';
import type { Services } from '../graphql/context.js';
import { DEFAULT_IDENTIFY_SETTINGS, IdentifyService } from '../identify/identify-service.js';
import { SqliteIdentifyStore } from '../identify/sqlite-identify-store.js';
import { DEFAULT_INGEST_SETTINGS, IngestService } from '../ingest/ingest-service.js';
import { resolveModelChoice } from '../models/resolve-model.js';
import type { Metrics } from '../observability/metrics.js';
import { SearchService } from '../search/search-service.js';
import { initStoreWithRetry, sqliteFile } from '../store/create-store.js';
import { QdrantKnowledgeStore } from '../store/qdrant/qdrant-knowledge-store.js';
import { SqliteKnowledgeStore } from '../store/sqlite/sqlite-knowledge-store.js';
import { scopedEncoder } from '../clip/scoped-encoder.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_TENANT, qdrantTenantName, TenantSpaces, tenantDataDir, type ClosableSpace } from '../tenancy/tenant-spaces.js';
import type { KnowledgeStore } from '../store/knowledge-store.js';
import { checkOcrModelDir, LazyTextReader } from '../ocr/lazy-text-reader.js';
import { ReadTextService } from '../ocr/read-text-service.js';
import { HealthService } from './health.js';
import { StorageHealth } from '../storage/storage-health.js';

/** What every tenant's space holds: its stores and the services over them. */
export interface TenantServices {
  embeddings: EmbeddingService;
  ingest: IngestService;
  search: SearchService;
  answers: AnswerService;
  identify: IdentifyService;
  /** Read access for document/page/photo queries. */
  store: KnowledgeStore;
}

export interface TenantSpace extends ClosableSpace {
  readonly tenant: string;
  readonly store: KnowledgeStore;
  readonly blobs: DiskBlobStore;
  readonly services: TenantServices;
}

export interface Core {
  encoder: OnnxClipEncoder;
  /** Each tenant's stores and services (see src/tenancy/tenant-spaces.ts). */
  spaces: TenantSpaces<TenantSpace>;
  /** The `default` tenant's space: the open server's, the CLI's unless told otherwise, and the one health reports on. */
  home: TenantSpace;
  /** Resolves when the store is open (at once for SQLite); rejects on a configuration error. */
  storeReady: Promise<void>;
  health: HealthService;
  audit: AuditLog;
  /** Whether the data disk takes writes (mutations fail closed and /ready reports it when not). */
  storage: StorageHealth;
  /** readText (OCR=off: answers OCR_DISABLED). */
  reading: ReadTextService;
  /** The services a request of `tenant` sees (the GraphQL context's `services`). */
  servicesFor(tenant: string): Promise<Services>;
  close(): Promise<void>;
}

export async function createCore(config: Config, logger: Logger, metrics?: Metrics): Promise<Core> {
  await mkdir(config.dataDir, { recursive: true });
  const choice = await resolveModelChoice({
    clipModel: config.models.clipModel,
    modelsDir: config.models.dir,
    autoPull: config.models.autoPull,
    fallbackToTestModel: config.models.fallbackToTestModel,
    baseUrl: config.models.baseUrl,
    manifestsDir: config.models.manifestsDir,
    hub: config.models.hub,
    logger,
  });
  if (choice.isTestModel && config.env === 'production' && !config.models.allowTestModel) {
    // Random weights answer every query with confident-looking nonsense: production must ask for it by name.
    throw new ConfigError(
      `NODE_ENV=production and the CLIP model is the bundled TEST model (random weights, meaningless results: ${choice.dir}). ` +
        'Install the real model (`fieldscope models pull clip-vit-b32`, or set CLIP_MODEL to a model folder), or set CLIP_ALLOW_TEST_MODEL=true to run on it anyway.',
    );
  }
  const spec = await resolveModelFolder(choice.dir, config.models.variant);
  const encoder = await OnnxClipEncoder.load(spec, {
    ...config.encoder,
    imageLimits: { maxBytes: config.limits.maxUploadBytes, maxPixels: config.limits.maxImagePixels },
    isTestModel: choice.isTestModel,
    ...(metrics ? { observer: metrics, onBatch: (kind, size) => metrics.batchSize.observe({ encoder: kind }, size) } : {}),
  });
  logger.info({ model: encoder.model, dir: spec.dir }, 'CLIP model loaded');
  const cleanup: (() => Promise<void>)[] = [() => encoder.close()];
  const closeAll = async () => {
    for (const fn of [...cleanup].reverse()) await fn();
  };

  try {
    let textReader: LazyTextReader | null = null;
    if (config.ocr.enabled) {
      await checkOcrModelDir(config.ocr.modelDir);
      // Reading text is image work: its workers run at the image lanes' nice value.
      const reader = new LazyTextReader({
        modelDir: config.ocr.modelDir,
        threads: config.ocr.threads,
        nice: config.encoder.imageNice,
        imageLimits: { maxBytes: config.limits.maxUploadBytes, maxPixels: config.limits.maxImagePixels },
        queueLimit: config.ocr.queueLimit,
      });
      cleanup.push(() => reader.close());
      textReader = reader;
    }
    const reading = new ReadTextService(textReader);

    const { policy, warning } = await resolvePolicy({ mode: config.moderation.mode, policyFile: config.moderation.policyFile ?? null }, encoder.model);
    if (warning) logger.warn(warning);

    // Qdrant: one connection; each tenant's store is a view of it. It may be down at start: keep
    // retrying in the background (readiness stays false and queries answer UNAVAILABLE
    // meanwhile), but stop on configuration errors. SQLite opens per tenant, at once.
    if (config.store.kind === 'qdrant' && !config.store.qdrant) throw new ConfigError('VECTOR_STORE=qdrant needs QDRANT_URL.');
    const qdrant = config.store.qdrant && config.store.kind === 'qdrant' ? new QdrantKnowledgeStore({ ...config.store.qdrant, dim: encoder.model.dim, modelId: encoder.model.id }) : null;
    let storeReady: Promise<void> = Promise.resolve();
    if (qdrant) {
      cleanup.push(() => qdrant.close());
      storeReady = initStoreWithRetry(qdrant, {
        onRetry: (error, attempt, delayMs) => logger.warn({ attempt, retryInMs: delayMs, reason: error instanceof Error ? error.message : String(error) }, 'Qdrant is not reachable yet; retrying'),
      }).then(() => logger.info({ url: config.store.qdrant?.url }, 'Qdrant knowledge store ready'));
      storeReady.catch(() => undefined);
    }
    // Qdrant tenant name → Fieldscope tenant: two tenants may not meet under one name.
    const qdrantOwners = new Map<string, string>();

    const chat = config.llm.model
      ? new OpenAIChatModel({
          model: config.llm.model,
          ...(config.llm.baseUrl ? { baseURL: config.llm.baseUrl } : {}),
          ...(config.llm.apiKey ? { apiKey: config.llm.apiKey } : {}),
          timeoutMs: config.llm.timeoutMs,
          maxRetries: config.llm.maxRetries,
          maxRetryWaitMs: config.llm.maxRetryWaitMs,
          supportsImages: config.llm.vision,
          structuredOutput: config.llm.structuredOutput,
          maxTokensField: config.llm.maxTokensField,
          onStructuredOutputFallback: (e) => logger.warn(e, 'language model lacks a structured-output mode; falling back'),
        })
      : null;
    logger.info(chat ? { llm: config.llm.model, baseUrl: config.llm.baseUrl ?? 'https://api.openai.com/v1' } : { llm: null }, chat ? 'language model configured' : 'no language model: answers are extractive');

    const storage = new StorageHealth(config.dataDir);
    const openSpace = async (tenant: string): Promise<TenantSpace> => {
      const dir = tenantDataDir(config.dataDir, tenant);
      await mkdir(dir, { recursive: true });
      let store: KnowledgeStore;
      if (qdrant) {
        const name = qdrantTenantName(tenant, config.store.qdrant?.tenant);
        const owner = qdrantOwners.get(name);
        if (owner !== undefined && owner !== tenant) throw new ConfigError(`The tenants "${owner}" and "${tenant}" would share the Qdrant tenant "${name}" (QDRANT_TENANT names the default tenant's data); rename one.`);
        qdrantOwners.set(name, tenant);
        store = qdrant.forTenant(name);
      } else {
        const sqlite = new SqliteKnowledgeStore({ file: sqliteFile(dir), dim: encoder.model.dim, modelId: encoder.model.id });
        await sqlite.init();
        // A damaged page anywhere in the file: serve what can be read, but /ready says so and writes stop.
        const started = performance.now();
        const problems = sqlite.checkIntegrity();
        if (problems.length > 0) {
          storage.noteDamage(`the database file of tenant "${tenant}" is damaged`);
          logger.error(
            { tenant, file: sqliteFile(dir), problems },
            `The database file ${sqliteFile(dir)} is damaged: reads that touch the damaged pages fail and changes are refused. Restore it from a backup, or salvage it with \`sqlite3 <file> ".recover" | sqlite3 <new file>\`.`,
          );
        } else {
          logger.debug({ tenant, ms: Math.round(performance.now() - started) }, 'database integrity checked');
        }
        store = sqlite;
      }
      // The embedding cache is per tenant too, so no tenant learns (by timing) what another embedded.
      const tenantEncoder = scopedEncoder(encoder, tenant);
      const moderation = new ModerationService(tenantEncoder, policy);
      const blobs = new DiskBlobStore(path.join(dir, 'blobs'));
      const records = new SqliteIdentifyStore(path.join(dir, 'identify.db'));
      try {
        await moderation.warmUp();
        await records.init();
      } catch (error) {
        await store.close();
        throw error;
      }
      const search = new SearchService(tenantEncoder, store);
      const identify = new IdentifyService(tenantEncoder, store, search, records, blobs, { ...DEFAULT_IDENTIFY_SETTINGS, ...config.identify });
      const ingest = new IngestService(tenantEncoder, store, blobs, {
        ...DEFAULT_INGEST_SETTINGS,
        maxDocumentBytes: config.limits.maxDocumentBytes,
        maxPages: config.limits.maxDocumentPages,
        maxTextChars: config.limits.maxDocumentTextChars,
        pdfWorkerMemoryMb: config.limits.pdfWorkerMemoryMb,
        pdfPageTimeoutMs: config.limits.pdfPageTimeoutMs,
        maxImageBytes: config.limits.maxUploadBytes,
        maxImagePixels: config.limits.maxImagePixels,
      }, identify, moderation);
      const services: TenantServices = {
        embeddings: new EmbeddingService(tenantEncoder, config.limits),
        ingest,
        search,
        answers: new AnswerService(
          search,
          tenantEncoder,
          chat,
          { ...DEFAULT_ANSWER_SETTINGS, maxStreamChars: config.llm.maxStreamChars, streamTimeoutMs: config.llm.timeoutMs },
          moderation,
          ({ cause, streaming }, message) => logger.warn({ err: cause, tenant, streaming }, message),
        ),
        identify,
        store,
      };
      if (tenant !== DEFAULT_TENANT) logger.info({ tenant, dir }, 'tenant space opened');
      return {
        tenant,
        store,
        blobs,
        services,
        async close() {
          // A Qdrant view shares the connection, which the core closes once.
          if (!qdrant) await store.close();
          await records.close();
        },
      };
    };
    const spaces = new TenantSpaces(openSpace);
    cleanup.push(() => spaces.close());
    const home = await spaces.get(DEFAULT_TENANT);
    const audit = new AuditLog(path.join(config.dataDir, 'audit.db'), { storage, logger });
    await audit.init();
    cleanup.push(() => audit.close());
    const health = new HealthService(encoder, home.store, storage);
    return {
      encoder,
      spaces,
      home,
      storeReady,
      health,
      audit,
      storage,
      reading,
      async servicesFor(tenant) {
        const space = await spaces.get(tenant);
        return { ...space.services, health, audit: audit.forTenant(tenant), reading };
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
