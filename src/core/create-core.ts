/**
 * The composition root shared by the HTTP server (src/server/start-server.ts) and the CLI
 * (ingest, eval): the CLIP encoder, the language model, OCR, moderation, and per tenant a space
 * with the services over that tenant's stores (src/tenancy/tenant-spaces.ts). Which stores those
 * are, per deployment kind, is decided in one place: src/core/backends.ts. So the server and the
 * CLI run exactly the same code against the same data.
 */
import type { Logger } from 'pino';
import { AnswerService, DEFAULT_ANSWER_SETTINGS } from '../answer/answer-service.js';
import { OpenAIChatModel } from '../answer/openai-chat-model.js';
import type { AuditStore } from '../audit/audit-store.js';
import type { BlobStore } from '../blob/blob-store.js';
import { OnnxClipEncoder } from '../clip/clip-encoder.js';
import { resolveModelFolder } from '../clip/model-files.js';
import { scopedEncoder } from '../clip/scoped-encoder.js';
import type { Config } from '../config.js';
import { EmbeddingService } from '../embedding/embedding-service.js';
import { ConfigError } from '../errors.js';
import type { Services } from '../graphql/context.js';
import { DEFAULT_IDENTIFY_SETTINGS, IdentifyService } from '../identify/identify-service.js';
import { DEFAULT_INGEST_SETTINGS, IngestService } from '../ingest/ingest-service.js';
import { modelNameForVariant, resolveModelChoice } from '../models/resolve-model.js';
import { ModerationService } from '../moderation/moderation-service.js';
import { resolvePolicy } from '../moderation/policy.js';
import type { Metrics } from '../observability/metrics.js';
import { checkOcrModelDir, LazyTextReader } from '../ocr/lazy-text-reader.js';
import { ReadTextService } from '../ocr/read-text-service.js';
import { DEFAULT_SEARCH_SETTINGS, SearchService } from '../search/search-service.js';
import { HealthService } from '../server/health.js';
import { StorageHealth } from '../storage/storage-health.js';
import { ensureFolder } from '../storage/usable-folder.js';
import type { KnowledgeStore } from '../store/knowledge-store.js';
import { DEFAULT_TENANT, TenantSpaces, type ClosableSpace } from '../tenancy/tenant-spaces.js';
import type { SharedBuckets } from '../postgres/postgres-rate-buckets.js';
import { createBackend, type DeploymentKind } from './backends.js';

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
  readonly blobs: BlobStore;
  readonly services: TenantServices;
}

export interface Core {
  /** embedded (SQLite files and a folder) or scale (Qdrant, …): see src/core/backends.ts. */
  kind: DeploymentKind;
  encoder: OnnxClipEncoder;
  /** Each tenant's stores and services (see src/tenancy/tenant-spaces.ts). */
  spaces: TenantSpaces<TenantSpace>;
  /** The `default` tenant's space: the open server's, the CLI's unless told otherwise, and the one health reports on. */
  home: TenantSpace;
  /** Resolves when the store is open (at once for SQLite); rejects on a configuration error. */
  storeReady: Promise<void>;
  health: HealthService;
  audit: AuditStore;
  /** Rate-limit buckets shared by replicas (Postgres), or null: this process keeps its own. */
  rateBuckets: SharedBuckets | null;
  /** Whether the data disk takes writes (mutations fail closed and /ready reports it when not). */
  storage: StorageHealth;
  /** readText (OCR=off: answers OCR_DISABLED). */
  reading: ReadTextService;
  /** The services a request of `tenant` sees (the GraphQL context's `services`). */
  servicesFor(tenant: string): Promise<Services>;
  /**
   * Opens the named tenants' spaces now (the keys file's, at server start), so first requests are
   * not slow. A tenant whose data cannot be opened is logged and answers 503 (tried again per
   * request); the others are served.
   */
  openTenants(tenants: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export async function createCore(config: Config, logger: Logger, metrics?: Metrics): Promise<Core> {
  await ensureFolder(config.dataDir, 'DATA_DIR');
  const choice = await resolveModelChoice({
    clipModel: modelNameForVariant(config.models.clipModel, config.models.variant),
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
    const backend = createBackend({ config, logger, model: { dim: encoder.model.dim, id: encoder.model.id }, storage });
    cleanup.push(() => backend.close());
    await backend.open();
    const audit = backend.audit;

    const openSpace = async (tenant: string): Promise<TenantSpace> => {
      const stores = await backend.openTenant(tenant);
      const { knowledge: store, records, blobs } = stores;
      // The embedding cache is per tenant too, so no tenant learns (by timing) what another embedded.
      const tenantEncoder = scopedEncoder(encoder, tenant);
      const moderation = new ModerationService(tenantEncoder, policy);
      try {
        await moderation.warmUp();
      } catch (error) {
        await stores.close();
        throw error;
      }
      // The query photo is read too (OCR=off: textReader is null and image search is visual only).
      const search = new SearchService(tenantEncoder, store, { ...DEFAULT_SEARCH_SETTINGS, ...config.search }, textReader, (cause) =>
        logger.warn({ err: cause, tenant }, 'reading the query photo failed; searching with the picture alone'),
      );
      const identify = new IdentifyService(tenantEncoder, store, search, records, blobs, { ...DEFAULT_IDENTIFY_SETTINGS, ...config.identify }, textReader);
      const ingest = new IngestService(tenantEncoder, store, blobs, {
        ...DEFAULT_INGEST_SETTINGS,
        maxDocumentBytes: config.limits.maxDocumentBytes,
        maxPages: config.limits.maxDocumentPages,
        maxTextChars: config.limits.maxDocumentTextChars,
        pdfWorkerMemoryMb: config.limits.pdfWorkerMemoryMb,
        pdfPageTimeoutMs: config.limits.pdfPageTimeoutMs,
        ocrMaxPages: config.ocr.maxPages,
        ocrPageTimeoutMs: config.ocr.pageTimeoutMs,
        maxImageBytes: config.limits.maxUploadBytes,
        maxImagePixels: config.limits.maxImagePixels,
      }, identify, moderation, textReader);
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
      if (tenant !== DEFAULT_TENANT) logger.info({ tenant, backend: backend.kind }, 'tenant space opened');
      return {
        tenant,
        store,
        blobs,
        services,
        close: () => stores.close(),
      };
    };
    const spaces = new TenantSpaces(openSpace);
    cleanup.push(() => spaces.close());
    const home = await spaces.get(DEFAULT_TENANT);
    const health = new HealthService(encoder, home.store, storage, backend.probes);
    return {
      kind: backend.kind,
      encoder,
      spaces,
      home,
      storeReady: backend.ready,
      rateBuckets: backend.rateBuckets,
      health,
      audit,
      storage,
      reading,
      async servicesFor(tenant) {
        const space = await spaces.get(tenant);
        return { ...space.services, health, audit: audit.forTenant(tenant), reading };
      },
      async openTenants(tenants) {
        const opened = await Promise.allSettled(tenants.map((t) => spaces.get(t)));
        opened.forEach((o, i) => {
          if (o.status === 'rejected') logger.error({ err: o.reason, tenant: tenants[i] }, 'cannot open the tenant space; its requests answer UNAVAILABLE');
        });
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
