/**
 * The product's core, built from the configuration: CLIP encoder, knowledge store, blob store
 * and the services on top. Shared by the HTTP server and the CLI (ingest), so both run exactly
 * the same code against the same DATA_DIR.
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
import { createKnowledgeStore, initStoreWithRetry } from '../store/create-store.js';
import type { KnowledgeStore } from '../store/knowledge-store.js';
import { HealthService } from './health.js';

export interface Core {
  encoder: OnnxClipEncoder;
  store: KnowledgeStore;
  /** Resolves when the store is open (at once for SQLite); rejects on a configuration error. */
  storeReady: Promise<void>;
  blobs: DiskBlobStore;
  services: Services;
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
    logger,
  });
  const spec = await resolveModelFolder(choice.dir, config.models.variant);
  const encoder = await OnnxClipEncoder.load(spec, {
    ...config.encoder,
    imageLimits: { maxBytes: config.limits.maxUploadBytes, maxPixels: config.limits.maxImagePixels },
    isTestModel: choice.isTestModel,
    ...(metrics ? { observer: metrics, onBatch: (kind, size) => metrics.batchSize.observe({ encoder: kind }, size) } : {}),
  });
  logger.info({ model: encoder.model, dir: spec.dir }, 'CLIP model loaded');

  let moderation: ModerationService;
  try {
    const { policy, warning } = await resolvePolicy({ mode: config.moderation.mode, policyFile: config.moderation.policyFile ?? null }, encoder.model);
    if (warning) logger.warn(warning);
    moderation = new ModerationService(encoder, policy);
    await moderation.warmUp();
  } catch (error) {
    await encoder.close();
    throw error;
  }

  const store = createKnowledgeStore({ kind: config.store.kind, dataDir: config.dataDir, dim: encoder.model.dim, modelId: encoder.model.id, ...(config.store.qdrant ? { qdrant: config.store.qdrant } : {}) });
  // SQLite opens at once; Qdrant may be down at start: keep retrying in the background (readiness
  // stays false and queries answer UNAVAILABLE meanwhile), but stop on configuration errors.
  let storeReady: Promise<void>;
  if (config.store.kind === 'sqlite') {
    try {
      await store.init();
    } catch (error) {
      await encoder.close();
      throw error;
    }
    storeReady = Promise.resolve();
  } else {
    storeReady = initStoreWithRetry(store, {
      onRetry: (error, attempt, delayMs) => logger.warn({ attempt, retryInMs: delayMs, reason: error instanceof Error ? error.message : String(error) }, 'Qdrant is not reachable yet; retrying'),
    }).then(() => logger.info({ url: config.store.qdrant?.url }, 'Qdrant knowledge store ready'));
    storeReady.catch(() => undefined);
  }
  const blobs = new DiskBlobStore(path.join(config.dataDir, 'blobs'));
  const identifyRecords = new SqliteIdentifyStore(path.join(config.dataDir, 'identify.db'));
  await identifyRecords.init();
  const search = new SearchService(encoder, store);
  const identify = new IdentifyService(encoder, store, search, identifyRecords, blobs, { ...DEFAULT_IDENTIFY_SETTINGS, ...config.identify });
  const ingest = new IngestService(encoder, store, blobs, {
    ...DEFAULT_INGEST_SETTINGS,
    maxDocumentBytes: config.limits.maxDocumentBytes,
    maxPages: config.limits.maxDocumentPages,
    maxImageBytes: config.limits.maxUploadBytes,
    maxImagePixels: config.limits.maxImagePixels,
  }, identify, moderation);
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
  const audit = new AuditLog(path.join(config.dataDir, 'audit.db'));
  await audit.init();
  const services: Services = {
    embeddings: new EmbeddingService(encoder, config.limits),
    health: new HealthService(encoder, store),
    ingest,
    search,
    answers: new AnswerService(search, encoder, chat, DEFAULT_ANSWER_SETTINGS, moderation),
    identify,
    store,
    audit,
  };
  return {
    encoder,
    store,
    storeReady,
    blobs,
    services,
    async close() {
      await encoder.close();
      await store.close();
      await identifyRecords.close();
      await audit.close();
    },
  };
}
